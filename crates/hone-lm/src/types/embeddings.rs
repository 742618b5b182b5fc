//! `POST /embeddings` request and response.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::response::ResponseMeta;

/// `input`: one text, several texts, or pre-tokenized input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum EmbeddingInput {
    /// One text.
    One(String),
    /// Several texts; one embedding each, in order.
    Many(Vec<String>),
    /// One pre-tokenized input.
    Tokens(Vec<u32>),
    /// Several pre-tokenized inputs.
    TokenBatches(Vec<Vec<u32>>),
}

impl From<&str> for EmbeddingInput {
    fn from(text: &str) -> Self {
        EmbeddingInput::One(text.to_owned())
    }
}

impl From<String> for EmbeddingInput {
    fn from(text: String) -> Self {
        EmbeddingInput::One(text)
    }
}

impl From<Vec<String>> for EmbeddingInput {
    fn from(texts: Vec<String>) -> Self {
        EmbeddingInput::Many(texts)
    }
}

/// A `POST /embeddings` request. An empty `model` is filled with the LM's model.
///
/// ```
/// use hone_lm::EmbeddingRequest;
/// let req = EmbeddingRequest::new(vec!["a".to_string(), "b".to_string()]).model("text-embedding-3-small");
/// assert_eq!(serde_json::to_value(&req).unwrap()["input"][1], "b");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingRequest {
    /// The model; empty means "the LM's model".
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub model: String,
    /// What to embed.
    pub input: EmbeddingInput,
    /// `float` (default) or `base64`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding_format: Option<String>,
    /// Output dimensions for models that support shortening.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dimensions: Option<u32>,
    /// End-user identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Provider-specific parameters, sent at the top level.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl EmbeddingRequest {
    /// A request for this input with nothing else set.
    pub fn new(input: impl Into<EmbeddingInput>) -> Self {
        EmbeddingRequest {
            model: String::new(),
            input: input.into(),
            encoding_format: None,
            dimensions: None,
            user: None,
            extra: Map::new(),
        }
    }

    /// Sets the model.
    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.model = model.into();
        self
    }
}

/// An embedding vector: floats, or base64 when `encoding_format` was `base64`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum EmbeddingVector {
    /// The vector.
    Float(Vec<f32>),
    /// Little-endian f32s, base64-encoded.
    Base64(String),
}

/// One embedding in the response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Embedding {
    /// Position of the input this embeds.
    #[serde(default)]
    pub index: u32,
    /// The vector.
    pub embedding: EmbeddingVector,
    /// `embedding`.
    #[serde(default)]
    pub object: String,
}

/// Token counts of an embeddings call.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingUsage {
    /// Input tokens.
    #[serde(default)]
    pub prompt_tokens: u64,
    /// Same as `prompt_tokens`.
    #[serde(default)]
    pub total_tokens: u64,
}

/// A `POST /embeddings` response.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingResponse {
    /// `list`.
    #[serde(default)]
    pub object: String,
    /// One embedding per input, in input order.
    #[serde(default)]
    pub data: Vec<Embedding>,
    /// The model that answered.
    #[serde(default)]
    pub model: String,
    /// Token counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<EmbeddingUsage>,
    /// Unknown fields, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
    /// Facts added by the layers (cache hit, cost); not serialized.
    #[serde(skip)]
    pub meta: ResponseMeta,
}
