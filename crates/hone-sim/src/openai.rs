//! The OpenAI wire format: request bodies as the simulator reads them and
//! the normalised messages the model works on.

use serde::Deserialize;
use serde_json::Value;

/// A `POST /v1/chat/completions` body. Unknown fields are ignored.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ChatRequest {
    /// Model id; echoed back.
    pub model: Option<String>,
    /// The conversation.
    pub messages: Vec<RawMessage>,
    /// Number of choices.
    pub n: Option<u32>,
    /// Sampling temperature; `0` or absent makes choices identical.
    pub temperature: Option<f64>,
    /// Request seed; mixed into draws when sampling.
    pub seed: Option<Value>,
    /// Stream with server-sent events.
    pub stream: Option<bool>,
    /// `{"include_usage": true}` adds a final usage chunk.
    pub stream_options: Option<StreamOptions>,
    /// Function tools.
    pub tools: Option<Vec<ToolSpec>>,
    /// `"none"`, `"auto"`, `"required"` or `{"type":"function","function":{"name":..}}`.
    pub tool_choice: Option<Value>,
    /// Whether several tool calls may be returned at once (default true).
    pub parallel_tool_calls: Option<bool>,
    /// `{"type":"json_object"}` or `{"type":"json_schema","json_schema":{"schema":..}}`.
    pub response_format: Option<Value>,
    /// Return per-token log probabilities.
    pub logprobs: Option<bool>,
    /// Alternatives per token (answered with an empty list).
    pub top_logprobs: Option<u32>,
    /// Stop sequences (string or list).
    pub stop: Option<Value>,
    /// Completion length limit in tokens.
    pub max_tokens: Option<u64>,
    /// Completion length limit in tokens (newer name).
    pub max_completion_tokens: Option<u64>,
}

/// `stream_options`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct StreamOptions {
    /// Send a last chunk with `usage`.
    pub include_usage: Option<bool>,
}

/// A function tool offered to the model.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ToolSpec {
    /// Always `"function"`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// The function.
    pub function: FunctionSpec,
}

/// A function's name, description and JSON-schema parameters.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct FunctionSpec {
    /// Function name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// JSON schema of the arguments object.
    pub parameters: Option<Value>,
}

/// A message as sent by the client.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RawMessage {
    /// `system`, `developer`, `user`, `assistant` or `tool`.
    pub role: String,
    /// A string, a list of content parts, or null.
    pub content: Option<Value>,
    /// Tool calls of an assistant message.
    pub tool_calls: Option<Vec<Value>>,
    /// For `tool` messages: the call answered.
    pub tool_call_id: Option<String>,
    /// Optional author name.
    pub name: Option<String>,
}

/// A tool call found in an assistant message.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolCallIn {
    /// Call id.
    pub id: String,
    /// Function name.
    pub name: String,
    /// Arguments JSON text.
    pub arguments: String,
}

/// A message reduced to what the model reads.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Message {
    /// Role; `developer` is read as `system`.
    pub role: String,
    /// Text content, content parts joined.
    pub text: String,
    /// Tool calls (assistant messages).
    pub tool_calls: Vec<ToolCallIn>,
    /// The call a `tool` message answers.
    pub tool_call_id: Option<String>,
}

impl Message {
    /// A message with only role and text.
    pub fn new(role: &str, text: &str) -> Self {
        Self {
            role: role.to_owned(),
            text: text.to_owned(),
            ..Self::default()
        }
    }
}

/// Why a request body was rejected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct InvalidRequest {
    /// What is wrong.
    pub message: String,
    /// The offending parameter, if one.
    pub param: Option<String>,
}

impl InvalidRequest {
    /// A rejection naming a parameter.
    pub fn new(param: &str, message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            param: Some(param.to_owned()),
        }
    }
}

impl ChatRequest {
    /// Parses and checks a body.
    pub fn from_json(body: &[u8]) -> Result<Self, InvalidRequest> {
        let value: Value = serde_json::from_slice(body).map_err(|e| InvalidRequest {
            message: format!("request body is not valid JSON: {e}"),
            param: None,
        })?;
        if !value.is_object() {
            return Err(InvalidRequest {
                message: "request body must be a JSON object".into(),
                param: None,
            });
        }
        let req: ChatRequest = serde_json::from_value(value).map_err(|e| InvalidRequest {
            message: format!("invalid request: {e}"),
            param: None,
        })?;
        if req.messages.is_empty() {
            return Err(InvalidRequest::new(
                "messages",
                "`messages` must be a non-empty array",
            ));
        }
        if let Some(n) = req.n
            && !(1..=128).contains(&n)
        {
            return Err(InvalidRequest::new("n", "`n` must be between 1 and 128"));
        }
        if let Some(t) = req.temperature
            && !(0.0..=2.0).contains(&t)
        {
            return Err(InvalidRequest::new(
                "temperature",
                "`temperature` must be between 0 and 2",
            ));
        }
        for (i, m) in req.messages.iter().enumerate() {
            if m.role.is_empty() {
                return Err(InvalidRequest::new(
                    "messages",
                    format!("messages[{i}] has no `role`"),
                ));
            }
            if let Some(c) = &m.content
                && !(c.is_string() || c.is_array() || c.is_null())
            {
                return Err(InvalidRequest::new(
                    "messages",
                    format!("messages[{i}].content must be a string or an array of parts"),
                ));
            }
        }
        Ok(req)
    }

    /// Number of choices (default 1).
    pub fn choices(&self) -> u32 {
        self.n.unwrap_or(1).max(1)
    }

    /// Temperature (default 0).
    pub fn temperature(&self) -> f64 {
        self.temperature.unwrap_or(0.0)
    }

    /// Whether to stream.
    pub fn streaming(&self) -> bool {
        self.stream.unwrap_or(false)
    }

    /// Whether a streamed answer ends with a usage chunk.
    pub fn include_usage(&self) -> bool {
        self.stream_options
            .as_ref()
            .and_then(|o| o.include_usage)
            .unwrap_or(false)
    }

    /// The model id to echo.
    pub fn model_name(&self) -> &str {
        self.model.as_deref().unwrap_or("sim-1")
    }

    /// Stop sequences.
    pub fn stop_sequences(&self) -> Vec<String> {
        match &self.stop {
            Some(Value::String(s)) if !s.is_empty() => vec![s.clone()],
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The token limit, if any.
    pub fn max_tokens(&self) -> Option<u64> {
        self.max_completion_tokens.or(self.max_tokens)
    }

    /// The JSON schema of a `json_schema` response format.
    pub fn json_schema(&self) -> Option<&Value> {
        let rf = self.response_format.as_ref()?;
        if rf.get("type").and_then(Value::as_str) != Some("json_schema") {
            return None;
        }
        rf.get("json_schema").and_then(|j| j.get("schema"))
    }

    /// Whether JSON output was requested (`json_object` or `json_schema`).
    pub fn wants_json(&self) -> bool {
        matches!(
            self.response_format
                .as_ref()
                .and_then(|r| r.get("type"))
                .and_then(Value::as_str),
            Some("json_object" | "json_schema")
        )
    }

    /// The messages normalised.
    pub fn normalized_messages(&self) -> Vec<Message> {
        self.messages.iter().map(normalize).collect()
    }
}

fn normalize(m: &RawMessage) -> Message {
    let text = match &m.content {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|p| match p {
                Value::String(s) => Some(s.as_str()),
                Value::Object(o) => o.get("text").and_then(Value::as_str),
                _ => None,
            })
            .collect::<String>(),
        _ => String::new(),
    };
    let tool_calls = m
        .tool_calls
        .iter()
        .flatten()
        .map(|c| {
            let f = c.get("function");
            let arguments = match f.and_then(|f| f.get("arguments")) {
                Some(Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
                None => "{}".to_owned(),
            };
            ToolCallIn {
                id: c.get("id").and_then(Value::as_str).unwrap_or("").to_owned(),
                name: f
                    .and_then(|f| f.get("name"))
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
                arguments,
            }
        })
        .collect();
    let role = if m.role == "developer" {
        "system".to_owned()
    } else {
        m.role.clone()
    };
    Message {
        role,
        text,
        tool_calls,
        tool_call_id: m.tool_call_id.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_parts_are_joined() {
        let req = ChatRequest::from_json(
            br#"{"messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"image_url","image_url":{"url":"x"}},{"type":"text","text":"b"}]}]}"#,
        )
        .expect("valid");
        assert_eq!(req.normalized_messages()[0].text, "ab");
    }

    #[test]
    fn rejects_bad_bodies() {
        assert!(ChatRequest::from_json(b"{").is_err());
        assert!(ChatRequest::from_json(b"[]").is_err());
        assert!(ChatRequest::from_json(br#"{"messages":[]}"#).is_err());
        assert!(ChatRequest::from_json(br#"{"messages":"hi"}"#).is_err());
        assert!(
            ChatRequest::from_json(br#"{"messages":[{"role":"user","content":"x"}],"n":0}"#)
                .is_err()
        );
    }
}
