//! DSPy's `ChatAdapter`: inputs and outputs in `[[ ## field ## ]]` sections, ending with
//! `[[ ## completed ## ]]`.

use serde_json::{Map, Value};

use super::describe::{apply_output_defaults, format_field_value, placeholder, type_reminder};
use super::error::AdapterError;
use super::history::History;
use super::pyfmt::{py_splitlines, py_strip};
use super::render::{Render, format_messages, missing_value};
use super::{Adapter, AdapterKind};
use crate::coerce::parse_value;
use crate::example::{Example, Prediction};
use crate::message::Message;
use crate::signature::{Field, FieldRole, Signature};

/// DSPy's default adapter: `[[ ## field ## ]]` sections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatAdapter {
    /// Whether a parse failure should be retried with [`JsonAdapter`](super::JsonAdapter)
    /// (DSPy's `use_json_adapter_fallback`, on by default).
    pub use_json_adapter_fallback: bool,
}

impl Default for ChatAdapter {
    fn default() -> Self {
        ChatAdapter {
            use_json_adapter_fallback: true,
        }
    }
}

impl ChatAdapter {
    /// A chat adapter that falls back to JSON on parse failures, as DSPy's does.
    pub fn new() -> Self {
        Self::default()
    }
}

/// `[[ ## name ## ]]\nvalue` blocks, one per field, separated by blank lines.
pub(crate) fn sections<'a>(items: impl Iterator<Item = (&'a Field, String)>) -> String {
    let parts: Vec<String> = items
        .map(|(f, text)| format!("[[ ## {} ## ]]\n{}", f.name, text))
        .collect();
    py_strip(&parts.join("\n\n")).to_owned()
}

/// The structure lines for some fields: each field's placeholder in a section.
pub(crate) fn placeholder_sections(fields: &[Field], role: FieldRole) -> String {
    sections(fields.iter().map(|f| (f, placeholder(f, role))))
}

/// The inputs present in `values` as sections, with a prefix, optional reminder and DSPy's
/// joining.
pub(crate) fn section_user_content(
    sig: &Signature,
    values: &Map<String, Value>,
    prefix: &str,
    reminder: Option<String>,
) -> String {
    let mut parts = vec![prefix.to_owned()];
    for f in &sig.inputs {
        if let Some(v) = values.get(&f.name) {
            parts.push(format!(
                "[[ ## {} ## ]]\n{}",
                f.name,
                format_field_value(f, v)
            ));
        }
    }
    parts.extend(reminder);
    parts.push(String::new());
    py_strip(&parts.join("\n\n")).to_owned()
}

const STRUCTURE_INTRO: &str = "All interactions will be structured in the following way, with the appropriate values filled in.";

impl Render for ChatAdapter {
    fn structure(&self, sig: &Signature) -> String {
        let parts = [
            STRUCTURE_INTRO.to_owned(),
            placeholder_sections(&sig.inputs, FieldRole::Input),
            placeholder_sections(&sig.outputs, FieldRole::Output),
            "[[ ## completed ## ]]\n".to_owned(),
        ];
        py_strip(&parts.join("\n\n")).to_owned()
    }

    fn user_content(
        &self,
        sig: &Signature,
        values: &Map<String, Value>,
        prefix: &str,
        main_request: bool,
    ) -> String {
        let reminder = main_request.then(|| {
            let fields: Vec<String> = sig
                .outputs
                .iter()
                .map(|f| format!("`[[ ## {} ## ]]`{}", f.name, type_reminder(f)))
                .collect();
            format!(
                "Respond with the corresponding output fields, starting with the field {}, and then ending with the marker for `[[ ## completed ## ]]`.",
                fields.join(", then ")
            )
        });
        section_user_content(sig, values, prefix, reminder)
    }

    fn assistant_content(
        &self,
        sig: &Signature,
        values: &Map<String, Value>,
        missing: Option<&str>,
    ) -> String {
        let body = sections(sig.outputs.iter().map(|f| {
            let v = values
                .get(&f.name)
                .cloned()
                .unwrap_or_else(|| missing_value(missing));
            (f, format_field_value(f, &v))
        }));
        format!("{body}\n\n[[ ## completed ## ]]\n")
    }
}

/// Matches `[[ ## name ## ]]` at the start of `line`; returns the name and the number of
/// characters matched.
fn header(line: &str) -> Option<(String, usize)> {
    let rest = line.strip_prefix("[[ ## ")?;
    let name: String = rest
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    if name.is_empty() {
        return None;
    }
    rest[name.len()..].strip_prefix(" ## ]]")?;
    Some((name.clone(), 6 + name.chars().count() + 6))
}

/// Splits a completion into `(header, text)` sections, as DSPy's `ChatAdapter.parse`.
pub(crate) fn split_sections(completion: &str) -> Vec<(Option<String>, String)> {
    let mut sections: Vec<(Option<String>, Vec<String>)> = vec![(None, Vec::new())];
    for line in py_splitlines(completion) {
        match header(py_strip(line)) {
            Some((name, end)) => {
                // DSPy slices the unstripped line at the end of the match in the stripped one.
                let rest: String = line.chars().skip(end).collect();
                let rest = py_strip(&rest);
                let lines = if rest.is_empty() {
                    Vec::new()
                } else {
                    vec![rest.to_owned()]
                };
                sections.push((Some(name), lines));
            }
            None => {
                if let Some(last) = sections.last_mut() {
                    last.1.push(line.to_owned());
                }
            }
        }
    }
    sections
        .into_iter()
        .map(|(k, lines)| (k, py_strip(&lines.join("\n")).to_owned()))
        .collect()
}

/// Converts the found output values, applies defaults and checks every output is present.
pub(crate) fn finish_parse(
    adapter: &'static str,
    sig: &Signature,
    found: &Map<String, Value>,
    completion: &str,
) -> Result<Prediction, AdapterError> {
    let fields = apply_output_defaults(sig, found);
    if fields.len() != sig.outputs.len() {
        return Err(AdapterError::MissingFields {
            adapter,
            expected: sig.outputs.iter().map(|f| f.name.clone()).collect(),
            parsed: fields.keys().cloned().collect(),
            response: completion.to_owned(),
        });
    }
    Ok(Prediction::new(fields))
}

/// Converts one field's value, naming the adapter and field on failure.
pub(crate) fn parse_field(
    adapter: &'static str,
    field: &Field,
    value: &Value,
    completion: &str,
) -> Result<Value, AdapterError> {
    parse_value(value, &field.ty).map_err(|reason| AdapterError::FieldParse {
        adapter,
        field: field.name.clone(),
        expected: field.ty.python_name(),
        text: match value {
            Value::String(s) => s.as_str().into(),
            other => other.to_string().into(),
        },
        reason: reason.into(),
        response: completion.into(),
    })
}

impl Adapter for ChatAdapter {
    fn name(&self) -> &'static str {
        "ChatAdapter"
    }

    fn format_with_history(
        &self,
        signature: &Signature,
        demos: &[Example],
        inputs: &Example,
        history: Option<&History>,
    ) -> Result<Vec<Message>, AdapterError> {
        format_messages(self, signature, demos, inputs, history)
    }

    fn format_assistant_message(
        &self,
        signature: &Signature,
        outputs: &Map<String, Value>,
    ) -> String {
        self.assistant_content(signature, outputs, None)
    }

    fn parse(&self, signature: &Signature, completion: &str) -> Result<Prediction, AdapterError> {
        let mut found = Map::new();
        for (name, text) in split_sections(completion) {
            let Some(name) = name else { continue };
            if found.contains_key(&name) {
                continue;
            }
            if let Some(field) = signature.outputs.iter().find(|f| f.name == name) {
                let value = parse_field(self.name(), field, &Value::String(text), completion)?;
                found.insert(name, value);
            }
        }
        finish_parse(self.name(), signature, &found, completion)
    }

    fn fallback(&self) -> Option<AdapterKind> {
        self.use_json_adapter_fallback.then_some(AdapterKind::Json)
    }
}
