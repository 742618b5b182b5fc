//! The `jinja` export: one Jinja2 template per message, rendering the exact messages with
//! standard Python `jinja2` and with `minijinja`.
//!
//! # Rendering
//!
//! Render every template with the same variables: each input field's **formatted** value
//! ([`format_input_value`](crate::format_input_value); for a `str` field given a string, the
//! string itself), with autoescaping off (the default of `jinja2.Template` and of
//! `minijinja`). Inputs are variables, so Jinja syntax inside a value is inert.
//!
//! ```python
//! from jinja2 import Environment, StrictUndefined
//! env = Environment(undefined=StrictUndefined)
//! messages = [{"role": m["role"], "content": env.from_string(m["template"]).render(**values)}
//!             for m in export["predictors"]["self"]["messages"]]
//! ```
//!
//! # How literal text is written
//!
//! Literal text never reaches Jinja's syntax: a `{` that would open a tag or a comment
//! (`{{`, `{%`, `{#`, or a `{` just before a variable) is written as `{{ "{" }}`; a carriage
//! return (Jinja2 turns `\r\n` and `\r` in template source into `\n`) and a final newline
//! (which both engines drop by default) are written as string expressions. So the templates render the same with default settings in both
//! engines, whatever `keep_trailing_newline` is.

use hone_core::adapter::AdapterKind;
use hone_core::message::Role;
use hone_core::state::ProgramState;
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::error::ExportError;
use crate::template::{Part, PromptTemplate};

/// The value of the `format` key of a jinja export.
pub const JINJA_FORMAT: &str = "hone.jinja";

/// Names Jinja reads as constants or special objects rather than variables.
const RESERVED: [&str; 12] = [
    "true", "false", "none", "True", "False", "None", "self", "loop", "caller", "varargs",
    "kwargs", "super",
];

/// A whole program's `jinja` export.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JinjaExport {
    /// Always [`JINJA_FORMAT`].
    pub format: String,
    /// The export layout version (1).
    pub format_version: u64,
    /// The adapter the prompts are written for.
    pub adapter: AdapterKind,
    /// How to render, for readers of the file.
    pub rendering: String,
    /// The predictors, by name, in program order.
    pub predictors: IndexMap<String, JinjaPredictor>,
}

/// One predictor's templates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JinjaPredictor {
    /// The variables every template may use: the slotted input fields, in order.
    pub variables: Vec<String>,
    /// One template per message.
    pub messages: Vec<JinjaMessage>,
}

/// One message's template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JinjaMessage {
    /// Who speaks the message.
    pub role: Role,
    /// The Jinja2 source of its content.
    pub template: String,
}

/// The rendering rule, stated in the file.
fn rendering_help() -> String {
    format!(
        "Render each message's template with autoescape off and one variable per input field holding the field's formatted value. {} Every input is required (use StrictUndefined).",
        crate::template::VALUE_RULES
    )
}

impl JinjaPredictor {
    /// The templates of one predictor's prompt.
    pub fn new(template: &PromptTemplate) -> Result<Self, ExportError> {
        let variables: Vec<String> = template.inputs().map(|f| f.name.clone()).collect();
        if let Some(bad) = variables.iter().find(|v| RESERVED.contains(&v.as_str())) {
            return Err(ExportError::ReservedName {
                predictor: template.predictor.clone(),
                field: bad.clone(),
            });
        }
        let messages = template
            .messages
            .iter()
            .map(|m| JinjaMessage {
                role: m.role,
                template: jinja_source(&m.parts),
            })
            .collect();
        Ok(JinjaPredictor {
            variables,
            messages,
        })
    }
}

impl JinjaExport {
    /// The export of every predictor of a program.
    pub fn new(program: &ProgramState, adapter: AdapterKind) -> Result<Self, ExportError> {
        let mut predictors = IndexMap::new();
        for (name, state) in &program.predictors {
            let template = PromptTemplate::new(name, state, adapter)?;
            predictors.insert(name.clone(), JinjaPredictor::new(&template)?);
        }
        Ok(JinjaExport {
            format: JINJA_FORMAT.to_owned(),
            format_version: 1,
            adapter,
            rendering: rendering_help(),
            predictors,
        })
    }

    /// The export as pretty JSON text (two-space indentation, trailing newline).
    pub fn to_json_string_pretty(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }
}

/// The Jinja source of a message: literal text escaped, slots as `{{ name }}`.
pub fn jinja_source(parts: &[Part]) -> String {
    let mut out = String::new();
    for (i, part) in parts.iter().enumerate() {
        match part {
            Part::Slot(name) => {
                out.push_str("{{ ");
                out.push_str(name);
                out.push_str(" }}");
            }
            Part::Text(text) => {
                let is_last = i + 1 == parts.len();
                escape_literal(text, is_last, &mut out);
            }
        }
    }
    out
}

/// Writes literal text so that both engines output it unchanged.
fn escape_literal(text: &str, is_last: bool, out: &mut String) {
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let next = chars.peek().copied();
        match c {
            // A `{` opening a tag, or one that would run into the next part's `{{`.
            '{' if matches!(next, Some('{' | '%' | '#') | None) => out.push_str("{{ \"{\" }}"),
            '\n' if next.is_none() && is_last => out.push_str("{{ \"\\n\" }}"),
            '\r' => out.push_str("{{ \"\\r\" }}"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_braces_and_breaks_are_expressions() {
        let parts = vec![
            Part::Text("a {{x}} {%y%} {#z#} {".into()),
            Part::Slot("q".into()),
            Part::Text("\r\nend\n".into()),
        ];
        assert_eq!(
            jinja_source(&parts),
            "a {{ \"{\" }}{x}} {{ \"{\" }}%y%} {{ \"{\" }}#z#} {{ \"{\" }}{{ q }}{{ \"\\r\" }}\nend{{ \"\\n\" }}"
        );
    }
}
