//! Producing JSON values that satisfy a JSON schema: type-correct defaults
//! and coercion of a proposed value into the schema's shape.
//!
//! Supports the subset structured-output schemas use: `type` (single or
//! list), `enum`, `const`, `anyOf`/`oneOf`/`allOf`, `$ref` into `$defs` /
//! `definitions`, `properties`/`required`/`additionalProperties`, `items`,
//! `minItems`/`maxItems`, `minimum`/`maximum`, `minLength`.

use serde_json::{Map, Value, json};

const MAX_DEPTH: usize = 16;

/// A default value valid for `schema`; `root` resolves `$ref`s.
pub fn default_for(schema: &Value, root: &Value) -> Value {
    conform_at(None, schema, root, 0)
}

/// `value` reshaped to satisfy `schema` (kept when already valid, converted
/// when possible, replaced by a default otherwise).
pub fn conform(value: &Value, schema: &Value, root: &Value) -> Value {
    conform_at(Some(value), schema, root, 0)
}

fn resolve<'a>(schema: &'a Value, root: &'a Value) -> &'a Value {
    let mut s = schema;
    for _ in 0..MAX_DEPTH {
        let Some(r) = s.get("$ref").and_then(Value::as_str) else {
            return s;
        };
        let target = r
            .strip_prefix("#/")
            .map(|path| path.split('/').try_fold(root, |node, key| node.get(key)))
            .unwrap_or(if r == "#" { Some(root) } else { None });
        match target {
            Some(t) => s = t,
            None => return &Value::Null,
        }
    }
    s
}

fn types_of(schema: &Value) -> Vec<&str> {
    match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn conform_at(value: Option<&Value>, schema: &Value, root: &Value, depth: usize) -> Value {
    let schema = resolve(schema, root);
    if depth > MAX_DEPTH {
        return value.cloned().unwrap_or(Value::Null);
    }
    if let Some(c) = schema.get("const") {
        return c.clone();
    }
    if let Some(Value::Array(options)) = schema.get("enum") {
        return conform_enum(value, options);
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(Value::Array(branches)) = schema.get(key) {
            return conform_union(value, branches, root, depth);
        }
    }
    if let Some(Value::Array(all)) = schema.get("allOf")
        && let Some(first) = all.first()
    {
        return conform_at(value, first, root, depth + 1);
    }
    let types = types_of(schema);
    if types.is_empty() {
        if schema.get("properties").is_some() {
            return conform_object(value, schema, root, depth);
        }
        if schema.get("items").is_some() {
            return conform_array(value, schema, root, depth);
        }
        return value.cloned().unwrap_or(Value::String(String::new()));
    }
    if let Some(v) = value
        && types.iter().any(|t| shallow_type_ok(v, t))
        && !matches!(v, Value::Object(_) | Value::Array(_))
    {
        return conform_scalar(v, schema);
    }
    let Some(&first) = types.iter().find(|t| **t != "null").or(types.first()) else {
        return Value::Null;
    };
    match first {
        "object" => conform_object(value, schema, root, depth),
        "array" => conform_array(value, schema, root, depth),
        "string" => conform_string(value, schema),
        "integer" => conform_number(value, schema, true),
        "number" => conform_number(value, schema, false),
        "boolean" => Value::Bool(value.map(truthy).unwrap_or(false)),
        _ => Value::Null,
    }
}

fn shallow_type_ok(v: &Value, t: &str) -> bool {
    match t {
        "string" => v.is_string(),
        "integer" => v.as_i64().is_some() || v.as_u64().is_some(),
        "number" => v.is_number(),
        "boolean" => v.is_boolean(),
        "null" => v.is_null(),
        "object" => v.is_object(),
        "array" => v.is_array(),
        _ => false,
    }
}

fn conform_scalar(v: &Value, schema: &Value) -> Value {
    match v {
        Value::String(_) => conform_string(Some(v), schema),
        Value::Number(_) => conform_number(
            Some(v),
            schema,
            v.as_f64().is_some_and(|f| f.fract() == 0.0) && (v.is_i64() || v.is_u64()),
        ),
        other => other.clone(),
    }
}

fn conform_enum(value: Option<&Value>, options: &[Value]) -> Value {
    if let Some(v) = value {
        if options.contains(v) {
            return v.clone();
        }
        if let Some(s) = v.as_str() {
            let low = s.trim().to_lowercase();
            if let Some(o) = options
                .iter()
                .find(|o| o.as_str().is_some_and(|x| x.to_lowercase() == low))
            {
                return o.clone();
            }
        }
    }
    options.first().cloned().unwrap_or(Value::Null)
}

fn conform_union(value: Option<&Value>, branches: &[Value], root: &Value, depth: usize) -> Value {
    if let Some(v) = value {
        if v.is_null()
            && branches
                .iter()
                .any(|b| types_of(resolve(b, root)).contains(&"null"))
        {
            return Value::Null;
        }
        for b in branches {
            let candidate = conform_at(Some(v), b, root, depth + 1);
            if &candidate == v {
                return candidate;
            }
        }
    }
    let preferred = branches
        .iter()
        .find(|b| !types_of(resolve(b, root)).contains(&"null"))
        .or(branches.first());
    match preferred {
        Some(b) => conform_at(value, b, root, depth + 1),
        None => Value::Null,
    }
}

fn conform_object(value: Option<&Value>, schema: &Value, root: &Value, depth: usize) -> Value {
    let given: Map<String, Value> = match value {
        Some(Value::Object(m)) => m.clone(),
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Object(m)) => m,
            _ => Map::new(),
        },
        _ => Map::new(),
    };
    let Some(Value::Object(props)) = schema.get("properties") else {
        // An open mapping: keep what was given.
        return Value::Object(given);
    };
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let closed = schema.get("additionalProperties") == Some(&Value::Bool(false));
    let mut out = Map::new();
    for (name, prop_schema) in props {
        match given.get(name) {
            Some(v) => {
                out.insert(
                    name.clone(),
                    conform_at(Some(v), prop_schema, root, depth + 1),
                );
            }
            None if required.contains(&name.as_str()) || closed => {
                out.insert(name.clone(), conform_at(None, prop_schema, root, depth + 1));
            }
            None => {
                if let Some(d) = resolve(prop_schema, root).get("default") {
                    out.insert(name.clone(), d.clone());
                }
            }
        }
    }
    if !closed {
        for (k, v) in given {
            if !out.contains_key(&k) {
                out.insert(k, v);
            }
        }
    }
    Value::Object(out)
}

fn conform_array(value: Option<&Value>, schema: &Value, root: &Value, depth: usize) -> Value {
    let items_schema = schema.get("items").cloned().unwrap_or(json!({}));
    let given: Vec<Value> = match value {
        Some(Value::Array(a)) => a.clone(),
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Array(a)) => a,
            _ if s.trim().is_empty() => Vec::new(),
            _ => vec![Value::String(s.clone())],
        },
        Some(Value::Null) | None => Vec::new(),
        Some(other) => vec![other.clone()],
    };
    let mut out: Vec<Value> = given
        .iter()
        .map(|v| conform_at(Some(v), &items_schema, root, depth + 1))
        .collect();
    let min = schema.get("minItems").and_then(Value::as_u64).unwrap_or(0) as usize;
    while out.len() < min.min(64) {
        out.push(conform_at(None, &items_schema, root, depth + 1));
    }
    if let Some(max) = schema.get("maxItems").and_then(Value::as_u64) {
        out.truncate(max as usize);
    }
    Value::Array(out)
}

fn conform_string(value: Option<&Value>, schema: &Value) -> Value {
    let mut s = match value {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    };
    let min = schema.get("minLength").and_then(Value::as_u64).unwrap_or(0) as usize;
    if s.chars().count() < min {
        if s.is_empty() {
            s.push_str("text");
        }
        while s.chars().count() < min {
            s.push('.');
        }
    }
    if let Some(max) = schema.get("maxLength").and_then(Value::as_u64) {
        s = s.chars().take(max as usize).collect();
    }
    Value::String(s)
}

fn conform_number(value: Option<&Value>, schema: &Value, integer: bool) -> Value {
    let mut x = match value {
        Some(Value::Number(n)) => n.as_f64().unwrap_or(0.0),
        Some(Value::String(s)) => s.trim().parse::<f64>().unwrap_or(0.0),
        Some(Value::Bool(b)) => f64::from(u8::from(*b)),
        _ => 0.0,
    };
    if !x.is_finite() {
        x = 0.0;
    }
    if let Some(lo) = schema.get("minimum").and_then(Value::as_f64) {
        x = x.max(lo);
    }
    if let Some(hi) = schema.get("maximum").and_then(Value::as_f64) {
        x = x.min(hi);
    }
    if integer {
        json!(x.round() as i64)
    } else {
        json!(x)
    }
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::String(s) => matches!(s.trim().to_lowercase().as_str(), "true" | "yes" | "1"),
        Value::Number(n) => n.as_f64().is_some_and(|x| x != 0.0),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_fill_required_fields() {
        let schema = json!({
            "type": "object",
            "properties": {
                "people": {"type": "array", "items": {"$ref": "#/$defs/Person"}, "minItems": 1},
                "count": {"type": "integer", "minimum": 1},
                "label": {"enum": ["a", "b"]},
                "note": {"anyOf": [{"type": "string"}, {"type": "null"}]}
            },
            "required": ["people", "count", "label", "note"],
            "additionalProperties": false,
            "$defs": {"Person": {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}}
        });
        let v = default_for(&schema, &schema);
        assert_eq!(v["count"], json!(1));
        assert_eq!(v["label"], json!("a"));
        assert_eq!(v["note"], json!(""));
        assert_eq!(v["people"][0]["name"], json!(""));
    }

    #[test]
    fn conform_converts_values() {
        let schema = json!({"type": "object", "properties": {"n": {"type": "integer"}, "ok": {"type": "boolean"}, "tags": {"type": "array", "items": {"type": "string"}}}, "required": ["n", "ok", "tags"], "additionalProperties": false});
        let v = conform(
            &json!({"n": "42", "ok": "True", "tags": "[\"x\"]", "extra": 1}),
            &schema,
            &schema,
        );
        assert_eq!(v, json!({"n": 42, "ok": true, "tags": ["x"]}));
    }
}
