//! Portable exports of hone programs, DSPy import, output parsing and program diffs.
//!
//! An optimized program is worth its instructions, field descriptions and demos. This crate
//! writes them out in forms that run without hone — and proves nothing is lost: every export
//! renders exactly the messages hone's adapters send (and so DSPy's), byte for byte.
//!
//! | Format | What | API |
//! |---|---|---|
//! | `openai` | chat request per predictor: messages with `{{field}}` slots, `response_format` | [`OpenAiExport`] |
//! | `jinja` | one Jinja2 template per message (Python `jinja2` and `minijinja`) | [`JinjaExport`] |
//! | `markdown` | a review document: provenance, instructions, fields, demos, the prompt | [`review_markdown`] |
//! | `dspy` | DSPy's saved-program JSON, for `program.load()` | [`dspy_json`] |
//! | `bundle` | all of the above plus a manifest of hashes, versions and provenance | [`bundle()`] |
//!
//! Besides: [`parse_output`] / [`parse_with_export`] read the answer an exported prompt asks
//! for; [`import_dspy`] reads a DSPy-saved program onto a structure; [`diff_programs`] compares
//! two versions of a program, rendered by [`render_text`] and [`render_markdown`].
//!
//! # One template, written many ways
//!
//! [`PromptTemplate`] asks the adapter itself to render the predictor's prompt with a marker
//! for each input, and cuts the last message at the markers. Each export writes that template
//! in its own syntax. Filling a slot inserts the input's formatted value
//! ([`format_input_value`]) once: values are never read as template text, so `{{`, `{%` or
//! `[[ ## x ## ]]` in an input is sent literally.
//!
//! ```
//! use hone_core::adapter::{Adapter, AdapterKind};
//! use hone_core::state::{ProgramState, ProgramStructure};
//! use hone_core::{Example, Signature};
//! use hone_export::{OpenAiExport, format_input_value};
//! use indexmap::IndexMap;
//! use serde_json::json;
//!
//! let sig = Signature::parse("question -> answer")?.with_instructions("Answer in one word.");
//! let program = ProgramState::from_structure(&ProgramStructure::single(sig.clone()));
//! let export = OpenAiExport::new(&program, AdapterKind::Chat)?;
//! let predictor = &export.predictors["self"];
//! assert!(predictor.request.messages.last().unwrap().content.contains("{{question}}"));
//!
//! // Any client: fill the slots of the last message with the formatted values.
//! let question = "What is {{this}}?";
//! let values = IndexMap::from([("question".to_string(), question.to_string())]);
//! let sent = predictor.fill(&values);
//!
//! let inputs = Example::from_json(json!({"question": question})).unwrap();
//! assert_eq!(sent, AdapterKind::Chat.adapter().format(&sig, &[], &inputs)?);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Architecture invariant: this crate does no IO and reads no clock. Callers pass file
//! contents and dates in and write the strings and file sets it returns.

mod bundle;
mod diff;
mod error;
mod import;
mod infer;
mod jinja;
mod markdown;
mod openai;
mod parse;
mod template;

pub use bundle::{
    BUNDLE_FORMAT, Bundle, BundleOptions, Manifest, bundle, sha256_hex, verify_bundle,
};
pub use diff::{
    Color, DemoChange, FieldChange, PredictorDiff, ProgramDiff, WordChange, diff_predictor,
    diff_programs, render_markdown, render_text, word_diff,
};
pub use error::ExportError;
pub use import::{
    Imported, REFUSED_BY_DSPY3, check_program_like, drop_refused_keys, import_dspy,
    import_dspy_value, structure_from_signatures, type_warnings,
};
pub use infer::{
    Inferred, InferredModule, InferredStage, InferredTool, infer_structure, parse_react_tools,
    signature_flag, signature_line,
};
pub use jinja::{JINJA_FORMAT, JinjaExport, JinjaMessage, JinjaPredictor, jinja_source};
pub use markdown::{Provenance, ReviewOptions, review_markdown};
pub use openai::{
    OPENAI_FORMAT, OPENAI_FORMAT_VERSION, OpenAiExport, OpenAiPredictor, OpenAiRequest, SlotInfo,
    fill_slots, slot,
};
pub use parse::{parse_output, parse_with_export};
pub use template::{Part, PromptTemplate, TemplateMessage, VALUE_RULES, format_input_value};

use hone_core::state::ProgramState;

/// The version of hone this crate belongs to.
pub const HONE_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The `dspy` export: the program in DSPy's saved format, which DSPy's `program.load()`
/// accepts (no hone keys, none of the keys DSPy 3.x refuses).
pub fn dspy_json(program: &ProgramState) -> String {
    dspy_export(program).0
}

/// The `dspy` export and one sentence per key it dropped because DSPy 3.x's `load()` refuses
/// it ([`REFUSED_BY_DSPY3`]), for the caller to show.
pub fn dspy_export(program: &ProgramState) -> (String, Vec<String>) {
    let mut program = program.clone();
    let dropped = drop_refused_keys(&mut program);
    (program.to_dspy_json_string_pretty(), dropped)
}
