//! The parts of the system message every adapter shares, and how field values are written:
//! DSPy's `get_field_description_string`, `translate_field_type`, `format_field_value` and
//! the task description.

use serde_json::{Map, Value};

use super::parts::mark_images;
use super::pyfmt::{json_dumps, py_dedent, py_splitlines, py_str, py_strip};
use crate::signature::{Field, FieldRole, Signature};
use crate::types::{FieldType, python_str};

/// "Your input fields are: ... Your output fields are: ..." with each field's type and
/// description.
pub(crate) fn field_description(sig: &Signature) -> String {
    format!(
        "Your input fields are:\n{}\nYour output fields are:\n{}",
        field_list(&sig.inputs),
        field_list(&sig.outputs)
    )
}

/// DSPy's `get_field_description_string`: `1. \`name\` (type): description`, one line per
/// field (plus a constraints line). Optimizers show it to their proposers.
///
/// ```
/// use hone_core::Signature;
/// use hone_core::adapter::field_description_string;
///
/// let sig = Signature::parse("question -> answer: int").unwrap();
/// assert_eq!(field_description_string(&sig.outputs), "1. `answer` (int):");
/// ```
pub fn field_description_string(fields: &[Field]) -> String {
    field_list(fields)
}

/// `1. \`name\` (type): description`, one line per field (plus a constraints line).
fn field_list(fields: &[Field]) -> String {
    let lines: Vec<String> = fields
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let mut line = format!(
                "{}. `{}` ({}): {}",
                i + 1,
                f.name,
                f.ty.python_name(),
                f.shown_description()
            );
            for custom in f.ty.custom_types() {
                let description = custom.type_description();
                if !description.is_empty() {
                    line.push_str(&format!(
                        "\n    Type description of {}: {description}",
                        custom.python_name()
                    ));
                }
            }
            if let Some(c) = f.constraints.as_deref().filter(|c| !c.is_empty()) {
                line.push_str("\nConstraints: ");
                line.push_str(c);
            }
            line
        })
        .collect();
    py_strip(&lines.join("\n")).to_owned()
}

/// The `{name}` placeholder of a field in the structure section, with the type note an output
/// field gets (`# note: the value you produce must be a single int value`).
pub(crate) fn placeholder(field: &Field, role: FieldRole) -> String {
    let note = match (&field.ty, role) {
        (_, FieldRole::Input) | (FieldType::Str, _) => String::new(),
        // Code's type description already says how to write it.
        (FieldType::Code { .. }, _) => String::new(),
        (FieldType::Bool, _) => "must be True or False".into(),
        (FieldType::Int, _) => "must be a single int value".into(),
        (FieldType::Float, _) => "must be a single float value".into(),
        (FieldType::Enum(e), _) => format!(
            "must be one of: {}",
            e.members
                .iter()
                .map(|m| python_str(&m.value))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        (FieldType::Literal { values }, _) => format!(
            "must exactly match (no extra characters) one of: {}",
            values.iter().map(python_str).collect::<Vec<_>>().join("; ")
        ),
        (ty, _) => format!(
            "must adhere to the JSON schema: {}",
            json_dumps(&type_first(ty.json_schema()))
        ),
    };
    if note.is_empty() {
        format!("{{{}}}", field.name)
    } else {
        format!(
            "{{{}}}        # note: the value you produce {note}",
            field.name
        )
    }
}

/// DSPy's `_get_json_schema` key order: `type` first, then the other keys sorted, at every level.
pub(crate) fn type_first(schema: Value) -> Value {
    match schema {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| (a.0 != "type", &a.0).cmp(&(b.0 != "type", &b.0)));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, type_first(v)))
                    .collect::<Map<String, Value>>(),
            )
        }
        Value::Array(items) => Value::Array(items.into_iter().map(type_first).collect()),
        other => other,
    }
}

/// "In adhering to this structure, your objective is: " and the dedented instructions, each
/// line on its own line indented by eight spaces.
pub(crate) fn task_description(sig: &Signature) -> String {
    let instructions = py_dedent(&sig.instructions);
    let mut objective = String::new();
    for line in py_splitlines(&instructions) {
        objective.push('\n');
        objective.push_str("        ");
        objective.push_str(line);
    }
    format!("In adhering to this structure, your objective is: {objective}")
}

/// ` (must be formatted as a valid Python int)` for non-`str` outputs in the format reminder.
pub(crate) fn type_reminder(field: &Field) -> String {
    if field.ty == FieldType::Str {
        String::new()
    } else {
        format!(
            " (must be formatted as a valid Python {})",
            field.ty.python_name()
        )
    }
}

/// How a field value is written into a message (DSPy's `format_field_value`): a list given to a
/// `str` field as a numbered list of «quoted» items, lists and dicts as one-line JSON, anything
/// else as Python's `str()`.
///
/// This is the text an input value takes in every adapter's user message; exported prompt
/// templates are filled with it.
///
/// ```
/// use hone_core::adapter::format_field_value;
/// use hone_core::{Field, FieldType};
/// use serde_json::json;
/// let notes = Field::new("notes", FieldType::Str);
/// assert_eq!(format_field_value(&notes, &json!(["a", "b"])), "[1] «a»\n[2] «b»");
/// let n = Field::new("n", FieldType::Int);
/// assert_eq!(format_field_value(&n, &json!(3)), "3");
/// ```
pub fn format_field_value(field: &Field, value: &Value) -> String {
    if field.ty.has_image() {
        let marked = mark_images(value, &field.ty);
        return format_value(field, &marked);
    }
    format_value(field, value)
}

fn format_value(field: &Field, value: &Value) -> String {
    match value {
        Value::Array(items) if field.ty == FieldType::Str => format_text_list(items),
        Value::Array(_) | Value::Object(_) => json_dumps(value),
        other => py_str(other),
    }
}

/// DSPy's `_format_input_list_field_value`.
fn format_text_list(items: &[Value]) -> String {
    match items {
        [] => "N/A".into(),
        [one] => format_blob(&py_str(one)),
        many => many
            .iter()
            .enumerate()
            .map(|(i, v)| format!("[{}] {}", i + 1, format_blob(&py_str(v))))
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

/// DSPy's `_format_blob`: «text» on one line, or a «««-fenced indented block.
fn format_blob(blob: &str) -> String {
    if !blob.contains(['\n', '«', '»']) {
        return format!("«{blob}»");
    }
    format!("«««\n    {}\n»»»", blob.replace('\n', "\n    "))
}

/// The output fields in signature order with missing ones filled as DSPy's
/// `apply_output_field_defaults` does: a declared default, else `None` for types that allow it.
pub(crate) fn apply_output_defaults(
    sig: &Signature,
    found: &Map<String, Value>,
) -> Map<String, Value> {
    let mut out = Map::new();
    for f in &sig.outputs {
        if let Some(v) = found.get(&f.name) {
            out.insert(f.name.clone(), v.clone());
        } else if let Some(d) = &f.default {
            out.insert(f.name.clone(), d.clone());
        } else if annotation_allows_none(&f.ty) {
            out.insert(f.name.clone(), Value::Null);
        }
    }
    out
}

/// DSPy's `annotation_allows_none`: `None` itself or a union holding it (not `Any`).
fn annotation_allows_none(ty: &FieldType) -> bool {
    match ty {
        FieldType::Null => true,
        FieldType::Union { variants } => variants.iter().any(annotation_allows_none),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn text_lists_are_numbered() {
        let f = Field::new("ctx", FieldType::Str);
        assert_eq!(format_field_value(&f, &json!([])), "N/A");
        assert_eq!(format_field_value(&f, &json!(["a"])), "«a»");
        assert_eq!(
            format_field_value(&f, &json!(["a", "b\nc"])),
            "[1] «a»\n[2] «««\n    b\n    c\n»»»"
        );
        let typed = Field::new("ctx", FieldType::list(FieldType::Str));
        assert_eq!(
            format_field_value(&typed, &json!(["a", "b"])),
            r#"["a", "b"]"#
        );
        assert_eq!(format_field_value(&typed, &json!(true)), "True");
        assert_eq!(format_field_value(&typed, &json!(null)), "None");
        assert_eq!(format_field_value(&typed, &json!(1e-5)), "1e-05");
    }

    #[test]
    fn objective_is_dedented_and_indented() {
        let sig = Signature::parse("a -> b")
            .expect("parses")
            .with_instructions("  Line one.\n    Line two.\n");
        assert_eq!(
            task_description(&sig),
            "In adhering to this structure, your objective is: \n        Line one.\n          Line two."
        );
        let empty = sig.with_instructions("");
        assert_eq!(
            task_description(&empty),
            "In adhering to this structure, your objective is: "
        );
    }
}
