//! Field types: what a signature field holds, how DSPy names it, and its JSON Schema.
//!
//! [`FieldType`] mirrors the Python annotations DSPy users write (`str`, `int`, `list[str]`,
//! `Literal['a', 'b']`, `Optional[int]`, a pydantic model, an `enum.Enum` class, DSPy's `Code`
//! and `Image`, ...). Three views of a type matter to the prompt hone sends, and each must equal
//! DSPy's byte for byte:
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
    /// A named enumeration (a Python `enum.Enum` class): shown by its class name, its values
    /// listed in the type note, members parsed by value or by name.
    Enum(Arc<EnumType>),
    /// Source code in a language (DSPy's `dspy.Code["python"]`): a string, written by the LM
    /// in a fenced code block whose content is the value.
    Code {
        /// The programming language (`python`), shown in the type description and the fence.
        language: String,
    },
    /// An image (DSPy's `dspy.Image`): a URL or a `data:` URI, sent to the LM as an
    /// `image_url` content part of the user message.
    Image,
}

/// A Python `enum.Enum` class: a name and members, each with a name and a value.
///
/// DSPy shows the class name in the field list (`(Level)`) and the values in the type note
/// (`must be one of: low; high`); pydantic's JSON Schema is the values' `enum` with the class
/// name as `title`. A field value of an enum type is the member's value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnumType {
    /// The class name (`Level`).
    pub name: String,
    /// The class docstring, shown as the JSON Schema `description`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The members, in declaration order.
    pub members: Vec<EnumMember>,
}

/// One member of an [`EnumType`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnumMember {
    /// The member name (`LOW`).
    pub name: String,
    /// The member value (`"low"`), a string, number, boolean or null.
    pub value: Value,
}

impl EnumType {
    /// An enum class with the given name and `(member name, value)` pairs.
    ///
    /// ```
    /// use hone_core::types::{EnumType, FieldType};
    /// let level = FieldType::enumeration(EnumType::new("Level", [("LOW", "low"), ("HIGH", "high")]));
    /// assert_eq!(level.python_name(), "Level");
    /// assert_eq!(
    ///     level.json_schema(),
    ///     serde_json::json!({"enum": ["low", "high"], "title": "Level", "type": "string"})
    /// );
    /// ```
    pub fn new<I, N, V>(name: impl Into<String>, members: I) -> Self
    where
        I: IntoIterator<Item = (N, V)>,
        N: Into<String>,
        V: Into<Value>,
    {
        EnumType {
            name: name.into(),
            description: None,
            members: members
                .into_iter()
                .map(|(n, v)| EnumMember {
                    name: n.into(),
                    value: v.into(),
                })
                .collect(),
        }
    }

    /// The member values, in declaration order.
    pub fn values(&self) -> Vec<Value> {
        self.members.iter().map(|m| m.value.clone()).collect()
    }

    /// DSPy's `find_enum_member`: the member whose value equals `identifier` (Python
    /// equality, so `1 == 1.0 == True`), else the member named `identifier`.
    pub fn find_member(&self, identifier: &Value) -> Option<&EnumMember> {
        self.members
            .iter()
            .find(|m| python_eq(&m.value, identifier))
            .or_else(|| {
                let name = identifier.as_str()?;
                self.members.iter().find(|m| m.name == name)
            })
    }
}

/// Python's `==` between two scalar values (enum and literal values): numbers and booleans
/// compare by value, so `1 == 1.0 == True`.
pub(crate) fn python_eq(a: &Value, b: &Value) -> bool {
    let num = |x: &Value| match x {
        Value::Number(n) => n.as_f64(),
        Value::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
        _ => None,
    };
    match (a, b) {
        (Value::String(x), Value::String(y)) => x == y,
        (Value::Null, Value::Null) => true,
        _ => matches!((num(a), num(b)), (Some(x), Some(y)) if x == y),
    }
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

    /// A named enumeration (a Python `enum.Enum` class).
    pub fn enumeration(e: EnumType) -> Self {
        FieldType::Enum(Arc::new(e))
    }

    /// Code in `language` (DSPy's `dspy.Code[language]`).
    ///
    /// ```
    /// use hone_core::FieldType;
    /// assert_eq!(FieldType::code("python").python_name(), "Code_python");
    /// ```
    pub fn code(language: impl Into<String>) -> Self {
        FieldType::Code {
            language: language.into(),
        }
    }

    /// DSPy's custom-type description of this type, shown under the field in the field list
    /// (`Type description of Code_python: ...`); empty for types without one.
    pub fn type_description(&self) -> String {
        match self {
            FieldType::Code { language } => format!(
                "Code represented in a string, specified in the `code` field. If this is an output field, the code field should follow the markdown code block format, e.g. \n```{}\n{{code}}\n```\nProgramming language: {language}",
                language.to_lowercase()
            ),
            _ => String::new(),
        }
    }

    /// DSPy's `Type.extract_custom_type_from_annotation`: the DSPy custom types (`Code`)
    /// inside this type through its type arguments (not through model fields), in order.
    pub fn custom_types(&self) -> Vec<&FieldType> {
        match self {
            FieldType::Code { .. } => vec![self],
            FieldType::List { item } => item.custom_types(),
            FieldType::Dict { key, value } => {
                let mut out = key.custom_types();
                out.extend(value.custom_types());
                out
            }
            FieldType::Union { variants } => {
                variants.iter().flat_map(FieldType::custom_types).collect()
            }
            _ => Vec::new(),
        }
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
            FieldType::Enum(e) => e.name.clone(),
            FieldType::Code { language } => code_model_name(language),
            FieldType::Image => "Image".into(),
        }
    }

    /// Whether an image is inside this type (through lists, dicts and unions).
    pub fn has_image(&self) -> bool {
        match self {
            FieldType::Image => true,
            FieldType::List { item } => item.has_image(),
            FieldType::Dict { value, .. } => value.has_image(),
            FieldType::Union { variants } => variants.iter().any(FieldType::has_image),
            _ => false,
        }
    }

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

    /// The model or enum class called `name` inside this type (the type itself included).
    pub fn find_named(&self, name: &str) -> Option<FieldType> {
        match self {
            FieldType::Model(m) if m.name == name => Some(self.clone()),
            FieldType::Enum(e) if e.name == name => Some(self.clone()),
            FieldType::Model(m) => m.fields.iter().find_map(|f| f.ty.find_named(name)),
            FieldType::List { item } => item.find_named(name),
            FieldType::Dict { key, value } => {
                key.find_named(name).or_else(|| value.find_named(name))
            }
            FieldType::Union { variants } => variants.iter().find_map(|v| v.find_named(name)),
            _ => None,
        }
    }

    /// Every enum class inside this type, each once, in the order they first appear.
    pub fn enums(&self) -> Vec<Arc<EnumType>> {
        let mut out: Vec<Arc<EnumType>> = Vec::new();
        self.visit_enums(&mut |e| {
            if !out.iter().any(|o| o.name == e.name) {
                out.push(e.clone());
            }
        });
        out
    }

    fn visit_enums(&self, f: &mut dyn FnMut(&Arc<EnumType>)) {
        match self {
            FieldType::Enum(e) => f(e),
            FieldType::Model(m) => m.fields.iter().for_each(|x| x.ty.visit_enums(f)),
            FieldType::List { item } => item.visit_enums(f),
            FieldType::Dict { key, value } => {
                key.visit_enums(f);
                value.visit_enums(f);
            }
            FieldType::Union { variants } => variants.iter().for_each(|v| v.visit_enums(f)),
            _ => {}
        }
    }

    /// This type with every enum class replaced by the class of the same name in `classes`
    /// (used to restore member names, which a JSON Schema does not hold).
    pub fn with_enums(&self, classes: &[Arc<EnumType>]) -> FieldType {
        match self {
            FieldType::Enum(e) => match classes.iter().find(|c| c.name == e.name) {
                Some(c) => FieldType::Enum(c.clone()),
                None => self.clone(),
            },
            FieldType::Model(m) => FieldType::model(ModelType {
                name: m.name.clone(),
                description: m.description.clone(),
                fields: m
                    .fields
                    .iter()
                    .map(|f| ModelField {
                        ty: f.ty.with_enums(classes),
                        ..f.clone()
                    })
                    .collect(),
            }),
            FieldType::List { item } => FieldType::list(item.with_enums(classes)),
            FieldType::Dict { key, value } => {
                FieldType::dict(key.with_enums(classes), value.with_enums(classes))
            }
            FieldType::Union { variants } => FieldType::Union {
                variants: variants.iter().map(|v| v.with_enums(classes)).collect(),
            },
            other => other.clone(),
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
            (FieldType::Enum(e), v) => e.members.iter().any(|m| m.value == *v),
            (FieldType::Code { .. }, Value::String(_)) => true,
            (FieldType::Image, v) => crate::adapter::parts::image_url(v).is_some(),
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
fn code_model_name(language: &str) -> String {
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
