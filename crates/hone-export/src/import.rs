//! Importing DSPy saved programs (`program.save("x.json")`) into hone's format.
//!
//! DSPy's file holds instructions, field prefixes and descriptions, demos and LM settings, but
//! not field names or types; those come from the program's structure, given as a hone program
//! file of the same program or as one string signature per predictor.

use hone_core::Signature;
use hone_core::state::{ProgramState, ProgramStructure};
use serde_json::Value;

use crate::error::ExportError;

/// A program structure from `(predictor, "inputs -> outputs")` pairs in DSPy's string form.
///
/// ```
/// use hone_export::structure_from_signatures;
/// let s = structure_from_signatures(&[("self", "question -> answer: int")])?;
/// assert_eq!(s.names().collect::<Vec<_>>(), ["self"]);
/// # Ok::<(), hone_export::ExportError>(())
/// ```
pub fn structure_from_signatures<N: AsRef<str>, S: AsRef<str>>(
    signatures: &[(N, S)],
) -> Result<ProgramStructure, ExportError> {
    let mut structure = ProgramStructure::new();
    for (name, text) in signatures {
        let sig = Signature::parse(text.as_ref()).map_err(|e| ExportError::Signature {
            predictor: name.as_ref().to_owned(),
            text: text.as_ref().to_owned(),
            message: e.to_string(),
        })?;
        structure.insert(name.as_ref(), sig);
    }
    Ok(structure)
}

/// Loads a DSPy-saved program file onto a structure, checking first that the JSON is a
/// program file at all (a foreign JSON file gets an error saying so).
///
/// ```
/// use hone_export::{import_dspy, structure_from_signatures};
/// let structure = structure_from_signatures(&[("self", "question -> answer")])?;
/// let dspy = r#"{"demos": [], "signature": {"instructions": "Be brief.",
///   "fields": [{"prefix": "Question:", "description": "${question}"},
///              {"prefix": "Answer:", "description": "${answer}"}]}, "lm": null}"#;
/// let state = import_dspy(dspy, &structure)?;
/// assert_eq!(state.root().unwrap().signature.instructions, "Be brief.");
/// # Ok::<(), hone_export::ExportError>(())
/// ```
pub fn import_dspy(text: &str, structure: &ProgramStructure) -> Result<ProgramState, ExportError> {
    let value: Value = serde_json::from_str(text).map_err(|e| {
        ExportError::State(hone_core::state::StateError::Json {
            line: e.line(),
            column: e.column(),
            message: e
                .to_string()
                .split(" at line ")
                .next()
                .unwrap_or("")
                .to_owned(),
        })
    })?;
    check_program_like(&value)?;
    Ok(ProgramState::from_value_with(&value, structure)?)
}

/// Rejects JSON that is clearly not a DSPy or hone program file, saying what it looks like.
pub fn check_program_like(value: &Value) -> Result<(), ExportError> {
    let foreign = |problem: &str| ExportError::Foreign {
        what: "a DSPy or hone program file".to_owned(),
        problem: problem.to_owned(),
    };
    let Some(obj) = value.as_object() else {
        return Err(foreign(
            "expected a JSON object of predictor states, found another JSON value",
        ));
    };
    let is_predictor = |v: &Value| v.get("signature").is_some() && v.get("demos").is_some();
    if is_predictor(value) || obj.values().any(is_predictor) {
        return Ok(());
    }
    if let Some(f) = obj.get("format").and_then(Value::as_str)
        && f.starts_with("hone.")
    {
        return Err(foreign(&format!(
            "this is a `{f}` export, not a program; export files cannot be imported back, use \
             the program file they were made from"
        )));
    }
    let keys: Vec<&str> = obj.keys().take(5).map(String::as_str).collect();
    Err(foreign(&format!(
        "no predictor state in it (an object with `signature` and `demos` keys, or an object of \
         such keyed by predictor name); its top-level keys are: {}",
        if keys.is_empty() {
            "none".to_owned()
        } else {
            keys.join(", ")
        }
    )))
}
