//! Derive macros for hone: `#[derive(Signature)]` and `#[derive(FieldTyped)]`.
//!
//! Use them through `hone-core`, which re-exports both (default feature `derive`):
//!
//! ```ignore
//! use hone_core::{FieldTyped, Signature, TypedSignature};
//! ```
//!
//! Architecture invariant: this crate depends on nothing of hone. The generated code names the
//! core crate by path (`::hone_core` unless `#[hone(crate = "...")]` says otherwise), so the core
//! crate can depend on this one without a cycle.
//!
//! Each derive is a function from one token stream to another (`signature::expand`,
//! `field_typed::expand`), so its errors are unit-tested without a compiler run.

use proc_macro::TokenStream;

mod attr;
mod field_typed;
mod signature;

/// Implements `hone_core::TypedSignature` for a struct with named fields.
///
/// The struct's doc comment is the instructions; each field is marked `#[input]` or `#[output]`
/// (optionally `#[input(desc = "...", prefix = "...")]`), and its Rust type gives the field type
/// through `hone_core::FieldTyped`. On the struct, `#[hone(name = "...")]` sets the signature
/// name (default: the struct name), `#[hone(instructions = "...")]` replaces the doc comment and
/// `#[hone(crate = "path")]` points at the core crate (default `::hone_core`).
///
/// ```ignore
/// /// Answer the question using the context.
/// #[derive(hone_core::Signature)]
/// struct Answer {
///     #[input(desc = "passages that may contain the answer")]
///     context: Vec<String>,
///     #[input]
///     question: String,
///     #[output]
///     answer: String,
/// }
/// ```
#[proc_macro_derive(Signature, attributes(input, output, hone))]
pub fn derive_signature(input: TokenStream) -> TokenStream {
    signature::expand(input.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Implements `hone_core::FieldTyped` for a struct with named fields (a model, like a pydantic
/// `BaseModel`) or for an enum of unit variants (a `Literal[...]` of the variant names as serde
/// writes them).
///
/// Struct: the doc comment is the model description, field doc comments are field
/// descriptions, `Option<T>` fields default to `null`, fields with `#[serde(default)]` (or a
/// struct-level `#[serde(default)]`) default to the serialized `Default` value, and
/// `#[hone(default = <JSON>)]` sets a default explicitly. `#[serde(rename = "...")]`,
/// `#[serde(rename_all = "...")]` and `#[serde(skip)]` are honoured. `#[hone(name = "...")]` on
/// the struct renames the model.
///
/// Enum: `#[serde(rename_all = "...")]` on the enum and `#[serde(rename = "...")]` on a variant
/// are honoured, so the literal values are exactly the strings serde reads and writes.
///
/// ```ignore
/// #[derive(hone_core::FieldTyped, serde::Serialize, serde::Deserialize)]
/// struct Person {
///     name: String,
///     age: Option<u32>,
///     #[serde(default)]
///     emails: Vec<String>,
/// }
/// ```
#[proc_macro_derive(FieldTyped, attributes(hone))]
pub fn derive_field_typed(input: TokenStream) -> TokenStream {
    field_typed::expand(input.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
