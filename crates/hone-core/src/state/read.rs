//! Reading a program file (DSPy's format, with or without hone's additions).

use indexmap::IndexMap;
use serde_json::{Map, Value};

use super::error::describe;
use super::{
    FORMAT_VERSION, PredictorState, ProgramState, ProgramStructure, ROOT_PREDICTOR, StateError,
};
use crate::example::Example;
use crate::signature::Signature;

/// Reads `value`; with a structure, onto it (DSPy or hone file), without one, standalone
/// (hone file only).
pub(super) fn read(
    value: &Value,
    structure: Option<&ProgramStructure>,
) -> Result<ProgramState, StateError> {
    let Value::Object(top) = value else {
        return Err(StateError::shape(
            "the program file",
            "a JSON object",
            Some(value),
        ));
    };
    let mut metadata = match top.get("metadata") {
        None => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(other) => return Err(StateError::shape("`metadata`", "an object", Some(other))),
    };
    check_format_version(&metadata)?;
    // The format version describes the file, not the program; writing sets it again.
    if let Some(Value::Object(hone)) = metadata.get_mut("hone") {
        hone.shift_remove("format_version");
        if hone.is_empty() {
            metadata.shift_remove("hone");
        }
    }

    let mut extra = Map::new();
    let mut raw: Vec<(String, Value)> = Vec::new();
    if is_flat(top) {
        let mut own = top.clone();
        own.shift_remove("metadata");
        raw.push((ROOT_PREDICTOR.to_owned(), Value::Object(own)));
    } else {
        for (key, v) in top {
            if key == "metadata" {
                continue;
            }
            let named_by_program = structure.is_some_and(|s| s.get(key).is_some());
            if named_by_program || v.get("signature").is_some() {
                raw.push((key.clone(), v.clone()));
            } else {
                extra.insert(key.clone(), v.clone());
            }
        }
    }
    if raw.is_empty() {
        return Err(StateError::NoPredictors);
    }
    let object_of = |name: &str, v: &Value| -> Result<Map<String, Value>, StateError> {
        match v {
            Value::Object(o) => Ok(o.clone()),
            other => Err(StateError::shape(
                format!("predictor `{name}`"),
                "an object with `signature`, `demos` and `lm`",
                Some(other),
            )),
        }
    };

    let mut predictors = IndexMap::new();
    match structure {
        None => {
            for (name, v) in &raw {
                let obj = object_of(name, v)?;
                let base = match hone_signature(name, &obj)? {
                    Some(sig) => sig,
                    None => {
                        return Err(StateError::NoSignature {
                            predictor: name.clone(),
                        });
                    }
                };
                predictors.insert(name.clone(), read_predictor(name, &obj, base)?);
            }
        }
        Some(structure) => {
            let in_program = || list_names(structure.names());
            let in_file = || list_names(raw.iter().map(|(n, _)| n.as_str()));
            for (name, _) in &raw {
                if structure.get(name).is_none() {
                    return Err(StateError::UnknownPredictor {
                        name: name.clone(),
                        in_program: in_program(),
                    });
                }
            }
            for (name, sig) in structure.iter() {
                let Some((_, v)) = raw.iter().find(|(n, _)| n == name) else {
                    return Err(StateError::MissingPredictor {
                        name: name.to_owned(),
                        in_file: in_file(),
                    });
                };
                let obj = object_of(name, v)?;
                if let Some(saved) = hone_signature(name, &obj)? {
                    let names = |s: &Signature| {
                        (
                            s.inputs.iter().map(|f| f.name.clone()).collect::<Vec<_>>(),
                            s.outputs.iter().map(|f| f.name.clone()).collect::<Vec<_>>(),
                        )
                    };
                    if names(&saved) != names(sig) {
                        return Err(StateError::FieldNames {
                            predictor: name.to_owned(),
                            in_file: saved.field_string(),
                            in_program: sig.field_string(),
                        });
                    }
                }
                predictors.insert(name.to_owned(), read_predictor(name, &obj, sig.clone())?);
            }
        }
    }
    Ok(ProgramState {
        predictors,
        metadata,
        extra,
    })
}

/// A single predictor saved at the top level (DSPy's bare `Predict`): the top-level
/// `signature` is a saved signature (`instructions`, `fields`), not a predictor named
/// `signature`.
fn is_flat(top: &Map<String, Value>) -> bool {
    match top.get("signature") {
        Some(Value::Object(sig)) => sig.contains_key("instructions") || sig.contains_key("fields"),
        _ => false,
    }
}

fn list_names<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let names: Vec<String> = names
        .map(|n| {
            if n == ROOT_PREDICTOR {
                format!("{n} (a single predictor saved at the top level)")
            } else {
                n.to_owned()
            }
        })
        .collect();
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}

fn check_format_version(metadata: &Map<String, Value>) -> Result<(), StateError> {
    let Some(hone) = metadata.get("hone") else {
        return Ok(());
    };
    let Value::Object(hone) = hone else {
        return Err(StateError::shape(
            "`metadata.hone`",
            "an object",
            Some(hone),
        ));
    };
    match hone.get("format_version") {
        None => Ok(()),
        Some(v) => match v.as_u64() {
            Some(found) if found > FORMAT_VERSION => Err(StateError::NewerFormat {
                found,
                supported: FORMAT_VERSION,
            }),
            Some(_) => Ok(()),
            None => Err(StateError::shape(
                "`metadata.hone.format_version`",
                "a whole number",
                Some(v),
            )),
        },
    }
}

/// The predictor's `hone.signature`, when present.
fn hone_signature(name: &str, obj: &Map<String, Value>) -> Result<Option<Signature>, StateError> {
    let Some(hone) = obj.get("hone") else {
        return Ok(None);
    };
    let Value::Object(hone) = hone else {
        return Err(StateError::shape(
            format!("predictor `{name}`: `hone`"),
            "an object",
            Some(hone),
        ));
    };
    let Some(sig) = hone.get("signature") else {
        return Ok(None);
    };
    let sig: Signature =
        serde_json::from_value(sig.clone()).map_err(|e| StateError::Signature {
            predictor: name.to_owned(),
            message: e.to_string(),
        })?;
    sig.validate().map_err(|e| StateError::Signature {
        predictor: name.to_owned(),
        message: e.to_string(),
    })?;
    Ok(Some(sig))
}

/// Reads one predictor's object onto `base` (the signature giving names and types).
fn read_predictor(
    name: &str,
    obj: &Map<String, Value>,
    base: Signature,
) -> Result<PredictorState, StateError> {
    let at = |path: &str| format!("predictor `{name}`: `{path}`");
    let mut p = PredictorState::new(base);
    for (key, value) in obj {
        match key.as_str() {
            "traces" => p.traces = array(value, &at("traces"))?.clone(),
            "train" => p.train = array(value, &at("train"))?.clone(),
            "demos" => {
                for (i, demo) in array(value, &at("demos"))?.iter().enumerate() {
                    match demo {
                        Value::Object(fields) => p.demos.push(Example::from_map(fields.clone())),
                        other => {
                            return Err(StateError::shape(
                                at(&format!("demos[{i}]")),
                                "an object of field values",
                                Some(other),
                            ));
                        }
                    }
                }
            }
            "lm" => {
                p.lm = match value {
                    Value::Null => None,
                    Value::Object(_) => Some(value.clone()),
                    other => {
                        return Err(StateError::shape(
                            at("lm"),
                            "null or an object of LM settings",
                            Some(other),
                        ));
                    }
                }
            }
            "signature" => {}
            "hone" => {
                if let Value::Object(hone) = value {
                    for (k, v) in hone {
                        if k != "signature" {
                            p.hone_extra.insert(k.clone(), v.clone());
                        }
                    }
                }
            }
            _ => {
                p.extra.insert(key.clone(), value.clone());
            }
        }
    }
    apply_saved_signature(name, obj.get("signature"), &mut p.signature)?;
    Ok(p)
}

/// Applies DSPy's saved signature (`instructions`, each field's `prefix` and `description`, in
/// input-then-output order) onto `sig`, as DSPy's `Signature.load_state` does, but refusing a
/// field list of the wrong length.
fn apply_saved_signature(
    name: &str,
    saved: Option<&Value>,
    sig: &mut Signature,
) -> Result<(), StateError> {
    let at = |path: &str| format!("predictor `{name}`: `{path}`");
    let Some(Value::Object(saved)) = saved else {
        return Err(StateError::shape(
            at("signature"),
            "an object with `instructions` and `fields`",
            saved,
        ));
    };
    let instructions = match saved.get("instructions") {
        Some(Value::String(s)) => s.clone(),
        other => {
            return Err(StateError::shape(
                at("signature.instructions"),
                "a string",
                other,
            ));
        }
    };
    let fields = match saved.get("fields") {
        Some(Value::Array(a)) => a,
        other => {
            return Err(StateError::shape(
                at("signature.fields"),
                "an array of {\"prefix\", \"description\"} objects",
                other,
            ));
        }
    };
    let count = sig.inputs.len() + sig.outputs.len();
    if fields.len() != count {
        return Err(StateError::FieldCount {
            predictor: name.to_owned(),
            in_file: fields.len(),
            in_program: count,
            fields: sig.field_names().join(", "),
        });
    }
    let mut edits = Vec::with_capacity(count);
    for (i, entry) in fields.iter().enumerate() {
        let text = |key: &str| -> Result<String, StateError> {
            match entry.get(key) {
                Some(Value::String(s)) => Ok(s.clone()),
                other => Err(StateError::shape(
                    at(&format!("signature.fields[{i}].{key}")),
                    "a string",
                    if entry.is_object() {
                        other
                    } else {
                        Some(entry)
                    },
                )),
            }
        };
        if !entry.is_object() {
            return Err(StateError::Shape {
                at: at(&format!("signature.fields[{i}]")),
                expected: "an object with `prefix` and `description`".into(),
                found: describe(entry).into(),
            });
        }
        edits.push((text("prefix")?, text("description")?));
    }
    sig.instructions = instructions;
    for (field, (prefix, description)) in sig
        .inputs
        .iter_mut()
        .chain(sig.outputs.iter_mut())
        .zip(edits)
    {
        field.prefix = prefix;
        field.description = description;
    }
    Ok(())
}

fn array<'a>(value: &'a Value, at: &str) -> Result<&'a Vec<Value>, StateError> {
    match value {
        Value::Array(a) => Ok(a),
        other => Err(StateError::shape(at, "an array", Some(other))),
    }
}
