//! Field types: what a signature field holds, how DSPy names it, and its JSON Schema.
//!
//! [`FieldType`] mirrors the Python annotations DSPy users write (`str`, `int`, `list[str]`,
//! `Literal['a', 'b']`, `Optional[int]`, a pydantic model, ...). Three views of a type matter to
//! the prompt hone sends, and each must equal DSPy's byte for byte:
//!
//! * [`FieldType::python_name`]: the annotation name shown in the system message
//!   (`list[Person]`, `Union[str, NoneType]`), as DSPy's `get_annotation_name` prints it;
//! * [`FieldType::json_schema`]: the JSON Schema pydantic's `TypeAdapter(T).json_schema()` gives;
//! * the value coercion done when parsing completions (see [`crate::coerce`]).

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// The type of a signature field or of a field inside a structured (model) type.
///
/// ```
/// use hone_core::FieldType;
/// let t = FieldType::list(FieldType::Str);
/// assert_eq!(t.python_name(), "list[str]");
/// assert_eq!(t.json_schema(), serde_json::json!({"items": {"type": "string"}, "type": "array"}));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FieldType {
    /// Text (`str`).
    Str,
    /// A whole number (`int`).
    Int,
    /// A floating-point number (`float`).
    Float,
    /// `True` or `False` (`bool`).
    Bool,
    /// Python's `None` (`NoneType`); appears inside unions.
    Null,
    /// Any JSON value (`typing.Any`).
    Any,
    /// A homogeneous list (`list[T]`).
    List {
        /// The type of each item.
        item: Box<FieldType>,
    },
    /// A mapping (`dict[K, V]`); JSON objects only allow string keys, so `K` is usually `str`.
    Dict {
        /// The key type.
        key: Box<FieldType>,
        /// The value type.
        value: Box<FieldType>,
    },
    /// One of a fixed set of values (`Literal['a', 'b']`); values are strings, numbers, booleans
    /// or null.
    Literal {
        /// The allowed values, in declaration order.
        values: Vec<Value>,
    },
    /// A union of alternatives (`Union[A, B]`, `Optional[T]` = `Union[T, NoneType]`, `A | B`).
    Union {
        /// The alternatives in declaration order (nested unions are flattened).
        variants: Vec<FieldType>,
    },
    /// A structured type with named fields (a pydantic model or a Rust struct).
    Model(Arc<ModelType>),
}

/// A structured type with named, typed fields: a pydantic `BaseModel` in DSPy, a struct in Rust.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelType {
    /// The class name (`Person`), used as the JSON Schema title and in annotation names.
    pub name: String,
    /// The model's docstring, shown as the JSON Schema `description`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The fields, in declaration order.
    pub fields: Vec<ModelField>,
}

/// One field of a [`ModelType`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelField {
    /// The field name.
    pub name: String,
    /// The field type.
    #[serde(rename = "type")]
    pub ty: FieldType,
    /// The default value; a field without one is required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
    /// A description, shown in the JSON Schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl ModelField {
    /// A required field with no default and no description.
    pub fn required(name: impl Into<String>, ty: FieldType) -> Self {
        ModelField {
            name: name.into(),
            ty,
            default: None,
            description: None,
        }
    }

    /// A field with a default value (and therefore optional).
    pub fn with_default(name: impl Into<String>, ty: FieldType, default: Value) -> Self {
        ModelField {
            name: name.into(),
            ty,
            default: Some(default),
            description: None,
        }
    }

    /// Whether the field must be present in a value of the model.
    pub fn is_required(&self) -> bool {
        self.default.is_none()
    }
}

impl ModelType {
    /// A model with the given name and fields.
    pub fn new(name: impl Into<String>, fields: Vec<ModelField>) -> Self {
        ModelType {
            name: name.into(),
            description: None,
            fields,
        }
    }
}

impl FieldType {
    /// `list[item]`.
    pub fn list(item: FieldType) -> Self {
        FieldType::List {
            item: Box::new(item),
        }
    }

    /// `dict[key, value]`.
    pub fn dict(key: FieldType, value: FieldType) -> Self {
        FieldType::Dict {
            key: Box::new(key),
            value: Box::new(value),
        }
    }

    /// `Optional[inner]`, i.e. `Union[inner, NoneType]`.
    pub fn optional(inner: FieldType) -> Self {
        FieldType::union(vec![inner, FieldType::Null])
    }

    /// `Union[...]` of the given variants; nested unions are flattened and repeats dropped, as
    /// Python's `typing.Union` does. A union of one type is that type.
    pub fn union(variants: Vec<FieldType>) -> Self {
        let mut flat: Vec<FieldType> = Vec::new();
        for v in variants {
            match v {
                FieldType::Union { variants } => {
                    for inner in variants {
                        if !flat.contains(&inner) {
                            flat.push(inner);
                        }
                    }
                }
                other => {
                    if !flat.contains(&other) {
                        flat.push(other);
                    }
                }
            }
        }
        if flat.len() == 1 {
            flat.remove(0)
        } else {
            FieldType::Union { variants: flat }
        }
    }

    /// `Literal[...]` of string values.
    pub fn literal<I, S>(values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        FieldType::Literal {
            values: values
                .into_iter()
                .map(|s| Value::String(s.into()))
                .collect(),
        }
    }

    /// A structured model type.
    pub fn model(model: ModelType) -> Self {
        FieldType::Model(Arc::new(model))
    }

    /// Whether `None` is an accepted value (an optional type, `NoneType` or `Any`).
    pub fn allows_null(&self) -> bool {
        match self {
            FieldType::Null | FieldType::Any => true,
            FieldType::Union { variants } => variants.iter().any(FieldType::allows_null),
            FieldType::Literal { values } => values.iter().any(Value::is_null),
            _ => false,
        }
    }

    /// For `Optional[T]` (a union of exactly one type and `NoneType`), the type `T`.
    pub fn optional_inner(&self) -> Option<&FieldType> {
        match self {
            FieldType::Union { variants } if variants.len() == 2 => {
                match (&variants[0], &variants[1]) {
                    (t, FieldType::Null) | (FieldType::Null, t) => Some(t),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// The annotation name as DSPy's `get_annotation_name` prints it, e.g. `list[str]`,
    /// `dict[str, int]`, `Literal['a', 'b']`, `Union[str, NoneType]`, `Person`.
    pub fn python_name(&self) -> String {
        match self {
            FieldType::Str => "str".into(),
            FieldType::Int => "int".into(),
            FieldType::Float => "float".into(),
            FieldType::Bool => "bool".into(),
            FieldType::Null => "NoneType".into(),
            FieldType::Any => "Any".into(),
            FieldType::List { item } => format!("list[{}]", item.python_name()),
            FieldType::Dict { key, value } => {
                format!("dict[{}, {}]", key.python_name(), value.python_name())
            }
            FieldType::Literal { values } => {
                let args: Vec<String> = values.iter().map(python_literal_repr).collect();
                format!("Literal[{}]", args.join(", "))
            }
            FieldType::Union { variants } => {
                let args: Vec<String> = variants.iter().map(FieldType::python_name).collect();
                format!("Union[{}]", args.join(", "))
            }
            FieldType::Model(m) => m.name.clone(),
        }
    }

    /// The JSON Schema of the type, as pydantic's `TypeAdapter(T).json_schema()` produces it:
    /// nested models go to `$defs` and are referenced with `$ref`; a top-level model is inline.
    pub fn json_schema(&self) -> Value {
        let mut defs = Map::new();
        let mut schema = match self {
            FieldType::Model(m) => model_schema(m, &mut defs),
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
        }
    }

    /// Whether a JSON value is acceptable for this type without coercion.
    ///
    /// Integers are accepted for floats; a model accepts an object whose required fields are
    /// present and whose present fields conform.
    pub fn accepts(&self, value: &Value) -> bool {
        match (self, value) {
            (FieldType::Any, _) => true,
            (FieldType::Str, Value::String(_)) => true,
            (FieldType::Int, Value::Number(n)) => n.is_i64() || n.is_u64(),
            (FieldType::Float, Value::Number(_)) => true,
            (FieldType::Bool, Value::Bool(_)) => true,
            (FieldType::Null, Value::Null) => true,
            (FieldType::List { item }, Value::Array(items)) => {
                items.iter().all(|v| item.accepts(v))
            }
            (FieldType::Dict { value: vt, .. }, Value::Object(map)) => {
                map.values().all(|v| vt.accepts(v))
            }
            (FieldType::Literal { values }, v) => values.contains(v),
            (FieldType::Union { variants }, v) => variants.iter().any(|t| t.accepts(v)),
            (FieldType::Model(m), Value::Object(map)) => {
                m.fields.iter().all(|f| match map.get(&f.name) {
                    Some(v) => f.ty.accepts(v),
                    None => !f.is_required(),
                })
            }
            _ => false,
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
        // pydantic leaves the title out when the field is a (possibly optional) model reference.
        let is_model_ref = matches!(f.ty, FieldType::Model(_))
            || matches!(f.ty.optional_inner(), Some(FieldType::Model(_)));
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

/// How a literal value appears inside `Literal[...]` in DSPy's annotation names.
fn python_literal_repr(v: &Value) -> String {
    match v {
        Value::String(s) => quote_literal_string(s),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Null => "None".into(),
        Value::Number(n) => crate::adapter::pyfmt::py_number(n),
        other => other.to_string(),
    }
}

/// DSPy's `_quoted_string_for_literal_type_annotation`.
fn quote_literal_string(s: &str) -> String {
    let single = s.contains('\'');
    let double = s.contains('"');
    match (single, double) {
        (true, false) => format!("\"{s}\""),
        (false, true) => format!("'{s}'"),
        (true, true) => format!("'{}'", s.replace('\'', "\\'")),
        (false, false) => format!("'{s}'"),
    }
}

/// The text of a literal value as Python's `str(x)` prints it (used in "one of: a; b" notes).
pub fn python_str(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Null => "None".into(),
        Value::Number(n) => crate::adapter::pyfmt::py_number(n),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person() -> FieldType {
        FieldType::model(ModelType::new(
            "Person",
            vec![
                ModelField::required("name", FieldType::Str),
                ModelField::with_default("age", FieldType::optional(FieldType::Int), Value::Null),
                ModelField::with_default("emails", FieldType::list(FieldType::Str), json!([])),
            ],
        ))
    }

    #[test]
    fn python_names_match_dspy() {
        assert_eq!(FieldType::Str.python_name(), "str");
        assert_eq!(
            FieldType::dict(FieldType::Str, FieldType::Str).python_name(),
            "dict[str, str]"
        );
        assert_eq!(
            FieldType::literal(["billing", "tech", "sales"]).python_name(),
            "Literal['billing', 'tech', 'sales']"
        );
        assert_eq!(
            FieldType::optional(FieldType::Str).python_name(),
            "Union[str, NoneType]"
        );
        assert_eq!(FieldType::list(person()).python_name(), "list[Person]");
        assert_eq!(
            FieldType::literal(["it's", "say \"hi\"", "both ' \""]).python_name(),
            r#"Literal["it's", 'say "hi"', 'both \' "']"#
        );
    }

    #[test]
    fn model_schema_matches_pydantic() {
        let schema = FieldType::list(person()).json_schema();
        let expected = json!({
          "$defs": {"Person": {
              "properties": {
                "name": {"title": "Name", "type": "string"},
                "age": {"anyOf": [{"type": "integer"}, {"type": "null"}], "default": null, "title": "Age"},
                "emails": {"default": [], "items": {"type": "string"}, "title": "Emails", "type": "array"}
              },
              "required": ["name"], "title": "Person", "type": "object"}},
          "items": {"$ref": "#/$defs/Person"},
          "type": "array"
        });
        assert_eq!(schema, expected);
    }

    #[test]
    fn literal_and_optional_schemas() {
        assert_eq!(
            FieldType::literal(["a", "b"]).json_schema(),
            json!({"enum": ["a", "b"], "type": "string"})
        );
        assert_eq!(
            FieldType::optional(FieldType::Str).json_schema(),
            json!({"anyOf": [{"type": "string"}, {"type": "null"}]})
        );
    }

    #[test]
    fn union_flattens_and_dedups() {
        let t = FieldType::union(vec![
            FieldType::Int,
            FieldType::union(vec![FieldType::Str, FieldType::Int]),
        ]);
        assert_eq!(t.python_name(), "Union[int, str]");
        assert_eq!(FieldType::union(vec![FieldType::Int]), FieldType::Int);
    }

    #[test]
    fn accepts_checks_shape() {
        assert!(person().accepts(&json!({"name": "Ada"})));
        assert!(!person().accepts(&json!({"age": 3})));
        assert!(FieldType::Float.accepts(&json!(3)));
        assert!(!FieldType::Int.accepts(&json!(3.5)));
    }
}
