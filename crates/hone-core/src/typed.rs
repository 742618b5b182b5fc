//! Rust types as signature field types, and signatures declared as Rust structs.
//!
//! [`FieldTyped`] maps a Rust type to the [`FieldType`] DSPy would see for the equivalent Python
//! annotation: `String` → `str`, `Vec<T>` → `list[T]`, `Option<T>` → `Optional[T]`,
//! `HashMap<String, T>` → `dict[str, T]`, and so on. `#[derive(FieldTyped)]` (from `hone-derive`,
//! re-exported here with the default `derive` feature) implements it for structs (a pydantic-like
//! model) and for enums of unit variants (a `Literal[...]`, or with `#[hone(enum_class)]` a
//! named enum, as a Python `enum.Enum` class: the enum's name in prompts, the variants as
//! members named by their Rust names with their serde names as values).
//!
//! [`TypedSignature`] is what `#[derive(Signature)]` implements for a struct whose fields are the
//! signature's inputs and outputs.
//!
//! ```
//! use std::collections::HashMap;
//! use hone_core::{FieldType, typed::FieldTyped};
//!
//! assert_eq!(<Vec<String> as FieldTyped>::field_type(), FieldType::list(FieldType::Str));
//! assert_eq!(<Option<i64> as FieldTyped>::field_type().python_name(), "Union[int, NoneType]");
//! assert_eq!(
//!     <HashMap<String, f64> as FieldTyped>::field_type().python_name(),
//!     "dict[str, float]"
//! );
//! ```

use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;
use std::sync::Arc;

use crate::signature::Signature;
use crate::types::FieldType;

/// A Rust type that can be the type of a signature field or of a field inside a model.
///
/// Implemented for the owned standard types that have a DSPy/pydantic counterpart:
///
/// | Rust | Python annotation |
/// |------|-------------------|
/// | `String`, `char` | `str` |
/// | `i8`..`i128`, `u8`..`u128`, `isize`, `usize` | `int` |
/// | `f32`, `f64` | `float` |
/// | `bool` | `bool` |
/// | `Vec<T>` | `list[T]` |
/// | `Option<T>` | `Optional[T]` (`Union[T, NoneType]`) |
/// | `HashMap<K, V>`, `BTreeMap<K, V>`, `IndexMap<K, V>` | `dict[K, V]` |
/// | `serde_json::Value` | `Any` |
/// | `Box<T>`, `Arc<T>`, `Rc<T>` | as `T` |
///
/// Borrowed types such as `&str` are deliberately not implemented: a field value is parsed from
/// the LM's text into an owned value.
///
/// Derive it for your own types with `#[derive(FieldTyped)]`:
///
/// ```
/// use hone_core::{FieldType, FieldTyped};
///
/// /// A person mentioned in the text.
/// #[derive(FieldTyped)]
/// struct Person {
///     name: String,
///     /// Age in years, when stated.
///     age: Option<u32>,
/// }
///
/// #[derive(FieldTyped, serde::Deserialize)]
/// #[serde(rename_all = "lowercase")]
/// enum Team { Billing, Tech }
///
/// let FieldType::Model(person) = Person::field_type() else { panic!("a model") };
/// assert_eq!(person.name, "Person");
/// assert_eq!(person.description.as_deref(), Some("A person mentioned in the text."));
/// assert_eq!(person.fields[1].default, Some(serde_json::Value::Null));
/// assert_eq!(Team::field_type(), FieldType::literal(["billing", "tech"]));
/// ```
///
/// Recursive types (a struct that contains itself) cannot be described: a [`FieldType`] is a
/// finite tree. The derive rejects direct self-reference; indirect recursion through another
/// type overflows the stack when `field_type` is called.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be used as a hone field type",
    label = "no `FieldTyped` implementation for `{Self}`",
    note = "use an owned type (`String` rather than `&str`), or add `#[derive(FieldTyped)]` to your own struct or enum"
)]
pub trait FieldTyped {
    /// The field type DSPy would see for this Rust type.
    fn field_type() -> FieldType;
}

/// A signature declared as a Rust struct, as `#[derive(Signature)]` generates it.
///
/// The struct's doc comment is the instructions (DSPy's docstring, cleaned up the way Python's
/// `inspect.cleandoc` does); each field marked `#[input]` or `#[output]` is a signature field of
/// the same name, whose type comes from [`FieldTyped`] and whose description comes from
/// `desc = "..."` or the field's doc comment.
///
/// ```
/// use hone_core::{FieldType, Signature, TypedSignature};
///
/// /// Answer the question using the context. Be concise.
/// #[derive(Signature)]
/// struct Answer {
///     /// passages that may contain the answer
///     #[input]
///     context: Vec<String>,
///     #[input]
///     question: String,
///     #[output(desc = "a short factual answer")]
///     answer: String,
///     #[output(desc = "between 0 and 1")]
///     confidence: f64,
/// }
///
/// let sig = Answer::signature();
/// assert_eq!(sig.name, "Answer");
/// assert_eq!(sig.instructions, "Answer the question using the context. Be concise.");
/// assert_eq!(sig.inputs[0].description, "passages that may contain the answer");
/// assert_eq!(sig.inputs[1].prefix, "Question:");
/// assert_eq!(sig.outputs[1].ty, FieldType::Float);
/// assert_eq!(Answer::INPUT_FIELDS, ["context", "question"]);
/// assert_eq!(Answer::OUTPUT_FIELDS, ["answer", "confidence"]);
/// ```
///
/// Attributes understood by the derive:
///
/// * on the struct: `#[hone(name = "...")]` (the signature name; default: the struct name),
///   `#[hone(instructions = "...")]` (instead of the doc comment), `#[hone(crate = "path")]`
///   (where hone's core crate is; default `::hone_core`);
/// * on each field: exactly one of `#[input]` / `#[output]`, optionally with
///   `desc = "..."` and `prefix = "..."` (default prefix: DSPy's `infer_prefix` of the name plus
///   `:`; default description: the field's doc comment, else DSPy's `${name}`).
///
/// Without a doc comment or `instructions`, the instructions are DSPy's default
/// ("Given the fields `a`, `b`, produce the fields `c`.").
pub trait TypedSignature {
    /// The input field names, in order.
    const INPUT_FIELDS: &'static [&'static str];
    /// The output field names, in order.
    const OUTPUT_FIELDS: &'static [&'static str];

    /// The signature: instructions, input fields and output fields.
    fn signature() -> Signature;
}

macro_rules! field_typed {
    ($ty:expr => $($t:ty),+) => {
        $(impl FieldTyped for $t {
            fn field_type() -> FieldType {
                $ty
            }
        })+
    };
}

field_typed!(FieldType::Str => String, char);
field_typed!(FieldType::Int => i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize);
field_typed!(FieldType::Float => f32, f64);
field_typed!(FieldType::Bool => bool);
field_typed!(FieldType::Any => serde_json::Value);

impl<T: FieldTyped> FieldTyped for Vec<T> {
    fn field_type() -> FieldType {
        FieldType::list(T::field_type())
    }
}

impl<T: FieldTyped> FieldTyped for Option<T> {
    fn field_type() -> FieldType {
        FieldType::optional(T::field_type())
    }
}

impl<T: FieldTyped + ?Sized> FieldTyped for Box<T> {
    fn field_type() -> FieldType {
        T::field_type()
    }
}

impl<T: FieldTyped + ?Sized> FieldTyped for Arc<T> {
    fn field_type() -> FieldType {
        T::field_type()
    }
}

impl<T: FieldTyped + ?Sized> FieldTyped for Rc<T> {
    fn field_type() -> FieldType {
        T::field_type()
    }
}

impl<K: FieldTyped, V: FieldTyped, S> FieldTyped for HashMap<K, V, S> {
    fn field_type() -> FieldType {
        FieldType::dict(K::field_type(), V::field_type())
    }
}

impl<K: FieldTyped, V: FieldTyped> FieldTyped for BTreeMap<K, V> {
    fn field_type() -> FieldType {
        FieldType::dict(K::field_type(), V::field_type())
    }
}

impl<K: FieldTyped, V: FieldTyped, S> FieldTyped for indexmap::IndexMap<K, V, S> {
    fn field_type() -> FieldType {
        FieldType::dict(K::field_type(), V::field_type())
    }
}

impl FieldTyped for serde_json::Map<String, serde_json::Value> {
    fn field_type() -> FieldType {
        FieldType::dict(FieldType::Str, FieldType::Any)
    }
}

/// Paths the derive macros' generated code uses; not part of the public API.
#[doc(hidden)]
pub mod __private {
    pub use serde_json;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn std_types_map_to_python_annotations() {
        let cases: Vec<(FieldType, &str)> = vec![
            (String::field_type(), "str"),
            (u8::field_type(), "int"),
            (f32::field_type(), "float"),
            (bool::field_type(), "bool"),
            (<Vec<Vec<i32>>>::field_type(), "list[list[int]]"),
            (<Option<String>>::field_type(), "Union[str, NoneType]"),
            (
                <Option<Option<String>>>::field_type(),
                "Union[str, NoneType]",
            ),
            (<BTreeMap<String, bool>>::field_type(), "dict[str, bool]"),
            (
                <indexmap::IndexMap<String, Vec<String>>>::field_type(),
                "dict[str, list[str]]",
            ),
            (serde_json::Value::field_type(), "Any"),
            (<Box<Arc<Rc<i64>>>>::field_type(), "int"),
        ];
        for (ty, name) in cases {
            assert_eq!(ty.python_name(), name);
        }
    }
}
