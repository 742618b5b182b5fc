//! The type of a signature field, read from DSPy's type text and note.

use serde_json::{Value, json};

/// What kind of value an output field wants.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldType {
    /// `str`.
    Str,
    /// `int`.
    Int,
    /// `float`.
    Float,
    /// `bool`.
    Bool,
    /// `Literal[...]`: exactly one of these strings.
    Literal(Vec<String>),
    /// `list[...]`.
    List(Box<FieldType>),
    /// `dict[...]`.
    Dict,
    /// `Optional[T]` / `Union[T, NoneType]`.
    Optional(Box<FieldType>),
    /// Anything else described by a JSON schema from DSPy's note.
    Schema(Value),
    /// No usable information; treated like `str`.
    Any,
}

impl FieldType {
    /// Reads DSPy's type text (`int`, `list[str]`, `Literal['a', 'b']`, ...)
    /// together with the field's structure note, which may carry a JSON schema
    /// or the Literal choices.
    pub fn parse(type_text: &str, note: Option<&str>) -> FieldType {
        let note_schema = note.and_then(schema_from_note);
        let parsed = parse_type_text(type_text.trim());
        match (&parsed, note_schema) {
            (FieldType::Any, Some(schema)) => FieldType::Schema(schema),
            (FieldType::List(inner), Some(schema)) if matches!(**inner, FieldType::Any) => {
                FieldType::Schema(schema)
            }
            (FieldType::Any, None) => note
                .and_then(choices_from_note)
                .map(FieldType::Literal)
                .unwrap_or(FieldType::Any),
            _ => parsed,
        }
    }

    /// The JSON schema of this type.
    pub fn to_schema(&self) -> Value {
        match self {
            FieldType::Str | FieldType::Any => json!({"type": "string"}),
            FieldType::Int => json!({"type": "integer"}),
            FieldType::Float => json!({"type": "number"}),
            FieldType::Bool => json!({"type": "boolean"}),
            FieldType::Literal(choices) => json!({"type": "string", "enum": choices}),
            FieldType::List(inner) => json!({"type": "array", "items": inner.to_schema()}),
            FieldType::Dict => json!({"type": "object", "additionalProperties": true}),
            FieldType::Optional(inner) => json!({"anyOf": [inner.to_schema(), {"type": "null"}]}),
            FieldType::Schema(s) => s.clone(),
        }
    }

    /// Whether the type is numeric (int or float, possibly optional).
    pub fn is_numeric(&self) -> bool {
        match self {
            FieldType::Int | FieldType::Float => true,
            FieldType::Optional(inner) => inner.is_numeric(),
            _ => false,
        }
    }

    /// The Literal choices, if the type is a Literal (possibly optional).
    pub fn choices(&self) -> Option<&[String]> {
        match self {
            FieldType::Literal(c) => Some(c),
            FieldType::Optional(inner) => inner.choices(),
            _ => None,
        }
    }
}

fn parse_type_text(t: &str) -> FieldType {
    match t {
        "str" | "string" => return FieldType::Str,
        "int" => return FieldType::Int,
        "float" => return FieldType::Float,
        "bool" => return FieldType::Bool,
        "list" | "List" => return FieldType::List(Box::new(FieldType::Any)),
        "dict" | "Dict" => return FieldType::Dict,
        _ => {}
    }
    if let Some(args) = generic_args(t, &["Literal", "typing.Literal"]) {
        let choices = python_literals(args);
        if !choices.is_empty() {
            return FieldType::Literal(choices);
        }
    }
    if let Some(args) = generic_args(t, &["Optional", "typing.Optional"]) {
        return FieldType::Optional(Box::new(parse_type_text(args.trim())));
    }
    if let Some(args) = generic_args(t, &["Union", "typing.Union"]) {
        let parts = split_top_level(args);
        let non_null: Vec<&str> = parts
            .iter()
            .map(|p| p.trim())
            .filter(|p| !matches!(*p, "NoneType" | "None"))
            .collect();
        if non_null.len() == 1 && parts.len() == 2 {
            return FieldType::Optional(Box::new(parse_type_text(non_null[0])));
        }
        return FieldType::Any;
    }
    if let Some(args) = generic_args(t, &["list", "List", "tuple", "Tuple", "set"]) {
        let first = split_top_level(args)
            .first()
            .map(|s| s.trim().to_owned())
            .unwrap_or_default();
        return FieldType::List(Box::new(parse_type_text(&first)));
    }
    if generic_args(t, &["dict", "Dict"]).is_some() {
        return FieldType::Dict;
    }
    if let Some((a, b)) = t.split_once(" | ") {
        let (a, b) = (a.trim(), b.trim());
        if b == "None" {
            return FieldType::Optional(Box::new(parse_type_text(a)));
        }
    }
    FieldType::Any
}

/// `Name[args]` → `args` for one of the given names.
fn generic_args<'a>(t: &'a str, names: &[&str]) -> Option<&'a str> {
    names.iter().find_map(|n| {
        t.strip_prefix(n)
            .and_then(|rest| rest.strip_prefix('['))
            .and_then(|rest| rest.strip_suffix(']'))
    })
}

/// Splits on commas that are not nested in brackets or quotes.
fn split_top_level(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut quote: Option<char> = None;
    let mut cur = String::new();
    for c in s.chars() {
        match quote {
            Some(q) => {
                if c == q {
                    quote = None;
                }
                cur.push(c);
            }
            None => match c {
                '\'' | '"' => {
                    quote = Some(c);
                    cur.push(c);
                }
                '[' | '(' | '{' => {
                    depth += 1;
                    cur.push(c);
                }
                ']' | ')' | '}' => {
                    depth -= 1;
                    cur.push(c);
                }
                ',' if depth == 0 => out.push(std::mem::take(&mut cur)),
                _ => cur.push(c),
            },
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur);
    }
    out
}

/// `'a', "b", 3` → `["a", "b", "3"]`.
fn python_literals(args: &str) -> Vec<String> {
    split_top_level(args)
        .into_iter()
        .map(|p| {
            let p = p.trim();
            let unquoted = p
                .strip_prefix('\'')
                .and_then(|x| x.strip_suffix('\''))
                .or_else(|| p.strip_prefix('"').and_then(|x| x.strip_suffix('"')));
            unquoted.unwrap_or(p).replace("\\'", "'")
        })
        .filter(|s| !s.is_empty())
        .collect()
}

const SCHEMA_MARK: &str = "must adhere to the JSON schema: ";
const CHOICES_MARK: &str = "one of: ";

fn schema_from_note(note: &str) -> Option<Value> {
    let start = note.find(SCHEMA_MARK)? + SCHEMA_MARK.len();
    let text = note.get(start..)?.trim();
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<Value>();
    stream.next()?.ok()
}

fn choices_from_note(note: &str) -> Option<Vec<String>> {
    let start = note.find(CHOICES_MARK)? + CHOICES_MARK.len();
    let choices: Vec<String> = note
        .get(start..)?
        .split("; ")
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect();
    (!choices.is_empty()).then_some(choices)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_types() {
        assert_eq!(FieldType::parse("int", None), FieldType::Int);
        assert_eq!(
            FieldType::parse("Literal['positive', 'negative', 'neutral']", None),
            FieldType::Literal(vec!["positive".into(), "negative".into(), "neutral".into()])
        );
        assert_eq!(
            FieldType::parse("list[str]", None),
            FieldType::List(Box::new(FieldType::Str))
        );
        assert_eq!(
            FieldType::parse("Union[str, NoneType]", None),
            FieldType::Optional(Box::new(FieldType::Str))
        );
        assert_eq!(FieldType::parse("dict[str, Any]", None), FieldType::Dict);
    }

    #[test]
    fn custom_types_use_the_note_schema() {
        let note = r#"the value you produce must adhere to the JSON schema: {"type": "array", "items": {"type": "integer"}}"#;
        let t = FieldType::parse("list[Person]", Some(note));
        assert_eq!(
            t,
            FieldType::Schema(json!({"type": "array", "items": {"type": "integer"}}))
        );
        let t = FieldType::parse(
            "Choice",
            Some("the value you produce must exactly match (no extra characters) one of: a; b"),
        );
        assert_eq!(t, FieldType::Literal(vec!["a".into(), "b".into()]));
    }
}
