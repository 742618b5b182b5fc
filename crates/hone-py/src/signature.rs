//! Signatures from Python: DSPy's string form, or the field list a class-form signature
//! (`class QA(hone.Signature)`) compiles to in the Python layer.

use hone_core::pytype::{TypeResolver, parse_type};
use hone_core::types::EnumType;
use hone_core::{Field, FieldType, Signature};
use pyo3::prelude::*;
use serde::Deserialize;
use serde_json::Value;

use crate::convert::{to_python, to_value};
use crate::error::Error;

/// A field as the Python layer describes it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FieldSpec {
    name: String,
    /// The Python annotation, as DSPy names it (`list[str]`, `Literal['a', 'b']`).
    #[serde(default)]
    annotation: Option<String>,
    /// The JSON schema (pydantic's) when the annotation names a model.
    #[serde(default)]
    schema: Option<Value>,
    #[serde(default)]
    desc: Option<String>,
    #[serde(default)]
    prefix: Option<String>,
    /// The `enum.Enum` classes the annotation names (by class name), with their members.
    #[serde(default)]
    enums: Vec<EnumType>,
    /// `false` for a field of a string signature written without a type (DSPy's `str` by
    /// default), so that edited signatures stay what their string said.
    #[serde(default)]
    type_declared: Option<bool>,
}

/// A class-form signature as the Python layer describes it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SignatureSpec {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    instructions: Option<String>,
    inputs: Vec<FieldSpec>,
    outputs: Vec<FieldSpec>,
}

/// The enum classes a field's annotation names, as the Python layer describes them.
struct Enums<'a>(&'a [EnumType]);

impl TypeResolver for Enums<'_> {
    fn resolve(&self, name: &str) -> Option<FieldType> {
        self.0
            .iter()
            .find(|e| e.name == name)
            .map(|e| FieldType::enumeration(e.clone()))
    }
}

fn field(spec: FieldSpec, signature: &str) -> Result<Field, Error> {
    let enums = Enums(&spec.enums);
    let ty = match (&spec.schema, &spec.annotation) {
        (Some(schema), annotation) => {
            let from_schema = FieldType::from_json_schema(schema).map_err(|e| {
                Error::InvalidSignature(format!(
                    "signature `{signature}`, field `{}`: its type's JSON schema is not \
                     supported: {e}",
                    spec.name
                ))
            })?;
            match annotation.as_deref().map(|a| parse_type(a, &enums)) {
                Some(Ok(exact)) if exact.json_schema() == *schema => exact,
                _ => from_schema,
            }
        }
        (None, Some(annotation)) => parse_type(annotation, &enums).map_err(|e| {
            Error::InvalidSignature(format!(
                "signature `{signature}`, field `{}`: type `{annotation}` is not supported: {e}",
                spec.name
            ))
        })?,
        (None, None) => FieldType::Str,
    };
    let mut f = Field::new(spec.name, ty);
    f.type_declared = spec.type_declared.unwrap_or(true);
    if let Some(desc) = spec.desc {
        f = f.desc(desc);
    }
    if let Some(prefix) = spec.prefix {
        f = f.prefix(prefix);
    }
    Ok(f)
}

/// Builds a signature from a string (`"question -> answer: int"`) or a class-form field list.
pub fn signature_from(obj: &Bound<'_, PyAny>) -> Result<Signature, Error> {
    if let Ok(text) = obj.extract::<String>() {
        return Ok(Signature::parse(&text)?);
    }
    let value = to_value(obj)?;
    // A signature as `signature()` returns it (hone's saved form).
    if value
        .get("inputs")
        .and_then(|i| i.get(0))
        .and_then(|f| f.get("type"))
        .is_some()
    {
        return serde_json::from_value(value)
            .map_err(|e| Error::Value(format!("not a hone signature: {e}")));
    }
    let spec: SignatureSpec = serde_json::from_value(value)
        .map_err(|e| Error::Value(format!("not a signature description: {e}")))?;
    let name = spec
        .name
        .clone()
        .unwrap_or_else(|| "StringSignature".into());
    let mut builder = Signature::builder().name(&name);
    for f in spec.inputs {
        builder = builder.input(field(f, &name)?);
    }
    for f in spec.outputs {
        builder = builder.output(field(f, &name)?);
    }
    let mut sig = builder.build()?;
    if let Some(instructions) = spec.instructions.filter(|i| !i.is_empty()) {
        sig.instructions = instructions;
    }
    Ok(sig)
}

/// `parse_signature(spec)`: the signature hone builds from a string or a field list, as a dict
/// (name, instructions, inputs and outputs with their types, prefixes and descriptions).
#[pyfunction]
pub fn parse_signature(py: Python<'_>, spec: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
    let sig = signature_from(spec)?;
    let value = serde_json::to_value(&sig).map_err(|e| Error::Value(e.to_string()))?;
    to_python(py, &value)
}
