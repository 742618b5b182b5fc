//! Writing output values in the format a DSPy adapter parses.

use serde_json::{Map, Value};

use crate::prompt::AdapterKind;
use crate::schema;

/// A value as DSPy writes it in text: strings raw, booleans `True`/`False`,
/// `None` for null, JSON for numbers, lists and objects.
pub fn text_value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(true) => "True".to_owned(),
        Value::Bool(false) => "False".to_owned(),
        Value::Null => "None".to_owned(),
        other => other.to_string(),
    }
}

/// `[[ ## name ## ]]` sections ending with `[[ ## completed ## ]]`.
pub fn chat(values: &Map<String, Value>) -> String {
    let mut out = String::new();
    for (k, v) in values {
        out.push_str(&format!("[[ ## {k} ## ]]\n{}\n\n", text_value(v)));
    }
    out.push_str("[[ ## completed ## ]]");
    out
}

/// `<name>value</name>` elements.
pub fn xml(values: &Map<String, Value>) -> String {
    values
        .iter()
        .map(|(k, v)| format!("<{k}>\n{}\n</{k}>", text_value(v)))
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// A JSON object; with a `json_schema` response format the object is made
/// to satisfy the schema.
pub fn json(values: &Map<String, Value>, schema: Option<&Value>) -> String {
    let value = Value::Object(values.clone());
    let value = match schema {
        Some(s) => schema::conform(&value, s, s),
        None => value,
    };
    serde_json::to_string_pretty(&value).unwrap_or_else(|_| "{}".to_owned())
}

/// Renders for an adapter.
pub fn render(adapter: AdapterKind, values: &Map<String, Value>, schema: Option<&Value>) -> String {
    match adapter {
        AdapterKind::Chat => chat(values),
        AdapterKind::Xml => xml(values),
        AdapterKind::Json => json(values, schema),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn formats() {
        let mut m = Map::new();
        m.insert("answer".into(), json!(42));
        m.insert("ok".into(), json!(true));
        assert_eq!(
            chat(&m),
            "[[ ## answer ## ]]\n42\n\n[[ ## ok ## ]]\nTrue\n\n[[ ## completed ## ]]"
        );
        assert_eq!(xml(&m), "<answer>\n42\n</answer>\n\n<ok>\nTrue\n</ok>");
        assert!(json(&m, None).contains("\"ok\": true"));
    }
}
