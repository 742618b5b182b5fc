//! How DSPy prints types and values: annotation names (`list[str]`, `Literal['a']`), the
//! repr of literal values inside them, and Python's `str(x)`.

use serde_json::Value;

use super::FieldType;
use super::json_schema::code_model_name;

impl FieldType {
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
