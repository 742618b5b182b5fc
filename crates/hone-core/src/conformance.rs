//! Checking hone's adapters against reference renderings made by DSPy itself.
//!
//! A reference case is a directory of JSON files written by `make_golden.py` (see
//! `testdata/dspy-golden/README.md`): `signature.json`, `inputs.json`, `demos.json`,
//! `{chat,json,xml,baml,two_step}.messages.json` (those the case was rendered with), for
//! `two_step` also `two_step.extraction.json` (`{completion, messages}`: the extraction LM's
//! prompt for a sample answer of the main LM), and `parse.json`. This module does no IO: the caller reads
//! the files and hands their contents over as a [`CaseFiles`]; [`check_case`] rebuilds the
//! signature, formats and parses with each adapter and compares byte for byte.
//!
//! Checks are named `chat.format`, `json.format`, `xml.format`, `baml.format`,
//! `two_step.format`, `two_step.extraction` and
//! `parse[i].chat` (row `i` of `parse.json`, parsed with the adapter it names: `chat`, `json`,
//! `xml` or `baml`).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;

use crate::adapter::{Adapter, AdapterKind};
use crate::example::Example;
use crate::message::{Message, Role};
use crate::pytype::parse_type;
use crate::signature::{Field, Signature};
use crate::types::{EnumType, FieldType};

/// The contents of one reference case's files, by file name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseFiles {
    /// The case name (its directory name).
    pub name: String,
    /// File name (`signature.json`) → contents.
    pub files: BTreeMap<String, String>,
}

impl CaseFiles {
    /// An empty case called `name`.
    pub fn new(name: impl Into<String>) -> Self {
        CaseFiles {
            name: name.into(),
            files: BTreeMap::new(),
        }
    }

    /// Adds a file's contents (builder style).
    pub fn with_file(mut self, file: impl Into<String>, contents: impl Into<String>) -> Self {
        self.files.insert(file.into(), contents.into());
        self
    }

    fn json(&self, file: &str) -> Result<Option<Value>, ConformanceError> {
        let Some(text) = self.files.get(file) else {
            return Ok(None);
        };
        serde_json::from_str(text)
            .map(Some)
            .map_err(|e| self.error(file, format!("invalid JSON: {e}")))
    }

    fn required_json(&self, file: &str) -> Result<Value, ConformanceError> {
        self.json(file)?
            .ok_or_else(|| self.error(file, "the file is missing".into()))
    }

    fn error(&self, file: &str, message: String) -> ConformanceError {
        ConformanceError {
            case: self.name.clone(),
            file: file.to_owned(),
            message,
        }
    }
}

/// A reference case that cannot be read: which case and file, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("case `{case}`, file `{file}`: {message}")]
pub struct ConformanceError {
    /// The case name.
    pub case: String,
    /// The file inside the case directory.
    pub file: String,
    /// What is wrong.
    pub message: String,
}

/// The outcome of one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// `chat.format`, `parse[2].json`, ...
    pub name: String,
    /// `None` when hone matches DSPy; otherwise a short description of the first difference.
    pub failure: Option<String>,
}

impl Check {
    /// Whether hone matched DSPy.
    pub fn passed(&self) -> bool {
        self.failure.is_none()
    }
}

/// All checks of one case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseReport {
    /// The case name.
    pub case: String,
    /// The checks, formats first, then parse rows in file order.
    pub checks: Vec<Check>,
}

impl CaseReport {
    /// The number of checks that passed.
    pub fn passed(&self) -> usize {
        self.checks.iter().filter(|c| c.passed()).count()
    }

    /// The number of checks that failed.
    pub fn failed(&self) -> usize {
        self.checks.len() - self.passed()
    }
}

/// Builds the signature a reference case's `signature.json` describes. Field types are read
/// from their Python repr (`list[cases.Person]`, `typing.Optional[str]`) with models taken from
/// the field's JSON Schema, or from the JSON Schema alone when the repr is not understood.
pub fn signature_from_reference(sig: &Value) -> Result<Signature, String> {
    let instructions = sig
        .get("instructions")
        .and_then(Value::as_str)
        .ok_or("`instructions` must be a string")?;
    let fields = |key: &str| -> Result<Vec<Field>, String> {
        let list = sig
            .get(key)
            .and_then(Value::as_array)
            .ok_or_else(|| format!("`{key}` must be a list of fields"))?;
        list.iter()
            .enumerate()
            .map(|(i, f)| field_from_reference(f).map_err(|e| format!("{key}[{i}]: {e}")))
            .collect()
    };
    let signature = Signature {
        name: "StringSignature".into(),
        instructions: instructions.to_owned(),
        inputs: fields("inputs")?,
        outputs: fields("outputs")?,
    };
    signature.validate().map_err(|e| e.to_string())?;
    Ok(signature)
}

fn field_from_reference(f: &Value) -> Result<Field, String> {
    let text = |k: &str| {
        f.get(k)
            .and_then(Value::as_str)
            .ok_or_else(|| format!("`{k}` must be a string"))
    };
    let name = text("name")?;
    let schema = f.get("json_schema").cloned().unwrap_or(Value::Null);
    let from_schema = FieldType::from_json_schema(&schema);
    let repr = text("type")?;
    let annotation = ["<class '", "<enum '"]
        .iter()
        .find_map(|open| repr.strip_prefix(open)?.strip_suffix("'>"))
        .unwrap_or(repr);
    let resolver = |n: &str| from_schema.as_ref().ok().and_then(|t| t.find_named(n));
    let ty = match parse_type(annotation, &resolver) {
        Ok(t) => t,
        Err(e) => from_schema.map_err(|se| format!("type `{repr}`: {e}; JSON Schema: {se}"))?,
    };
    let ty = match f.get("enums") {
        Some(enums) => with_member_names(&ty, enums)?,
        None => ty,
    };
    let mut field = Field::new(name, ty)
        .prefix(text("prefix")?)
        .desc(text("desc")?);
    if let Some(c) = f.get("constraints").and_then(Value::as_str) {
        field = field.constraints(c);
    }
    Ok(field)
}

/// The type with its enum classes' member names taken from a case's `enums` list
/// (`[{"name": "Level", "members": [{"name": "LOW", "value": "low"}]}]`), which `make_golden.py`
/// writes because a JSON Schema holds the values only.
fn with_member_names(ty: &FieldType, enums: &Value) -> Result<FieldType, String> {
    let named: Vec<EnumType> = serde_json::from_value(enums.clone())
        .map_err(|e| format!("`enums` must list enum classes with their members: {e}"))?;
    let classes: Vec<Arc<EnumType>> = ty
        .enums()
        .into_iter()
        .map(|class| match named.iter().find(|n| n.name == class.name) {
            Some(n) => Arc::new(EnumType {
                members: n.members.clone(),
                ..(*class).clone()
            }),
            None => class,
        })
        .collect();
    Ok(ty.with_enums(&classes))
}

/// Runs every check of a case. An error means the case's files are malformed, not that hone
/// differs from DSPy (that is a failed [`Check`]).
pub fn check_case(case: &CaseFiles) -> Result<CaseReport, ConformanceError> {
    let sig_json = case.required_json("signature.json")?;
    let signature =
        signature_from_reference(&sig_json).map_err(|m| case.error("signature.json", m))?;
    let inputs = Example::from_json(case.required_json("inputs.json")?).ok_or_else(|| {
        case.error(
            "inputs.json",
            "expected a JSON object of input values".into(),
        )
    })?;
    let demos = match case.json("demos.json")? {
        None => Vec::new(),
        Some(Value::Array(items)) => items
            .into_iter()
            .enumerate()
            .map(|(i, d)| {
                Example::from_json(d)
                    .ok_or_else(|| case.error("demos.json", format!("demo {i} is not an object")))
            })
            .collect::<Result<Vec<_>, _>>()?,
        Some(_) => return Err(case.error("demos.json", "expected a list of demos".into())),
    };
    let mut checks = Vec::new();
    for kind in AdapterKind::all() {
        let file = format!("{kind}.messages.json");
        let Some(expected) = case.json(&file)? else {
            continue;
        };
        let actual = kind.adapter().format(&signature, &demos, &inputs);
        let failure = compare_format(&expected, actual).map_err(|m| case.error(&file, m))?;
        checks.push(Check {
            name: format!("{kind}.format"),
            failure,
        });
    }
    if let Some(check) = check_extraction(case, &signature)? {
        checks.push(check);
    }
    if let Some(rows) = case.json("parse.json")? {
        let rows = rows
            .as_array()
            .ok_or_else(|| case.error("parse.json", "expected a list of rows".into()))?;
        for (i, row) in rows.iter().enumerate() {
            let bad = |m: &str| case.error("parse.json", format!("row {i}: {m}"));
            let kind: AdapterKind = row
                .get("adapter")
                .and_then(Value::as_str)
                .ok_or_else(|| bad("`adapter` must be a string"))?
                .parse()
                .map_err(|e: String| bad(&e))?;
            let completion = row
                .get("completion")
                .and_then(Value::as_str)
                .ok_or_else(|| bad("`completion` must be a string"))?;
            let actual = kind.adapter().parse(&signature, completion);
            let failure = match (row.get("result"), row.get("error"), actual) {
                (Some(expected), _, Ok(pred)) => {
                    let got = Value::Object(pred.into_fields());
                    (&got != expected).then(|| format!("expected {expected}\n got     {got}"))
                }
                (Some(expected), _, Err(e)) => {
                    Some(format!("expected {expected}\n hone failed: {e}"))
                }
                (None, Some(err), Ok(pred)) => Some(format!(
                    "DSPy raised {err}, hone parsed {}",
                    Value::Object(pred.into_fields())
                )),
                (None, Some(_), Err(_)) => None,
                (None, None, _) => return Err(bad("a row needs `result` or `error`")),
            };
            checks.push(Check {
                name: format!("parse[{i}].{kind}"),
                failure,
            });
        }
    }
    Ok(CaseReport {
        case: case.name.clone(),
        checks,
    })
}

/// The `two_step.extraction` check: the extraction LM's prompt (the [`ChatAdapter`] on the
/// two-step adapter's extraction signature, the main LM's answer as `text`), if the case has
/// `two_step.extraction.json`.
///
/// [`ChatAdapter`]: crate::adapter::ChatAdapter
fn check_extraction(
    case: &CaseFiles,
    signature: &Signature,
) -> Result<Option<Check>, ConformanceError> {
    const FILE: &str = "two_step.extraction.json";
    let Some(reference) = case.json(FILE)? else {
        return Ok(None);
    };
    let completion = reference
        .get("completion")
        .and_then(Value::as_str)
        .ok_or_else(|| case.error(FILE, "`completion` must be a string".into()))?;
    let expected = reference
        .get("messages")
        .ok_or_else(|| case.error(FILE, "`messages` is missing".into()))?;
    let adapter = AdapterKind::TwoStep.adapter();
    let actual = match adapter.extraction_signature(signature) {
        Some(extraction) => {
            let mut text = Example::new();
            text.insert(crate::adapter::EXTRACTION_TEXT_FIELD, completion);
            crate::adapter::ChatAdapter::new().format(&extraction, &[], &text)
        }
        None => {
            return Err(case.error(FILE, "the two-step adapter has no extraction step".into()));
        }
    };
    let failure = compare_format(expected, actual).map_err(|m| case.error(FILE, m))?;
    Ok(Some(Check {
        name: "two_step.extraction".into(),
        failure,
    }))
}

/// `None` if the messages match; otherwise the first difference. `Err` if the reference file
/// is malformed.
fn compare_format(
    expected: &Value,
    actual: Result<Vec<Message>, crate::adapter::AdapterError>,
) -> Result<Option<String>, String> {
    if let Some(err) = expected.get("error") {
        return Ok(match actual {
            Err(_) => None,
            Ok(msgs) => Some(format!(
                "DSPy raised {err} ({}), hone formatted {} messages",
                expected
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or(""),
                msgs.len()
            )),
        });
    }
    let list = expected
        .as_array()
        .ok_or("expected a list of messages or an {\"error\": ...} object")?;
    let mut want = Vec::with_capacity(list.len());
    for (i, m) in list.iter().enumerate() {
        let role = match m.get("role").and_then(Value::as_str) {
            Some("system") => Role::System,
            Some("user") => Role::User,
            Some("assistant") => Role::Assistant,
            other => return Err(format!("message {i}: unknown role {other:?}")),
        };
        let content = match m.get("content") {
            Some(c @ (Value::String(_) | Value::Array(_))) => c.clone(),
            _ => {
                return Err(format!(
                    "message {i}: `content` must be a string or a list of content parts"
                ));
            }
        };
        want.push((role, content));
    }
    let got = match actual {
        Ok(m) => m,
        Err(e) => return Ok(Some(format!("DSPy formatted the call, hone failed: {e}"))),
    };
    for (i, ((role, content), g)) in want.iter().zip(&got).enumerate() {
        if *role != g.role {
            return Ok(Some(format!(
                "message {i}: role {role:?} expected, hone has {:?}",
                g.role
            )));
        }
        let mine = g.content_value();
        if *content != mine {
            let text = |v: &Value| match v {
                Value::String(s) => s.clone(),
                other => serde_json::to_string_pretty(other).unwrap_or_default(),
            };
            return Ok(Some(format!(
                "message {i} ({role:?}): {}",
                first_line_difference(&text(content), &text(&mine))
            )));
        }
    }
    if want.len() != got.len() {
        return Ok(Some(format!(
            "{} messages expected, hone has {}",
            want.len(),
            got.len()
        )));
    }
    Ok(None)
}

fn clip(s: &str) -> String {
    const MAX: usize = 160;
    if s.chars().count() <= MAX {
        format!("{s:?}")
    } else {
        let head: String = s.chars().take(MAX).collect();
        format!("{head:?}…")
    }
}

/// The first line where two texts differ, both versions quoted.
pub fn first_line_difference(expected: &str, actual: &str) -> String {
    let want: Vec<&str> = expected.split('\n').collect();
    let got: Vec<&str> = actual.split('\n').collect();
    for i in 0..want.len().max(got.len()) {
        let (w, g) = (want.get(i), got.get(i));
        if w != g {
            let show = |l: Option<&&str>| l.map_or("(no line)".to_owned(), |l| clip(l));
            return format!(
                "line {}\n  - dspy: {}\n  + hone: {}",
                i + 1,
                show(w),
                show(g)
            );
        }
    }
    "the texts are equal".into()
}
