//! Checking and converting a value against a [`FieldType`] with pydantic's lax-mode rules:
//! `"3"` and `3.0` are ints but `3.5` is not, `"yes"` is a bool, missing model fields take their
//! defaults, unknown model fields are dropped, and unions prefer an exact match.

use serde_json::{Map, Number, Value};

use crate::adapter::pyfmt::{py_repr, py_strip};
use crate::types::FieldType;

const MAX_DEPTH: usize = 200;

/// Validates `value` as pydantic's `TypeAdapter(T).validate_python` would in lax mode and
/// returns it as `model_dump(mode="json")` would print it. The error names the path inside
/// the value and what was expected.
pub fn validate(value: &Value, ty: &FieldType) -> Result<Value, String> {
    check(value, ty, false, "", 0)
}

fn fail(path: &str, expected: &str, value: &Value) -> Result<Value, String> {
    let mut shown = py_repr(value);
    if shown.chars().count() > 80 {
        shown = shown.chars().take(77).collect::<String>() + "...";
    }
    let at = if path.is_empty() {
        String::new()
    } else {
        format!("at `{path}`: ")
    };
    Err(format!("{at}expected {expected}, got {shown}"))
}

fn float_value(f: f64, path: &str, original: &Value) -> Result<Value, String> {
    match Number::from_f64(f) {
        Some(n) => Ok(Value::Number(n)),
        None => fail(path, "a finite float", original),
    }
}

fn check(
    v: &Value,
    ty: &FieldType,
    strict: bool,
    path: &str,
    depth: usize,
) -> Result<Value, String> {
    if depth > MAX_DEPTH {
        return Err(format!("at `{path}`: the value nests too deeply"));
    }
    match ty {
        FieldType::Any => Ok(v.clone()),
        FieldType::Str => match v {
            Value::String(_) => Ok(v.clone()),
            _ => fail(path, "a string", v),
        },
        FieldType::Null => match v {
            Value::Null => Ok(Value::Null),
            _ => fail(path, "None", v),
        },
        FieldType::Int => int(v, strict, path),
        FieldType::Float => match v {
            Value::Number(n) if !strict || n.is_f64() || n.is_i64() || n.is_u64() => {
                float_value(n.as_f64().unwrap_or(f64::NAN), path, v)
            }
            Value::Bool(b) if !strict => Ok(Value::from(if *b { 1.0 } else { 0.0 })),
            Value::String(s) if !strict => match parse_py_float(py_strip(s)) {
                Some(f) => float_value(f, path, v),
                None => fail(path, "a float", v),
            },
            _ => fail(path, "a float", v),
        },
        FieldType::Bool => match v {
            Value::Bool(_) => Ok(v.clone()),
            Value::Number(n) if !strict => match n.as_f64() {
                Some(0.0) => Ok(Value::Bool(false)),
                Some(1.0) => Ok(Value::Bool(true)),
                _ => fail(path, "a bool (True or False)", v),
            },
            Value::String(s) if !strict => match s.to_lowercase().as_str() {
                "0" | "off" | "f" | "false" | "n" | "no" => Ok(Value::Bool(false)),
                "1" | "on" | "t" | "true" | "y" | "yes" => Ok(Value::Bool(true)),
                _ => fail(path, "a bool (True or False)", v),
            },
            _ => fail(path, "a bool (True or False)", v),
        },
        FieldType::Literal { values } => match values.iter().find(|e| py_eq(e, v, strict)) {
            Some(e) => Ok(e.clone()),
            None => fail(path, &format!("one of {}", ty.python_name()), v),
        },
        // pydantic's strict mode takes only enum instances, which JSON values never are.
        FieldType::Enum(e) => match e
            .members
            .iter()
            .find(|m| !strict && py_eq(&m.value, v, strict))
        {
            Some(m) => Ok(m.value.clone()),
            None => fail(path, &format!("a value of the enum {}", e.name), v),
        },
        FieldType::Image => match crate::adapter::parts::image_url(v) {
            Some(url) => Ok(Value::String(url.to_owned())),
            None => fail(path, "an image (a URL or data URI)", v),
        },
        FieldType::Code { .. } => match v {
            Value::String(code) => Ok(Value::String(filter_code(code))),
            Value::Object(map) => match map.get("code") {
                Some(Value::String(code)) => Ok(Value::String(filter_code(code))),
                Some(other) => fail(&format!("{path}.code"), "a string of code", other),
                None => Err(format!(
                    "{}the `code` field is required for {}",
                    if path.is_empty() {
                        String::new()
                    } else {
                        format!("at `{path}`: ")
                    },
                    ty.python_name()
                )),
            },
            _ => fail(path, &format!("code ({})", ty.python_name()), v),
        },
        FieldType::List { item } => match v {
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, x)| check(x, item, strict, &format!("{path}[{i}]"), depth + 1))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            _ => fail(path, &format!("a list ({})", ty.python_name()), v),
        },
        FieldType::Dict { key, value } => match v {
            Value::Object(map) => {
                let mut out = Map::new();
                for (k, x) in map {
                    let kp = format!("{path}[{k:?}]");
                    let key_out =
                        match check(&Value::String(k.clone()), key, strict, &kp, depth + 1)? {
                            Value::String(s) => s,
                            other => py_repr(&other),
                        };
                    out.insert(key_out, check(x, value, strict, &kp, depth + 1)?);
                }
                Ok(Value::Object(out))
            }
            _ => fail(path, &format!("a dict ({})", ty.python_name()), v),
        },
        FieldType::Model(m) => match v {
            Value::Object(map) => {
                let mut out = Map::new();
                for f in &m.fields {
                    let fp = if path.is_empty() {
                        f.name.clone()
                    } else {
                        format!("{path}.{}", f.name)
                    };
                    match (map.get(&f.name), &f.default) {
                        (Some(x), _) => {
                            out.insert(f.name.clone(), check(x, &f.ty, strict, &fp, depth + 1)?);
                        }
                        (None, Some(d)) => {
                            out.insert(f.name.clone(), d.clone());
                        }
                        (None, None) => {
                            return Err(format!(
                                "at `{fp}`: the required field `{}` of {} is missing",
                                f.name, m.name
                            ));
                        }
                    }
                }
                Ok(Value::Object(out))
            }
            _ => fail(path, &format!("an object ({})", m.name), v),
        },
        FieldType::Union { variants } => {
            if !strict {
                for t in variants {
                    if let Ok(x) = check(v, t, true, path, depth + 1) {
                        return Ok(x);
                    }
                }
            }
            let mut first_err = None;
            for t in variants {
                match check(v, t, strict, path, depth + 1) {
                    Ok(x) => return Ok(x),
                    Err(e) => {
                        first_err.get_or_insert(e);
                    }
                }
            }
            match first_err {
                Some(_) => fail(path, &format!("a value of {}", ty.python_name()), v),
                None => fail(path, "a value", v),
            }
        }
    }
}

/// DSPy's `_filter_code`: the content of the first fenced block (without the language line),
/// else of a one-line ```` ```code``` ````, else the text unchanged.
pub(crate) fn filter_code(code: &str) -> String {
    const FENCE: &str = "```";
    let Some(open) = code.find(FENCE) else {
        return code.to_owned();
    };
    let after = open + FENCE.len();
    if let Some(nl) = code[after..].find('\n').map(|i| after + i)
        && let Some(close) = code[nl + 1..].find(FENCE).map(|i| nl + 1 + i)
    {
        return py_strip(&code[nl + 1..close]).to_owned();
    }
    match code[after..].find(FENCE) {
        Some(close) => py_strip(&code[after..after + close]).to_owned(),
        None => code.to_owned(),
    }
}

fn int(v: &Value, strict: bool, path: &str) -> Result<Value, String> {
    match v {
        Value::Number(n) if n.is_i64() || n.is_u64() => Ok(v.clone()),
        Value::Number(n) if !strict => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 9.2e18 => Ok(Value::from(f as i64)),
            _ => fail(path, "an int (a whole number)", v),
        },
        Value::Bool(b) if !strict => Ok(Value::from(i64::from(*b))),
        Value::String(s) if !strict => match parse_py_int(py_strip(s)) {
            Some(i) => Ok(i),
            None => fail(path, "an int (a whole number)", v),
        },
        _ => fail(path, "an int (a whole number)", v),
    }
}

/// Python's equality between literal values: numbers and booleans compare by value.
fn py_eq(expected: &Value, v: &Value, strict: bool) -> bool {
    let num = |x: &Value| match x {
        Value::Number(n) => n.as_f64(),
        Value::Bool(b) if !strict => Some(if *b { 1.0 } else { 0.0 }),
        _ => None,
    };
    match (expected, v) {
        (Value::Bool(a), Value::Bool(b)) => a == b,
        (Value::String(a), Value::String(b)) => a == b,
        (Value::Null, Value::Null) => true,
        _ => match (num(expected), num(v)) {
            (Some(a), Some(b)) => a == b,
            _ => false,
        },
    }
}

/// Digits with single underscores between them.
fn valid_digits(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with('_')
        && !s.ends_with('_')
        && !s.contains("__")
        && s.chars().all(|c| c.is_ascii_digit() || c == '_')
}

/// pydantic's int-from-text: an optional sign, digits (underscores allowed between them) and an
/// optional fraction of zeros (`"3.0"`).
fn parse_py_int(s: &str) -> Option<Value> {
    let (sign, body) = match s.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", s.strip_prefix('+').unwrap_or(s)),
    };
    let (whole, frac) = match body.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (body, None),
    };
    if !valid_digits(whole) {
        return None;
    }
    if let Some(f) = frac
        && !f.chars().all(|c| c == '0')
    {
        return None;
    }
    let digits = format!("{sign}{}", whole.replace('_', ""));
    if let Ok(i) = digits.parse::<i64>() {
        return Some(Value::from(i));
    }
    digits.parse::<u64>().ok().map(Value::from)
}

/// Python's `float(text)` syntax (underscores between digits allowed).
fn parse_py_float(s: &str) -> Option<f64> {
    if s.is_empty() {
        return None;
    }
    let lower = s.to_ascii_lowercase();
    let unsigned = lower.trim_start_matches(['+', '-']);
    if matches!(unsigned, "inf" | "infinity" | "nan") {
        return None;
    }
    if s.contains('_') {
        let ok = s
            .split(['.', 'e', 'E', '+', '-'])
            .all(|part| part.is_empty() || valid_digits(part));
        if !ok {
            return None;
        }
    }
    let cleaned = s.replace('_', "");
    if !cleaned
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'))
    {
        return None;
    }
    cleaned.parse::<f64>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{ModelField, ModelType};
    use serde_json::json;

    fn ok(v: Value, ty: &FieldType) -> Value {
        match validate(&v, ty) {
            Ok(x) => x,
            Err(e) => panic!("{v} as {}: {e}", ty.python_name()),
        }
    }

    #[test]
    fn lax_scalars_like_pydantic() {
        assert_eq!(ok(json!("3.0"), &FieldType::Int), json!(3));
        assert_eq!(ok(json!(" 4 "), &FieldType::Int), json!(4));
        assert_eq!(ok(json!("1_000"), &FieldType::Int), json!(1000));
        assert_eq!(ok(json!(3.0), &FieldType::Int), json!(3));
        assert_eq!(ok(json!(true), &FieldType::Int), json!(1));
        assert!(validate(&json!(3.5), &FieldType::Int).is_err());
        assert!(validate(&json!("1e3"), &FieldType::Int).is_err());
        assert_eq!(ok(json!("1e3"), &FieldType::Float), json!(1000.0));
        assert_eq!(ok(json!(3), &FieldType::Float), json!(3.0));
        assert_eq!(ok(json!("YES"), &FieldType::Bool), json!(true));
        assert!(validate(&json!(" true "), &FieldType::Bool).is_err());
        assert!(validate(&json!(2), &FieldType::Bool).is_err());
        assert!(validate(&json!(3), &FieldType::Str).is_err());
        let lit = FieldType::Literal {
            values: vec![json!(1), json!(2)],
        };
        assert_eq!(ok(json!(true), &lit), json!(1));
        assert!(validate(&json!("1"), &lit).is_err());
    }

    #[test]
    fn code_comes_out_of_its_fence() {
        let code = FieldType::code("python");
        assert_eq!(
            ok(json!("```python\nprint(1)\n```"), &code),
            json!("print(1)")
        );
        assert_eq!(ok(json!("x ```y``` z"), &code), json!("y"));
        assert_eq!(ok(json!("plain = 1"), &code), json!("plain = 1"));
        assert_eq!(ok(json!({"code": "```\na\n```"}), &code), json!("a"));
        assert!(validate(&json!({"src": "a"}), &code).is_err());
        assert!(validate(&json!(3), &code).is_err());
    }

    #[test]
    fn models_take_defaults_and_unions_prefer_exact() {
        let person = FieldType::model(ModelType::new(
            "Person",
            vec![
                ModelField::required("name", FieldType::Str),
                ModelField::with_default("age", FieldType::optional(FieldType::Int), json!(null)),
            ],
        ));
        assert_eq!(
            ok(json!({"age": "3", "name": "A", "x": 1}), &person),
            json!({"name": "A", "age": 3})
        );
        let e = validate(&json!([{"age": 3}]), &FieldType::list(person)).expect_err("missing");
        assert!(e.contains("[0].name"), "{e}");
        let u = FieldType::union(vec![FieldType::Int, FieldType::Str]);
        assert_eq!(ok(json!("3"), &u), json!("3"));
        assert_eq!(ok(json!(3), &u), json!(3));
    }
}
