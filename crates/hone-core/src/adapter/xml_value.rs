//! Values and types as nested XML, as DSPy's XMLAdapter writes and reads them: lists as
//! `<item>` children, dicts and models as one child per key (`<entry key="...">` when a key is
//! not a valid tag), and the skeleton of a type for the prompt.

use serde_json::{Map, Value};

use super::pyfmt::{py_str, py_strip};
use super::xml_tree::Element;
use crate::types::FieldType;

/// Whether output values of this type are written as nested XML (lists, dicts and models,
/// possibly optional).
pub(crate) fn uses_nested_xml(ty: &FieldType) -> bool {
    let inner = match ty {
        FieldType::Union { variants } => {
            let non_null: Vec<&FieldType> =
                variants.iter().filter(|v| **v != FieldType::Null).collect();
            match non_null.as_slice() {
                [one] => *one,
                _ => ty,
            }
        }
        other => other,
    };
    // DSPy's own models (`Code`) are written as text, also as list items.
    match inner {
        FieldType::List { item } => !matches!(item.as_ref(), FieldType::Code { .. }),
        FieldType::Dict { .. } | FieldType::Model(_) => true,
        _ => false,
    }
}

/// Python's `xml.sax.saxutils.quoteattr`.
fn quoteattr(s: &str) -> String {
    let escaped = s
        .replace('&', "&amp;")
        .replace('>', "&gt;")
        .replace('<', "&lt;")
        .replace('\n', "&#10;")
        .replace('\r', "&#13;")
        .replace('\t', "&#9;");
    if escaped.contains('"') {
        if escaped.contains('\'') {
            format!("\"{}\"", escaped.replace('"', "&quot;"))
        } else {
            format!("'{escaped}'")
        }
    } else {
        format!("\"{escaped}\"")
    }
}

/// Whether `name` (with `-` and `.` after the first character read as `_`) is a Python
/// identifier, i.e. usable as a tag.
fn is_tag_name(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if c.is_alphabetic() || c == '_' => {}
        _ => return false,
    }
    chars.all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// DSPy's `_value_to_xml`.
pub(crate) fn value_to_xml(value: &Value, tag: &str, key: Option<&str>) -> String {
    let attrs = key
        .map(|k| format!(" key={}", quoteattr(k)))
        .unwrap_or_default();
    match value {
        Value::Array(items) => {
            let children: String = items
                .iter()
                .map(|v| value_to_xml(v, "item", None))
                .collect();
            if children.is_empty() {
                format!("<{tag}{attrs} />")
            } else {
                format!("<{tag}{attrs}>{children}</{tag}>")
            }
        }
        Value::Object(map) => {
            let children: String = map
                .iter()
                .map(|(name, v)| {
                    if is_tag_name(name) {
                        value_to_xml(v, name, None)
                    } else {
                        value_to_xml(v, "entry", Some(name))
                    }
                })
                .collect();
            format!("<{tag}{attrs}>{children}</{tag}>")
        }
        Value::Null => format!("<{tag}{attrs} />"),
        scalar => format!(
            "<{tag}{attrs}>{}</{tag}>",
            py_str(scalar).replace('&', "&amp;").replace('<', "&lt;")
        ),
    }
}

/// DSPy's `_xml_schema`: the XML skeleton of a type, `...` for leaves.
pub(crate) fn type_to_xml(tag: &str, ty: &FieldType) -> String {
    let schema = ty.json_schema();
    let defs = schema
        .get("$defs")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    schema_to_xml(tag, &schema, &defs, &mut Vec::new())
}

fn schema_to_xml(
    tag: &str,
    schema: &Value,
    defs: &Map<String, Value>,
    seen: &mut Vec<String>,
) -> String {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r.rsplit('/').next().unwrap_or(r).to_owned();
        return match defs.get(&name) {
            Some(def) if !seen.contains(&name) => {
                seen.push(name);
                let out = schema_to_xml(tag, def, defs, seen);
                seen.pop();
                out
            }
            _ => format!("<{tag}>...</{tag}>"),
        };
    }
    if let Some(choices) = schema
        .get("anyOf")
        .and_then(Value::as_array)
        .filter(|c| !c.is_empty())
    {
        let pick = choices
            .iter()
            .find(|s| s.get("type").and_then(Value::as_str) != Some("null"))
            .unwrap_or(&choices[0]);
        return schema_to_xml(tag, pick, defs, seen);
    }
    if schema.get("type").and_then(Value::as_str) == Some("array") {
        let empty = Value::Object(Map::new());
        let item = schema_to_xml("item", schema.get("items").unwrap_or(&empty), defs, seen);
        return format!("<{tag}>{item}</{tag}>");
    }
    let children: String = schema
        .get("properties")
        .and_then(Value::as_object)
        .map(|props| {
            props
                .iter()
                .map(|(name, child)| schema_to_xml(name, child, defs, seen))
                .collect()
        })
        .unwrap_or_default();
    if children.is_empty() {
        format!("<{tag}>...</{tag}>")
    } else {
        format!("<{tag}>{children}</{tag}>")
    }
}

/// DSPy's `_group_children`: children by tag (by `key` for `<entry>`), in document order.
pub(crate) fn group_children(el: &Element) -> Vec<(String, Vec<&Element>)> {
    let mut groups: Vec<(String, Vec<&Element>)> = Vec::new();
    for child in &el.children {
        let key = if child.tag == "entry" {
            child.attr("key").unwrap_or("entry").to_owned()
        } else {
            child.tag.clone()
        };
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, list)) => list.push(child),
            None => groups.push((key, vec![child])),
        }
    }
    groups
}

fn stripped_text(el: &Element) -> String {
    py_strip(el.text.as_deref().unwrap_or("")).to_owned()
}

fn type_of(schema: &Value) -> Option<&str> {
    schema.get("type").and_then(Value::as_str)
}

/// DSPy's `_elements_to_value`: the raw (untyped) value of same-named elements, guided by the
/// field's JSON Schema.
pub(crate) fn elements_to_value(
    elements: &[&Element],
    schema: &Value,
    defs: &Map<String, Value>,
    depth: usize,
) -> Value {
    let Some(first) = elements.first() else {
        return Value::Null;
    };
    if depth > 256 {
        return Value::String(stripped_text(first));
    }
    let empty = Value::Object(Map::new());
    let mut schema = schema;
    let ref_name = schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.rsplit('/').next())
        .unwrap_or("");
    if let Some(def) = defs.get(ref_name) {
        schema = def;
    }
    if let Some(choices) = schema.get("anyOf").and_then(Value::as_array) {
        let null = serde_json::json!({"type": "null"});
        if choices.contains(&null) && first.children.is_empty() && stripped_text(first).is_empty() {
            return Value::Null;
        }
        let non_null: Vec<&Value> = choices
            .iter()
            .filter(|c| type_of(c) != Some("null"))
            .collect();
        let Some(pick) = non_null.first() else {
            return Value::Null;
        };
        schema = pick;
        if !first.children.is_empty()
            && let Some(s) = non_null.iter().find(|c| type_of(c) != Some("string"))
        {
            schema = s;
        }
    }
    if type_of(schema) == Some("array") {
        let items_schema = schema.get("items").unwrap_or(&empty);
        if elements.len() == 1 && first.children.is_empty() {
            let text = stripped_text(first);
            if text.is_empty() {
                return Value::Array(Vec::new());
            }
            if text.starts_with('[') {
                return Value::String(text);
            }
        }
        let mut list: Vec<&Element> = elements.to_vec();
        if elements.len() == 1
            && let Some((_, items)) = group_children(first).into_iter().find(|(k, _)| k == "item")
        {
            list = items;
        }
        return Value::Array(
            list.iter()
                .map(|e| elements_to_value(&[e], items_schema, defs, depth + 1))
                .collect(),
        );
    }
    if type_of(schema) == Some("string") && !first.children.is_empty() {
        let mut s = first.text.clone().unwrap_or_default();
        for c in &first.children {
            s.push_str(&c.to_xml_string());
        }
        return Value::String(s);
    }
    let children = group_children(first);
    if children.is_empty() {
        if type_of(schema) == Some("object") && stripped_text(first).is_empty() {
            return Value::Object(Map::new());
        }
        let values: Vec<Value> = elements
            .iter()
            .map(|e| Value::String(stripped_text(e)))
            .collect();
        return match values.as_slice() {
            [one] => one.clone(),
            _ => Value::Array(values),
        };
    }
    let properties = schema.get("properties").and_then(Value::as_object);
    let child_schema = match schema.get("additionalProperties") {
        Some(s @ Value::Object(_)) => s,
        _ => &empty,
    };
    let mut out = Map::new();
    for (name, items) in children {
        let s = properties
            .and_then(|p| p.get(&name))
            .unwrap_or(child_schema);
        out.insert(name, elements_to_value(&items, s, defs, depth + 1));
    }
    Value::Object(out)
}
