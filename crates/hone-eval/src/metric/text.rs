//! DSPy's answer normalisation and the exact-match and token-F1 scores built on it
//! (`dspy/evaluate/metrics.py`).

use std::collections::HashMap;

use unicode_normalization::UnicodeNormalization;

/// DSPy's `normalize_text`: Unicode NFD, lowercase, remove ASCII punctuation, remove the
/// articles `a`, `an`, `the` (as whole words), collapse whitespace.
///
/// ```
/// use hone_eval::metric::normalize_text;
/// assert_eq!(normalize_text("The,  Eiffel  Tower!"), "eiffel tower");
/// ```
pub fn normalize_text(s: &str) -> String {
    let lowered: String = s.nfd().collect::<String>().to_lowercase();
    let no_punct: String = lowered
        .chars()
        .filter(|c| !c.is_ascii_punctuation())
        .collect();
    let no_articles = remove_articles(&no_punct);
    no_articles.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `re.sub(r"\b(a|an|the)\b", " ", text)`: whole-word articles become a space.
fn remove_articles(text: &str) -> String {
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if matches!(word.as_str(), "a" | "an" | "the") {
            out.push(' ');
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in text.chars() {
        if is_word(c) {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// DSPy's `em_score`: whether the normalised strings are equal.
pub fn exact_match_score(prediction: &str, reference: &str) -> bool {
    normalize_text(prediction) == normalize_text(reference)
}

/// DSPy's `f1_score`: token-level F1 of the normalised strings (0 without overlap, also when
/// both are empty, as in DSPy).
pub fn token_f1_score(prediction: &str, reference: &str) -> f64 {
    let p = normalize_text(prediction);
    let r = normalize_text(reference);
    let p_tokens: Vec<&str> = p.split_whitespace().collect();
    let r_tokens: Vec<&str> = r.split_whitespace().collect();
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for t in &r_tokens {
        *counts.entry(t).or_default() += 1;
    }
    let mut same = 0usize;
    for t in &p_tokens {
        if let Some(c) = counts.get_mut(t)
            && *c > 0
        {
            *c -= 1;
            same += 1;
        }
    }
    if same == 0 {
        return 0.0;
    }
    let precision = same as f64 / p_tokens.len() as f64;
    let recall = same as f64 / r_tokens.len() as f64;
    2.0 * precision * recall / (precision + recall)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_dspy_examples() {
        assert_eq!(normalize_text("The,  Eiffel  Tower!"), "eiffel tower");
        assert!(exact_match_score("The Eiffel Tower", "Eiffel Tower"));
        assert!(exact_match_score("paris", "Paris"));
        assert!(!exact_match_score("paris", "Paris, France"));
        assert!((token_f1_score("Eiffel Tower is in Paris", "Paris") - 1.0 / 3.0).abs() < 1e-9);
        assert_eq!(token_f1_score("the Eiffel Tower", "Eiffel Tower"), 1.0);
        assert_eq!(token_f1_score("", ""), 0.0);
        assert_eq!(normalize_text("theater an anchor"), "theater anchor");
        assert_eq!(normalize_text("Café"), normalize_text("Cafe\u{301}"));
    }
}
