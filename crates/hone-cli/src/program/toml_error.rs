//! TOML and serde errors as located [`FileError`](crate::FileError)s: the line and column of
//! the key, the table it is in, and the closest valid name.

use std::path::Path;

use crate::error::{Error, FileError, did_you_mean};

/// A TOML or serde error as a located [`FileError`] with a suggestion.
pub fn toml_error(path: &Path, text: &str, e: &toml::de::Error) -> Error {
    let full = e.message().trim().to_owned();
    let hint = serde_hint(&full);
    // With a suggestion, the list of every expected name is noise.
    let message = match (&hint, full.split_once(", expected")) {
        (Some(h), Some((head, _))) if h.starts_with("did you mean") => head.to_owned(),
        _ => full,
    };
    let mut err = FileError::new(path, message.clone()).maybe_hint(hint);
    if let Some(span) = e.span() {
        err = err.at_offset(text, span.start);
        let table = table_at(text, span.start);
        let key = key_at(text, span.start);
        let field = match (table, key) {
            (Some(t), Some(k))
                if message.starts_with("unknown field") || !message.starts_with("missing") =>
            {
                Some(format!("{t}.{k}"))
            }
            (Some(t), _) => Some(t),
            (None, Some(k)) => Some(k),
            (None, None) => None,
        };
        if let Some(f) = field {
            err = err.field(f);
        }
    }
    if message.starts_with("missing field")
        && let Some(name) = backticked(&message).first()
    {
        err = err.hint(format!("add `{name} = ...` to this table"));
    }
    err.into()
}

/// For serde's "unknown field `x`, expected one of `a`, `b`" (and variants): a suggestion.
pub fn serde_hint(message: &str) -> Option<String> {
    let unknown = ["unknown field", "unknown variant"]
        .iter()
        .any(|p| message.starts_with(p));
    if !unknown {
        return None;
    }
    let words = backticked(message);
    let (word, expected) = words.split_first()?;
    if expected.is_empty() {
        return None;
    }
    let candidates: Vec<&str> = expected.iter().map(String::as_str).collect();
    Some(did_you_mean(word, &candidates))
}

fn backticked(message: &str) -> Vec<String> {
    message
        .split('`')
        .enumerate()
        .filter(|(i, _)| i % 2 == 1)
        .map(|(_, s)| s.to_owned())
        .collect()
}

/// The `[table]` or `[[table]]` header above `offset`, if any.
fn table_at(text: &str, offset: usize) -> Option<String> {
    // Up to the end of the line at `offset`: a span may point at a table's own header.
    let end = text
        .get(offset..)?
        .find('\n')
        .map_or(text.len(), |i| offset + i);
    let before = text.get(..end)?;
    let mut index = 0usize;
    let mut current: Option<String> = None;
    for line in before.lines() {
        let t = line.trim();
        if let Some(h) = t.strip_prefix("[[").and_then(|r| r.split("]]").next()) {
            let h = h.trim().to_owned();
            index = if current
                .as_deref()
                .is_some_and(|c| c.starts_with(&format!("{h}[")))
            {
                index + 1
            } else {
                0
            };
            current = Some(format!("{h}[{index}]"));
        } else if let Some(h) = t.strip_prefix('[').and_then(|r| r.split(']').next()) {
            current = Some(h.trim().to_owned());
        }
    }
    current
}

/// The key on the line at `offset`, if the line is `key = ...`.
fn key_at(text: &str, offset: usize) -> Option<String> {
    let start = text.get(..offset)?.rfind('\n').map_or(0, |i| i + 1);
    let line = text[start..].lines().next()?;
    let (key, _) = line.split_once('=')?;
    let key = key.trim().trim_matches('"');
    (!key.is_empty() && !key.starts_with('[')).then(|| key.to_owned())
}

/// The byte offset of `key = ` inside the `[section]` table.
pub(super) fn find_key(text: &str, section: &str, key: &str) -> Option<usize> {
    let mut offset = 0usize;
    let mut in_section = false;
    let mut section_start = None;
    for line in text.split_inclusive('\n') {
        let t = line.trim();
        if t.starts_with('[') {
            in_section = t.trim_start_matches('[').trim_end_matches(']').trim() == section;
            if in_section {
                section_start = Some(offset);
            }
        } else if in_section
            && t.split_once('=')
                .is_some_and(|(k, _)| k.trim().trim_matches('"') == key)
        {
            return Some(offset + (line.len() - line.trim_start().len()));
        }
        offset += line.len();
    }
    section_start
}
