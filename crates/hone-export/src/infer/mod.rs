//! Reading a DSPy-saved program without its Python source: what the file itself shows.
//!
//! DSPy's `program.save()` keeps, per predictor, the instructions and each field's prefix and
//! description, in signature order, plus the demos; it keeps no field names, roles or types.
//! Most of them can still be read off the file:
//!
//! * **names** — a description `${name}` is DSPy's placeholder for a field without one; a
//!   bootstrapped demo (`"augmented": true`) holds every field, in signature order; DSPy's
//!   default instructions ("Given the fields `a`, produce the fields `b`.") name them; a prefix
//!   is DSPy's `infer_prefix(name)` unless someone rewrote it;
//! * **roles** — ChainOfThought's `reasoning` (prefix `Reasoning: Let's think step by step…`)
//!   is the first output; ReAct's `react` predictor ends with `next_thought`,
//!   `next_tool_name`, `next_tool_args`; the default instructions list inputs and outputs; in a
//!   program of several predictors, a field an earlier predictor produces is an input, and a
//!   field this predictor produces for a later one is an output; otherwise the last field is
//!   taken as the only output;
//! * **types** — an output's values in bootstrapped demos were parsed by DSPy for its type, so
//!   arrays, numbers, booleans and objects there give `list[T]`, `int`, `float`, `bool` and
//!   `dict[str, Any]`; an input takes the type of the earlier output of the same name, else
//!   `str`; ReAct's tool names come from its instructions;
//! * **modules** — `NAME.predict` with a reasoning field is a ChainOfThought stage `NAME`;
//!   `NAME.react` with `NAME.extract.predict` a ReAct stage (`react` and `extract.predict`
//!   alone: the program is the ReAct).
//!
//! Everything that is not certain is listed in [`Inferred::guesses`] for the user to confirm.

use hone_core::state::{ProgramStructure, ROOT_PREDICTOR};
use hone_core::{Field, FieldRole, FieldType, Signature};
use serde_json::{Map, Value};

use crate::error::ExportError;

mod names;
mod render;
mod roles;
mod stages;
mod types;

pub(crate) use names::default_instruction_names;
use names::field_names;
pub use render::{signature_flag, signature_line};
use roles::split_point;
use stages::group_stages;
pub use stages::parse_react_tools;
pub(crate) use types::demo_type;
use types::field_type;

/// ChainOfThought's reasoning prefix, as DSPy 2.5 to 3.x write it.
const REASONING_PREFIX: &str = "Reasoning: Let's think step by step in order to";

/// ReAct's `react` predictor outputs, in order.
const REACT_OUTPUTS: [&str; 3] = ["next_thought", "next_tool_name", "next_tool_args"];

/// The module kind a group of predictors was read as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InferredModule {
    /// `dspy.Predict`.
    Predict,
    /// `dspy.ChainOfThought` (its predictor `NAME.predict` has a `reasoning` output first).
    ChainOfThought,
    /// `dspy.ReAct` (predictors `NAME.react` and `NAME.extract.predict`), with the tools its
    /// instructions list (without `finish`) and each tool's argument schema as the
    /// instructions show it.
    React {
        /// The tools: name, description (may be empty) and argument schema text.
        tools: Vec<InferredTool>,
    },
}

impl InferredModule {
    /// The TOML spelling of the module kind.
    pub fn as_str(&self) -> &'static str {
        match self {
            InferredModule::Predict => "predict",
            InferredModule::ChainOfThought => "chain_of_thought",
            InferredModule::React { .. } => "react",
        }
    }
}

/// A ReAct tool as its instructions list it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InferredTool {
    /// The tool's name.
    pub name: String,
    /// Its description (empty when the instructions show none).
    pub description: String,
    /// Its arguments as DSPy printed them (a Python dict, e.g. `{'query': {'type': 'string'}}`).
    pub args: String,
}

/// A stage of the program: one module holding one or more of the file's predictors.
#[derive(Debug, Clone, PartialEq)]
pub struct InferredStage {
    /// The stage's name (`self` when the whole program is this module).
    pub name: String,
    /// The module kind.
    pub module: InferredModule,
    /// The stage's own signature: without ChainOfThought's `reasoning`; for ReAct, the
    /// program's inputs and outputs (the `extract` predictor's, less `trajectory` and
    /// `reasoning`).
    pub signature: Signature,
    /// The file's predictors this stage holds.
    pub predictors: Vec<String>,
}

/// What a DSPy file shows about its program.
#[derive(Debug, Clone, PartialEq)]
pub struct Inferred {
    /// Predictor names and full signatures (names, roles, types; the file's prefixes,
    /// descriptions and instructions applied), in file order.
    pub structure: ProgramStructure,
    /// The modules holding them.
    pub stages: Vec<InferredStage>,
    /// What was guessed rather than read, one sentence each, for the user to confirm.
    pub guesses: Vec<String>,
}

/// One predictor's saved fields: `(prefix, description)` in order.
#[derive(Debug, Clone)]
pub(super) struct Saved {
    pub(super) name: String,
    pub(super) instructions: String,
    pub(super) fields: Vec<(String, String)>,
    pub(super) demos: Vec<Map<String, Value>>,
}

/// The predictors of a DSPy or hone program file, as `(name, object)` in file order.
pub(crate) fn predictor_objects(top: &Map<String, Value>) -> Vec<(String, &Map<String, Value>)> {
    let flat = matches!(top.get("signature"), Some(Value::Object(s))
        if s.contains_key("instructions") || s.contains_key("fields"));
    if flat {
        return vec![(ROOT_PREDICTOR.to_owned(), top)];
    }
    top.iter()
        .filter(|(k, _)| k.as_str() != "metadata")
        .filter_map(|(k, v)| match v {
            Value::Object(o) if o.contains_key("signature") => Some((k.clone(), o)),
            _ => None,
        })
        .collect()
}

fn saved(name: &str, obj: &Map<String, Value>) -> Result<Saved, ExportError> {
    let bad = |what: &str| ExportError::Foreign {
        what: "a DSPy program file".into(),
        problem: format!("predictor `{name}`: {what}"),
    };
    let sig = obj
        .get("signature")
        .and_then(Value::as_object)
        .ok_or_else(|| bad("`signature` is not an object"))?;
    let instructions = sig
        .get("instructions")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let fields = sig
        .get("fields")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("`signature.fields` is not an array"))?
        .iter()
        .map(|f| {
            let text = |k: &str| {
                f.get(k)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned()
            };
            (text("prefix"), text("description"))
        })
        .collect();
    let demos = obj
        .get("demos")
        .and_then(Value::as_array)
        .map(|d| d.iter().filter_map(|x| x.as_object().cloned()).collect())
        .unwrap_or_default();
    Ok(Saved {
        name: name.to_owned(),
        instructions,
        fields,
        demos,
    })
}

/// The files's field prefixes of a predictor, for messages.
pub(crate) fn prefixes_of(obj: &Map<String, Value>) -> Vec<String> {
    obj.get("signature")
        .and_then(|s| s.get("fields"))
        .and_then(Value::as_array)
        .map(|fs| {
            fs.iter()
                .map(|f| {
                    f.get("prefix")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned()
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Reads what a DSPy-saved program file (as JSON) shows about its program: its predictors'
/// field names, roles and types and the modules they form, with every guess listed.
///
/// ```
/// use hone_export::infer_structure;
/// let file = serde_json::json!({
///   "answer.predict": {"demos": [], "lm": null, "signature": {"instructions": "Answer.",
///     "fields": [{"prefix": "Question:", "description": "${question}"},
///                {"prefix": "Reasoning: Let's think step by step in order to", "description": "${reasoning}"},
///                {"prefix": "Answer:", "description": "${answer}"}]}}});
/// let inferred = infer_structure(&file)?;
/// let sig = inferred.structure.get("answer.predict").unwrap();
/// assert_eq!(sig.field_string(), "question -> reasoning, answer");
/// assert_eq!(inferred.stages[0].module.as_str(), "chain_of_thought");
/// # Ok::<(), hone_export::ExportError>(())
/// ```
pub fn infer_structure(value: &Value) -> Result<Inferred, ExportError> {
    crate::import::check_program_like(value)?;
    let Some(top) = value.as_object() else {
        return Err(ExportError::Foreign {
            what: "a DSPy program file".into(),
            problem: "not a JSON object".into(),
        });
    };
    let mut all = Vec::new();
    for (name, obj) in predictor_objects(top) {
        all.push(saved(&name, obj)?);
    }
    let mut guesses = Vec::new();
    let mut signatures: Vec<(String, Signature)> = Vec::new();
    let react_tools = |s: &Saved| parse_react_tools(&s.instructions);
    for (i, p) in all.iter().enumerate() {
        // A hone-saved predictor carries its whole signature.
        if let Some(sig) = predictor_objects(top)
            .iter()
            .find(|(n, _)| *n == p.name)
            .and_then(|(_, o)| o.get("hone")?.get("signature").cloned())
            .and_then(|v| serde_json::from_value::<Signature>(v).ok())
        {
            signatures.push((p.name.clone(), sig));
            continue;
        }
        let (names, how) = field_names(p);
        if let Some(how) = how {
            guesses.push(format!("predictor `{}`: field names {how}", p.name));
        }
        let later: Vec<&Saved> = all[i + 1..].iter().collect();
        let earlier_outputs: Vec<(&str, &Field)> = signatures
            .iter()
            .flat_map(|(_, s)| s.outputs.iter().map(|f| (f.name.as_str(), f)))
            .collect();
        let earlier_names: Vec<String> = all[..i].iter().flat_map(|s| field_names(s).0).collect();
        let split = split_point(p, &names, &earlier_outputs, &earlier_names, &later);
        if let Some(note) = &split.guess {
            guesses.push(format!("predictor `{}`: {note}", p.name));
        }
        let mut sig = Signature::builder()
            .instructions(p.instructions.clone())
            .build()
            .map_err(|e| sig_error(&p.name, &e))?;
        for (j, name) in names.iter().enumerate() {
            let (prefix, description) = &p.fields[j];
            let role = if j < split.at {
                FieldRole::Input
            } else {
                FieldRole::Output
            };
            let (ty, note) = field_type(p, name, role, &earlier_outputs, &react_tools(p));
            if let Some(note) = note {
                guesses.push(format!("predictor `{}`: {note}", p.name));
            }
            let mut field = Field::new(name.clone(), ty.clone())
                .prefix(prefix.clone())
                .desc(description.clone());
            // The fields DSPy's modules add are declared in hone's modules too.
            let in_module = p.name == "predict" || p.name.ends_with(".predict");
            let in_react = p.name == "react" || p.name.ends_with(".react");
            field.type_declared = ty != FieldType::Str
                || (in_module && matches!(name.as_str(), "reasoning" | "trajectory"))
                || (in_react && matches!(name.as_str(), "trajectory" | "next_thought"));
            match role {
                FieldRole::Input => sig.inputs.push(field),
                FieldRole::Output => sig.outputs.push(field),
            }
        }
        sig.validate().map_err(|e| sig_error(&p.name, &e))?;
        signatures.push((p.name.clone(), sig));
    }
    let stages = group_stages(&all, &signatures, &mut guesses);
    Ok(Inferred {
        structure: signatures.into_iter().collect(),
        stages,
        guesses,
    })
}

fn sig_error(predictor: &str, e: &hone_core::SignatureError) -> ExportError {
    ExportError::Foreign {
        what: "a DSPy program file hone can read without its structure".into(),
        problem: format!(
            "predictor `{predictor}`: {e}; give the structure with --signature \
             '{predictor}=INPUTS -> OUTPUTS'"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_types_come_from_bootstrapped_demos_and_inputs_stay_str() {
        let file = serde_json::json!({
            "a": {"demos": [{"augmented": true, "x": ["p"], "y": ["q", "r"]}], "lm": null,
                  "signature": {"instructions": "Do.", "fields": [
                      {"prefix": "X:", "description": "${x}"},
                      {"prefix": "Y:", "description": "${y}"}]}}});
        let inferred = infer_structure(&file).expect("present");
        let sig = inferred.structure.get("a").expect("present");
        assert_eq!(sig.inputs[0].ty, FieldType::Str);
        assert_eq!(sig.outputs[0].ty, FieldType::list(FieldType::Str));
        assert_eq!(signature_line(sig), "x -> y: list[str]");
        assert!(
            inferred
                .guesses
                .iter()
                .any(|g| g.contains("input `x` left `str`"))
        );
    }
}
