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

mod classes;
mod json_schema;
mod python;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub(crate) use classes::python_eq;
pub use classes::{EnumMember, EnumType, ModelField, ModelType};
pub(crate) use json_schema::{code_language, image_schema};
pub use python::python_str;

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
