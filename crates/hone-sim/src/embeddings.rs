//! Deterministic text embeddings: hashed bag of words and character
//! trigrams, L2-normalised, so texts sharing words have higher cosine.

use crate::hash::StableHasher;

/// Embeds `text` into `dims` dimensions (at least 1).
pub fn embed(text: &str, dims: usize, seed: u64) -> Vec<f32> {
    let dims = dims.max(1);
    let mut v = vec![0f32; dims];
    let low = text.to_lowercase();
    let words: Vec<&str> = low
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let mut add = |feature: &str, weight: f32| {
        let h = StableHasher::new().u64(seed).str(feature).finish();
        let idx = (h % dims as u64) as usize;
        let sign = if (h >> 63) == 0 { 1.0 } else { -1.0 };
        if let Some(slot) = v.get_mut(idx) {
            *slot += sign * weight;
        }
    };
    for w in &words {
        add(&format!("w:{w}"), 1.0);
        let padded: Vec<char> = format!("#{w}#").chars().collect();
        for tri in padded.windows(3) {
            add(&format!("t:{}", tri.iter().collect::<String>()), 0.3);
        }
    }
    for pair in words.windows(2) {
        add(&format!("b:{} {}", pair[0], pair[1]), 0.5);
    }
    if words.is_empty() {
        add("empty", 1.0);
    }
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        for x in &mut v {
            *x /= norm;
        }
    }
    v
}

/// Cosine similarity of two equally long vectors.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb)
    }
}

/// Standard base64 of the little-endian `f32` bytes (`encoding_format: "base64"`).
pub fn to_base64(v: &[f32]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let idx = |shift: u32| ALPHABET[((n >> shift) & 63) as usize] as char;
        out.push(idx(18));
        out.push(idx(12));
        out.push(if chunk.len() > 1 { idx(6) } else { '=' });
        out.push(if chunk.len() > 2 { idx(0) } else { '=' });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn similar_texts_are_closer() {
        let a = embed("the cat sat on the mat", 256, 0);
        let b = embed("a cat sat on a mat", 256, 0);
        let c = embed("quarterly revenue grew by ten percent", 256, 0);
        assert!(cosine(&a, &b) > cosine(&a, &c));
        let norm: f32 = a.iter().map(|x| x * x).sum();
        assert!((norm - 1.0).abs() < 1e-4);
        assert_eq!(a, embed("the cat sat on the mat", 256, 0));
    }

    #[test]
    fn base64_matches_known_value() {
        assert_eq!(to_base64(&[1.0]), "AACAPw==");
    }
}
