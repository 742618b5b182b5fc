//! Program state: what an optimizer changes in a program (per predictor: instructions, field
//! prefixes and descriptions, demos, LM settings), saved and loaded in DSPy's file format.
//!
//! # Predictor names
//!
//! Predictors are named as DSPy's `named_predictors()` names them: `route`, `answer.predict`
//! (the `Predict` inside a `ChainOfThought` stored as `self.answer`), `steps[0]`. A program that
//! is a single predictor (DSPy's bare `dspy.Predict(...)`) has one predictor named
//! [`ROOT_PREDICTOR`] (`self`, DSPy's own name for it), and is saved flat, as DSPy saves it.
//!
//! # Two formats, one file
//!
//! **DSPy's format** is what `program.save("program.json")` writes:
//!
//! ```json
//! {
//!   "route": {
//!     "traces": [],
//!     "train": [],
//!     "demos": [{"ticket": "Refund please", "team": "billing", "augmented": true}],
//!     "signature": {
//!       "instructions": "Route the ticket.",
//!       "fields": [{"prefix": "Ticket:", "description": "${ticket}"}, {"prefix": "Team:", "description": "${team}"}]
//!     },
//!     "lm": null
//!   },
//!   "metadata": {"dependency_versions": {"python": "3.11", "dspy": "3.4.1", "cloudpickle": "3.1"}}
//! }
//! ```
//!
//! It holds each field's prefix and description in signature order (inputs, then outputs), but
//! not field names or types, so loading it needs the program's structure from elsewhere: a
//! [`ProgramStructure`] (predictor names and signatures), as DSPy needs the Python program.
//! Use [`ProgramState::from_json_str_with`].
//!
//! **hone's format** is DSPy's format plus two keys DSPy does not read:
//!
//! * per predictor, `"hone": {"signature": <the full signature>}` — field names, roles and types
//!   (JSON Schema plus the Python annotation), as [`Signature`] serializes;
//! * in `metadata`, `"hone": {"format_version": 1}`.
//!
//! So a hone file loads on its own ([`ProgramState::from_json_str`]), and the same file loads
//! in DSPy with `program.load(path)`: DSPy's `Predict.load_state` sets unknown per-predictor keys
//! as attributes, `BaseModule.load_state` reads only the predictors it knows, and `load` reads
//! only `metadata.dependency_versions`. The hone keys sit under `metadata` rather than at the top
//! level because a single-predictor file is flat: there, top-level keys belong to the predictor.
//!
//! When a hone file is loaded, the DSPy part (`signature.instructions`, each field's `prefix`
//! and `description`, `demos`, `lm`) is applied on top of `hone.signature`, exactly as DSPy
//! applies it, so an edit made to the DSPy part wins.
//!
//! # What is kept
//!
//! Keys hone does not interpret are kept and written back: unknown per-predictor keys (DSPy's
//! `fields`, anything set by other tools) in [`PredictorState::extra`], unknown keys of the
//! per-predictor `hone` object in [`PredictorState::hone_extra`], the whole `metadata` object in
//! [`ProgramState::metadata`], other top-level keys in [`ProgramState::extra`]. Demos are kept
//! as whole objects (bootstrapped demos' `"augmented": true` included). Within the DSPy
//! `signature` object only `instructions` and the fields' `prefix`/`description` are read, as in
//! DSPy; the `hone.signature` object is read and written as [`Signature`] serializes.
//!
//! # No IO
//!
//! This module works on strings and [`serde_json::Value`]s; reading and writing files is the
//! caller's business. Text is written in DSPy's byte layout (orjson with two-space indentation
//! and a trailing newline), so a file saved by hone diffs cleanly against one saved by DSPy.
//!
//! ```
//! use hone_core::Signature;
//! use hone_core::state::{ProgramState, ProgramStructure};
//!
//! let structure = ProgramStructure::single(Signature::parse("question -> answer")?);
//! let mut state = ProgramState::from_structure(&structure);
//! state.root_mut().unwrap().signature.instructions = "Answer briefly.".into();
//!
//! let hone_text = state.to_json_string_pretty();
//! assert_eq!(ProgramState::from_json_str(&hone_text)?, state);
//!
//! let dspy_text = state.to_dspy_json_string_pretty();
//! assert!(!dspy_text.contains("\"hone\""));
//! assert_eq!(ProgramState::from_json_str_with(&dspy_text, &structure)?, state);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod error;
mod json;
mod read;
mod write;

use indexmap::IndexMap;
use serde_json::{Map, Value};

use crate::example::Example;
use crate::signature::Signature;

pub use error::StateError;
pub use json::to_dspy_json_text;

/// The name of the predictor of a program that is a single predictor (DSPy's bare `Predict`),
/// as DSPy's `named_predictors()` names it. Such a program is saved flat.
pub const ROOT_PREDICTOR: &str = "self";

/// The version of hone's additions to DSPy's format that this build writes (and the newest it
/// reads), stored as `metadata.hone.format_version`.
pub const FORMAT_VERSION: u64 = 1;

/// A program's shape: its predictors' names and signatures, in DSPy's `named_predictors()`
/// order. Loading a DSPy-saved file needs it, since the file lacks field names and types.
///
/// ```
/// use hone_core::{Field, FieldRole, FieldType, Signature};
/// use hone_core::state::ProgramStructure;
///
/// let route = Signature::parse("ticket -> team")?;
/// // ChainOfThought prepends a `reasoning` output to its inner Predict's signature.
/// let answer = Signature::parse("ticket, team -> reply")?.with_field_at(
///     FieldRole::Output,
///     0,
///     Field::new("reasoning", FieldType::Str),
/// )?;
/// let structure = ProgramStructure::new()
///     .with_predictor("route", route)
///     .with_predictor("answer.predict", answer);
/// assert_eq!(structure.names().collect::<Vec<_>>(), ["route", "answer.predict"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProgramStructure {
    predictors: IndexMap<String, Signature>,
}

impl ProgramStructure {
    /// A structure with no predictors.
    pub fn new() -> Self {
        ProgramStructure::default()
    }

    /// A program that is one predictor (named [`ROOT_PREDICTOR`]).
    pub fn single(signature: Signature) -> Self {
        ProgramStructure::new().with_predictor(ROOT_PREDICTOR, signature)
    }

    /// Adds (or replaces) a predictor, builder style.
    pub fn with_predictor(mut self, name: impl Into<String>, signature: Signature) -> Self {
        self.insert(name, signature);
        self
    }

    /// Adds a predictor, returning the signature it replaces, if any.
    pub fn insert(&mut self, name: impl Into<String>, signature: Signature) -> Option<Signature> {
        self.predictors.insert(name.into(), signature)
    }

    /// The signature of a predictor.
    pub fn get(&self, name: &str) -> Option<&Signature> {
        self.predictors.get(name)
    }

    /// Predictor names, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.predictors.keys().map(String::as_str)
    }

    /// Predictors and their signatures, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Signature)> {
        self.predictors.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The number of predictors.
    pub fn len(&self) -> usize {
        self.predictors.len()
    }

    /// Whether there are no predictors.
    pub fn is_empty(&self) -> bool {
        self.predictors.is_empty()
    }
}

impl<S: Into<String>> FromIterator<(S, Signature)> for ProgramStructure {
    fn from_iter<T: IntoIterator<Item = (S, Signature)>>(iter: T) -> Self {
        ProgramStructure {
            predictors: iter.into_iter().map(|(k, v)| (k.into(), v)).collect(),
        }
    }
}

/// The saved state of one predictor.
#[derive(Debug, Clone, PartialEq)]
pub struct PredictorState {
    /// The signature, with the instructions, prefixes and descriptions the state sets.
    pub signature: Signature,
    /// The demos: whole objects, every key kept (DSPy's bootstrapped demos also carry
    /// `"augmented": true`).
    pub demos: Vec<Example>,
    /// Per-predictor LM settings as DSPy's `LM.dump_state()` writes them (`model`,
    /// `temperature`, ...); `None` when the predictor uses the program's LM.
    pub lm: Option<Value>,
    /// DSPy's `traces` (kept, not interpreted; usually empty).
    pub traces: Vec<Value>,
    /// DSPy's `train` (kept, not interpreted; usually empty).
    pub train: Vec<Value>,
    /// Other keys of the predictor's object (such as DSPy's `fields`), in file order; written
    /// back between `signature` and `lm`, where DSPy writes `fields`.
    pub extra: Map<String, Value>,
    /// Keys of the predictor's `hone` object other than `signature`.
    pub hone_extra: Map<String, Value>,
}

impl PredictorState {
    /// A fresh predictor: the signature as given, no demos, no LM of its own.
    ///
    /// ```
    /// use hone_core::Signature;
    /// use hone_core::state::PredictorState;
    /// let p = PredictorState::new(Signature::parse("question -> answer").unwrap());
    /// assert!(p.demos.is_empty() && p.lm.is_none());
    /// ```
    pub fn new(signature: Signature) -> Self {
        PredictorState {
            signature,
            demos: Vec::new(),
            lm: None,
            traces: Vec::new(),
            train: Vec::new(),
            extra: Map::new(),
            hone_extra: Map::new(),
        }
    }
}

/// The saved state of a whole program: its predictors by name, plus file metadata.
///
/// See the [module documentation](self) for the file formats.
#[derive(Debug, Clone, PartialEq)]
pub struct ProgramState {
    /// The predictors, by DSPy name, in DSPy's `named_predictors()` order.
    pub predictors: IndexMap<String, PredictorState>,
    /// The file's `metadata` object as read (DSPy's `dependency_versions`, anything else),
    /// without `hone.format_version`, which describes the file rather than the program. Written
    /// back with `dependency_versions` present (DSPy's `load` requires it) and, in hone's
    /// format, `hone.format_version` set to [`FORMAT_VERSION`].
    pub metadata: Map<String, Value>,
    /// Top-level keys that are neither predictors nor `metadata`, in file order.
    pub extra: Map<String, Value>,
}

impl Default for ProgramState {
    fn default() -> Self {
        let mut metadata = Map::new();
        metadata.insert("dependency_versions".into(), Value::Object(Map::new()));
        ProgramState {
            predictors: IndexMap::new(),
            metadata,
            extra: Map::new(),
        }
    }
}

impl ProgramState {
    /// A fresh state for a program: each predictor with its signature and no demos.
    pub fn from_structure(structure: &ProgramStructure) -> Self {
        ProgramState {
            predictors: structure
                .iter()
                .map(|(name, sig)| (name.to_owned(), PredictorState::new(sig.clone())))
                .collect(),
            ..ProgramState::default()
        }
    }

    /// The program's structure: predictor names and their current signatures.
    pub fn structure(&self) -> ProgramStructure {
        self.predictors
            .iter()
            .map(|(name, p)| (name.clone(), p.signature.clone()))
            .collect()
    }

    /// The state of a predictor.
    pub fn predictor(&self, name: &str) -> Option<&PredictorState> {
        self.predictors.get(name)
    }

    /// The state of a predictor, mutably.
    pub fn predictor_mut(&mut self, name: &str) -> Option<&mut PredictorState> {
        self.predictors.get_mut(name)
    }

    /// For a single-predictor program, its predictor ([`ROOT_PREDICTOR`]).
    pub fn root(&self) -> Option<&PredictorState> {
        self.predictor(ROOT_PREDICTOR)
    }

    /// For a single-predictor program, its predictor, mutably.
    pub fn root_mut(&mut self) -> Option<&mut PredictorState> {
        self.predictor_mut(ROOT_PREDICTOR)
    }

    /// Whether the program is one predictor named [`ROOT_PREDICTOR`], saved in the flat form.
    pub fn is_single_predictor(&self) -> bool {
        self.predictors.len() == 1 && self.predictors.contains_key(ROOT_PREDICTOR)
    }

    /// Loads a hone-saved file on its own, from its text.
    ///
    /// Every predictor must carry `hone.signature`; for a DSPy-saved file use
    /// [`ProgramState::from_json_str_with`].
    pub fn from_json_str(text: &str) -> Result<Self, StateError> {
        Self::from_value(&parse(text)?)
    }

    /// Loads a hone-saved file on its own, from its JSON value.
    pub fn from_value(value: &Value) -> Result<Self, StateError> {
        read::read(value, None)
    }

    /// Loads a DSPy- or hone-saved file onto a program of known structure, from its text.
    ///
    /// Predictor names must match the structure's exactly, and each predictor's saved field
    /// list must have one entry per signature field. The structure's signatures give field
    /// names and types; the file gives instructions, prefixes, descriptions, demos and LM
    /// settings. When the file also carries hone signatures, their field names must equal the
    /// structure's.
    pub fn from_json_str_with(
        text: &str,
        structure: &ProgramStructure,
    ) -> Result<Self, StateError> {
        Self::from_value_with(&parse(text)?, structure)
    }

    /// Loads a DSPy- or hone-saved file onto a program of known structure, from its JSON value.
    pub fn from_value_with(
        value: &Value,
        structure: &ProgramStructure,
    ) -> Result<Self, StateError> {
        read::read(value, Some(structure))
    }

    /// The state in hone's format (DSPy's format plus the `hone` keys).
    pub fn to_value(&self) -> Value {
        write::write(self, true)
    }

    /// The state in DSPy's format, without hone's additions: what DSPy's `program.save` writes.
    pub fn to_dspy_value(&self) -> Value {
        write::write(self, false)
    }

    /// The state in hone's format, as text laid out like DSPy's files.
    pub fn to_json_string_pretty(&self) -> String {
        to_dspy_json_text(&self.to_value())
    }

    /// The state in DSPy's format, as text laid out byte for byte like DSPy's files.
    pub fn to_dspy_json_string_pretty(&self) -> String {
        to_dspy_json_text(&self.to_dspy_value())
    }
}

fn parse(text: &str) -> Result<Value, StateError> {
    serde_json::from_str(text).map_err(|e| StateError::from_json(&e))
}
