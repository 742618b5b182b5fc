//! The string form of signatures, as DSPy parses it:
//! `"context: list[str], question: str -> answer: int"`.

use crate::pytype::{TypeResolver, parse_type};
use crate::signature::{Field, SignatureError, is_identifier};
use crate::types::FieldType;

/// Splits `inputs -> outputs` and parses each side into fields.
pub(crate) fn parse_fields(
    text: &str,
    resolver: &dyn TypeResolver,
) -> Result<(Vec<Field>, Vec<Field>), SignatureError> {
    let syntax = |offset: usize, message: String| SignatureError::Syntax {
        signature: text.to_owned(),
        column: text[..offset.min(text.len())].chars().count() + 1,
        message,
    };
    let arrows: Vec<usize> = text.match_indices("->").map(|(i, _)| i).collect();
    match arrows.len() {
        1 => {}
        0 => {
            return Err(syntax(
                text.len(),
                "expected `->` between the input and output fields, e.g. \"question -> answer\""
                    .into(),
            ));
        }
        _ => {
            return Err(syntax(
                arrows[1],
                "a signature must contain exactly one `->`".into(),
            ));
        }
    }
    let arrow = arrows[0];
    let inputs = parse_side(0, &text[..arrow], resolver, &syntax)?;
    let outputs = parse_side(arrow + 2, &text[arrow + 2..], resolver, &syntax)?;
    if outputs.is_empty() {
        return Err(syntax(
            text.len(),
            "a signature needs at least one output field".into(),
        ));
    }
    let dups: Vec<&str> = inputs
        .iter()
        .filter(|i| outputs.iter().any(|o| o.name == i.name))
        .map(|f| f.name.as_str())
        .collect();
    if let Some(first) = dups.first() {
        return Err(SignatureError::DuplicateField {
            name: (*first).to_owned(),
        });
    }
    Ok((inputs, outputs))
}

fn parse_side(
    base: usize,
    side: &str,
    resolver: &dyn TypeResolver,
    syntax: &dyn Fn(usize, String) -> SignatureError,
) -> Result<Vec<Field>, SignatureError> {
    let mut fields: Vec<Field> = Vec::new();
    if side.trim().is_empty() {
        return Ok(fields);
    }
    for (start, part) in split_top_level(side) {
        let offset = base + start;
        let trimmed_start = part.len() - part.trim_start().len();
        let item = part.trim();
        if item.is_empty() {
            return Err(syntax(
                offset,
                "empty field (two commas in a row, or a trailing comma?)".into(),
            ));
        }
        let (name, ty, declared) = match item.find(':') {
            Some(colon) => {
                let name = item[..colon].trim();
                let ty_text = &item[colon + 1..];
                let ty_offset = offset + trimmed_start + colon + 1;
                if ty_text.trim().is_empty() {
                    return Err(syntax(ty_offset, format!("missing type after `{name}:`")));
                }
                let lead = ty_text.len() - ty_text.trim_start().len();
                let ty = parse_type(ty_text.trim(), resolver)
                    .map_err(|e| syntax(ty_offset + lead + e.offset, e.message))?;
                (name, ty, true)
            }
            None => (item, FieldType::Str, false),
        };
        if !is_identifier(name) {
            return Err(syntax(
                offset + trimmed_start,
                format!("invalid field name {name:?}: use letters, digits and underscores"),
            ));
        }
        if fields.iter().any(|f| f.name == name) {
            return Err(SignatureError::DuplicateField {
                name: name.to_owned(),
            });
        }
        let mut field = Field::new(name, ty);
        field.type_declared = declared;
        fields.push(field);
    }
    Ok(fields)
}

/// Splits at commas outside brackets and quotes, with each part's byte offset.
fn split_top_level(s: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut quote: Option<char> = None;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '[' | '(') => depth += 1,
            (None, ']' | ')') => depth -= 1,
            (None, ',') if depth == 0 => {
                out.push((start, &s[start..i]));
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push((start, &s[start..]));
    out
}

#[cfg(test)]
mod tests {
    use crate::signature::{Signature, SignatureError};
    use crate::types::FieldType;

    #[test]
    fn parses_dspy_examples() {
        let s = Signature::parse("question -> answer").expect("parses");
        assert_eq!(s.field_string(), "question -> answer");
        assert!(!s.inputs[0].type_declared);
        let s =
            Signature::parse("context: list[str], question: str -> answer: int").expect("parses");
        assert_eq!(s.inputs[0].ty, FieldType::list(FieldType::Str));
        assert_eq!(s.outputs[0].ty, FieldType::Int);
        let s = Signature::parse("x: dict[str, list[int]], y: Literal['a, b', 'c'] -> z")
            .expect("parses");
        assert_eq!(s.inputs.len(), 2);
        assert_eq!(s.inputs[1].ty, FieldType::literal(["a, b", "c"]));
    }

    #[test]
    fn malformed_strings_say_where() {
        let e = Signature::parse("question answer").expect_err("no arrow");
        assert!(e.to_string().contains("expected `->`"), "{e}");
        let e = Signature::parse("a -> b -> c").expect_err("two arrows");
        assert!(
            matches!(e, SignatureError::Syntax { column: 8, .. }),
            "{e:?}"
        );
        let e = Signature::parse("a: lst[str] -> b").expect_err("unknown type");
        assert!(
            matches!(e, SignatureError::Syntax { column: 4, .. }),
            "{e:?}"
        );
        assert!(e.to_string().contains("unknown type `lst`"), "{e}");
        let e = Signature::parse("a, , b -> c").expect_err("empty");
        assert!(e.to_string().contains("empty field"), "{e}");
        let e = Signature::parse("a -> a").expect_err("dup");
        assert_eq!(e, SignatureError::DuplicateField { name: "a".into() });
        let e = Signature::parse("a: -> b").expect_err("missing type");
        assert!(e.to_string().contains("missing type"), "{e}");
        let e = Signature::parse("my field -> b").expect_err("space");
        assert!(e.to_string().contains("invalid field name"), "{e}");
        let e = Signature::parse("a -> ").expect_err("no outputs");
        assert!(e.to_string().contains("at least one output"), "{e}");
    }
}
