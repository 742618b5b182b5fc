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
struct Saved {
    name: String,
    instructions: String,
    fields: Vec<(String, String)>,
    demos: Vec<Map<String, Value>>,
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

/// Reads what a DSPy-saved program file (as JSON) shows about its program; see the
/// [module documentation](self).
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

/// A prefix back to the name DSPy's `infer_prefix` made it from: `Clean Text:` → `clean_text`,
/// `Reasoning: Let's think…` → `reasoning`. `None` when the prefix is not of that form.
fn name_from_prefix(prefix: &str) -> Option<String> {
    let head = prefix.split(':').next()?.trim();
    if head.is_empty()
        || !head
            .chars()
            .all(|c| c.is_alphanumeric() || c == ' ' || c == '_')
    {
        return None;
    }
    let name = head
        .split_whitespace()
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join("_");
    let first = name.chars().next()?;
    (first.is_alphabetic() || first == '_').then_some(name)
}

/// The field names of a DSPy default instruction "Given the fields `a`, `b`, produce the fields
/// `c`.": `(inputs, outputs)`.
pub(crate) fn default_instruction_names(instructions: &str) -> Option<(Vec<String>, Vec<String>)> {
    let rest = instructions.strip_prefix("Given the fields ")?;
    let (ins, rest) = rest.split_once(", produce the fields ")?;
    let outs = rest.split(['.', '\n']).next()?;
    let names = |s: &str| -> Vec<String> {
        s.split(',')
            .map(|n| n.trim().trim_matches('`').to_owned())
            .filter(|n| !n.is_empty())
            .collect()
    };
    Some((names(ins), names(outs)))
}

/// The field names, and how they were guessed (`None` when the file states them).
fn field_names(p: &Saved) -> (Vec<String>, Option<String>) {
    let n = p.fields.len();
    let mut names: Vec<Option<String>> = p
        .fields
        .iter()
        .map(|(_, d)| {
            d.strip_prefix("${")
                .and_then(|r| r.strip_suffix('}'))
                .filter(|r| !r.is_empty() && !r.contains(['$', '{', '}', ' ']))
                .map(str::to_owned)
        })
        .collect();
    if names.iter().all(Option::is_some) {
        return (names.into_iter().flatten().collect(), None);
    }
    // A bootstrapped demo holds every field in signature order.
    let demo_keys = p.demos.iter().find_map(|d| {
        let keys: Vec<String> = d.keys().filter(|k| *k != "augmented").cloned().collect();
        (d.get("augmented") == Some(&Value::Bool(true)) && keys.len() == n).then_some(keys)
    });
    if let Some(keys) = demo_keys
        && names
            .iter()
            .zip(&keys)
            .all(|(known, k)| known.as_ref().is_none_or(|n| n == k))
    {
        return (keys, None);
    }
    if let Some((ins, outs)) = default_instruction_names(&p.instructions)
        && ins.len() + outs.len() == n
    {
        return (ins.into_iter().chain(outs).collect(), None);
    }
    let mut from_prefix = Vec::new();
    let mut placeholder = Vec::new();
    for (i, slot) in names.iter_mut().enumerate() {
        if slot.is_some() {
            continue;
        }
        match name_from_prefix(&p.fields[i].0) {
            Some(name) => {
                from_prefix.push(format!("`{name}` (prefix `{}`)", p.fields[i].0));
                *slot = Some(name);
            }
            None => {
                let name = format!("field_{i}");
                placeholder.push(format!("`{name}` (prefix {:?})", p.fields[i].0));
                *slot = Some(name);
            }
        }
    }
    let mut how = Vec::new();
    if !from_prefix.is_empty() {
        how.push(format!("from prefixes: {}", from_prefix.join(", ")));
    }
    if !placeholder.is_empty() {
        how.push(format!(
            "unknown, named by position: {} — rename them to the program's names",
            placeholder.join(", ")
        ));
    }
    (names.into_iter().flatten().collect(), Some(how.join("; ")))
}

struct Split {
    /// The index of the first output.
    at: usize,
    /// How it was guessed, when it was.
    guess: Option<String>,
}

fn split_point(
    p: &Saved,
    names: &[String],
    earlier_outputs: &[(&str, &Field)],
    earlier_names: &[String],
    later: &[&Saved],
) -> Split {
    let n = names.len();
    let certain = |at: usize| Split { at, guess: None };
    if n >= 4 && names[n - 3..] == REACT_OUTPUTS {
        return certain(n - 3);
    }
    if let Some(r) = names
        .iter()
        .position(|f| f == "reasoning" || f == "rationale")
        && r > 0
        && (p.fields[r].0 == REASONING_PREFIX || p.name.ends_with("predict") || r < n - 1)
    {
        return certain(r);
    }
    if let Some((ins, outs)) = default_instruction_names(&p.instructions)
        && ins.len() + outs.len() == n
        && ins.iter().chain(&outs).zip(names).all(|(a, b)| a == b)
    {
        return certain(ins.len());
    }
    if n < 2 {
        return Split {
            at: 0,
            guess: Some("its one field is taken as an output".into()),
        };
    }
    // Dataflow: a field an earlier predictor produced is an input here; a field this
    // predictor hands to a later one (and no earlier predictor has) is an output here.
    let lower = names
        .iter()
        .rposition(|f| earlier_outputs.iter().any(|(o, _)| o == f))
        .map(|i| i + 1);
    let later_names: Vec<String> = later.iter().flat_map(|s| field_names(s).0).collect();
    let upper = names
        .iter()
        .enumerate()
        .skip(1)
        .find(|(_, f)| later_names.contains(f) && !earlier_names.contains(f))
        .map(|(i, _)| i);
    let (at, why) = match (lower, upper) {
        (Some(lo), Some(up)) if lo <= up => (
            lo.max(1).min(n - 1),
            "an earlier predictor produces the fields before it and a later one reads it",
        ),
        (Some(lo), _) if lo < n => (
            lo,
            "an earlier predictor produces the fields before it; the fields after it are taken as outputs",
        ),
        (_, Some(up)) => (
            up,
            "a later predictor reads it and no earlier one produces it",
        ),
        _ => (
            n - 1,
            "no other clue, so the last field is taken as the only output",
        ),
    };
    Split {
        at,
        guess: Some(format!(
            "inputs `{}`, outputs `{}`: the outputs start at `{}` because {why}",
            names[..at].join(", "),
            names[at..].join(", "),
            names[at]
        )),
    }
}

/// The type of one value as a demo shows it, `None` for a string or null.
fn value_type(v: &Value) -> Option<FieldType> {
    Some(match v {
        Value::Null | Value::String(_) => return None,
        Value::Bool(_) => FieldType::Bool,
        Value::Number(n) if n.is_i64() || n.is_u64() => FieldType::Int,
        Value::Number(_) => FieldType::Float,
        Value::Object(_) => FieldType::dict(FieldType::Str, FieldType::Any),
        Value::Array(items) => {
            let mut item: Option<FieldType> = None;
            for x in items {
                let t = value_type(x).unwrap_or(FieldType::Str);
                item = match item {
                    None => Some(t),
                    Some(prev) if prev == t => Some(prev),
                    Some(FieldType::Int) if t == FieldType::Float => Some(FieldType::Float),
                    Some(FieldType::Float) if t == FieldType::Int => Some(FieldType::Float),
                    Some(_) => Some(FieldType::Any),
                };
            }
            FieldType::list(item.unwrap_or(FieldType::Str))
        }
    })
}

/// What the demos' values say about a field's type: the type all non-null values share
/// (`Str` for strings), with how many demos hold it; `None` when no demo holds the field or
/// the values disagree.
pub(crate) fn demo_type<'a>(
    demos: impl Iterator<Item = &'a Map<String, Value>>,
    field: &str,
    augmented_only: bool,
) -> Option<(FieldType, usize)> {
    let mut seen: Option<FieldType> = None;
    let mut count = 0;
    for d in demos {
        if augmented_only && d.get("augmented") != Some(&Value::Bool(true)) {
            continue;
        }
        let Some(v) = d.get(field) else { continue };
        if v.is_null() {
            continue;
        }
        let t = value_type(v).unwrap_or(FieldType::Str);
        match &seen {
            None => seen = Some(t),
            Some(prev) if *prev == t => {}
            Some(FieldType::Int) if t == FieldType::Float => seen = Some(FieldType::Float),
            Some(FieldType::Float) if t == FieldType::Int => {}
            Some(_) => return None,
        }
        count += 1;
    }
    seen.map(|t| (t, count))
}

fn field_type(
    p: &Saved,
    name: &str,
    role: FieldRole,
    earlier_outputs: &[(&str, &Field)],
    tools: &[InferredTool],
) -> (FieldType, Option<String>) {
    if role == FieldRole::Output && name == "next_tool_name" && !tools.is_empty() {
        let mut names: Vec<String> = tools.iter().map(|t| t.name.clone()).collect();
        names.push("finish".into());
        return (FieldType::literal(names), None);
    }
    if role == FieldRole::Output && name == "next_tool_args" {
        return (FieldType::dict(FieldType::Str, FieldType::Any), None);
    }
    if role == FieldRole::Input
        && let Some((_, f)) = earlier_outputs.iter().rev().find(|(o, _)| *o == name)
    {
        return (f.ty.clone(), None);
    }
    let demos = || p.demos.iter();
    match role {
        FieldRole::Output => match demo_type(demos(), name, true) {
            Some((FieldType::Str, _)) | None => (FieldType::Str, None),
            Some((t, count)) => {
                let note = format!(
                    "output `{name}` typed `{}` from {count} bootstrapped demo{} holding such values",
                    t.python_name(),
                    if count == 1 { "" } else { "s" }
                );
                (t, Some(note))
            }
        },
        FieldRole::Input => match demo_type(demos(), name, false) {
            Some((FieldType::Str, _)) | None => (FieldType::Str, None),
            Some((t, count)) => (
                FieldType::Str,
                Some(format!(
                    "input `{name}` left `str` although {count} demo{} hold{} `{}` values (DSPy \
                     formats any value given to a `str` input); declare `{name}: {}` if the \
                     program does",
                    if count == 1 { "" } else { "s" },
                    if count == 1 { "s" } else { "" },
                    t.python_name(),
                    t.python_name()
                )),
            ),
        },
    }
}

/// ReAct's tools as its instructions list them: `(1) search_wikipedia. It takes arguments
/// {'query': {'type': 'string'}} in JSON format.`, without `finish`.
pub fn parse_react_tools(instructions: &str) -> Vec<InferredTool> {
    let mut tools = Vec::new();
    for line in instructions.lines() {
        let Some(rest) = line.strip_prefix('(') else {
            continue;
        };
        let Some((num, rest)) = rest.split_once(") ") else {
            continue;
        };
        if num.is_empty() || !num.chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        let name_end = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        let name = &rest[..name_end];
        if name.is_empty() || name == "finish" {
            continue;
        }
        let after = &rest[name_end..];
        let description = after
            .split_once("whose description is <desc>")
            .and_then(|(_, d)| d.split_once("</desc>"))
            .map(|(d, _)| d.trim().to_owned())
            .unwrap_or_default();
        let args = after
            .split_once("It takes arguments ")
            .and_then(|(_, a)| a.rsplit_once(" in JSON format"))
            .map(|(a, _)| a.trim().to_owned())
            .unwrap_or_default();
        tools.push(InferredTool {
            name: name.to_owned(),
            description,
            args,
        });
    }
    tools
}

/// Groups predictors into stages by DSPy's naming: `X.predict` with reasoning is a
/// ChainOfThought `X`; `X.react` + `X.extract.predict` a ReAct `X`.
fn group_stages(
    all: &[Saved],
    signatures: &[(String, Signature)],
    guesses: &mut Vec<String>,
) -> Vec<InferredStage> {
    let mut stages = Vec::new();
    let mut used = vec![false; signatures.len()];
    let root_stage = |prefix: &str| {
        if prefix.is_empty() {
            ROOT_PREDICTOR.to_owned()
        } else {
            prefix.to_owned()
        }
    };
    for (i, (name, sig)) in signatures.iter().enumerate() {
        if used[i] {
            continue;
        }
        let (prefix, is_react) = match name.strip_suffix("react") {
            Some(p) if p.is_empty() || p.ends_with('.') => (p.trim_end_matches('.'), true),
            _ => ("", false),
        };
        if is_react {
            let extract = if prefix.is_empty() {
                "extract.predict".to_owned()
            } else {
                format!("{prefix}.extract.predict")
            };
            if let Some(j) = signatures.iter().position(|(n, _)| *n == extract) {
                used[i] = true;
                used[j] = true;
                let ex = &signatures[j].1;
                let mut own = ex.clone();
                own.inputs.retain(|f| f.name != "trajectory");
                own.outputs.retain(|f| f.name != "reasoning");
                own.instructions = all[j].instructions.clone();
                let tools = parse_react_tools(&all[i].instructions);
                let stage = root_stage(prefix);
                guesses.push(format!(
                    "`{name}` and `{extract}` read as one ReAct module (stage `{stage}`) with \
                     tools {}",
                    if tools.is_empty() {
                        "none found in its instructions".to_owned()
                    } else {
                        tools
                            .iter()
                            .map(|t| format!("`{}`", t.name))
                            .collect::<Vec<_>>()
                            .join(", ")
                    }
                ));
                stages.push(InferredStage {
                    name: stage,
                    module: InferredModule::React { tools },
                    signature: own,
                    predictors: vec![name.clone(), extract],
                });
                continue;
            }
        }
        used[i] = true;
        let cot_prefix = match name.as_str() {
            "predict" => Some(""),
            n => n.strip_suffix(".predict"),
        };
        let reasoning_first = sig.outputs.first().is_some_and(|f| f.name == "reasoning");
        if let Some(prefix) = cot_prefix
            && reasoning_first
        {
            let mut own = sig.clone();
            own.outputs.remove(0);
            stages.push(InferredStage {
                name: root_stage(prefix),
                module: InferredModule::ChainOfThought,
                signature: own,
                predictors: vec![name.clone()],
            });
            continue;
        }
        if reasoning_first {
            guesses.push(format!(
                "`{name}` has a `reasoning` output but is not named `….predict`: read as a \
                 predict whose outputs begin with `reasoning` (DSPy 2.5 and earlier saved a \
                 ChainOfThought so), which renders the same prompts"
            ));
        }
        stages.push(InferredStage {
            name: name.clone(),
            module: InferredModule::Predict,
            signature: sig.clone(),
            predictors: vec![name.clone()],
        });
    }
    stages
}

/// A `--signature` flag for a predictor, quoted for a POSIX shell.
pub fn signature_flag(name: &str, sig: &Signature) -> String {
    let arg = format!("{name}={}", signature_line(sig));
    if arg.contains('\'') {
        let mut quoted = String::with_capacity(arg.len() + 2);
        for c in arg.chars() {
            if matches!(c, '"' | '\\' | '$' | '`') {
                quoted.push('\\');
            }
            quoted.push(c);
        }
        format!("--signature \"{quoted}\"")
    } else {
        format!("--signature '{arg}'")
    }
}

/// DSPy's string form of a signature with the types the structure declares:
/// `context, question -> answer: list[str]`, for `--signature` suggestions and TOML stages.
pub fn signature_line(sig: &Signature) -> String {
    let side = |fs: &[Field]| {
        fs.iter()
            .map(|f| {
                if f.type_declared && f.ty != FieldType::Str {
                    format!("{}: {}", f.name, f.ty.python_name())
                } else {
                    f.name.clone()
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!("{} -> {}", side(&sig.inputs), side(&sig.outputs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_give_back_the_names_infer_prefix_made() {
        assert_eq!(
            name_from_prefix("Clean Text:").as_deref(),
            Some("clean_text")
        );
        assert_eq!(
            name_from_prefix(REASONING_PREFIX).as_deref(),
            Some("reasoning")
        );
        assert_eq!(name_from_prefix("```python\n"), None);
    }

    #[test]
    fn react_tools_are_read_from_the_instructions() {
        let text = "Thought can ...:\n\n(1) search_wikipedia. It takes arguments {'query': \
                    {'type': 'string'}} in JSON format.\n(2) finish, whose description is \
                    <desc>Signals done.</desc>. It takes arguments {'kwargs': 'Any'} in JSON format.";
        let tools = parse_react_tools(text);
        assert_eq!(tools.len(), 1);
        assert_eq!(tools[0].name, "search_wikipedia");
        assert_eq!(tools[0].args, "{'query': {'type': 'string'}}");
    }

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
