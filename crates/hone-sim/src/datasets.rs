//! Small generated datasets whose labels agree with the simulated model's
//! notion of truth, for optimizer tests.

use crate::hash::Draw;
use crate::tasks::sentiment;

/// An arithmetic question and its answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ArithmeticExample {
    /// E.g. `What is 17 + 25?`.
    pub question: String,
    /// The value, e.g. `42`.
    pub answer: i64,
}

/// `n` arithmetic questions with integer answers, deterministic in `seed`.
pub fn arithmetic(n: usize, seed: u64) -> Vec<ArithmeticExample> {
    let mut d = Draw::new(seed ^ 0xa51c_0de5);
    (0..n)
        .map(|_| {
            let a = d.range_i64(2, 99);
            let b = d.range_i64(2, 99);
            let c = d.range_i64(2, 12);
            let (text, value) = match d.below(5) {
                0 => (format!("What is {a} + {b}?"), a + b),
                1 => (format!("What is {a} - {b}?"), a - b),
                2 => (format!("What is {a} * {c}?"), a * c),
                3 => (format!("Compute {a} + {b} * {c}"), a + b * c),
                _ => (format!("What is {} divided by {c}?", a * c), a),
            };
            ArithmeticExample {
                question: text,
                answer: value,
            }
        })
        .collect()
}

/// A review and its sentiment label (`positive`, `negative` or `neutral`).
#[derive(Debug, Clone, PartialEq)]
pub struct SentimentExample {
    /// The review text.
    pub review: String,
    /// The label.
    pub sentiment: String,
}

const POS: &[&str] = &[
    "I love this blender, it works great.",
    "Excellent battery life and a beautiful screen.",
    "Fast shipping and the fit is perfect.",
    "The best headphones I have owned, highly recommend.",
    "Sturdy, reliable and comfortable to use.",
];
const NEG: &[&str] = &[
    "It broke after two days, total junk.",
    "Terrible customer service and a flimsy case.",
    "The charger died in a week. Waste of money.",
    "Not good at all, I returned it.",
    "Overpriced and disappointing.",
];
const NEUTRAL: &[&str] = &[
    "The package arrived on Tuesday.",
    "It is a blue phone case with two slots.",
    "I bought this for my office desk.",
    "The manual has twelve pages.",
];
const SARCASTIC: &[&str] = &[
    "Great, another cable that stopped charging.",
    "Oh great, the lid fell off on day one.",
    "Just what I needed, a kettle that leaks.",
];

/// `n` reviews, deterministic in `seed`; labels come from the lexicon.
pub fn sentiment(n: usize, seed: u64) -> Vec<SentimentExample> {
    let mut d = Draw::new(seed ^ 0x5e47_1e47);
    (0..n)
        .map(|i| {
            let pool = match d.below(7) {
                0 | 1 => POS,
                2 | 3 => NEG,
                4 | 5 => NEUTRAL,
                _ => SARCASTIC,
            };
            let base = d.pick(pool).copied().unwrap_or("Fine.");
            let review = format!("{base} (order #{})", 1000 + i);
            let label = sentiment::classify(&review).label().to_owned();
            SentimentExample {
                review,
                sentiment: label,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tasks::arithmetic;

    #[test]
    fn labels_match_the_model_truth() {
        for ex in arithmetic(50, 1) {
            assert_eq!(
                arithmetic::solve(&ex.question),
                Some(ex.answer as f64),
                "{}",
                ex.question
            );
        }
        let s = sentiment(40, 1);
        assert!(s.iter().any(|e| e.sentiment == "positive"));
        assert!(s.iter().any(|e| e.sentiment == "negative"));
        assert!(s.iter().any(|e| e.sentiment == "neutral"));
    }
}
