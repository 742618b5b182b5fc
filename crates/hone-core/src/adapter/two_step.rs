//! DSPy's `TwoStepAdapter`: a free-form prompt for the main LM (inputs written as
//! `name: value`), then a second call in which an extraction LM turns the main LM's text into
//! the output fields with the [`ChatAdapter`] on an extraction signature
//! ([`TwoStepAdapter::extraction_signature`]: `text -> <the original outputs>`).
//!
//! The adapter does no IO, so it holds no LM: [`Adapter::parse`] on its own cannot produce the
//! outputs and answers [`AdapterError::NeedsExtraction`]. The module runtime (hone-modules'
//! `Predict`) sees [`Adapter::extraction_signature`] and makes the second call itself, with the
//! extraction LM the call, the predictor or the context names.
//!
//! ```
//! use hone_core::adapter::{Adapter, ChatAdapter, TwoStepAdapter};
//! use hone_core::{Example, Signature};
//! use serde_json::json;
//!
//! let sig = Signature::parse("question -> answer: int").unwrap();
//! let inputs = Example::from_json(json!({"question": "2 + 2?"})).unwrap();
//! let main = TwoStepAdapter::new().format(&sig, &[], &inputs).unwrap();
//! assert_eq!(main[1].content, "question: 2 + 2?");
//! let extraction = TwoStepAdapter::new().extraction_signature(&sig).unwrap();
//! let text = Example::from_json(json!({"text": "The answer is 4."})).unwrap();
//! let second = ChatAdapter::new().format(&extraction, &[], &text).unwrap();
//! assert!(second[1].content.starts_with("[[ ## text ## ]]\nThe answer is 4."));
//! ```

use serde_json::{Map, Value};

use super::Adapter;
use super::describe::field_description_string;
use super::error::AdapterError;
use super::history::History;
use super::pyfmt::{py_str, py_strip};
use super::render::demo_messages;
use super::render::{Render, missing_value};
use crate::example::{Example, Prediction};
use crate::message::Message;
use crate::signature::{Field, Signature};
use crate::types::FieldType;

/// The name of the extraction signature's one input field: the main LM's answer.
pub const EXTRACTION_TEXT_FIELD: &str = "text";

/// DSPy's `TwoStepAdapter` (see the [module docs](self)).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TwoStepAdapter;

impl TwoStepAdapter {
    /// The two-step adapter.
    pub fn new() -> Self {
        TwoStepAdapter
    }

    /// DSPy's `format_task_description`: the system message of the main LM's prompt.
    fn task_description(sig: &Signature) -> String {
        let mut parts = vec![
            "You are a helpful assistant that can solve tasks based on user input.".to_owned(),
            format!(
                "As input, you will be provided with:\n{}",
                field_description_string(&sig.inputs)
            ),
            format!(
                "Your outputs must contain:\n{}",
                field_description_string(&sig.outputs)
            ),
            "You should lay out your outputs in detail so that your answer can be understood by another agent".to_owned(),
        ];
        if !sig.instructions.is_empty() {
            parts.push(format!("Specific instructions: {}", sig.instructions));
        }
        parts.join("\n")
    }
}

/// `name: str(value)` for the fields of `fields` present in `values`, joined by blank lines.
fn name_value_lines<'a>(
    fields: impl Iterator<Item = &'a Field>,
    values: &Map<String, Value>,
) -> Vec<String> {
    fields
        .filter_map(|f| {
            values
                .get(&f.name)
                .map(|v| format!("{}: {}", f.name, py_str(v)))
        })
        .collect()
}

impl Render for TwoStepAdapter {
    fn structure(&self, _sig: &Signature) -> String {
        String::new()
    }

    fn user_content(
        &self,
        sig: &Signature,
        values: &Map<String, Value>,
        prefix: &str,
        _main_request: bool,
    ) -> String {
        let mut parts = vec![prefix.to_owned()];
        parts.extend(name_value_lines(sig.inputs.iter(), values));
        parts.push(String::new());
        py_strip(&parts.join("\n\n")).to_owned()
    }

    fn assistant_content(
        &self,
        sig: &Signature,
        values: &Map<String, Value>,
        _missing: Option<&str>,
    ) -> String {
        // DSPy writes only the outputs a demo has; the "not supplied" text is never shown.
        py_strip(&name_value_lines(sig.outputs.iter(), values).join("\n\n")).to_owned()
    }
}

impl Adapter for TwoStepAdapter {
    fn name(&self) -> &'static str {
        "TwoStepAdapter"
    }

    /// The main LM's messages: the task description, the demos, then the inputs. DSPy's
    /// `TwoStepAdapter.format` renders no conversation history, and neither does this: a
    /// history (explicit or an input field's value) is written like any other input value.
    fn format_with_history(
        &self,
        signature: &Signature,
        demos: &[Example],
        inputs: &Example,
        _history: Option<&History>,
    ) -> Result<Vec<Message>, AdapterError> {
        let mut messages = vec![Message::system(Self::task_description(signature))];
        messages.extend(demo_messages(self, signature, demos));
        messages.push(Message::user(self.user_content(
            signature,
            inputs.fields(),
            "",
            true,
        )));
        Ok(messages)
    }

    fn format_assistant_message(
        &self,
        signature: &Signature,
        outputs: &Map<String, Value>,
    ) -> String {
        let mut all = Map::new();
        for f in &signature.outputs {
            let v = outputs
                .get(&f.name)
                .cloned()
                .unwrap_or_else(|| missing_value(None));
            all.insert(f.name.clone(), v);
        }
        self.assistant_content(signature, &all, None)
    }

    fn parse(&self, signature: &Signature, completion: &str) -> Result<Prediction, AdapterError> {
        Err(AdapterError::NeedsExtraction {
            outputs: signature.outputs.iter().map(|f| f.name.clone()).collect(),
            response: completion.to_owned(),
        })
    }

    fn extraction_signature(&self, signature: &Signature) -> Option<Signature> {
        let outputs: Vec<String> = signature
            .outputs
            .iter()
            .map(|f| format!("`{}`", f.name))
            .collect();
        // DSPy's instruction string continues over a source line, so it keeps that line's
        // twelve spaces of indentation.
        let instructions = format!(
            "The input is a text that should contain all the necessary information to produce the fields {}.             Your job is to extract the fields from the text verbatim. Extract precisely the appropriate value (content) for each field.",
            outputs.join(", ")
        );
        Some(Signature {
            name: "StringSignature".to_owned(),
            instructions,
            inputs: vec![Field::new(EXTRACTION_TEXT_FIELD, FieldType::Str)],
            outputs: signature.outputs.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn inputs_are_python_str_values() {
        let sig = Signature::parse("question, context: list[str] -> answer").expect("signature");
        let inputs = Example::from_json(json!({"question": "Why?", "context": ["a", "b's"]}))
            .expect("inputs");
        let m = TwoStepAdapter::new()
            .format(&sig, &[], &inputs)
            .expect("format");
        assert_eq!(m[1].content, "question: Why?\n\ncontext: ['a', \"b's\"]");
        assert!(
            m[0].content
                .contains("Specific instructions: Given the fields")
        );
    }

    #[test]
    fn parse_alone_asks_for_the_extraction_call() {
        let sig = Signature::parse("q -> a").expect("signature");
        let e = TwoStepAdapter::new()
            .parse(&sig, "the answer")
            .expect_err("no LM");
        assert!(!e.is_parse_error());
        assert!(e.to_string().contains("extraction"), "{e}");
    }

    #[test]
    fn extraction_signature_keeps_the_outputs() {
        let sig = Signature::parse("q -> a: int, b").expect("signature");
        let ext = TwoStepAdapter::new()
            .extraction_signature(&sig)
            .expect("two-step");
        assert_eq!(ext.inputs[0].name, "text");
        assert_eq!(ext.outputs, sig.outputs);
        assert!(ext.instructions.contains("the fields `a`, `b`."));
    }
}
