//! Importing DSPy saved programs (`program.save("x.json")`) into hone's format.
//!
//! DSPy's file holds instructions, field prefixes and descriptions, demos and LM settings, but
//! not field names or types; those come from the program's structure, given as a hone program
//! of the same program or as one string signature per predictor, or read off the file itself
//! ([`crate::infer_structure`]).

use hone_core::state::{ProgramState, ProgramStructure};
use hone_core::{FieldRole, FieldType, Signature};
use serde_json::{Map, Value};

use crate::error::ExportError;
use crate::infer::{
    Inferred, InferredStage, demo_type, infer_structure, predictor_objects, prefixes_of,
    signature_flag,
};

/// Per-predictor keys that DSPy 3.x's `load()` refuses, with why.
pub const REFUSED_BY_DSPY3: &[(&str, &str)] = &[(
    "extended_signature",
    "DSPy 2.5's; DSPy 3.x's `load()` raises \"Loading extended_signature is no longer supported\"",
)];

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

/// A DSPy file read into hone's format, with what the reading noticed.
#[derive(Debug, Clone, PartialEq)]
pub struct Imported {
    /// The program state (with hone's signatures).
    pub state: ProgramState,
    /// When no structure was given: what the file showed (stages, guesses).
    pub inferred: Option<Inferred>,
    /// Demos contradicting a declared type, one sentence each naming predictor and field.
    pub warnings: Vec<String>,
    /// Keys dropped because DSPy 3.x refuses them, one sentence each.
    pub dropped: Vec<String>,
    /// Other things the import did that the user should know (a conversion from DSPy's old
    /// format), one sentence each.
    pub notes: Vec<String>,
}

impl Imported {
    /// The stages of the program, as inferred (empty when a structure was given).
    pub fn stages(&self) -> &[InferredStage] {
        self.inferred.as_ref().map_or(&[], |i| &i.stages)
    }
}

fn parse_json(text: &str) -> Result<Value, ExportError> {
    serde_json::from_str(text).map_err(|e| {
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
    })
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
    Ok(import_dspy_value(&parse_json(text)?, Some(structure))?.state)
}

/// Reads a DSPy-saved program file (as JSON): onto `structure` when given, else onto the
/// structure the file itself shows ([`crate::infer_structure`]). Every predictor and field
/// that does not fit the structure is reported at once ([`ExportError::Misfit`]), with the
/// file's prefixes and a suggested `--signature` per predictor; keys DSPy 3.x refuses are
/// dropped and listed; demos contradicting a type are warnings.
///
/// ```
/// use hone_export::import_dspy_value;
/// let file = serde_json::json!({"demos": [], "lm": null, "signature": {"instructions": "Be brief.",
///   "fields": [{"prefix": "Question:", "description": "${question}"},
///              {"prefix": "Answer:", "description": "${answer}"}]}});
/// let imported = import_dspy_value(&file, None)?;
/// assert_eq!(imported.state.root().unwrap().signature.field_string(), "question -> answer");
/// # Ok::<(), hone_export::ExportError>(())
/// ```
pub fn import_dspy_value(
    value: &Value,
    structure: Option<&ProgramStructure>,
) -> Result<Imported, ExportError> {
    let (converted, notes) = convert_old_format(value, structure)?;
    let value = converted.as_ref().unwrap_or(value);
    check_program_like(value)?;
    let (inferred, structure) = match structure {
        Some(s) => {
            check_fit(value, s)?;
            (None, s.clone())
        }
        None => {
            let inferred = infer_structure(value)?;
            let s = inferred.structure.clone();
            (Some(inferred), s)
        }
    };
    let mut state = ProgramState::from_value_with(value, &structure)?;
    let dropped = drop_refused_keys(&mut state);
    let warnings = type_warnings(&state);
    Ok(Imported {
        state,
        inferred,
        warnings,
        dropped,
        notes,
    })
}

/// A file in DSPy's old format (2.4 and earlier) in the current layout, with a note per
/// predictor saying what was converted; `None` for a file in the current format. A
/// predictor's field names come from the structure or from DSPy's default instructions
/// ("Given the fields `a`, produce the fields `b`."); without either, the old-format error.
fn convert_old_format(
    value: &Value,
    structure: Option<&ProgramStructure>,
) -> Result<(Option<Value>, Vec<String>), ExportError> {
    let Some(obj) = value.as_object() else {
        return Ok((None, Vec::new()));
    };
    let Some(err) = old_format(obj) else {
        return Ok((None, Vec::new()));
    };
    let flat = is_old(value);
    let olds: Vec<(String, &Map<String, Value>)> = if flat {
        vec![(hone_core::state::ROOT_PREDICTOR.to_owned(), obj)]
    } else {
        obj.iter()
            .filter(|(_, v)| is_old(v))
            .filter_map(|(k, v)| v.as_object().map(|o| (k.clone(), o)))
            .collect()
    };
    let mut top = if flat { Map::new() } else { obj.clone() };
    let mut notes = Vec::new();
    for (name, old) in olds {
        let text = |k: &str| {
            old.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let instructions = text("signature_instructions");
        let names: Vec<String> = match structure.and_then(|s| s.get(&name)) {
            Some(sig) => sig.field_names().into_iter().map(str::to_owned).collect(),
            None => match crate::infer::default_instruction_names(&instructions) {
                Some((ins, outs)) => ins.into_iter().chain(outs).collect(),
                None => return Err(err),
            },
        };
        let last = names.len().saturating_sub(1);
        let fields: Vec<Value> = names
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let prefix = match text("signature_prefix") {
                    p if i == last && !p.is_empty() => p,
                    _ => format!("{}:", hone_core::infer_prefix(n)),
                };
                serde_json::json!({"prefix": prefix, "description": format!("${{{n}}}")})
            })
            .collect();
        let mut new = Map::new();
        for key in ["traces", "train", "demos"] {
            new.insert(
                key.into(),
                old.get(key).cloned().unwrap_or(Value::Array(Vec::new())),
            );
        }
        new.insert(
            "signature".into(),
            serde_json::json!({"instructions": instructions, "fields": fields}),
        );
        new.insert("lm".into(), old.get("lm").cloned().unwrap_or(Value::Null));
        let extra_keys: Vec<String> = old
            .get("demos")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_object)
            .flat_map(|d| d.keys())
            .filter(|k| *k != "augmented" && !names.contains(k))
            .fold(Vec::new(), |mut acc, k| {
                if !acc.contains(k) {
                    acc.push(k.clone());
                }
                acc
            });
        if !extra_keys.is_empty() {
            notes.push(format!(
                "predictor `{name}`: its demos also hold {} (DSPy 2.4's ChainOfThought kept its \
                 `rationale` so), which the program's fields do not show and its prompts leave out",
                extra_keys
                    .iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        notes.push(format!(
            "predictor `{name}`: converted from DSPy's old save format (DSPy 2.4 and earlier): \
             instructions from `signature_instructions`, the last field's prefix from \
             `signature_prefix`, the other prefixes and descriptions DSPy's defaults (the old \
             format keeps none); `extended_signature_instructions` and \
             `extended_signature_prefix` dropped (DSPy 3.x has no extended signature)"
        ));
        if flat {
            top = new;
        } else {
            top.insert(name, Value::Object(new));
        }
    }
    if !top.contains_key("metadata") {
        top.insert(
            "metadata".into(),
            serde_json::json!({"dependency_versions": {}}),
        );
    }
    Ok((Some(Value::Object(top)), notes))
}

/// Whether a predictor object is in DSPy 2.4's layout.
fn is_old(v: &Value) -> bool {
    v.get("signature").is_none()
        && (v.get("signature_instructions").is_some() || v.get("signature_prefix").is_some())
}

/// Removes the per-predictor keys DSPy 3.x's `load()` refuses ([`REFUSED_BY_DSPY3`]),
/// returning one sentence per key removed.
pub fn drop_refused_keys(state: &mut ProgramState) -> Vec<String> {
    let mut dropped = Vec::new();
    for (name, p) in &mut state.predictors {
        for (key, why) in REFUSED_BY_DSPY3 {
            if p.extra.shift_remove(*key).is_some() {
                dropped.push(format!("predictor `{name}`: dropped `{key}` ({why})"));
            }
        }
    }
    dropped
}

/// Demos whose values contradict a field's type: a `str` output holding arrays, numbers or
/// objects, or a typed field holding values of another kind.
pub fn type_warnings(state: &ProgramState) -> Vec<String> {
    let mut warnings = Vec::new();
    for (name, p) in &state.predictors {
        let demos: Vec<&Map<String, Value>> = p.demos.iter().map(|d| d.fields()).collect();
        for (role, field) in p.signature.fields() {
            let augmented_only = role == FieldRole::Output;
            let Some((seen, count)) = demo_type(demos.iter().copied(), &field.name, augmented_only)
            else {
                continue;
            };
            let declared = &field.ty;
            let fits = match (declared, &seen) {
                (_, t) if t == declared => true,
                (FieldType::Str, _) => role == FieldRole::Input,
                (FieldType::Float, FieldType::Int) => true,
                (_, FieldType::Str) => !matches!(
                    declared,
                    FieldType::List { .. }
                        | FieldType::Dict { .. }
                        | FieldType::Int
                        | FieldType::Float
                        | FieldType::Bool
                ),
                (FieldType::List { .. }, FieldType::List { .. }) => true,
                (FieldType::Dict { .. } | FieldType::Model(_), FieldType::Dict { .. }) => true,
                _ => true,
            };
            if !fits {
                warnings.push(format!(
                    "predictor `{name}`: {role} `{}` is `{}` but {count} demo{} hold{} `{}` \
                     values; DSPy would render `({})` if the program declares `{}: {}`",
                    field.name,
                    declared.python_name(),
                    if count == 1 { "" } else { "s" },
                    if count == 1 { "s" } else { "" },
                    seen.python_name(),
                    seen.python_name(),
                    field.name,
                    seen.python_name(),
                    role = match role {
                        FieldRole::Input => "input",
                        FieldRole::Output => "output",
                    },
                ));
            }
        }
    }
    warnings
}

/// Checks every predictor of the file against the structure and reports every misfit at once:
/// predictors the structure lacks, predictors the file lacks, and field counts that differ,
/// each with the file's prefixes and the `--signature` the file suggests.
fn check_fit(value: &Value, structure: &ProgramStructure) -> Result<(), ExportError> {
    let Some(top) = value.as_object() else {
        return Ok(());
    };
    let in_file = predictor_objects(top);
    let suggested = infer_structure(value).ok();
    let suggest = |name: &str| -> String {
        match suggested.as_ref().and_then(|i| i.structure.get(name)) {
            Some(sig) => signature_flag(name, sig),
            None => format!("--signature '{name}=INPUTS -> OUTPUTS'"),
        }
    };
    let prefixes = |obj: &Map<String, Value>| {
        prefixes_of(obj)
            .iter()
            .map(|p| format!("{p:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut problems = Vec::new();
    for (name, obj) in &in_file {
        match structure.get(name) {
            None => problems.push(format!(
                "the file's predictor `{name}` is not in the structure (its fields' prefixes: \
                 {}); suggested: {}",
                prefixes(obj),
                suggest(name)
            )),
            Some(sig) => {
                let count = prefixes_of(obj).len();
                let fields = sig.inputs.len() + sig.outputs.len();
                if count != fields {
                    problems.push(format!(
                        "predictor `{name}` has {count} fields in the file (prefixes: {}) but \
                         {fields} in the structure (`{}`); suggested: {}",
                        prefixes(obj),
                        sig.field_string(),
                        suggest(name)
                    ));
                }
            }
        }
    }
    let file_names: Vec<&str> = in_file.iter().map(|(n, _)| n.as_str()).collect();
    for name in structure.names() {
        if file_names.contains(&name) {
            continue;
        }
        let stage = name
            .strip_suffix(".predict")
            .or_else(|| name.strip_suffix(".react"))
            .unwrap_or(name);
        let hint = if file_names.contains(&format!("{stage}.predict").as_str()) {
            format!(
                " (the file's `{stage}.predict` is the predictor of a ChainOfThought `{stage}`: \
                 make the stage `module = \"chain_of_thought\"`, whose signature leaves out \
                 `reasoning`)"
            )
        } else if file_names.contains(&format!("{stage}.react").as_str()) {
            format!(
                " (the file's `{stage}.react` belongs to a ReAct `{stage}`: make the stage `module = \"react\"`)"
            )
        } else {
            String::new()
        };
        problems.push(format!(
            "the structure's predictor `{name}` has no state in the file{hint}"
        ));
    }
    // A hone-saved predictor names its fields: they must be the structure's.
    for (name, obj) in &in_file {
        let saved = obj
            .get("hone")
            .and_then(|h| h.get("signature"))
            .and_then(|v| serde_json::from_value::<Signature>(v.clone()).ok());
        if let (Some(saved), Some(sig)) = (saved, structure.get(name))
            && saved.field_names() != sig.field_names()
            && saved.inputs.len() + saved.outputs.len() == sig.inputs.len() + sig.outputs.len()
        {
            problems.push(format!(
                "predictor `{name}`: the file's fields are `{}` but the structure's are `{}`",
                saved.field_string(),
                sig.field_string()
            ));
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    Err(ExportError::Misfit {
        in_file: if file_names.is_empty() {
            "none".into()
        } else {
            file_names.join(", ")
        },
        problems,
    })
}

/// Rejects JSON that is clearly not a DSPy or hone program file, saying what it looks like;
/// DSPy's own older format gets a message naming it.
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
    if let Some(old) = old_format(obj) {
        return Err(old);
    }
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

/// DSPy 2.4 and earlier saved a predictor with `signature_instructions` and
/// `signature_prefix` (the last field's prefix) instead of a `signature` object.
fn old_format(obj: &Map<String, Value>) -> Option<ExportError> {
    let old: Vec<&str> = if is_old(&Value::Object(obj.clone())) {
        vec!["the top level"]
    } else {
        obj.iter()
            .filter(|(_, v)| is_old(v))
            .map(|(k, _)| k.as_str())
            .collect()
    };
    if old.is_empty() {
        return None;
    }
    let whole = Value::Object(obj.clone());
    let first = obj
        .get(old[0])
        .unwrap_or(&whole)
        .get("signature_instructions")
        .and_then(Value::as_str)
        .map(|s| format!(" Its instructions: {s:?}."))
        .unwrap_or_default();
    Some(ExportError::OldFormat {
        predictors: old
            .iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", "),
        hint: format!(
            "`hone import FILE` converts it when its instructions are DSPy's default ones \
             (they name the fields) or with --signature 'NAME=INPUTS -> OUTPUTS'; or load it \
             in DSPy 2.4 (or 2.5, which still reads it) into the program it was saved from and \
             save it again with `program.save(\"program.json\")`.{first}"
        ),
    })
}
