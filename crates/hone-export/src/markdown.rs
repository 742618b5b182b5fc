//! The `markdown` export: a review document a person who never saw hone can read —
//! where the program came from, and per predictor its instructions, fields, examples and the
//! exact prompt it sends.

use std::fmt::Write as _;

use hone_core::adapter::{AdapterKind, format_field_value};
use hone_core::state::{PredictorState, ProgramState};
use hone_core::{Field, FieldRole};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::ExportError;
use crate::template::PromptTemplate;

/// Where an optimized program came from: the run that produced it. Every field is optional;
/// the caller (an optimizer run, the CLI) fills what it knows. The library reads no clock.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// The metric's score on the evaluation set (e.g. `0.87`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    /// The metric's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<String>,
    /// The dataset the program was optimized on (name or path).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset: Option<String>,
    /// The optimizer (`MIPROv2`, `BootstrapFewShot`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optimizer: Option<String>,
    /// The model the program was optimized for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The date of the run or of the export (`2025-06-01`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// The hone version that produced the program.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hone_version: Option<String>,
}

impl Provenance {
    /// The provenance recorded in a program's metadata under `metadata.hone.provenance`, if
    /// any (unknown or ill-typed keys are ignored).
    pub fn from_program(program: &ProgramState) -> Provenance {
        program
            .metadata
            .get("hone")
            .and_then(|h| h.get("provenance"))
            .and_then(|p| serde_json::from_value(p.clone()).ok())
            .unwrap_or_default()
    }

    /// This provenance with the fields `other` sets overriding.
    pub fn merged(mut self, other: Provenance) -> Provenance {
        macro_rules! take {
            ($($f:ident),*) => { $( if other.$f.is_some() { self.$f = other.$f; } )* };
        }
        take!(score, metric, dataset, optimizer, model, date, hone_version);
        self
    }
}

/// What the review document says besides the program itself.
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewOptions {
    /// The program's title (a file name, say).
    pub title: String,
    /// The adapter whose prompt is shown.
    pub adapter: AdapterKind,
    /// Where the program came from.
    pub provenance: Provenance,
    /// The hone version writing the document.
    pub hone_version: String,
}

/// A Markdown code fence long enough for `text`, and the text in it.
fn fenced(text: &str, info: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    format!("{fence}{info}\n{text}\n{fence}\n")
}

/// Text safe in a Markdown table cell, on one line.
fn cell(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace('\r', "")
        .replace('\n', "<br>")
        .replace('<', "&lt;")
        .replace("&lt;br>", "<br>")
}

/// Inline code for short text, whatever backticks it holds.
fn code(text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let ticks = "`".repeat(longest + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') || text.is_empty() {
        " "
    } else {
        ""
    };
    format!("{ticks}{pad}{text}{pad}{ticks}")
}

/// The review document for a program.
pub fn review_markdown(
    program: &ProgramState,
    options: &ReviewOptions,
) -> Result<String, ExportError> {
    let mut md = String::new();
    let p = &options.provenance;
    let _ = writeln!(md, "# Prompt review: {}\n", options.title);
    let _ = writeln!(
        md,
        "This document describes a language-model program: {} step{} (\"predictors\"), each \
         sending one prompt to a language model. For each step it lists the instructions, the \
         input and output fields, the worked examples shown to the model (\"demos\"), and the \
         exact prompt. Instructions, field descriptions and demos are what optimization changed; \
         review them as you would review code.\n",
        program.predictors.len(),
        if program.predictors.len() == 1 {
            ""
        } else {
            "s"
        }
    );
    let _ = writeln!(md, "## Provenance\n");
    let _ = writeln!(md, "| | |\n|---|---|");
    let dash = || "—".to_owned();
    let score = p.score.map_or_else(dash, |s| {
        let m = p
            .metric
            .as_deref()
            .map(|m| format!(" ({m})"))
            .unwrap_or_default();
        format!("{s}{}", cell(&m))
    });
    let rows = [
        ("Score", score),
        (
            "Optimized on (dataset)",
            p.dataset.as_deref().map_or_else(dash, cell),
        ),
        ("Optimizer", p.optimizer.as_deref().map_or_else(dash, cell)),
        ("Model", p.model.as_deref().map_or_else(dash, cell)),
        ("Date", p.date.as_deref().map_or_else(dash, cell)),
        (
            "Produced by hone",
            p.hone_version.as_deref().map_or_else(dash, cell),
        ),
        ("Document written by hone", cell(&options.hone_version)),
        (
            "Prompt format (adapter)",
            options.adapter.adapter().name().to_owned(),
        ),
    ];
    for (k, v) in rows {
        let _ = writeln!(md, "| {k} | {v} |");
    }
    md.push('\n');
    for (name, state) in &program.predictors {
        predictor_section(&mut md, name, state, options.adapter)?;
    }
    Ok(md)
}

fn predictor_section(
    md: &mut String,
    name: &str,
    state: &PredictorState,
    adapter: AdapterKind,
) -> Result<(), ExportError> {
    let sig = &state.signature;
    let _ = writeln!(md, "## Predictor {}\n", code(name));
    if let Some(model) = state
        .lm
        .as_ref()
        .and_then(|lm| lm.get("model"))
        .and_then(Value::as_str)
    {
        let _ = writeln!(md, "Model of its own: {}\n", code(model));
    }
    let _ = writeln!(md, "### Instructions\n");
    if sig.instructions.trim().is_empty() {
        let _ = writeln!(md, "_(none)_\n");
    } else {
        md.push_str(&fenced(&sig.instructions, "text"));
        md.push('\n');
    }
    let _ = writeln!(md, "### Fields\n");
    let _ = writeln!(
        md,
        "| Role | Name | Type | Description | Prefix |\n|---|---|---|---|---|"
    );
    for (role, f) in sig.fields() {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} |",
            role,
            code(&f.name),
            code(&f.ty.python_name()),
            cell(f.shown_description()),
            cell(&f.prefix)
        );
    }
    md.push('\n');
    let _ = writeln!(md, "### Demos ({})\n", state.demos.len());
    if state.demos.is_empty() {
        let _ = writeln!(md, "_(none)_\n");
    }
    for (i, demo) in state.demos.iter().enumerate() {
        let augmented = demo.get("augmented") == Some(&Value::Bool(true));
        let missing: Vec<&str> = sig
            .fields()
            .filter(|(_, f)| demo.get(&f.name).is_none_or(Value::is_null))
            .map(|(_, f)| f.name.as_str())
            .collect();
        let mut notes = Vec::new();
        if augmented {
            notes.push("generated by the program during optimization".to_owned());
        }
        if !missing.is_empty() {
            notes.push(format!("without {}", missing.join(", ")));
        }
        let note = if notes.is_empty() {
            String::new()
        } else {
            format!(" — {}", notes.join("; "))
        };
        let _ = writeln!(md, "#### Demo {}{note}\n", i + 1);
        for (role, f) in sig.fields() {
            if let Some(v) = demo.get(&f.name) {
                demo_value(md, role, f, v);
            }
        }
        md.push('\n');
    }
    let template = PromptTemplate::new(name, state, adapter)?;
    let _ = writeln!(
        md,
        "### The prompt as sent\n\nEvery call sends these messages; `{{{{name}}}}` marks where \
         each input's value goes.\n"
    );
    let openai = crate::openai::OpenAiPredictor::new(&template)?;
    for m in &openai.request.messages {
        let role = match m.role {
            hone_core::Role::System => "system",
            hone_core::Role::User => "user",
            hone_core::Role::Assistant => "assistant",
        };
        let _ = writeln!(md, "<details><summary>{role}</summary>\n");
        md.push_str(&fenced(&m.content, "text"));
        let _ = writeln!(md, "\n</details>\n");
    }
    if let Some(rf) = &openai.request.response_format {
        let _ = writeln!(md, "Sent with `response_format`:\n");
        md.push_str(&fenced(
            &serde_json::to_string_pretty(rf).unwrap_or_default(),
            "json",
        ));
        md.push('\n');
    }
    Ok(())
}

fn demo_value(md: &mut String, role: FieldRole, f: &Field, v: &Value) {
    let text = format_field_value(f, v);
    let label = match role {
        FieldRole::Input => "input",
        FieldRole::Output => "output",
    };
    if !text.contains('\n') && text.len() <= 100 {
        let _ = writeln!(md, "- {} ({label}): {}", code(&f.name), code(&text));
    } else {
        let _ = writeln!(md, "- {} ({label}):\n", code(&f.name));
        for line in fenced(&text, "text").lines() {
            let _ = writeln!(md, "  {line}");
        }
        md.push('\n');
    }
}
