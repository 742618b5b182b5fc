//! A predictor's prompt as a template: the messages the adapter sends, with a slot where each
//! input value goes.
//!
//! The template is made by the adapter itself: the predictor's signature and demos are
//! formatted with a unique marker as the value of each input, and the final user message is
//! cut at the markers. Every exporter writes this one template in its own syntax, so all of them
//! agree with the adapter by construction; the round-trip tests check it for every adapter.
//!
//! Only the last message holds slots. The system message and the demo turns do not depend on
//! the inputs.

use hone_core::adapter::{AdapterKind, BamlAdapter, History, format_field_value};
use hone_core::message::{Message, Role};
use hone_core::state::PredictorState;
use hone_core::{Example, Field, Signature};
use indexmap::IndexMap;
use serde_json::Value;

use crate::error::ExportError;

/// A piece of a message template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// Literal text, sent as is.
    Text(String),
    /// The formatted value of the named input field.
    Slot(String),
}

/// One message of a template: a role and its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateMessage {
    /// Who speaks the message.
    pub role: Role,
    /// Literal text and slots, in order. Messages other than the last are one text part.
    pub parts: Vec<Part>,
}

impl TemplateMessage {
    /// The input fields this message has slots for, in order.
    pub fn slots(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Slot(name) => Some(name.as_str()),
            Part::Text(_) => None,
        })
    }
}

/// A predictor's prompt for one adapter, with slots for its inputs.
///
/// ```
/// use hone_core::adapter::{Adapter, AdapterKind};
/// use hone_core::state::PredictorState;
/// use hone_core::{Example, Signature};
/// use hone_export::PromptTemplate;
/// use serde_json::json;
///
/// let state = PredictorState::new(Signature::parse("question, context: list[str] -> answer")?);
/// let template = PromptTemplate::new("self", &state, AdapterKind::Chat)?;
/// assert_eq!(template.inputs().map(|f| f.name.as_str()).collect::<Vec<_>>(), ["question", "context"]);
///
/// let inputs = Example::from_json(json!({"question": "Why {{x}}?", "context": ["a", "b"]})).unwrap();
/// let sent = AdapterKind::Chat.adapter().format(&state.signature, &state.demos, &inputs)?;
/// assert_eq!(template.render(&inputs)?, sent);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct PromptTemplate {
    /// The predictor's name in the program.
    pub predictor: String,
    /// The adapter the prompt is written for.
    pub adapter: AdapterKind,
    /// The predictor's signature (instructions, fields, types).
    pub signature: Signature,
    /// The messages: system, demo turns, then the user message with the slots.
    pub messages: Vec<TemplateMessage>,
    /// The `response_format` request parameter the adapter sends, if any.
    pub response_format: Option<Value>,
    /// The input field holding a conversation history (DSPy's `dspy.History`), if the
    /// signature has one. It has no slot: the template is the prompt of a call without earlier
    /// turns; with turns, the adapter inserts them before the last message.
    pub history_field: Option<String>,
    /// The predictor's own LM settings, as saved (`model`, `temperature`, ...), if any.
    pub lm: Option<Value>,
}

/// The marker standing for input `i` while the adapter renders the template: private-use
/// characters that no signature, demo or adapter text is expected to hold (checked).
fn marker(i: usize) -> String {
    format!("\u{E000}hone-slot-{i}\u{E001}")
}

impl PromptTemplate {
    /// The template of a predictor's prompt under an adapter.
    pub fn new(
        predictor: &str,
        state: &PredictorState,
        adapter: AdapterKind,
    ) -> Result<Self, ExportError> {
        if adapter.is_two_step() {
            return Err(ExportError::TwoCalls {
                predictor: predictor.to_owned(),
                adapter: adapter.to_string(),
            });
        }
        let sig = &state.signature;
        let history_field = sig
            .inputs
            .iter()
            .find(|f| History::is_history_type(&f.ty))
            .map(|f| f.name.clone());
        let slot_fields: Vec<&Field> = sig
            .inputs
            .iter()
            .filter(|f| Some(&f.name) != history_field.as_ref())
            .collect();
        if let Some(f) = slot_fields.iter().find(|f| f.ty.has_image()) {
            return Err(ExportError::ImageInput {
                predictor: predictor.to_owned(),
                field: f.name.clone(),
            });
        }
        if adapter == AdapterKind::Baml
            && let Some(f) = slot_fields
                .iter()
                .find(|f| BamlAdapter::writes_model_json(f))
        {
            return Err(ExportError::BamlModelInput {
                predictor: predictor.to_owned(),
                field: f.name.clone(),
            });
        }
        let mut inputs = Example::new();
        for (i, f) in slot_fields.iter().enumerate() {
            inputs.insert(f.name.clone(), Value::String(marker(i)));
        }
        let render_err = |source| ExportError::Render {
            predictor: predictor.to_owned(),
            adapter: adapter.to_string(),
            source: Box::new(source),
        };
        let a = adapter.adapter();
        let messages = a.format(sig, &state.demos, &inputs).map_err(render_err)?;
        let last = messages.len().saturating_sub(1);
        let mut out = Vec::with_capacity(messages.len());
        for (i, m) in messages.into_iter().enumerate() {
            let parts = if i == last {
                split_at_markers(predictor, &m.content, &slot_fields)?
            } else {
                if m.content.contains('\u{E000}') && m.content.contains("hone-slot-") {
                    return Err(marker_error(predictor));
                }
                vec![Part::Text(m.content)]
            };
            out.push(TemplateMessage {
                role: m.role,
                parts,
            });
        }
        Ok(PromptTemplate {
            predictor: predictor.to_owned(),
            adapter,
            signature: sig.clone(),
            messages: out,
            response_format: a.response_format(sig),
            history_field,
            lm: state.lm.clone(),
        })
    }

    /// The input fields that have slots, in signature order (every input but a history).
    pub fn inputs(&self) -> impl Iterator<Item = &Field> {
        self.signature
            .inputs
            .iter()
            .filter(|f| Some(&f.name) != self.history_field.as_ref())
    }

    /// Formats each input value as the adapter writes it into the prompt
    /// ([`format_input_value`]), keyed by field name. Every slotted input must be present.
    pub fn format_inputs(&self, inputs: &Example) -> Result<IndexMap<String, String>, ExportError> {
        let mut out = IndexMap::new();
        for f in self.inputs() {
            let Some(v) = inputs.get(&f.name) else {
                return Err(self.missing(&f.name));
            };
            out.insert(f.name.clone(), format_field_value(f, v));
        }
        Ok(out)
    }

    /// The messages with the slots filled by already formatted values, one pass, values never
    /// read as template text.
    pub fn fill(&self, formatted: &IndexMap<String, String>) -> Result<Vec<Message>, ExportError> {
        self.messages
            .iter()
            .map(|m| {
                let mut content = String::new();
                for part in &m.parts {
                    match part {
                        Part::Text(t) => content.push_str(t),
                        Part::Slot(name) => match formatted.get(name) {
                            Some(v) => content.push_str(v),
                            None => return Err(self.missing(name)),
                        },
                    }
                }
                Ok(Message {
                    role: m.role,
                    content,
                })
            })
            .collect()
    }

    /// The messages for these inputs: what the adapter's `format` returns for them.
    pub fn render(&self, inputs: &Example) -> Result<Vec<Message>, ExportError> {
        self.fill(&self.format_inputs(inputs)?)
    }

    fn missing(&self, field: &str) -> ExportError {
        ExportError::MissingInput {
            predictor: self.predictor.clone(),
            field: field.to_owned(),
            fields: self
                .inputs()
                .map(|f| f.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        }
    }
}

/// How an input's value becomes the text of its slot ([`format_input_value`]), stated for
/// clients of the `openai` and `jinja` exports that format values themselves; complete, so a
/// client following it sends the adapter's bytes (DSPy's `format_field_value`).
pub const VALUE_RULES: &str = "A str input given a string is inserted as is. A list given to a str input becomes: N/A when it is empty; ITEM alone, not numbered, when it has one item; else one line per item, '[1] ITEM', '[2] ITEM', ..., joined by newlines. ITEM is Python's str() of the item written as «item» when it holds no newline, « or »; otherwise as a block: «««, a newline, the text with four spaces put after each of its newlines and before its first line, a newline, »»». Other lists and dicts (including lists given to inputs of other types) are inserted as json.dumps(value, ensure_ascii=False); all other values as Python's str() (None, True, 3.5).";

/// The text an input value takes in the prompt (DSPy's `format_field_value`): text as is; a
/// list given to a `str` field as a numbered list of «quoted» items; lists and dicts as
/// one-line JSON (`json.dumps(value, ensure_ascii=False)`); other values as Python's `str()`
/// (`True`, `None`, `0.5`).
///
/// Fill the slots of an exported prompt with these strings.
///
/// ```
/// use hone_core::{Field, FieldType};
/// use hone_export::format_input_value;
/// use serde_json::json;
/// let f = Field::new("tags", FieldType::list(FieldType::Str));
/// assert_eq!(format_input_value(&f, &json!(["a", "é"])), r#"["a", "é"]"#);
/// ```
pub fn format_input_value(field: &Field, value: &Value) -> String {
    format_field_value(field, value)
}

fn marker_error(predictor: &str) -> ExportError {
    ExportError::Marker {
        predictor: predictor.to_owned(),
    }
}

/// Cuts the rendered last message at the markers; each must occur exactly once.
fn split_at_markers(
    predictor: &str,
    content: &str,
    fields: &[&Field],
) -> Result<Vec<Part>, ExportError> {
    let mut found: Vec<(usize, usize, usize)> = Vec::new();
    for (i, _) in fields.iter().enumerate() {
        let m = marker(i);
        let mut hits = content.match_indices(&m);
        match (hits.next(), hits.next()) {
            (Some((at, _)), None) => found.push((at, at + m.len(), i)),
            _ => return Err(marker_error(predictor)),
        }
    }
    found.sort_unstable();
    let mut parts = Vec::new();
    let mut pos = 0;
    for (start, end, i) in found {
        if start > pos {
            parts.push(Part::Text(content[pos..start].to_owned()));
        }
        parts.push(Part::Slot(fields[i].name.clone()));
        pos = end;
    }
    if pos < content.len() {
        parts.push(Part::Text(content[pos..].to_owned()));
    }
    let text_has_marker = parts
        .iter()
        .any(|p| matches!(p, Part::Text(t) if t.contains('\u{E000}') && t.contains("hone-slot-")));
    if text_has_marker {
        return Err(marker_error(predictor));
    }
    Ok(parts)
}
