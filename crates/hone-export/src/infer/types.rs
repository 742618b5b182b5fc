//! Field types read off the values of a saved predictor's demos.

use hone_core::{Field, FieldRole, FieldType};
use serde_json::{Map, Value};

use super::{InferredTool, Saved};

/// The type of one value as a demo shows it, `None` for a string or null.
pub(super) fn value_type(v: &Value) -> Option<FieldType> {
    Some(match v {
        Value::Null | Value::String(_) => return None,
        Value::Bool(_) => FieldType::Bool,
        Value::Number(n) if n.is_i64() || n.is_u64() => FieldType::Int,
        Value::Number(_) => FieldType::Float,
        Value::Object(_) => FieldType::dict(FieldType::Str, FieldType::Any),
        Value::Array(items) => {
            let mut item: Option<FieldType> = None;
            for x in items {
                let t = value_type(x).unwrap_or(FieldType::Str);
                item = match item {
                    None => Some(t),
                    Some(prev) if prev == t => Some(prev),
                    Some(FieldType::Int) if t == FieldType::Float => Some(FieldType::Float),
                    Some(FieldType::Float) if t == FieldType::Int => Some(FieldType::Float),
                    Some(_) => Some(FieldType::Any),
                };
            }
            FieldType::list(item.unwrap_or(FieldType::Str))
        }
    })
}

/// What the demos' values say about a field's type: the type all non-null values share
/// (`Str` for strings), with how many demos hold it; `None` when no demo holds the field or
/// the values disagree.
pub(crate) fn demo_type<'a>(
    demos: impl Iterator<Item = &'a Map<String, Value>>,
    field: &str,
    augmented_only: bool,
) -> Option<(FieldType, usize)> {
    let mut seen: Option<FieldType> = None;
    let mut count = 0;
    for d in demos {
        if augmented_only && d.get("augmented") != Some(&Value::Bool(true)) {
            continue;
        }
        let Some(v) = d.get(field) else { continue };
        if v.is_null() {
            continue;
        }
        let t = value_type(v).unwrap_or(FieldType::Str);
        match &seen {
            None => seen = Some(t),
            Some(prev) if *prev == t => {}
            Some(FieldType::Int) if t == FieldType::Float => seen = Some(FieldType::Float),
            Some(FieldType::Float) if t == FieldType::Int => {}
            Some(_) => return None,
        }
        count += 1;
    }
    seen.map(|t| (t, count))
}

pub(super) fn field_type(
    p: &Saved,
    name: &str,
    role: FieldRole,
    earlier_outputs: &[(&str, &Field)],
    tools: &[InferredTool],
) -> (FieldType, Option<String>) {
    if role == FieldRole::Output && name == "next_tool_name" && !tools.is_empty() {
        let mut names: Vec<String> = tools.iter().map(|t| t.name.clone()).collect();
        names.push("finish".into());
        return (FieldType::literal(names), None);
    }
    if role == FieldRole::Output && name == "next_tool_args" {
        return (FieldType::dict(FieldType::Str, FieldType::Any), None);
    }
    if role == FieldRole::Input
        && let Some((_, f)) = earlier_outputs.iter().rev().find(|(o, _)| *o == name)
    {
        return (f.ty.clone(), None);
    }
    let demos = || p.demos.iter();
    match role {
        FieldRole::Output => match demo_type(demos(), name, true) {
            Some((FieldType::Str, _)) | None => (FieldType::Str, None),
            Some((t, count)) => {
                let note = format!(
                    "output `{name}` typed `{}` from {count} bootstrapped demo{} holding such values",
                    t.python_name(),
                    if count == 1 { "" } else { "s" }
                );
                (t, Some(note))
            }
        },
        FieldRole::Input => match demo_type(demos(), name, false) {
            Some((FieldType::Str, _)) | None => (FieldType::Str, None),
            Some((t, count)) => (
                FieldType::Str,
                Some(format!(
                    "input `{name}` left `str` although {count} demo{} hold{} `{}` values (DSPy \
                     formats any value given to a `str` input); declare `{name}: {}` if the \
                     program does",
                    if count == 1 { "" } else { "s" },
                    if count == 1 { "s" } else { "" },
                    t.python_name(),
                    t.python_name()
                )),
            ),
        },
    }
}
