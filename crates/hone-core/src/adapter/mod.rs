//! Adapters: how a signature, its demos and a call's inputs become chat messages, and how the
//! LM's answer becomes typed outputs. Each renders exactly what DSPy 3.4.1's adapter of the same
//! name sends, byte for byte.
//!
//! * [`ChatAdapter`]: `[[ ## field ## ]]` sections (DSPy's default);
//! * [`JsonAdapter`]: a JSON object answer, with a structured-output `response_format`;
//! * [`XmlAdapter`]: `<field>...</field>` tags, nested XML for lists, dicts and models;
//! * [`BamlAdapter`]: the JSON adapter with a compact BAML-style schema of each output type;
//! * [`TwoStepAdapter`]: a free-form prompt for the main LM, whose answer a second LM call
//!   (the extraction LM, with the [`ChatAdapter`]) turns into the outputs.
//!
//! Adapters do no IO. A call is: [`Adapter::format`] → send the messages (with
//! [`Adapter::response_format`], if any) → [`Adapter::parse`] the completion. When parsing
//! fails with a parse error ([`AdapterError::is_parse_error`]), DSPy calls the LM again with the
//! adapter named by [`Adapter::fallback`]; here the caller (the module runtime) decides whether
//! to do so.
//!
//! ```
//! use hone_core::adapter::{Adapter, ChatAdapter};
//! use hone_core::{Example, Signature};
//! use serde_json::json;
//!
//! let sig = Signature::parse("question -> answer: int").unwrap();
//! let inputs = Example::from_json(json!({"question": "2 + 2?"})).unwrap();
//! let messages = ChatAdapter::new().format(&sig, &[], &inputs).unwrap();
//! assert_eq!(messages.len(), 2);
//! let out = ChatAdapter::new().parse(&sig, "[[ ## answer ## ]]\n4\n\n[[ ## completed ## ]]").unwrap();
//! assert_eq!(out.get("answer"), Some(&json!(4)));
//! ```

mod baml;
mod chat;
mod describe;
mod error;
mod history;
mod json;
pub mod parts;
pub mod pyfmt;
mod render;
mod two_step;
mod xml;
mod xml_tree;
mod xml_value;

pub use baml::BamlAdapter;
pub use chat::ChatAdapter;
pub use describe::{field_description_string, format_field_value};
pub use error::AdapterError;
pub use history::History;
pub use json::JsonAdapter;
pub use two_step::{EXTRACTION_TEXT_FIELD, TwoStepAdapter};
pub use xml::XmlAdapter;

use serde_json::{Map, Value};

use crate::example::{Example, Prediction};
use crate::message::Message;
use crate::signature::Signature;

/// Turns signatures, demos and inputs into messages, and completions into predictions.
pub trait Adapter: Send + Sync + std::fmt::Debug {
    /// The adapter's name as DSPy spells the class (`ChatAdapter`, `JSONAdapter`, `XMLAdapter`,
    /// `BAMLAdapter`).
    fn name(&self) -> &'static str;

    /// The messages for a call: system message, demos, then the inputs with the output-format
    /// reminder. If the signature has a [`History`] input field, its value in `inputs` is
    /// rendered as earlier turns (as DSPy does).
    fn format(
        &self,
        signature: &Signature,
        demos: &[Example],
        inputs: &Example,
    ) -> Result<Vec<Message>, AdapterError> {
        self.format_with_history(signature, demos, inputs, None)
    }

    /// [`Adapter::format`] with an explicit conversation history, placed between the demos and
    /// the current input. It takes precedence over a history value in `inputs`; the signature
    /// may or may not declare a [`History`] field (if it does, the field is listed in the system
    /// message, as in DSPy, and left out of the turns).
    fn format_with_history(
        &self,
        signature: &Signature,
        demos: &[Example],
        inputs: &Example,
        history: Option<&History>,
    ) -> Result<Vec<Message>, AdapterError>;

    /// The assistant message for the given output values: how demos' answers are shown, and
    /// what a well-behaved LM answers. Absent output fields are shown as `None`.
    fn format_assistant_message(
        &self,
        signature: &Signature,
        outputs: &Map<String, Value>,
    ) -> String;

    /// Parses a completion into the signature's output fields, converting each to its type.
    fn parse(&self, signature: &Signature, completion: &str) -> Result<Prediction, AdapterError>;

    /// The `response_format` request parameter to send with the call, if the adapter uses one.
    fn response_format(&self, _signature: &Signature) -> Option<Value> {
        None
    }

    /// The adapter DSPy retries with when parsing this adapter's completion fails: the
    /// runtime re-sends the call formatted by that adapter (DSPy's ChatAdapter → JSONAdapter
    /// fallback). `None`: no retry.
    fn fallback(&self) -> Option<AdapterKind> {
        None
    }

    /// For an adapter whose outputs come from a second LM call ([`TwoStepAdapter`]), the
    /// signature of that call: `text` (the first call's completion) in, this signature's
    /// outputs out, formatted and parsed with [`ChatAdapter`]. The module runtime makes that
    /// call with the extraction LM; `None` (every one-call adapter): [`Adapter::parse`] reads
    /// the completion itself.
    fn extraction_signature(&self, _signature: &Signature) -> Option<Signature> {
        None
    }
}

/// The built-in adapters, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AdapterKind {
    /// [`ChatAdapter`].
    Chat,
    /// [`JsonAdapter`].
    Json,
    /// [`XmlAdapter`].
    Xml,
    /// [`BamlAdapter`].
    Baml,
    /// [`TwoStepAdapter`] (`two_step`): two LM calls, the second by an extraction LM.
    #[serde(rename = "two_step")]
    TwoStep,
}

impl AdapterKind {
    /// A default-configured adapter of this kind.
    pub fn adapter(self) -> Box<dyn Adapter> {
        match self {
            AdapterKind::Chat => Box::new(ChatAdapter::new()),
            AdapterKind::Json => Box::new(JsonAdapter::new()),
            AdapterKind::Xml => Box::new(XmlAdapter::new()),
            AdapterKind::Baml => Box::new(BamlAdapter::new()),
            AdapterKind::TwoStep => Box::new(TwoStepAdapter::new()),
        }
    }

    /// All kinds, in the order `chat`, `json`, `xml`, `baml`, `two_step`.
    pub fn all() -> [AdapterKind; 5] {
        [
            AdapterKind::Chat,
            AdapterKind::Json,
            AdapterKind::Xml,
            AdapterKind::Baml,
            AdapterKind::TwoStep,
        ]
    }

    /// The kinds whose prompt is one LM call (all but `two_step`): the ones a prompt export
    /// or template can express.
    pub fn single_call() -> [AdapterKind; 4] {
        [
            AdapterKind::Chat,
            AdapterKind::Json,
            AdapterKind::Xml,
            AdapterKind::Baml,
        ]
    }

    /// Whether a call with this adapter is two LM calls (the main LM, then an extraction LM).
    pub fn is_two_step(self) -> bool {
        matches!(self, AdapterKind::TwoStep)
    }

    /// The short name: `chat`, `json`, `xml`, `baml` or `two_step`.
    pub fn as_str(self) -> &'static str {
        match self {
            AdapterKind::Chat => "chat",
            AdapterKind::Json => "json",
            AdapterKind::Xml => "xml",
            AdapterKind::Baml => "baml",
            AdapterKind::TwoStep => "two_step",
        }
    }
}

impl std::fmt::Display for AdapterKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for AdapterKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "chat" | "chatadapter" => Ok(AdapterKind::Chat),
            "json" | "jsonadapter" => Ok(AdapterKind::Json),
            "xml" | "xmladapter" => Ok(AdapterKind::Xml),
            "baml" | "bamladapter" => Ok(AdapterKind::Baml),
            "two_step" | "twostep" | "two-step" | "twostepadapter" => Ok(AdapterKind::TwoStep),
            other => Err(format!(
                "unknown adapter `{other}`: use chat, json, xml, baml or two_step"
            )),
        }
    }
}
