//! [`ConfigError`]: what is wrong with a parameter table, with the hint that fixes it.

/// A parameter table that does not fit its optimizer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    /// No entry has this name or alias.
    #[error("unknown optimizer `{name}`; {}", did_you_mean(*suggestion, known))]
    UnknownKind {
        /// The name asked for.
        name: String,
        /// The closest name, if one is close.
        suggestion: Option<&'static str>,
        /// Every canonical name.
        known: Vec<&'static str>,
    },
    /// The parameters are not a table.
    #[error("the parameters of {kind} must be a table of keys, not {found}")]
    NotATable {
        /// The optimizer.
        kind: &'static str,
        /// What was given instead.
        found: &'static str,
    },
    /// A key the optimizer does not take.
    #[error("`{key}` is not a parameter of {kind}; {}", unknown_key_hint(*suggestion, taken_by, known))]
    UnknownKey {
        /// The optimizer.
        kind: &'static str,
        /// The key.
        key: String,
        /// The closest valid key, if one is close.
        suggestion: Option<&'static str>,
        /// Other optimizers that do take this key (a key put under the wrong optimizer).
        taken_by: Vec<&'static str>,
        /// Every key the optimizer takes.
        known: Vec<&'static str>,
    },
    /// A key the optimizer takes, with a value it cannot use.
    #[error("invalid {} for {kind}: {message}", key.as_deref().map_or("parameters".to_owned(), |k| format!("`{k}`")))]
    InvalidValue {
        /// The optimizer.
        kind: &'static str,
        /// The key whose value is wrong, when one key alone is at fault.
        key: Option<String>,
        /// What is wrong (serde's message: the type expected and found).
        message: String,
    },
}

impl ConfigError {
    /// The key at fault (an unknown key, or the key whose value is wrong).
    pub fn key(&self) -> Option<&str> {
        match self {
            ConfigError::UnknownKey { key, .. } => Some(key),
            ConfigError::InvalidValue { key, .. } => key.as_deref(),
            _ => None,
        }
    }

    /// The closest valid name or key, if one is close.
    pub fn suggestion(&self) -> Option<&'static str> {
        match self {
            ConfigError::UnknownKind { suggestion, .. }
            | ConfigError::UnknownKey { suggestion, .. } => *suggestion,
            _ => None,
        }
    }

    /// What the error's message says about the problem, without the hint.
    pub fn problem(&self) -> String {
        match self {
            ConfigError::UnknownKind { name, .. } => format!("unknown optimizer `{name}`"),
            ConfigError::UnknownKey { kind, key, .. } => {
                format!("`{key}` is not a parameter of {kind}")
            }
            other => other.to_string(),
        }
    }

    /// What to do about it, when the message has a hint (a close name, the valid keys).
    pub fn hint(&self) -> Option<String> {
        match self {
            ConfigError::UnknownKind {
                suggestion, known, ..
            } => Some(did_you_mean(*suggestion, known)),
            ConfigError::UnknownKey {
                suggestion,
                taken_by,
                known,
                ..
            } => Some(unknown_key_hint(*suggestion, taken_by, known)),
            _ => None,
        }
    }
}

fn did_you_mean(suggestion: Option<&str>, known: &[&str]) -> String {
    match suggestion {
        Some(s) => format!("did you mean `{s}`?"),
        None => format!(
            "expected one of {}",
            known
                .iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn unknown_key_hint(suggestion: Option<&str>, taken_by: &[&str], known: &[&str]) -> String {
    let base = did_you_mean(suggestion, known);
    if taken_by.is_empty() || suggestion.is_some() {
        base
    } else {
        format!("{base} (it is a parameter of {})", taken_by.join(", "))
    }
}

/// The closest of `candidates` to `word` (Damerau–Levenshtein, as cargo suggests), if close
/// enough to be a typo.
pub fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(word, c), c))
        .filter(|(d, c)| *d <= 3.max(c.len() / 3) && *d < c.len().max(word.len()))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}
