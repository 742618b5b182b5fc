//! Streaming chunks and their accumulation into a [`ChatResponse`].

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::message::{Content, FunctionCall, Message, Role, ToolCall};
use super::response::{ChatResponse, Choice, ChoiceLogprobs, FinishReason, Usage};

/// One `chat.completion.chunk` event.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChatChunk {
    /// Response id (the same in every chunk).
    #[serde(default)]
    pub id: String,
    /// `chat.completion.chunk`.
    #[serde(default)]
    pub object: String,
    /// Unix seconds.
    #[serde(default)]
    pub created: u64,
    /// The model that answers.
    #[serde(default)]
    pub model: String,
    /// Deltas per choice; empty in the final usage chunk.
    #[serde(default)]
    pub choices: Vec<ChunkChoice>,
    /// Set only in the final chunk with `stream_options.include_usage`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// Backend configuration fingerprint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_fingerprint: Option<String>,
    /// Unknown fields, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The delta of one choice in a [`ChatChunk`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChunkChoice {
    /// Which choice this delta extends.
    #[serde(default)]
    pub index: u32,
    /// New content.
    #[serde(default)]
    pub delta: Delta,
    /// Set in the choice's last chunk.
    #[serde(default)]
    pub finish_reason: Option<FinishReason>,
    /// Log-probabilities of the new tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logprobs: Option<ChoiceLogprobs>,
}

/// New content for one choice.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Delta {
    /// Sent in the first chunk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// Text to append.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// Refusal text to append.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal: Option<String>,
    /// Tool-call fragments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<ToolCallDelta>>,
    /// Unknown fields, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A fragment of a tool call; fragments with the same `index` belong together.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ToolCallDelta {
    /// Which tool call this extends.
    #[serde(default)]
    pub index: u32,
    /// Sent in the call's first fragment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `function`, in the first fragment.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Name (first fragment) and a piece of the arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<FunctionCallDelta>,
}

/// Name and argument fragment of a [`ToolCallDelta`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FunctionCallDelta {
    /// The function name (first fragment).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Arguments text to append.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arguments: Option<String>,
}

/// Folds [`ChatChunk`]s into one [`ChatResponse`].
///
/// ```
/// use hone_lm::{ChatChunk, StreamAccumulator};
/// let mut acc = StreamAccumulator::default();
/// for text in ["Hel", "lo"] {
///     let chunk: ChatChunk = serde_json::from_value(serde_json::json!({
///         "id": "c1", "choices": [{"index": 0, "delta": {"content": text}}]
///     })).unwrap();
///     acc.push(&chunk);
/// }
/// assert_eq!(acc.finish().text().as_deref(), Some("Hello"));
/// ```
#[derive(Debug, Clone, Default)]
pub struct StreamAccumulator {
    response: ChatResponse,
    choices: Vec<PartialChoice>,
}

#[derive(Debug, Clone, Default)]
struct PartialChoice {
    index: u32,
    role: Option<Role>,
    content: Option<String>,
    refusal: Option<String>,
    tool_calls: Vec<ToolCall>,
    tool_call_indices: Vec<u32>,
    finish_reason: Option<FinishReason>,
    logprobs: Option<ChoiceLogprobs>,
    extra: Map<String, Value>,
}

impl StreamAccumulator {
    /// Adds one chunk.
    pub fn push(&mut self, chunk: &ChatChunk) {
        let response = &mut self.response;
        if response.id.is_empty() {
            response.id.clone_from(&chunk.id);
        }
        if response.model.is_empty() {
            response.model.clone_from(&chunk.model);
        }
        if response.created == 0 {
            response.created = chunk.created;
        }
        if chunk.system_fingerprint.is_some() {
            response
                .system_fingerprint
                .clone_from(&chunk.system_fingerprint);
        }
        if chunk.usage.is_some() {
            response.usage.clone_from(&chunk.usage);
        }
        for delta in &chunk.choices {
            let position = match self.choices.iter().position(|c| c.index == delta.index) {
                Some(position) => position,
                None => {
                    self.choices.push(PartialChoice {
                        index: delta.index,
                        ..Default::default()
                    });
                    self.choices.len() - 1
                }
            };
            self.choices[position].push(delta);
        }
    }

    /// The response so far (also usable after an error, to keep partial output).
    pub fn finish(&self) -> ChatResponse {
        let mut response = self.response.clone();
        response.object = "chat.completion".to_owned();
        let mut choices: Vec<Choice> = self.choices.iter().map(PartialChoice::to_choice).collect();
        choices.sort_by_key(|c| c.index);
        response.choices = choices;
        response
    }
}

impl PartialChoice {
    fn push(&mut self, chunk: &ChunkChoice) {
        let delta = &chunk.delta;
        if delta.role.is_some() {
            self.role.clone_from(&delta.role);
        }
        if let Some(text) = &delta.content {
            self.content.get_or_insert_with(String::new).push_str(text);
        }
        if let Some(text) = &delta.refusal {
            self.refusal.get_or_insert_with(String::new).push_str(text);
        }
        for (key, value) in &delta.extra {
            match (self.extra.get_mut(key), value) {
                (Some(Value::String(acc)), Value::String(more)) => acc.push_str(more),
                _ => {
                    self.extra.insert(key.clone(), value.clone());
                }
            }
        }
        for fragment in delta.tool_calls.iter().flatten() {
            let position = match self
                .tool_call_indices
                .iter()
                .position(|i| *i == fragment.index)
            {
                Some(position) => position,
                None => {
                    self.tool_call_indices.push(fragment.index);
                    self.tool_calls.push(ToolCall {
                        id: String::new(),
                        kind: super::message::function_type(),
                        function: FunctionCall {
                            name: String::new(),
                            arguments: String::new(),
                        },
                        extra: Map::new(),
                    });
                    self.tool_calls.len() - 1
                }
            };
            let call = &mut self.tool_calls[position];
            if let Some(id) = &fragment.id {
                call.id.clone_from(id);
            }
            if let Some(kind) = &fragment.kind {
                call.kind.clone_from(kind);
            }
            if let Some(function) = &fragment.function {
                if let Some(name) = &function.name {
                    call.function.name.push_str(name);
                }
                if let Some(arguments) = &function.arguments {
                    call.function.arguments.push_str(arguments);
                }
            }
        }
        if chunk.finish_reason.is_some() {
            self.finish_reason.clone_from(&chunk.finish_reason);
        }
        if let Some(logprobs) = &chunk.logprobs {
            let acc = self.logprobs.get_or_insert_with(Default::default);
            if let Some(content) = &logprobs.content {
                acc.content
                    .get_or_insert_with(Vec::new)
                    .extend(content.iter().cloned());
            }
            if let Some(refusal) = &logprobs.refusal {
                acc.refusal
                    .get_or_insert_with(Vec::new)
                    .extend(refusal.iter().cloned());
            }
        }
    }

    fn to_choice(&self) -> Choice {
        // Reasoning deltas (`reasoning_content`) were joined like any text extra.
        let mut extra = self.extra.clone();
        let reasoning_content = match extra.remove("reasoning_content") {
            Some(Value::String(text)) => Some(text),
            Some(other) => {
                extra.insert("reasoning_content".into(), other);
                None
            }
            None => None,
        };
        Choice {
            index: self.index,
            message: Message {
                role: self.role.clone().unwrap_or(Role::Assistant),
                content: self.content.clone().map(Content::Text),
                name: None,
                tool_call_id: None,
                tool_calls: (!self.tool_calls.is_empty()).then(|| self.tool_calls.clone()),
                refusal: self.refusal.clone(),
                reasoning_content,
                extra,
            },
            finish_reason: self.finish_reason.clone(),
            logprobs: self.logprobs.clone(),
            extra: Map::new(),
        }
    }
}
