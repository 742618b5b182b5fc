//! What goes wrong when formatting a call or parsing an LM's answer.

/// The longest piece of LM text an error message quotes.
const SHOWN_CHARS: usize = 500;

/// Shortens `text` for an error message, saying how much was left out.
pub(crate) fn shorten(text: &str) -> String {
    let total = text.chars().count();
    if total <= SHOWN_CHARS {
        return text.to_owned();
    }
    let head: String = text.chars().take(SHOWN_CHARS).collect();
    format!("{head}… ({} more characters)", total - SHOWN_CHARS)
}

/// The expected names not among the parsed ones.
fn missing_of(expected: &[String], parsed: &[String]) -> Vec<String> {
    expected
        .iter()
        .filter(|e| !parsed.contains(e))
        .cloned()
        .collect()
}

/// A failure to format a call or to parse an LM's completion.
///
/// The parse variants correspond to DSPy's `AdapterParseError` (see
/// [`AdapterError::is_parse_error`]): the LM answered, but not in the shape the signature needs.
/// For a chat-style adapter the usual next step is to retry with the adapter's
/// [`fallback`](crate::adapter::Adapter::fallback).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AdapterError {
    /// An output field's text could not be converted to the field's type.
    #[error(
        "{adapter} could not parse output field `{field}` as {expected}: {reason}\n\
         The field's text was: {}\n\
         Check that the LM answers with a valid {expected} for `{field}` (the prompt's type note \
         says so); a retry with another adapter may help.",
        shorten(.text)
    )]
    FieldParse {
        /// The adapter (`ChatAdapter`, `JSONAdapter`, `XMLAdapter`).
        adapter: &'static str,
        /// The output field.
        field: String,
        /// The field's type as DSPy names it (`int`, `list[Person]`).
        expected: String,
        /// The text (or JSON) the LM gave for the field.
        text: Box<str>,
        /// Why it does not fit the type.
        reason: Box<str>,
        /// The whole completion.
        response: Box<str>,
    },
    /// Some output fields are absent from the completion.
    #[error(
        "{adapter} failed to parse the LM response: expected output fields [{}], found [{}] \
         (missing: {}).\nLM response: {}",
        .expected.join(", "),
        .parsed.join(", "),
        missing_of(.expected, .parsed).join(", "),
        shorten(.response)
    )]
    MissingFields {
        /// The adapter.
        adapter: &'static str,
        /// The signature's output fields, in order.
        expected: Vec<String>,
        /// The output fields that were found.
        parsed: Vec<String>,
        /// The whole completion.
        response: String,
    },
    /// The JSON adapter found no JSON object in the completion.
    #[error(
        "{adapter} could not find a JSON object in the LM response; expected an object with the \
         fields [{}].\nLM response: {}",
        .expected.join(", "),
        shorten(.response)
    )]
    NotAnObject {
        /// The adapter.
        adapter: &'static str,
        /// The signature's output fields.
        expected: Vec<String>,
        /// The completion (or the part of it that looked like an object).
        response: String,
    },
    /// The XML adapter could not read the completion as XML.
    #[error(
        "{adapter} could not read the LM response as XML: {message}.\nLM response: {}",
        shorten(.response)
    )]
    Xml {
        /// The adapter.
        adapter: &'static str,
        /// The XML syntax problem and where it is.
        message: String,
        /// The whole completion.
        response: String,
    },
    /// The BAML adapter cannot write the schema of an output type that holds the same model
    /// more than once (DSPy's BAMLAdapter raises `ValueError` for recursive models, and for a
    /// model repeated inside one output type).
    #[error(
        "{adapter} cannot render the type of output field `{field}`: the model `{model}` appears \
         more than once inside it (a recursive or repeated model). Use another adapter (json or \
         chat) for this signature, or give each place its own model class."
    )]
    RepeatedModel {
        /// The adapter.
        adapter: &'static str,
        /// The output field whose type repeats a model.
        field: String,
        /// The model's class name.
        model: String,
    },
    /// A two-step adapter's completion was handed to `parse` alone: its outputs come from a
    /// second LM call on the extraction signature, which the module runtime makes.
    #[error(
        "TwoStepAdapter cannot parse the main LM's answer by itself: the fields [{}] come from a \
         second call in which an extraction LM reads the answer (Adapter::extraction_signature, \
         formatted and parsed with ChatAdapter). Call the predictor through hone-modules' Predict, \
         which makes that call, or use a one-call adapter (chat, json, xml, baml).\nLM response: {}",
        .outputs.join(", "),
        shorten(.response)
    )]
    NeedsExtraction {
        /// The signature's output fields.
        outputs: Vec<String>,
        /// The main LM's completion.
        response: String,
    },
    /// A conversation history input is not shaped like DSPy's `History`.
    #[error(
        "input field `{field}` must be a conversation history: an object \
         {{\"messages\": [{{field: value, ...}}, ...]}}; {message}"
    )]
    InvalidHistory {
        /// The history field.
        field: String,
        /// What is wrong.
        message: String,
    },
}

impl AdapterError {
    /// Whether this is a failure to parse an LM answer (DSPy's `AdapterParseError`), as opposed
    /// to a problem with the call's inputs.
    pub fn is_parse_error(&self) -> bool {
        !matches!(
            self,
            AdapterError::InvalidHistory { .. }
                | AdapterError::RepeatedModel { .. }
                | AdapterError::NeedsExtraction { .. }
        )
    }

    /// The name of the exception DSPy raises in the same situation.
    pub fn dspy_exception(&self) -> &'static str {
        match self {
            AdapterError::InvalidHistory { .. } => "ValidationError",
            AdapterError::RepeatedModel { .. } => "ValueError",
            AdapterError::NeedsExtraction { .. } => "NotImplementedError",
            _ => "AdapterParseError",
        }
    }

    /// For [`AdapterError::MissingFields`], the expected fields that were not found.
    pub fn missing(&self) -> Vec<String> {
        match self {
            AdapterError::MissingFields {
                expected, parsed, ..
            } => missing_of(expected, parsed),
            _ => Vec::new(),
        }
    }
}
