//! The core of hone: signatures, field types, examples, DSPy-exact adapters and program state.
//!
//! Architecture invariant: this crate does no IO and holds no global state. It knows nothing
//! about HTTP, async runtimes or files; callers hand it values and get values back, which is what
//! lets any executor, thread or task queue drive it.

pub mod example;
pub mod message;
pub mod pytype;
pub mod schema;
pub mod signature;
mod signature_parse;
pub mod types;

pub use example::{Example, Prediction};
pub use message::{Message, Role};
pub use schema::SchemaError;
pub use signature::{Field, FieldRole, Signature, SignatureBuilder, SignatureError, infer_prefix};
pub use types::{FieldType, ModelField, ModelType};
