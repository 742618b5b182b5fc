//! What goes wrong when a module runs: which module or predictor, what failed, what to do.

use hone_core::SignatureError;
use hone_core::adapter::AdapterError;
use hone_core::state::StateError;
use hone_lm::LmError;

/// A failed module call.
///
/// Every variant names the predictor (by its `named_predictors()` name, `self` for a bare
/// predictor) or module it comes from, so an error from deep inside a program says where it
/// happened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModuleError {
    /// No LM was given for a predictor: neither the call's override, nor the predictor's own
    /// LM, nor the context's default.
    #[error(
        "predictor `{predictor}` has no LM: set one with `CallContext::with_lm(..)` (the default \
         for every predictor), `CallContext::with_lm_override(..)`, or `Predict::set_lm(..)`"
    )]
    NoLm {
        /// The predictor.
        predictor: String,
    },
    /// Required input fields are absent from the call's inputs.
    #[error(
        "predictor `{predictor}` ({signature}) is missing input field(s) {}; the inputs hold [{}]. \
         Pass every input field of the signature (fields typed `Optional[...]` may be left out)",
        .missing.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(", "),
        .given.join(", ")
    )]
    MissingInputs {
        /// The predictor.
        predictor: String,
        /// The signature as `a, b -> c`.
        signature: String,
        /// The absent fields, in signature order.
        missing: Vec<String>,
        /// The fields the inputs did hold.
        given: Vec<String>,
    },
    /// An input value does not fit its field's declared type.
    #[error(
        "predictor `{predictor}`: input field `{field}` is declared {expected}, but the value is \
         {value}. Convert the value, or declare the field with a type that accepts it"
    )]
    InputType {
        /// The predictor.
        predictor: String,
        /// The input field.
        field: String,
        /// The declared type, as DSPy names it (`int`, `list[str]`).
        expected: String,
        /// The value given (shortened).
        value: String,
    },
    /// The adapter could not render the call (for example a malformed history input).
    #[error("predictor `{predictor}`: could not format the prompt: {source}")]
    Format {
        /// The predictor.
        predictor: String,
        /// The adapter's error.
        #[source]
        source: Box<AdapterError>,
    },
    /// The LM call failed (after the LM's own retries, if it has a retry layer).
    #[error("predictor `{predictor}`: the LM call to {model} failed: {source}")]
    Lm {
        /// The predictor.
        predictor: String,
        /// The model called.
        model: String,
        /// The LM error.
        #[source]
        source: Box<LmError>,
    },
    /// The LM answered with no choice or no text.
    #[error(
        "predictor `{predictor}`: the LM ({model}) returned no text to parse (choices: {choices}); \
         check the model supports chat completions with text output"
    )]
    EmptyResponse {
        /// The predictor.
        predictor: String,
        /// The model called.
        model: String,
        /// The number of choices returned.
        choices: usize,
    },
    /// The LM's answer could not be parsed into the signature's outputs, also after the
    /// adapter's fallback (if it has one).
    #[error(
        "predictor `{predictor}`: {source}{}{}",
        .fallback.as_ref().map(|f| format!("\nThe fallback adapter's retry also failed: {f}")).unwrap_or_default(),
        if *.truncated { "\nThe LM stopped at its output limit (finish_reason = length), so the answer is cut off: raise max_tokens." } else { "" }
    )]
    Parse {
        /// The predictor.
        predictor: String,
        /// The first adapter's parse error.
        #[source]
        source: Box<AdapterError>,
        /// The fallback adapter's parse error, when a fallback was tried.
        fallback: Option<Box<AdapterError>>,
        /// Whether the LM stopped at its output limit (`finish_reason = length`) in the
        /// answer that failed to parse.
        truncated: bool,
    },
    /// A signature could not be built or extended (a field name clash, for instance).
    #[error("module `{module}`: invalid signature: {source}")]
    Signature {
        /// The module building the signature.
        module: String,
        /// The signature error.
        #[source]
        source: SignatureError,
    },
    /// Saved state does not fit the program.
    #[error("could not load program state: {message}")]
    State {
        /// What does not fit.
        message: String,
    },
    /// Saved state could not be read.
    #[error("could not read program state: {0}")]
    StateFile(#[from] StateError),
    /// An input is not what a module needs (other than a missing signature field).
    #[error("module `{module}`: {message}")]
    InvalidInput {
        /// The module.
        module: String,
        /// What is wrong and what to pass instead.
        message: String,
    },
    /// The reward function of a `BestOfN` or `Refine` failed on an attempt's prediction.
    #[error("{module}: the reward function failed: {message}")]
    Reward {
        /// `BestOfN` or `Refine`.
        module: &'static str,
        /// What failed.
        message: String,
    },
    /// Every attempt of a `BestOfN` or `Refine` failed, or more failed than allowed.
    #[error(
        "{module}: {failed} of {attempts} attempt(s) failed (at most {allowed} allowed); the last \
         error: {last}"
    )]
    Attempts {
        /// `BestOfN` or `Refine`.
        module: &'static str,
        /// Attempts made.
        attempts: usize,
        /// Attempts that failed.
        failed: usize,
        /// Failures allowed.
        allowed: usize,
        /// The last attempt's error.
        #[source]
        last: Box<ModuleError>,
    },
    /// A `Parallel` batch stopped after too many failed calls.
    #[error(
        "Parallel: {failures} call(s) failed, more than max_errors = {max_errors}; the batch was \
         stopped. The first error (call #{first_index}): {first}"
    )]
    TooManyErrors {
        /// Failed calls when the batch stopped.
        failures: usize,
        /// The limit.
        max_errors: usize,
        /// Input position of the first failure.
        first_index: usize,
        /// The first failure.
        #[source]
        first: Box<ModuleError>,
    },
    /// A module panicked while running (a user module's `forward`, for example); the panic was
    /// caught and turned into this error.
    #[error("module `{module}` panicked: {message}")]
    Panicked {
        /// The module (or predictor path) that panicked.
        module: String,
        /// The panic message.
        message: String,
    },
    /// The blocking runner could not start its runtime.
    #[error("could not start the blocking runner's runtime: {0}")]
    Runtime(#[source] std::io::Error),
}

impl ModuleError {
    /// Whether this is a failure to parse an LM's answer (DSPy's `AdapterParseError`).
    pub fn is_parse_error(&self) -> bool {
        matches!(self, ModuleError::Parse { .. })
    }
}

/// A panic payload as text.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic with a non-text payload".to_owned()
    }
}

/// Shortens a value for an error message.
pub(crate) fn shorten(text: &str, max: usize) -> String {
    let total = text.chars().count();
    if total <= max {
        return text.to_owned();
    }
    let head: String = text.chars().take(max).collect();
    format!("{head}… ({} more characters)", total - max)
}
