//! Why a program file could not be loaded.

use serde_json::Value;

/// A program file that could not be loaded: what is wrong, where, and what to do.
///
/// ```
/// use hone_core::state::{ProgramState, StateError};
/// let err = ProgramState::from_json_str("[1, 2]").unwrap_err();
/// assert!(matches!(err, StateError::Shape { .. }));
/// assert_eq!(err.to_string(), "the program file: expected a JSON object, found an array");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    /// The text is not JSON.
    #[error("not valid JSON (line {line}, column {column}): {message}")]
    Json {
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// The parser's message.
        message: String,
    },
    /// A value has the wrong JSON type, or a required key is absent.
    #[error("{at}: expected {expected}, found {found}")]
    Shape {
        /// Where: predictor and key path, e.g. ``predictor `route`: `signature.fields[2]` ``.
        at: String,
        /// What was expected there.
        expected: String,
        /// What the file holds there.
        found: String,
    },
    /// The JSON holds nothing that looks like a predictor.
    #[error(
        "no predictor state found: a program file is either one predictor's state (with \
         `signature`, `demos`, `lm` keys) or an object of such states keyed by predictor name \
         (`route`, `answer.predict`); is this a DSPy or hone program file?"
    )]
    NoPredictors,
    /// The program has a predictor the file lacks.
    #[error(
        "the file has no state for predictor `{name}`, which the program has (the file's \
         predictors: {in_file}); was the file saved from a different program?"
    )]
    MissingPredictor {
        /// The program's predictor name.
        name: String,
        /// The predictor names found in the file, comma-separated.
        in_file: String,
    },
    /// The file has a predictor the program lacks.
    #[error(
        "the file has state for predictor `{name}`, which the program does not have (the \
         program's predictors: {in_program}); was the file saved from a different program?"
    )]
    UnknownPredictor {
        /// The file's predictor name.
        name: String,
        /// The program's predictor names, comma-separated.
        in_program: String,
    },
    /// A predictor's saved fields do not fit the program's signature.
    #[error(
        "predictor `{predictor}`: `signature.fields` has {in_file} entries but the program's \
         signature has {in_program} fields ({fields})"
    )]
    FieldCount {
        /// The predictor name.
        predictor: String,
        /// Number of field entries in the file.
        in_file: usize,
        /// Number of fields in the program's signature.
        in_program: usize,
        /// The program's field names, comma-separated, inputs first.
        fields: String,
    },
    /// The file's hone signature names other fields than the program's signature.
    #[error(
        "predictor `{predictor}`: the file's signature is `{in_file}` but the program's is \
         `{in_program}`; was the file saved from a different program?"
    )]
    FieldNames {
        /// The predictor name.
        predictor: String,
        /// The file's fields as `inputs -> outputs`.
        in_file: String,
        /// The program's fields as `inputs -> outputs`.
        in_program: String,
    },
    /// A predictor lacks the full signature only hone files carry.
    #[error(
        "predictor `{predictor}` has no `hone.signature`, so its field names and types are not \
         in the file (DSPy saves only instructions, prefixes and descriptions): load it with \
         `ProgramState::from_json_str_with` and the program's structure"
    )]
    NoSignature {
        /// The predictor name.
        predictor: String,
    },
    /// A predictor's `hone.signature` could not be read.
    #[error("predictor `{predictor}`: `hone.signature` is not a valid signature: {message}")]
    Signature {
        /// The predictor name.
        predictor: String,
        /// What is wrong with it.
        message: String,
    },
    /// The file was written by a newer hone with an incompatible format.
    #[error(
        "the file's `metadata.hone.format_version` is {found}, but this hone reads format \
         version {supported} and older; upgrade hone to load it"
    )]
    NewerFormat {
        /// The file's format version.
        found: u64,
        /// The newest version this build reads.
        supported: u64,
    },
}

impl StateError {
    pub(crate) fn shape(at: impl Into<String>, expected: &str, found: Option<&Value>) -> Self {
        StateError::Shape {
            at: at.into(),
            expected: expected.to_owned(),
            found: match found {
                None => "nothing (the key is missing)".to_owned(),
                Some(v) => describe(v).to_owned(),
            },
        }
    }

    pub(crate) fn from_json(e: &serde_json::Error) -> Self {
        let message = e.to_string();
        // serde_json appends " at line L column C"; the fields carry that already.
        let message = match message.rfind(" at line ") {
            Some(i) => message[..i].to_owned(),
            None => message,
        };
        StateError::Json {
            line: e.line(),
            column: e.column(),
            message,
        }
    }
}

/// "a string", "an array", ... for messages.
pub(crate) fn describe(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
