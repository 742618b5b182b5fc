//! The JSON Schema of a type, key for key as pydantic's `TypeAdapter(T).json_schema()`
//! writes it: models, enums, literals, `dspy.Code` and `dspy.Image`, and pydantic's titles.

use serde_json::{Map, Value, json};

use super::{EnumType, FieldType, ModelField, ModelType};

impl FieldType {
    /// The JSON Schema of the type, as pydantic's `TypeAdapter(T).json_schema()` produces it:
    /// nested models go to `$defs` and are referenced with `$ref`; a top-level model is inline.
    pub fn json_schema(&self) -> Value {
        let mut defs = Map::new();
        let mut schema = match self {
            FieldType::Model(m) => model_schema(m, &mut defs),
            FieldType::Enum(e) => enum_schema(e),
            FieldType::Code { language } => model_schema(&code_model(language), &mut defs),
            FieldType::Image => image_schema(),
            other => other.schema_in(&mut defs),
        };
        if !defs.is_empty()
            && let Value::Object(obj) = &mut schema
        {
            let mut with_defs = Map::new();
            with_defs.insert("$defs".into(), Value::Object(defs));
            for (k, v) in std::mem::take(obj) {
                with_defs.insert(k, v);
            }
            *obj = with_defs;
        }
        schema
    }

    /// Schema of this type where nested models are placed in `defs` and referenced.
    fn schema_in(&self, defs: &mut Map<String, Value>) -> Value {
        match self {
            FieldType::Str => json!({"type": "string"}),
            FieldType::Int => json!({"type": "integer"}),
            FieldType::Float => json!({"type": "number"}),
            FieldType::Bool => json!({"type": "boolean"}),
            FieldType::Null => json!({"type": "null"}),
            FieldType::Any => json!({}),
            FieldType::List { item } => json!({"items": item.schema_in(defs), "type": "array"}),
            FieldType::Dict { value, .. } => {
                // pydantic writes `true` for `dict[str, Any]`.
                let additional = match value.as_ref() {
                    FieldType::Any => Value::Bool(true),
                    other => other.schema_in(defs),
                };
                json!({"additionalProperties": additional, "type": "object"})
            }
            FieldType::Literal { values } => literal_schema(values),
            FieldType::Union { variants } => {
                let any_of: Vec<Value> = variants.iter().map(|v| v.schema_in(defs)).collect();
                json!({ "anyOf": any_of })
            }
            FieldType::Model(m) => {
                if !defs.contains_key(&m.name) {
                    // Insert a placeholder first so recursive models terminate.
                    defs.insert(m.name.clone(), Value::Null);
                    let s = model_schema(m, defs);
                    defs.insert(m.name.clone(), s);
                }
                json!({ "$ref": format!("#/$defs/{}", m.name) })
            }
            FieldType::Enum(e) => {
                defs.insert(e.name.clone(), enum_schema(e));
                json!({ "$ref": format!("#/$defs/{}", e.name) })
            }
            FieldType::Code { language } => {
                let m = code_model(language);
                let s = model_schema(&m, defs);
                defs.insert(m.name.clone(), s);
                json!({ "$ref": format!("#/$defs/{}", m.name) })
            }
            FieldType::Image => {
                defs.insert("Image".into(), image_schema());
                json!({ "$ref": "#/$defs/Image" })
            }
        }
    }
}

fn model_schema(m: &ModelType, defs: &mut Map<String, Value>) -> Value {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for f in &m.fields {
        let mut prop = match f.ty.schema_in(defs) {
            Value::Object(o) => o,
            other => {
                let mut o = Map::new();
                o.insert("allOf".into(), Value::Array(vec![other]));
                o
            }
        };
        if let Some(d) = &f.default {
            prop.insert("default".into(), d.clone());
        }
        if let Some(desc) = &f.description {
            prop.insert("description".into(), Value::String(desc.clone()));
        }
        // pydantic leaves the title out when the field is a (possibly optional) reference to a
        // model or an enum.
        let is_ref = |t: &FieldType| {
            matches!(
                t,
                FieldType::Model(_)
                    | FieldType::Enum(_)
                    | FieldType::Code { .. }
                    | FieldType::Image
            )
        };
        let is_model_ref = is_ref(&f.ty) || f.ty.optional_inner().is_some_and(is_ref);
        if !is_model_ref {
            prop.insert("title".into(), Value::String(pydantic_title(&f.name)));
        }
        properties.insert(f.name.clone(), Value::Object(sort_like_pydantic(prop)));
        if f.is_required() {
            required.push(Value::String(f.name.clone()));
        }
    }
    let mut out = Map::new();
    if let Some(d) = &m.description {
        out.insert("description".into(), Value::String(d.clone()));
    }
    out.insert("properties".into(), Value::Object(properties));
    if !required.is_empty() {
        out.insert("required".into(), Value::Array(required));
    }
    out.insert("title".into(), Value::String(m.name.clone()));
    out.insert("type".into(), Value::String("object".into()));
    Value::Object(out)
}

/// pydantic emits the keys of a property schema in alphabetical order.
fn sort_like_pydantic(map: Map<String, Value>) -> Map<String, Value> {
    let mut entries: Vec<(String, Value)> = map.into_iter().collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    entries.into_iter().collect()
}

/// The class name `dspy.Code[language]` creates (`Code_python`).
pub(super) fn code_model_name(language: &str) -> String {
    format!("Code_{language}")
}

/// The pydantic model behind `dspy.Code[language]`: one required `code: str` field.
fn code_model(language: &str) -> ModelType {
    ModelType::new(
        code_model_name(language),
        vec![ModelField::required("code", FieldType::Str)],
    )
}

/// pydantic's schema of `dspy.Image`: one required `url` string, no other keys.
pub(crate) fn image_schema() -> Value {
    json!({
        "additionalProperties": false,
        "properties": {"url": {"title": "Url", "type": "string"}},
        "required": ["url"],
        "title": "Image",
        "type": "object"
    })
}

/// The language of a `dspy.Code` class name (`Code_python` → `python`).
pub(crate) fn code_language(class_name: &str) -> Option<&str> {
    class_name.strip_prefix("Code_").filter(|l| !l.is_empty())
}

/// pydantic's schema of an `enum.Enum` class: the values' `enum` (with its `type` when all
/// values share one), the docstring as `description` and the class name as `title`.
fn enum_schema(e: &EnumType) -> Value {
    let Value::Object(values) = literal_schema(&e.values()) else {
        return Value::Null;
    };
    let mut out = Map::new();
    if let Some(d) = &e.description {
        out.insert("description".into(), Value::String(d.clone()));
    }
    out.extend(values);
    out.insert("title".into(), Value::String(e.name.clone()));
    Value::Object(sort_like_pydantic(out))
}

fn literal_schema(values: &[Value]) -> Value {
    let kind = |v: &Value| match v {
        Value::String(_) => Some("string"),
        Value::Bool(_) => Some("boolean"),
        Value::Number(n) if n.is_i64() || n.is_u64() => Some("integer"),
        Value::Number(_) => Some("number"),
        Value::Null => Some("null"),
        _ => None,
    };
    let first = values.first().and_then(kind);
    let same = values.iter().all(|v| kind(v) == first);
    let mut out = Map::new();
    if values.len() == 1 {
        out.insert("const".into(), values[0].clone());
    } else {
        out.insert("enum".into(), Value::Array(values.to_vec()));
    }
    if same && let Some(k) = first {
        out.insert("type".into(), Value::String(k.into()));
    }
    Value::Object(out)
}

/// pydantic's default field title: `snake_case` → `Snake Case`.
pub(crate) fn pydantic_title(name: &str) -> String {
    name.split('_')
        .map(|w| {
            let mut cs = w.chars();
            match cs.next() {
                Some(c) => c
                    .to_uppercase()
                    .chain(cs.flat_map(char::to_lowercase))
                    .collect(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}
