//! The named types a field can hold: Python `enum.Enum` classes ([`EnumType`]) and
//! pydantic models ([`ModelType`]), and Python's `==` between their scalar values.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::FieldType;
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
