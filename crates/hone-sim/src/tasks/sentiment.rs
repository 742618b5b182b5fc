//! Sentiment of a short text by a keyword lexicon, with negation and a few
//! sarcasm cues. This lexicon is the ground truth of the sentiment task.

/// A sentiment label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sentiment {
    /// Positive.
    Positive,
    /// Negative.
    Negative,
    /// Neither.
    Neutral,
}

impl Sentiment {
    /// The lowercase label.
    pub fn label(self) -> &'static str {
        match self {
            Sentiment::Positive => "positive",
            Sentiment::Negative => "negative",
            Sentiment::Neutral => "neutral",
        }
    }
}

/// Words that count +1.
pub const POSITIVE: &[&str] = &[
    "good",
    "great",
    "excellent",
    "amazing",
    "love",
    "loved",
    "loves",
    "perfect",
    "happy",
    "recommend",
    "fantastic",
    "wonderful",
    "best",
    "awesome",
    "delighted",
    "pleased",
    "works",
    "reliable",
    "sturdy",
    "beautiful",
    "fast",
    "comfortable",
    "enjoy",
    "enjoyed",
    "superb",
    "brilliant",
    "nice",
    "solid",
    "impressed",
    "favorite",
];

/// Words that count -1.
pub const NEGATIVE: &[&str] = &[
    "bad",
    "terrible",
    "awful",
    "hate",
    "hated",
    "broke",
    "broken",
    "died",
    "worst",
    "poor",
    "disappointed",
    "disappointing",
    "refund",
    "slow",
    "useless",
    "waste",
    "returned",
    "cheap",
    "flimsy",
    "junk",
    "horrible",
    "failed",
    "fails",
    "defective",
    "annoying",
    "leaks",
    "rude",
    "late",
    "cracked",
    "overpriced",
];

const NEGATORS: &[&str] = &[
    "not", "never", "no", "hardly", "isn't", "wasn't", "doesn't", "didn't", "don't", "won't",
    "can't",
];

/// Phrases that signal sarcasm (praise words used to complain).
pub const SARCASM_CUES: &[&str] = &[
    "great, another",
    "just what i needed",
    "yeah right",
    "oh great",
    "thanks a lot",
    "what a surprise",
    "love how it",
    "love that it",
    "wonderful, now",
];

fn words(text: &str) -> Vec<String> {
    text.to_lowercase()
        .split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Whether the text contains a sarcasm cue.
pub fn is_sarcastic(text: &str) -> bool {
    let low = text.to_lowercase();
    SARCASM_CUES.iter().any(|c| low.contains(c))
}

/// The lexicon score: positive minus negative words, negation flipping the
/// next two words.
pub fn score(text: &str) -> i32 {
    let ws = words(text);
    let mut total = 0;
    for (i, w) in ws.iter().enumerate() {
        let v = if POSITIVE.contains(&w.as_str()) {
            1
        } else if NEGATIVE.contains(&w.as_str()) {
            -1
        } else {
            0
        };
        if v == 0 {
            continue;
        }
        let negated = ws[i.saturating_sub(2)..i]
            .iter()
            .any(|p| NEGATORS.contains(&p.as_str()));
        total += if negated { -v } else { v };
    }
    total
}

/// The sentiment of `text`: sarcasm is negative, otherwise the sign of the score.
pub fn classify(text: &str) -> Sentiment {
    if is_sarcastic(text) {
        return Sentiment::Negative;
    }
    match score(text) {
        s if s > 0 => Sentiment::Positive,
        s if s < 0 => Sentiment::Negative,
        _ => Sentiment::Neutral,
    }
}

/// Maps a sentiment onto the labels a signature allows (`pos`, `Positive`,
/// `good`, ...). `None` when no label fits.
pub fn map_label(s: Sentiment, labels: &[String]) -> Option<String> {
    let wanted: &[&str] = match s {
        Sentiment::Positive => &["positive", "pos", "good", "favorable", "yes"],
        Sentiment::Negative => &["negative", "neg", "bad", "unfavorable", "no"],
        Sentiment::Neutral => &["neutral", "mixed", "none", "neither"],
    };
    labels
        .iter()
        .find(|l| wanted.contains(&l.to_lowercase().as_str()))
        .or_else(|| {
            labels
                .iter()
                .find(|l| l.to_lowercase().starts_with(&s.label()[..3]))
        })
        .cloned()
}

/// Whether a label set looks like sentiment labels.
pub fn is_sentiment_labels(labels: &[String]) -> bool {
    map_label(Sentiment::Positive, labels).is_some()
        && map_label(Sentiment::Negative, labels).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexicon_decides() {
        assert_eq!(classify("I love it, works great"), Sentiment::Positive);
        assert_eq!(
            classify("Terrible. It broke in a day."),
            Sentiment::Negative
        );
        assert_eq!(classify("It is not good at all"), Sentiment::Negative);
        assert_eq!(
            classify("Great, another charger that died in a week."),
            Sentiment::Negative
        );
        assert_eq!(classify("Arrived on Tuesday in a box."), Sentiment::Neutral);
        assert!(is_sarcastic("Oh great, it stopped again"));
    }

    #[test]
    fn labels_map() {
        let labels = vec!["Pos".to_owned(), "Neg".to_owned()];
        assert_eq!(
            map_label(Sentiment::Negative, &labels).as_deref(),
            Some("Neg")
        );
        assert_eq!(map_label(Sentiment::Neutral, &labels), None);
        assert!(is_sentiment_labels(&labels));
        assert!(!is_sentiment_labels(&[
            "billing".to_owned(),
            "tech".to_owned()
        ]));
    }
}
