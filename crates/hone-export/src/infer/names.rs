//! Field names read off a saved predictor: DSPy's `${name}` placeholders, a bootstrapped
//! demo's keys, DSPy's default instructions, or the prefixes `infer_prefix` made.

use serde_json::Value;

use super::Saved;

/// A prefix back to the name DSPy's `infer_prefix` made it from: `Clean Text:` → `clean_text`,
/// `Reasoning: Let's think…` → `reasoning`. `None` when the prefix is not of that form.
pub(super) fn name_from_prefix(prefix: &str) -> Option<String> {
    let head = prefix.split(':').next()?.trim();
    if head.is_empty()
        || !head
            .chars()
            .all(|c| c.is_alphanumeric() || c == ' ' || c == '_')
    {
        return None;
    }
    let name = head
        .split_whitespace()
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join("_");
    let first = name.chars().next()?;
    (first.is_alphabetic() || first == '_').then_some(name)
}

/// The field names of a DSPy default instruction "Given the fields `a`, `b`, produce the fields
/// `c`.": `(inputs, outputs)`.
pub(crate) fn default_instruction_names(instructions: &str) -> Option<(Vec<String>, Vec<String>)> {
    let rest = instructions.strip_prefix("Given the fields ")?;
    let (ins, rest) = rest.split_once(", produce the fields ")?;
    let outs = rest.split(['.', '\n']).next()?;
    let names = |s: &str| -> Vec<String> {
        s.split(',')
            .map(|n| n.trim().trim_matches('`').to_owned())
            .filter(|n| !n.is_empty())
            .collect()
    };
    Some((names(ins), names(outs)))
}

/// The field names, and how they were guessed (`None` when the file states them).
pub(super) fn field_names(p: &Saved) -> (Vec<String>, Option<String>) {
    let n = p.fields.len();
    let mut names: Vec<Option<String>> = p
        .fields
        .iter()
        .map(|(_, d)| {
            d.strip_prefix("${")
                .and_then(|r| r.strip_suffix('}'))
                .filter(|r| !r.is_empty() && !r.contains(['$', '{', '}', ' ']))
                .map(str::to_owned)
        })
        .collect();
    if names.iter().all(Option::is_some) {
        return (names.into_iter().flatten().collect(), None);
    }
    // A bootstrapped demo holds every field in signature order.
    let demo_keys = p.demos.iter().find_map(|d| {
        let keys: Vec<String> = d.keys().filter(|k| *k != "augmented").cloned().collect();
        (d.get("augmented") == Some(&Value::Bool(true)) && keys.len() == n).then_some(keys)
    });
    if let Some(keys) = demo_keys
        && names
            .iter()
            .zip(&keys)
            .all(|(known, k)| known.as_ref().is_none_or(|n| n == k))
    {
        return (keys, None);
    }
    if let Some((ins, outs)) = default_instruction_names(&p.instructions)
        && ins.len() + outs.len() == n
    {
        return (ins.into_iter().chain(outs).collect(), None);
    }
    let mut from_prefix = Vec::new();
    let mut placeholder = Vec::new();
    for (i, slot) in names.iter_mut().enumerate() {
        if slot.is_some() {
            continue;
        }
        match name_from_prefix(&p.fields[i].0) {
            Some(name) => {
                from_prefix.push(format!("`{name}` (prefix `{}`)", p.fields[i].0));
                *slot = Some(name);
            }
            None => {
                let name = format!("field_{i}");
                placeholder.push(format!("`{name}` (prefix {:?})", p.fields[i].0));
                *slot = Some(name);
            }
        }
    }
    let mut how = Vec::new();
    if !from_prefix.is_empty() {
        how.push(format!("from prefixes: {}", from_prefix.join(", ")));
    }
    if !placeholder.is_empty() {
        how.push(format!(
            "unknown, named by position: {} — rename them to the program's names",
            placeholder.join(", ")
        ));
    }
    (names.into_iter().flatten().collect(), Some(how.join("; ")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::infer::REASONING_PREFIX;

    #[test]
    fn prefixes_give_back_the_names_infer_prefix_made() {
        assert_eq!(
            name_from_prefix("Clean Text:").as_deref(),
            Some("clean_text")
        );
        assert_eq!(
            name_from_prefix(REASONING_PREFIX).as_deref(),
            Some("reasoning")
        );
        assert_eq!(name_from_prefix("```python\n"), None);
    }
}
