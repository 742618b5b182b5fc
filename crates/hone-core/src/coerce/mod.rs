//! Turning the text an LM wrote for a field into a typed value, as DSPy's `parse_value` does.
//!
//! * `str` fields take the text as is;
//! * `enum.Enum` fields take the member whose value is the text (or value), else the member
//!   of that name (DSPy's `find_enum_member`), and give the member's value;
//! * `Literal` fields accept the value with surrounding quotes or a `Literal[...]` wrapper
//!   removed;
//! * `Optional[str]` (any union holding `str` and `None`) takes the text as is;
//! * `Code` fields are read like the rest, falling back to the text itself, and give the
//!   content of the code's fence;
//! * everything else is read as leniently repaired JSON ([`repair_json`]), then as a Python
//!   literal ([`literal_eval`]), then as plain text, and validated against the type with
//!   pydantic's lax rules ([`validate`]).

mod literal_eval;
mod repair;
mod validate;

pub use literal_eval::literal_eval;
pub use repair::repair_json;
pub use validate::validate;

use serde_json::Value;

use crate::adapter::pyfmt::{py_str, py_strip};
use crate::types::{FieldType, python_eq};

/// Converts an LM's value for a field (text from a section, or a JSON value from a JSON object)
/// to the field's type. The error says what was expected.
///
/// ```
/// use hone_core::{FieldType, coerce::parse_value};
/// use serde_json::json;
/// assert_eq!(parse_value(&json!("3"), &FieldType::Int), Ok(json!(3)));
/// assert_eq!(parse_value(&json!("'a'"), &FieldType::literal(["a", "b"])), Ok(json!("a")));
/// assert_eq!(parse_value(&json!("[1, 2,]"), &FieldType::list(FieldType::Int)), Ok(json!([1, 2])));
/// assert!(parse_value(&json!("high"), &FieldType::Float).is_err());
/// ```
pub fn parse_value(value: &Value, ty: &FieldType) -> Result<Value, String> {
    if *ty == FieldType::Str {
        return Ok(Value::String(py_str(value)));
    }
    if let FieldType::Enum(e) = ty {
        return match e.find_member(value) {
            Some(m) => Ok(m.value.clone()),
            None => Err(format!(
                "{} is not a valid name or value for the enum {}",
                py_str(value),
                e.name
            )),
        };
    }
    let mut value = value.clone();
    if let FieldType::Literal { values } = ty {
        if values.iter().any(|a| python_eq(a, &value)) {
            return Ok(value);
        }
        if let Value::String(s) = &value {
            let mut v = py_strip(s);
            if (v.starts_with("Literal[") || v.starts_with("str[")) && v.ends_with(']') {
                let open = v.find('[').map_or(0, |i| i + 1);
                v = v.get(open..v.len() - 1).unwrap_or("");
            }
            let chars: Vec<char> = v.chars().collect();
            if chars.len() > 1
                && chars[0] == chars[chars.len() - 1]
                && matches!(chars[0], '"' | '\'')
            {
                v = &v[1..v.len() - 1];
            }
            if values.iter().any(|a| a.as_str() == Some(v)) {
                return Ok(Value::String(v.to_owned()));
            }
            value = Value::String(v.to_owned());
        }
    }
    let Value::String(text) = &value else {
        return validate(&value, ty);
    };
    if let FieldType::Union { variants } = ty
        && variants.contains(&FieldType::Null)
        && variants.contains(&FieldType::Str)
    {
        return validate(&value, ty);
    }
    let candidate = match repair_json(text) {
        Some(Value::String(s)) if s.is_empty() && !text.is_empty() => None,
        other => other,
    };
    let candidate = match candidate {
        Some(c) => c,
        None if text.is_empty() => Value::String(String::new()),
        None => literal_eval(text).unwrap_or_else(|| value.clone()),
    };
    match validate(&candidate, ty) {
        // DSPy retries its own types (`Code`) with the original text.
        Err(e) if matches!(ty, FieldType::Code { .. }) => validate(&value, ty).map_err(|_| e),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn follows_dspy_parse_value() {
        let int = FieldType::Int;
        assert_eq!(parse_value(&json!("3.0"), &int), Ok(json!(3)));
        assert_eq!(parse_value(&json!("\"3\""), &int), Ok(json!(3)));
        assert_eq!(parse_value(&json!("True"), &int), Ok(json!(1)));
        assert!(parse_value(&json!("3.5"), &int).is_err());
        assert!(parse_value(&json!("None"), &int).is_err());
        assert_eq!(
            parse_value(&json!("False"), &FieldType::Bool),
            Ok(json!(false))
        );
        assert_eq!(
            parse_value(&json!("0.9"), &FieldType::Float),
            Ok(json!(0.9))
        );
        let opt = FieldType::optional(FieldType::Int);
        assert_eq!(parse_value(&json!("None"), &opt), Ok(json!(null)));
        let opt_s = FieldType::optional(FieldType::Str);
        assert_eq!(parse_value(&json!("None"), &opt_s), Ok(json!("None")));
        let lit = FieldType::literal(["a", "b"]);
        assert_eq!(parse_value(&json!("Literal['a']"), &lit), Ok(json!("a")));
        assert_eq!(parse_value(&json!(" \"b\" "), &lit), Ok(json!("b")));
        assert!(parse_value(&json!("angry"), &lit).is_err());
        let lit_int = FieldType::Literal {
            values: vec![json!(1), json!(2)],
        };
        assert_eq!(parse_value(&json!("2"), &lit_int), Ok(json!(2)));
        assert_eq!(parse_value(&json!(42), &FieldType::Str), Ok(json!("42")));
        assert_eq!(
            parse_value(&json!([1, "a"]), &FieldType::Str),
            Ok(json!("[1, 'a']"))
        );
        assert_eq!(
            parse_value(&json!("Literal['a']"), &FieldType::list(FieldType::Str)),
            Ok(json!(["a"]))
        );
        assert_eq!(parse_value(&json!("'a'"), &FieldType::Any), Ok(json!("a")));
        assert_eq!(
            parse_value(&json!("yes"), &FieldType::Any),
            Ok(json!("yes"))
        );
    }

    #[test]
    fn enums_take_a_value_then_a_name() {
        use crate::types::EnumType;
        // A value that is also another member's name means that value, as in DSPy.
        let color = FieldType::enumeration(EnumType::new(
            "Color",
            [("RED", "red"), ("GREEN", "GREEN"), ("BLUE", "RED")],
        ));
        assert_eq!(parse_value(&json!("RED"), &color), Ok(json!("RED")));
        assert_eq!(parse_value(&json!("BLUE"), &color), Ok(json!("RED")));
        assert_eq!(parse_value(&json!("red"), &color), Ok(json!("red")));
        assert!(parse_value(&json!("'red'"), &color).is_err());
        let n = FieldType::enumeration(EnumType::new("N", [("ONE", 1), ("TWO", 2)]));
        assert_eq!(parse_value(&json!(2.0), &n), Ok(json!(2)));
        assert_eq!(parse_value(&json!(true), &n), Ok(json!(1)));
        assert_eq!(parse_value(&json!("TWO"), &n), Ok(json!(2)));
        assert!(parse_value(&json!("2"), &n).is_err());
    }

    #[test]
    fn code_is_the_inside_of_its_fence() {
        let code = FieldType::code("python");
        assert_eq!(
            parse_value(&json!("```python\nx = [1, 2]\n```"), &code),
            Ok(json!("x = [1, 2]"))
        );
        assert_eq!(
            parse_value(&json!("print('open"), &code),
            Ok(json!("print('open"))
        );
    }
}
