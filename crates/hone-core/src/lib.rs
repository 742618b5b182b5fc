//! The core of hone: signatures, field types, examples, DSPy-exact adapters and program state.
//!
//! Architecture invariant: this crate does no IO and holds no global state. It knows nothing
//! about HTTP, async runtimes or files; callers hand it values and get values back, which is what
//! lets any executor, thread or task queue drive it.

pub mod adapter;
pub mod coerce;
pub mod conformance;
pub mod example;
pub mod message;
pub mod pytype;
pub mod sampling;
pub mod schema;
pub mod signature;
mod signature_parse;
pub mod state;
pub mod typed;
pub mod types;

pub use example::{Example, Prediction};
pub use message::{Message, Role};
pub use sampling::Sampling;
pub use schema::SchemaError;
pub use signature::{Field, FieldRole, Signature, SignatureBuilder, SignatureError, infer_prefix};
pub use types::{EnumMember, EnumType, FieldType, ModelField, ModelType};

/// `#[derive(Signature)]` and `#[derive(FieldTyped)]` (feature `derive`, on by default).
#[cfg(feature = "derive")]
pub use hone_derive::{FieldTyped, Signature};
pub use state::{PredictorState, ProgramState, ProgramStructure, StateError};
pub use typed::{FieldTyped, TypedSignature};
