//! Conversation history: DSPy's `dspy.History` input field.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::error::AdapterError;
use crate::types::{FieldType, ModelField, ModelType};

/// Earlier turns of a conversation, each a map from field names to values (DSPy's
/// `dspy.History(messages=[...])`).
///
/// A turn holding input fields becomes a user message (with the output-format reminder) and
/// every turn becomes an assistant message with the output fields, placed after the demos and
/// before the current input. Give it through a signature input field of type
/// [`History::field_type`] (as DSPy does) or to
/// [`Adapter::format_with_history`](crate::adapter::Adapter::format_with_history).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    /// The turns, oldest first.
    pub messages: Vec<Map<String, Value>>,
}

impl History {
    /// A history of the given turns.
    pub fn new(messages: Vec<Map<String, Value>>) -> Self {
        History { messages }
    }

    /// The field type DSPy gives a `dspy.History` field: a model `History` with
    /// `messages: list[dict[str, Any]]`.
    pub fn field_type() -> FieldType {
        FieldType::Model(Arc::new(ModelType::new(
            "History",
            vec![ModelField::required(
                "messages",
                FieldType::list(FieldType::dict(FieldType::Str, FieldType::Any)),
            )],
        )))
    }

    /// Whether a field of this type holds a conversation history (a model named `History`
    /// with a `messages` field).
    pub fn is_history_type(ty: &FieldType) -> bool {
        matches!(ty, FieldType::Model(m) if m.name == "History" && m.fields.iter().any(|f| f.name == "messages"))
    }

    /// Reads `{"messages": [{...}, ...]}`; `field` names the input field in errors.
    pub fn from_value(field: &str, value: &Value) -> Result<History, AdapterError> {
        let err = |message: String| AdapterError::InvalidHistory {
            field: field.to_owned(),
            message,
        };
        let Some(obj) = value.as_object() else {
            return Err(err(format!("got {value}")));
        };
        let Some(messages) = obj.get("messages").and_then(Value::as_array) else {
            return Err(err("the `messages` list is missing".into()));
        };
        let messages = messages
            .iter()
            .enumerate()
            .map(|(i, m)| {
                m.as_object()
                    .cloned()
                    .ok_or_else(|| err(format!("messages[{i}] is not an object: {m}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(History { messages })
    }
}
