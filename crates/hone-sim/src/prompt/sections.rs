//! Splitting a user or assistant message into named field values, for each
//! adapter's layout.

use serde_json::{Map, Value};

use super::AdapterKind;

/// The tail DSPy appends to the last user message.
const REMINDERS: [&str; 2] = [
    "\n\nRespond with the corresponding output fields",
    "\n\nRespond with a JSON object",
];

/// Removes DSPy's trailing "Respond with ..." reminder.
pub fn strip_reminder(text: &str) -> &str {
    REMINDERS
        .iter()
        .filter_map(|r| text.rfind(r))
        .max()
        .and_then(|i| text.get(..i))
        .unwrap_or(text)
}

/// Field values of a user message (inputs): `[[ ## name ## ]]` sections for
/// the chat and JSON adapters, `<name>` elements for XML.
pub fn split_inputs(adapter: AdapterKind, text: &str, names: &[&str]) -> Map<String, Value> {
    match adapter {
        AdapterKind::Xml => split_xml(text, names),
        AdapterKind::Chat | AdapterKind::Json => split_markers(text, names),
    }
}

/// Field values of an assistant message (outputs) in the adapter's format.
pub fn split_outputs(adapter: AdapterKind, text: &str, names: &[&str]) -> Map<String, Value> {
    match adapter {
        AdapterKind::Chat => split_markers(text, names),
        AdapterKind::Xml => split_xml(text, names),
        AdapterKind::Json => split_json(text, names),
    }
}

/// Splits on `[[ ## name ## ]]` markers at line starts, for known names only
/// (values may themselves contain markers of other names).
pub fn split_markers(text: &str, names: &[&str]) -> Map<String, Value> {
    let mut marks: Vec<(usize, usize, &str)> = Vec::new();
    for name in names.iter().copied().chain(std::iter::once("completed")) {
        let marker = format!("[[ ## {name} ## ]]");
        let mut from = 0;
        while let Some(i) = text.get(from..).and_then(|t| t.find(&marker)) {
            let at = from + i;
            let at_line_start = at == 0 || text.as_bytes().get(at - 1) == Some(&b'\n');
            if at_line_start {
                marks.push((at, at + marker.len(), name));
                break;
            }
            from = at + marker.len();
        }
    }
    marks.sort_by_key(|m| m.0);
    let mut out = Map::new();
    for (k, &(_, end, name)) in marks.iter().enumerate() {
        if name == "completed" {
            continue;
        }
        let stop = marks.get(k + 1).map(|m| m.0).unwrap_or(text.len());
        let value = text.get(end..stop).unwrap_or("").trim();
        out.insert(name.to_owned(), Value::String(value.to_owned()));
    }
    out
}

/// Reads `<name>value</name>` elements.
pub fn split_xml(text: &str, names: &[&str]) -> Map<String, Value> {
    let mut found: Vec<(usize, &str, String)> = Vec::new();
    for name in names {
        let open = format!("<{name}>");
        let close = format!("</{name}>");
        let Some(start) = text.find(&open) else {
            continue;
        };
        let body_start = start + open.len();
        let Some(len) = text.get(body_start..).and_then(|t| t.find(&close)) else {
            continue;
        };
        let value = text.get(body_start..body_start + len).unwrap_or("").trim();
        found.push((start, name, value.to_owned()));
    }
    found.sort_by_key(|f| f.0);
    found
        .into_iter()
        .map(|(_, n, v)| (n.to_owned(), Value::String(v)))
        .collect()
}

/// Reads a JSON object (possibly fenced) and keeps the known names; values
/// that are not strings are kept as compact JSON text.
pub fn split_json(text: &str, names: &[&str]) -> Map<String, Value> {
    let Some(obj) = first_json_object(text) else {
        return Map::new();
    };
    obj.into_iter()
        .filter(|(k, _)| names.contains(&k.as_str()))
        .map(|(k, v)| {
            let s = match v {
                Value::String(s) => s,
                Value::Bool(true) => "True".to_owned(),
                Value::Bool(false) => "False".to_owned(),
                other => other.to_string(),
            };
            (k, Value::String(s))
        })
        .collect()
}

/// The first JSON object in `text`, skipping code fences or prose before it.
pub fn first_json_object(text: &str) -> Option<Map<String, Value>> {
    let start = text.find('{')?;
    let mut it = serde_json::Deserializer::from_str(text.get(start..)?).into_iter::<Value>();
    match it.next()? {
        Ok(Value::Object(m)) => Some(m),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_ignore_unknown_names_inside_values() {
        let text = "[[ ## ticket ## ]]\nThe app crashes with {\"error\": \"[[ ## x ## ]]\"}\n\n[[ ## metadata ## ]]\n{}";
        let m = split_markers(text, &["ticket", "metadata"]);
        assert_eq!(
            m.get("ticket").and_then(Value::as_str),
            Some("The app crashes with {\"error\": \"[[ ## x ## ]]\"}")
        );
        assert_eq!(m.get("metadata").and_then(Value::as_str), Some("{}"));
    }

    #[test]
    fn reminder_is_stripped() {
        let t = "[[ ## q ## ]]\nhi\n\nRespond with a JSON object in the following order of fields: `a`.";
        assert_eq!(strip_reminder(t), "[[ ## q ## ]]\nhi");
    }

    #[test]
    fn xml_and_json() {
        let m = split_xml(
            "<answer>\n42\n</answer>\n\n<why>\nx\n</why>",
            &["answer", "why"],
        );
        assert_eq!(m.get("answer").and_then(Value::as_str), Some("42"));
        let m = split_json(
            "```json\n{\"answer\": 5, \"ok\": true}\n```",
            &["answer", "ok"],
        );
        assert_eq!(m.get("answer").and_then(Value::as_str), Some("5"));
        assert_eq!(m.get("ok").and_then(Value::as_str), Some("True"));
    }
}
