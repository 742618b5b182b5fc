//! DSPy's `XMLAdapter`: fields wrapped in `<field>` tags; list, dict and model outputs as
//! nested XML.

use serde_json::{Map, Value};

use super::chat::{finish_parse, parse_field};
use super::describe::{format_field_value, placeholder};
use super::error::AdapterError;
use super::history::History;
use super::pyfmt::py_strip;
use super::render::{Render, format_messages, missing_value};
use super::xml_tree::parse_wrapped;
use super::xml_value::{
    elements_to_value, group_children, type_to_xml, uses_nested_xml, value_to_xml,
};
use super::{Adapter, AdapterKind};
use crate::coerce::validate;
use crate::example::{Example, Prediction};
use crate::message::Message;
use crate::signature::{Field, FieldRole, Signature};
use crate::types::FieldType;

/// Wraps each field in XML tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XmlAdapter {
    /// Whether a parse failure should be retried with [`JsonAdapter`](super::JsonAdapter); DSPy's
    /// XMLAdapter inherits the chat adapter's fallback, on by default.
    pub use_json_adapter_fallback: bool,
}

impl Default for XmlAdapter {
    fn default() -> Self {
        XmlAdapter {
            use_json_adapter_fallback: true,
        }
    }
}

impl XmlAdapter {
    /// An XML adapter that falls back to JSON on parse failures, as DSPy's does.
    pub fn new() -> Self {
        Self::default()
    }
}

/// DSPy's `XMLAdapter.format_field_with_value` for one field.
fn tagged(field: &Field, role: FieldRole, value: &Value) -> String {
    let output = role == FieldRole::Output;
    if output && uses_nested_xml(&field.ty) && matches!(value, Value::Array(_) | Value::Object(_)) {
        return value_to_xml(value, &field.name, None);
    }
    wrap(field, role, format_field_value(field, value))
}

/// A field's formatted text in its tags (an output `str` escaped).
fn wrap(field: &Field, role: FieldRole, mut text: String) -> String {
    if role == FieldRole::Output && field.ty == FieldType::Str {
        text = text.replace('&', "&amp;").replace('<', "&lt;");
    }
    format!("<{0}>\n{text}\n</{0}>", field.name)
}

fn join_tagged(parts: Vec<String>) -> String {
    py_strip(&parts.join("\n\n")).to_owned()
}

impl Render for XmlAdapter {
    fn structure(&self, sig: &Signature) -> String {
        let group = |fields: &[Field], role: FieldRole| -> String {
            fields
                .iter()
                .map(|f| {
                    if role == FieldRole::Output && uses_nested_xml(&f.ty) {
                        type_to_xml(&f.name, &f.ty)
                    } else {
                        // The placeholder is text, never an image.
                        join_tagged(vec![wrap(f, role, placeholder(f, role))])
                    }
                })
                .collect::<Vec<_>>()
                .join("\n\n")
        };
        [
            "All interactions will be structured in the following way, with the appropriate values filled in.".to_owned(),
            group(&sig.inputs, FieldRole::Input),
            group(&sig.outputs, FieldRole::Output),
        ]
        .join("\n\n")
    }

    fn user_content(
        &self,
        sig: &Signature,
        values: &Map<String, Value>,
        prefix: &str,
        main_request: bool,
    ) -> String {
        let fields = join_tagged(
            sig.inputs
                .iter()
                .filter_map(|f| values.get(&f.name).map(|v| tagged(f, FieldRole::Input, v)))
                .collect(),
        );
        let mut parts = vec![prefix.to_owned(), fields];
        if main_request {
            let tags: Vec<String> = sig
                .outputs
                .iter()
                .map(|f| format!("`<{}>`", f.name))
                .collect();
            let schemas: Vec<String> = sig
                .outputs
                .iter()
                .filter(|f| uses_nested_xml(&f.ty))
                .map(|f| type_to_xml(&f.name, &f.ty))
                .collect();
            let mut reminder = format!(
                "Respond with the corresponding output fields wrapped in XML tags {}.",
                tags.join(", then ")
            );
            if !schemas.is_empty() {
                reminder.push_str(" Use this nested XML structure: ");
                reminder.push_str(&schemas.join(" "));
            }
            parts.push(reminder);
        }
        parts.push(String::new());
        py_strip(&parts.join("\n\n")).to_owned()
    }

    fn assistant_content(
        &self,
        sig: &Signature,
        values: &Map<String, Value>,
        missing: Option<&str>,
    ) -> String {
        join_tagged(
            sig.outputs
                .iter()
                .map(|f| {
                    let v = values
                        .get(&f.name)
                        .cloned()
                        .unwrap_or_else(|| missing_value(missing));
                    tagged(f, FieldRole::Output, &v)
                })
                .collect(),
        )
    }
}

impl Adapter for XmlAdapter {
    fn name(&self) -> &'static str {
        "XMLAdapter"
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
        let root = parse_wrapped(completion, "dspy_root").map_err(|message| AdapterError::Xml {
            adapter: self.name(),
            message,
            response: completion.to_owned(),
        })?;
        let elements = group_children(&root);
        let mut found = Map::new();
        for field in &signature.outputs {
            let Some((_, els)) = elements.iter().find(|(k, _)| *k == field.name) else {
                continue;
            };
            let schema = field.ty.json_schema();
            let defs = schema
                .get("$defs")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            let mut candidates = vec![schema.clone()];
            if let Some(any) = schema.get("anyOf").and_then(Value::as_array) {
                candidates.extend(any.iter().cloned());
            }
            let mut last_err = None;
            for candidate in &candidates {
                let raw = elements_to_value(els, candidate, &defs, 0);
                match parse_field(self.name(), field, &raw, completion) {
                    Ok(v) => {
                        found.insert(field.name.clone(), v);
                        last_err = None;
                        break;
                    }
                    // DSPy's enum lookup raises a ValueError, which it does not retry
                    // with pydantic.
                    Err(e) if matches!(field.ty, FieldType::Enum(_)) => last_err = Some(e),
                    Err(e) => match validate(&raw, &field.ty) {
                        Ok(v) => {
                            found.insert(field.name.clone(), v);
                            last_err = None;
                            break;
                        }
                        Err(_) => last_err = Some(e),
                    },
                }
            }
            if let Some(e) = last_err {
                return Err(e);
            }
        }
        finish_parse(self.name(), signature, &found, completion)
    }

    fn fallback(&self) -> Option<AdapterKind> {
        self.use_json_adapter_fallback.then_some(AdapterKind::Json)
    }
}
