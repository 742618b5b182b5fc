//! Signatures: the typed input/output contract of a predictor, with instructions.
//!
//! A [`Signature`] means what it means in DSPy: ordered input fields, ordered output fields,
//! and instructions. Instructions and each field's prefix and description are plain data that
//! optimizers rewrite. Signatures come from three places:
//!
//! * the string form DSPy parses: [`Signature::parse`]
//!   (`"context: list[str], question: str -> answer: int"`);
//! * the typed Rust form: `#[derive(Signature)]` in `hone-derive`;
//! * the builder for signatures made at run time: [`Signature::builder`].

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::pytype::{NoCustomTypes, TypeResolver};
use crate::types::FieldType;

/// Whether a field is given to the LM or produced by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldRole {
    /// Supplied by the caller.
    Input,
    /// Produced by the LM.
    Output,
}

impl std::fmt::Display for FieldRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FieldRole::Input => "input",
            FieldRole::Output => "output",
        })
    }
}

/// One input or output field of a signature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Field {
    /// The field name, a Python-style identifier (`question`).
    pub name: String,
    /// The field type.
    #[serde(rename = "type", with = "type_as_schema")]
    pub ty: FieldType,
    /// The prefix DSPy keeps for each field (`Question:`); saved and loaded with the program.
    pub prefix: String,
    /// The description (DSPy's `desc`); `${name}` when none was given, as in DSPy.
    pub description: String,
    /// Whether the type was written explicitly (string signatures default untyped fields to `str`).
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub type_declared: bool,
    /// Human-readable constraints shown after the field in the system message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constraints: Option<String>,
    /// The value an output field takes when the LM omits it (an output field with a default is
    /// optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
}

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

/// Fields store their type as JSON Schema plus the Python annotation name, so a saved program is
/// readable by tools that know neither Rust nor Python.
mod type_as_schema {
    use std::sync::Arc;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use serde_json::Value;

    use crate::types::{EnumType, FieldType};

    #[derive(Serialize, Deserialize)]
    struct Repr {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        annotation: Option<String>,
        schema: Value,
        /// The enum classes inside the type with their member names, which JSON Schema
        /// does not hold.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        enums: Vec<Arc<EnumType>>,
    }

    pub fn serialize<S: Serializer>(ty: &FieldType, s: S) -> Result<S::Ok, S::Error> {
        Repr {
            annotation: Some(ty.python_name()),
            schema: ty.json_schema(),
            enums: ty.enums(),
        }
        .serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<FieldType, D::Error> {
        let repr = Repr::deserialize(d)?;
        let ty = FieldType::from_json_schema(&repr.schema)
            .map_err(serde::de::Error::custom)?
            .with_enums(&repr.enums);
        // JSON Schema cannot tell `dict[str, T]` keys apart and has no `Any` for lists; the
        // annotation, when present and parseable, restores the exact Python shape.
        if let Some(annotation) = repr.annotation {
            let by_name = |name: &str| ty.find_named(name);
            if let Ok(exact) = crate::pytype::parse_type(&annotation, &by_name)
                && exact.json_schema() == repr.schema
            {
                return Ok(exact);
            }
        }
        Ok(ty)
    }
}

impl Field {
    /// A field of the given name and type, with DSPy's default prefix and description.
    ///
    /// ```
    /// use hone_core::{Field, FieldType};
    /// let f = Field::new("question_text", FieldType::Str);
    /// assert_eq!(f.prefix, "Question Text:");
    /// assert_eq!(f.description, "${question_text}");
    /// ```
    pub fn new(name: impl Into<String>, ty: FieldType) -> Self {
        let name = name.into();
        Field {
            prefix: format!("{}:", infer_prefix(&name)),
            description: format!("${{{name}}}"),
            name,
            ty,
            type_declared: true,
            constraints: None,
            default: None,
        }
    }

    /// Sets the description (DSPy's `desc`).
    pub fn desc(mut self, description: impl Into<String>) -> Self {
        self.description = description.into();
        self
    }

    /// Sets the prefix.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Sets the default an output field takes when the LM omits it.
    pub fn default_value(mut self, value: Value) -> Self {
        self.default = Some(value);
        self
    }

    /// Sets the constraints text.
    pub fn constraints(mut self, constraints: impl Into<String>) -> Self {
        self.constraints = Some(constraints.into());
        self
    }

    /// The description as the system message shows it: empty when it is the `${name}` placeholder.
    pub fn shown_description(&self) -> &str {
        if self.description == format!("${{{}}}", self.name) {
            ""
        } else {
            &self.description
        }
    }
}

/// A malformed signature: what is wrong and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The string form could not be parsed.
    #[error("invalid signature {signature:?} at column {column}: {message}")]
    Syntax {
        /// The signature text.
        signature: String,
        /// 1-based column of the problem.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// Two fields share a name.
    #[error(
        "duplicate field name `{name}` in signature: each input and output field needs a distinct name"
    )]
    DuplicateField {
        /// The repeated name.
        name: String,
    },
    /// A field name is not an identifier.
    #[error(
        "invalid field name {name:?}: use letters, digits and underscores, not starting with a digit"
    )]
    InvalidName {
        /// The offending name.
        name: String,
    },
    /// No such field.
    #[error("no field named `{name}` in the signature (fields: {known})")]
    UnknownField {
        /// The requested name.
        name: String,
        /// The fields that exist, comma-separated.
        known: String,
    },
}

/// The contract of a predictor: instructions, ordered input fields and ordered output fields.
///
/// ```
/// use hone_core::{FieldType, Signature};
/// let sig = Signature::parse("context: list[str], question -> answer: int").unwrap();
/// assert_eq!(sig.inputs[0].ty, FieldType::list(FieldType::Str));
/// assert_eq!(sig.outputs[0].ty, FieldType::Int);
/// assert_eq!(sig.instructions, "Given the fields `context`, `question`, produce the fields `answer`.");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signature {
    /// The signature's class name in DSPy terms (`StringSignature` for string signatures).
    #[serde(default = "default_name")]
    pub name: String,
    /// The task instructions (a DSPy signature's docstring).
    pub instructions: String,
    /// Input fields in order.
    pub inputs: Vec<Field>,
    /// Output fields in order.
    pub outputs: Vec<Field>,
}

fn default_name() -> String {
    "StringSignature".into()
}

impl Signature {
    /// Parses DSPy's string form with default instructions.
    pub fn parse(text: &str) -> Result<Signature, SignatureError> {
        Self::parse_with(text, None, &NoCustomTypes)
    }

    /// Parses DSPy's string form with the given instructions (or the default ones) and a resolver
    /// for custom type names.
    pub fn parse_with(
        text: &str,
        instructions: Option<&str>,
        resolver: &dyn TypeResolver,
    ) -> Result<Signature, SignatureError> {
        let (inputs, outputs) = crate::signature_parse::parse_fields(text, resolver)?;
        let mut sig = Signature {
            name: default_name(),
            instructions: String::new(),
            inputs,
            outputs,
        };
        sig.validate()?;
        sig.instructions = match instructions {
            Some(i) => i.to_owned(),
            None => sig.default_instructions(),
        };
        Ok(sig)
    }

    /// Starts a signature built at run time.
    ///
    /// ```
    /// use hone_core::{Field, FieldType, Signature};
    /// let sig = Signature::builder()
    ///     .instructions("Classify the review.")
    ///     .input(Field::new("review", FieldType::Str))
    ///     .output(Field::new("label", FieldType::literal(["pos", "neg"])).desc("the sentiment"))
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(sig.outputs[0].description, "the sentiment");
    /// ```
    pub fn builder() -> SignatureBuilder {
        SignatureBuilder::default()
    }

    /// DSPy's default instructions: "Given the fields `a`, `b`, produce the fields `c`."
    pub fn default_instructions(&self) -> String {
        let names = |fs: &[Field]| {
            fs.iter()
                .map(|f| format!("`{}`", f.name))
                .collect::<Vec<_>>()
                .join(", ")
        };
        format!(
            "Given the fields {}, produce the fields {}.",
            names(&self.inputs),
            names(&self.outputs)
        )
    }

    /// Checks names are identifiers and unique across inputs and outputs.
    pub fn validate(&self) -> Result<(), SignatureError> {
        let mut seen: Vec<&str> = Vec::new();
        for f in self.inputs.iter().chain(&self.outputs) {
            if !is_identifier(&f.name) {
                return Err(SignatureError::InvalidName {
                    name: f.name.clone(),
                });
            }
            if seen.contains(&f.name.as_str()) {
                return Err(SignatureError::DuplicateField {
                    name: f.name.clone(),
                });
            }
            seen.push(&f.name);
        }
        Ok(())
    }

    /// All fields, inputs first, in order, with their roles.
    pub fn fields(&self) -> impl Iterator<Item = (FieldRole, &Field)> {
        self.inputs
            .iter()
            .map(|f| (FieldRole::Input, f))
            .chain(self.outputs.iter().map(|f| (FieldRole::Output, f)))
    }

    /// The field with this name, and its role.
    pub fn field(&self, name: &str) -> Option<(FieldRole, &Field)> {
        self.fields().find(|(_, f)| f.name == name)
    }

    /// The field with this name, mutably.
    pub fn field_mut(&mut self, name: &str) -> Result<&mut Field, SignatureError> {
        let known = self.field_names().join(", ");
        self.inputs
            .iter_mut()
            .chain(self.outputs.iter_mut())
            .find(|f| f.name == name)
            .ok_or(SignatureError::UnknownField {
                name: name.to_owned(),
                known,
            })
    }

    /// The names of all fields, inputs first.
    pub fn field_names(&self) -> Vec<&str> {
        self.fields().map(|(_, f)| f.name.as_str()).collect()
    }

    /// A copy with other instructions.
    pub fn with_instructions(&self, instructions: impl Into<String>) -> Signature {
        Signature {
            instructions: instructions.into(),
            ..self.clone()
        }
    }

    /// A copy with `field` inserted at `index` among the fields of `role` (`index` past the end
    /// appends). Used by modules such as ChainOfThought, which prepend a `reasoning` output.
    pub fn with_field_at(
        &self,
        role: FieldRole,
        index: usize,
        field: Field,
    ) -> Result<Signature, SignatureError> {
        let mut sig = self.clone();
        let list = match role {
            FieldRole::Input => &mut sig.inputs,
            FieldRole::Output => &mut sig.outputs,
        };
        let index = index.min(list.len());
        list.insert(index, field);
        sig.validate()?;
        Ok(sig)
    }

    /// A copy without the named field.
    pub fn without_field(&self, name: &str) -> Result<Signature, SignatureError> {
        if self.field(name).is_none() {
            return Err(SignatureError::UnknownField {
                name: name.to_owned(),
                known: self.field_names().join(", "),
            });
        }
        let mut sig = self.clone();
        sig.inputs.retain(|f| f.name != name);
        sig.outputs.retain(|f| f.name != name);
        Ok(sig)
    }

    /// DSPy's `signature` text: `"a, b -> c"`.
    pub fn field_string(&self) -> String {
        let names = |fs: &[Field]| {
            fs.iter()
                .map(|f| f.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        format!("{} -> {}", names(&self.inputs), names(&self.outputs))
    }
}

/// Builds a [`Signature`] field by field; see [`Signature::builder`].
#[derive(Debug, Default, Clone)]
pub struct SignatureBuilder {
    name: Option<String>,
    instructions: Option<String>,
    inputs: Vec<Field>,
    outputs: Vec<Field>,
}

impl SignatureBuilder {
    /// Sets the signature's name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets the instructions (default: DSPy's "Given the fields ..." sentence).
    pub fn instructions(mut self, instructions: impl Into<String>) -> Self {
        self.instructions = Some(instructions.into());
        self
    }

    /// Appends an input field.
    pub fn input(mut self, field: Field) -> Self {
        self.inputs.push(field);
        self
    }

    /// Appends an output field.
    pub fn output(mut self, field: Field) -> Self {
        self.outputs.push(field);
        self
    }

    /// Validates and returns the signature.
    pub fn build(self) -> Result<Signature, SignatureError> {
        let mut sig = Signature {
            name: self.name.unwrap_or_else(default_name),
            instructions: String::new(),
            inputs: self.inputs,
            outputs: self.outputs,
        };
        sig.validate()?;
        sig.instructions = match self.instructions {
            Some(i) => i,
            None => sig.default_instructions(),
        };
        Ok(sig)
    }
}

/// Whether `name` is a Python-style identifier.
pub(crate) fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if c.is_alphabetic() || c == '_' => {}
        _ => return false,
    }
    chars.all(|c| c.is_alphanumeric() || c == '_')
}

/// DSPy's `infer_prefix`: `camelCaseText` → `Camel Case Text`, `snake_case` → `Snake Case`,
/// `text2number` → `Text 2 Number`, `HTMLParser` → `HTML Parser`.
pub fn infer_prefix(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    // Step 1: "(.)([A-Z][a-z]+)" -> "\1_\2"
    let mut s1 = String::new();
    let mut i = 0;
    while i < chars.len() {
        s1.push(chars[i]);
        if i + 1 < chars.len()
            && chars[i + 1].is_ascii_uppercase()
            && chars.get(i + 2).is_some_and(|c| c.is_ascii_lowercase())
        {
            s1.push('_');
        }
        i += 1;
    }
    // The regex cannot match inside a run it already consumed; where that makes it skip an
    // uppercase letter, the letter follows a lowercase one and the next step splits there anyway.
    let s1: Vec<char> = s1.chars().collect();
    // "([a-z0-9])([A-Z])" -> "\1_\2"
    let mut s2 = String::new();
    for (i, c) in s1.iter().enumerate() {
        s2.push(*c);
        if (c.is_ascii_lowercase() || c.is_ascii_digit())
            && s1.get(i + 1).is_some_and(|n| n.is_ascii_uppercase())
        {
            s2.push('_');
        }
    }
    // "([a-zA-Z])(\d)" and "(\d)([a-zA-Z])" -> "\1_\2"
    let s2: Vec<char> = s2.chars().collect();
    let mut s3 = String::new();
    for (i, c) in s2.iter().enumerate() {
        s3.push(*c);
        if let Some(n) = s2.get(i + 1)
            && ((c.is_ascii_alphabetic() && n.is_ascii_digit())
                || (c.is_ascii_digit() && n.is_ascii_alphabetic()))
        {
            s3.push('_');
        }
    }
    s3.split('_')
        .map(|w| {
            if is_python_upper(w) {
                w.to_owned()
            } else {
                python_capitalize(w)
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Python's `str.isupper()`: at least one cased character and no lowercase ones.
fn is_python_upper(w: &str) -> bool {
    w.chars().any(char::is_uppercase) && !w.chars().any(char::is_lowercase)
}

/// Python's `str.capitalize()`: first character upper, the rest lower.
fn python_capitalize(w: &str) -> String {
    let mut cs = w.chars();
    match cs.next() {
        Some(c) => c
            .to_uppercase()
            .chain(cs.flat_map(char::to_lowercase))
            .collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{EnumType, ModelField, ModelType};

    #[test]
    fn enum_and_code_types_survive_serialization_with_member_names() {
        let level =
            FieldType::enumeration(EnumType::new("Level", [("LOW", "low"), ("HIGH", "high")]));
        let ticket = FieldType::model(ModelType::new(
            "Ticket",
            vec![ModelField::required("level", level.clone())],
        ));
        for ty in [
            level.clone(),
            FieldType::list(level.clone()),
            FieldType::optional(level),
            ticket,
            FieldType::code("rust"),
            FieldType::list(FieldType::code("python")),
        ] {
            let field = Field::new("f", ty.clone());
            let text = serde_json::to_string(&field).expect("serializes");
            let back: Field = serde_json::from_str(&text).expect("deserializes");
            assert_eq!(back.ty, ty, "{text}");
        }
    }

    #[test]
    fn infer_prefix_matches_dspy_examples() {
        assert_eq!(infer_prefix("camelCaseText"), "Camel Case Text");
        assert_eq!(infer_prefix("snake_case_text"), "Snake Case Text");
        assert_eq!(infer_prefix("text2number"), "Text 2 Number");
        assert_eq!(infer_prefix("HTMLParser"), "HTML Parser");
        assert_eq!(infer_prefix("question"), "Question");
        assert_eq!(infer_prefix("is_sarcastic"), "Is Sarcastic");
    }

    #[test]
    fn builder_rejects_duplicates_and_bad_names() {
        let e = Signature::builder()
            .input(Field::new("q", FieldType::Str))
            .output(Field::new("q", FieldType::Str))
            .build()
            .expect_err("dup");
        assert_eq!(e, SignatureError::DuplicateField { name: "q".into() });
        let e = Signature::builder()
            .input(Field::new("1q", FieldType::Str))
            .build()
            .expect_err("bad name");
        assert!(matches!(e, SignatureError::InvalidName { .. }));
    }

    #[test]
    fn field_edits() {
        let sig = Signature::parse("question -> answer").expect("parses");
        let cot = sig
            .with_field_at(
                FieldRole::Output,
                0,
                Field::new("reasoning", FieldType::Str),
            )
            .expect("no clash");
        assert_eq!(cot.field_string(), "question -> reasoning, answer");
        assert!(cot.without_field("nope").is_err());
        assert_eq!(
            cot.without_field("reasoning")
                .expect("exists")
                .field_string(),
            "question -> answer"
        );
    }

    #[test]
    fn serde_round_trip_keeps_types() {
        let sig = Signature::parse(
            "ctx: list[str], meta: dict[str, int] -> team: Literal['a', 'b'], n: Optional[float]",
        )
        .expect("parses");
        let json = serde_json::to_string(&sig).expect("serializes");
        let back: Signature = serde_json::from_str(&json).expect("deserializes");
        assert_eq!(back, sig);
    }
}
