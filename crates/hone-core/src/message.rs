//! Chat messages as adapters produce them: DSPy's `[{"role": ..., "content": ...}]`.
//!
//! A message's content is text. A user message may carry images: their content parts sit in
//! the text between DSPy's custom-type markers (see [`crate::adapter::parts`]), and
//! [`Message::parts`] gives the content parts DSPy sends for it (text, `image_url`, text).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Who speaks a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The system prompt.
    System,
    /// The user (inputs, demo inputs).
    User,
    /// The assistant (demo outputs, earlier answers).
    Assistant,
}

/// One chat message with text content.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Message {
    /// The speaker.
    pub role: Role,
    /// The text.
    pub content: String,
}

impl Message {
    /// A system message.
    pub fn system(content: impl Into<String>) -> Self {
        Message {
            role: Role::System,
            content: content.into(),
        }
    }

    /// A user message.
    pub fn user(content: impl Into<String>) -> Self {
        Message {
            role: Role::User,
            content: content.into(),
        }
    }

    /// An assistant message.
    pub fn assistant(content: impl Into<String>) -> Self {
        Message {
            role: Role::Assistant,
            content: content.into(),
        }
    }

    /// The content parts DSPy sends for this message: `Some` for a user message whose text
    /// holds images (text parts around `image_url` parts), `None` when the text is sent as is.
    pub fn parts(&self) -> Option<Vec<Value>> {
        match self.role {
            Role::User => crate::adapter::parts::split_custom_types(&self.content),
            _ => None,
        }
    }

    /// The message's `content` as DSPy sends it: the parts list, or the text.
    pub fn content_value(&self) -> Value {
        match self.parts() {
            Some(parts) => Value::Array(parts),
            None => Value::String(self.content.clone()),
        }
    }
}
