//! The `openai` export: each predictor's chat request (messages with `{{field}}` slots and the
//! `response_format` the runtime sends), ready for any OpenAI-compatible client.
//!
//! # Filling the slots
//!
//! Only the **last** message holds slots. Fill them in one pass, left to right: each
//! `{{name}}` whose `name` is one of the predictor's `inputs` is replaced by that input's
//! formatted value ([`format_input_value`](crate::format_input_value); for a `str` field given
//! a string, the string itself). Inserted values are never scanned again, so a value holding
//! `{{`, `}}` or `[[ ## x ## ]]` is sent literally. In Python:
//!
//! ```python
//! import re
//! content = re.sub(r"\{\{([A-Za-z_][A-Za-z0-9_]*)\}\}",
//!                  lambda m: values.get(m.group(1), m.group(0)), template)
//! ```
//!
//! The export refuses a prompt whose own text holds the slot of one of its inputs, so the rule
//! is unambiguous.

use hone_core::adapter::AdapterKind;
use hone_core::message::Message;
use hone_core::state::ProgramState;
use hone_core::{Example, Signature};
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::ExportError;
use crate::template::{Part, PromptTemplate};

/// The value of the `format` key of an openai export.
pub const OPENAI_FORMAT: &str = "hone.openai";

/// The version of the openai export layout this build writes and reads.
pub const OPENAI_FORMAT_VERSION: u64 = 1;

/// LM settings copied from a predictor's saved `lm` into its request when present.
const REQUEST_SETTINGS: [&str; 6] = [
    "model",
    "temperature",
    "max_tokens",
    "max_completion_tokens",
    "top_p",
    "stop",
];

/// A whole program's `openai` export.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpenAiExport {
    /// Always [`OPENAI_FORMAT`].
    pub format: String,
    /// Always [`OPENAI_FORMAT_VERSION`] for files this build writes.
    pub format_version: u64,
    /// The adapter the prompts are written for.
    pub adapter: AdapterKind,
    /// How to fill the slots, for readers of the file.
    pub slots: String,
    /// The predictors, by name, in program order.
    pub predictors: IndexMap<String, OpenAiPredictor>,
}

/// One predictor's request template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpenAiPredictor {
    /// The chat-completions request body: `messages` (the last with `{{field}}` slots),
    /// `response_format` when the adapter sends one, and the predictor's own `model` and
    /// sampling settings when it has an LM of its own.
    pub request: OpenAiRequest,
    /// The slotted inputs, in order, with their types.
    pub inputs: Vec<SlotInfo>,
    /// The input holding a conversation history, if any (no slot; see
    /// [`PromptTemplate::history_field`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history_field: Option<String>,
    /// The full signature (field names, types, instructions), so the answer can be parsed
    /// from this file alone ([`parse_output`](crate::parse_output)).
    pub signature: Signature,
}

/// A chat-completions request body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpenAiRequest {
    /// The predictor's model and sampling settings, when it has an LM of its own.
    #[serde(flatten)]
    pub settings: Map<String, Value>,
    /// The messages; the last holds the slots.
    pub messages: Vec<Message>,
    /// The structured-output parameter, if the adapter sends one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_format: Option<Value>,
}

/// An input slot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotInfo {
    /// The input field name.
    pub name: String,
    /// The field's type as a Python annotation (`str`, `list[str]`).
    #[serde(rename = "type")]
    pub ty: String,
    /// The slot text as it appears in the last message (`{{name}}`).
    pub slot: String,
}

/// The slot-filling rule, stated in the file.
fn slots_help() -> String {
    format!(
        "Only the last message of each request holds slots. Replace each {{{{name}}}} naming one of the predictor's inputs by that input's formatted value, in one left-to-right pass, without rescanning inserted text. {}",
        crate::template::VALUE_RULES
    )
}

/// The slot syntax of an input.
pub fn slot(name: &str) -> String {
    format!("{{{{{name}}}}}")
}

impl OpenAiPredictor {
    /// The predictor's request template.
    pub fn new(template: &PromptTemplate) -> Result<Self, ExportError> {
        let last = template.messages.len().saturating_sub(1);
        let names: Vec<String> = template.inputs().map(|f| f.name.clone()).collect();
        let messages = template
            .messages
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let mut content = String::new();
                for p in &m.parts {
                    match p {
                        Part::Text(t) => {
                            if i == last
                                && let Some(field) = names.iter().find(|n| t.contains(&slot(n)))
                            {
                                return Err(ExportError::SlotCollision {
                                    predictor: template.predictor.clone(),
                                    field: field.clone(),
                                });
                            }
                            content.push_str(t);
                        }
                        Part::Slot(name) => content.push_str(&slot(name)),
                    }
                }
                Ok(Message {
                    role: m.role,
                    content,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        // Text next to a slot could form another slot (`{{` + `{{q}}`): check the whole
        // message reads back as exactly the template's parts.
        if let Some(m) = messages.last() {
            let reread = split_slots(&m.content, &names);
            let expected = &template.messages[last].parts;
            if &reread != expected
                && let Some(field) = names.first()
            {
                return Err(ExportError::SlotCollision {
                    predictor: template.predictor.clone(),
                    field: field.clone(),
                });
            }
        }
        let mut settings = Map::new();
        if let Some(Value::Object(lm)) = &template.lm {
            for key in REQUEST_SETTINGS {
                if let Some(v) = lm.get(key).filter(|v| !v.is_null()) {
                    settings.insert(key.to_owned(), v.clone());
                }
            }
        }
        Ok(OpenAiPredictor {
            request: OpenAiRequest {
                settings,
                messages,
                response_format: template.response_format.clone(),
            },
            inputs: template
                .inputs()
                .map(|f| SlotInfo {
                    name: f.name.clone(),
                    ty: f.ty.python_name(),
                    slot: slot(&f.name),
                })
                .collect(),
            history_field: template.history_field.clone(),
            signature: template.signature.clone(),
        })
    }

    /// The messages with the slots of the last one filled by already formatted values.
    pub fn fill(&self, formatted: &IndexMap<String, String>) -> Vec<Message> {
        let mut messages = self.request.messages.clone();
        if let Some(m) = messages.last_mut() {
            m.content = fill_slots(&m.content, formatted);
        }
        messages
    }

    /// The messages for these input values (formatted as the adapter formats them).
    pub fn render(&self, predictor: &str, inputs: &Example) -> Result<Vec<Message>, ExportError> {
        let mut formatted = IndexMap::new();
        for info in &self.inputs {
            let Some((_, field)) = self.signature.field(&info.name) else {
                continue;
            };
            let Some(v) = inputs.get(&info.name) else {
                return Err(ExportError::MissingInput {
                    predictor: predictor.to_owned(),
                    field: info.name.clone(),
                    fields: self
                        .inputs
                        .iter()
                        .map(|i| i.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            };
            formatted.insert(info.name.clone(), crate::format_input_value(field, v));
        }
        Ok(self.fill(&formatted))
    }
}

/// Replaces each `{{name}}` whose name is a key of `values` by its value, in one pass; other
/// text (including `{{` not forming a known slot) is kept, and inserted values are not
/// scanned again.
///
/// ```
/// use hone_export::fill_slots;
/// use indexmap::IndexMap;
/// let values = IndexMap::from([("q".to_string(), "{{q}} and {{x}}".to_string())]);
/// assert_eq!(fill_slots("Q: {{q}} {{y}}", &values), "Q: {{q}} and {{x}} {{y}}");
/// ```
pub fn fill_slots(template: &str, values: &IndexMap<String, String>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let name_len = slot_name_len(after);
        if name_len > 0
            && after[name_len..].starts_with("}}")
            && let Some(v) = values.get(&after[..name_len])
        {
            out.push_str(&rest[..start]);
            out.push_str(v);
            rest = &after[name_len + 2..];
        } else {
            out.push_str(&rest[..start + 1]);
            rest = &rest[start + 1..];
        }
    }
    out.push_str(rest);
    out
}

/// The length of a slot name (`[A-Za-z_][A-Za-z0-9_]*`) at the start of `s`.
fn slot_name_len(s: &str) -> usize {
    let mut n = 0;
    for (i, c) in s.char_indices() {
        let ok = c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit());
        if !ok {
            break;
        }
        n = i + c.len_utf8();
    }
    n
}

/// Reads a filled-in-later content back into parts, by the same rule as [`fill_slots`].
fn split_slots(content: &str, names: &[String]) -> Vec<Part> {
    let mut parts = Vec::new();
    let mut text = String::new();
    let mut rest = content;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let name_len = slot_name_len(after);
        if name_len > 0
            && after[name_len..].starts_with("}}")
            && names.iter().any(|n| n == &after[..name_len])
        {
            text.push_str(&rest[..start]);
            if !text.is_empty() {
                parts.push(Part::Text(std::mem::take(&mut text)));
            }
            parts.push(Part::Slot(after[..name_len].to_owned()));
            rest = &after[name_len + 2..];
        } else {
            text.push_str(&rest[..start + 1]);
            rest = &rest[start + 1..];
        }
    }
    text.push_str(rest);
    if !text.is_empty() {
        parts.push(Part::Text(text));
    }
    parts
}

impl OpenAiExport {
    /// The export of every predictor of a program.
    pub fn new(program: &ProgramState, adapter: AdapterKind) -> Result<Self, ExportError> {
        let mut predictors = IndexMap::new();
        for (name, state) in &program.predictors {
            let template = PromptTemplate::new(name, state, adapter)?;
            predictors.insert(name.clone(), OpenAiPredictor::new(&template)?);
        }
        Ok(OpenAiExport {
            format: OPENAI_FORMAT.to_owned(),
            format_version: OPENAI_FORMAT_VERSION,
            adapter,
            slots: slots_help(),
            predictors,
        })
    }

    /// Reads an export file's text, naming what is wrong if it is not one.
    pub fn from_json_str(text: &str) -> Result<Self, ExportError> {
        let foreign = |problem: String| ExportError::Foreign {
            what: "an openai export (written by `hone export --format openai`)".to_owned(),
            problem,
        };
        let value: Value = serde_json::from_str(text).map_err(|e| {
            foreign(format!(
                "not valid JSON (line {}, column {})",
                e.line(),
                e.column()
            ))
        })?;
        match value.get("format").and_then(Value::as_str) {
            Some(OPENAI_FORMAT) => {}
            Some(other) => {
                return Err(foreign(format!(
                    "its `format` is `{other}`, not `{OPENAI_FORMAT}`"
                )));
            }
            None => {
                return Err(foreign(format!(
                    "it has no `\"format\": \"{OPENAI_FORMAT}\"` key; is it a program file? \
                     Pass a program with --program instead"
                )));
            }
        }
        match value.get("format_version").and_then(Value::as_u64) {
            Some(v) if v <= OPENAI_FORMAT_VERSION => {}
            other => {
                return Err(foreign(format!(
                    "`format_version` is {}, this hone reads version {OPENAI_FORMAT_VERSION}",
                    other.map_or("missing".to_owned(), |v| v.to_string())
                )));
            }
        }
        serde_json::from_value(value).map_err(|e| foreign(e.to_string()))
    }

    /// The export as pretty JSON text (two-space indentation, trailing newline).
    pub fn to_json_string_pretty(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }

    /// One predictor, or an error naming the available ones.
    pub fn predictor(&self, name: &str) -> Result<&OpenAiPredictor, ExportError> {
        self.predictors
            .get(name)
            .ok_or_else(|| ExportError::UnknownPredictor {
                name: name.to_owned(),
                available: self
                    .predictors
                    .keys()
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }
}
