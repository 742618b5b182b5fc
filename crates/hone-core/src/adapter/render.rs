//! The message list every adapter builds the same way (DSPy's `Adapter.format`): the system
//! message, the demos (incomplete ones first), the conversation history, then the current
//! input. Adapters differ only in the hooks of [`Render`].

use serde_json::{Map, Value};

use super::describe::{field_description, task_description};
use super::error::AdapterError;
use super::history::History;
use crate::example::Example;
use crate::message::Message;
use crate::signature::Signature;

/// What distinguishes one adapter's prompts from another's.
pub(crate) trait Render {
    /// The structure section of the system message.
    fn structure(&self, sig: &Signature) -> String;
    /// A user message: `prefix`, the input fields present in `values`, and, for a request the
    /// LM must answer (`main_request`), the output-format reminder.
    fn user_content(
        &self,
        sig: &Signature,
        values: &Map<String, Value>,
        prefix: &str,
        main_request: bool,
    ) -> String;
    /// An assistant message with every output field; absent fields show `missing` (or `None`).
    fn assistant_content(
        &self,
        sig: &Signature,
        values: &Map<String, Value>,
        missing: Option<&str>,
    ) -> String;
}

/// The value shown for an output field a demo or history turn lacks.
pub(crate) fn missing_value(missing: Option<&str>) -> Value {
    missing.map_or(Value::Null, |m| Value::String(m.to_owned()))
}

/// Field description, structure and task description, as DSPy's `format_system_message`.
pub(crate) fn system_message(r: &dyn Render, sig: &Signature) -> String {
    format!(
        "{}\n{}\n{}",
        field_description(sig),
        r.structure(sig),
        task_description(sig)
    )
}

const INCOMPLETE_PREFIX: &str =
    "This is an example of the task, though some input or output fields are not supplied.";

/// DSPy's `format_demos`: demos with every field set come after those lacking some; demos with
/// no input or no output field at all are dropped.
pub(crate) fn demo_messages(r: &dyn Render, sig: &Signature, demos: &[Example]) -> Vec<Message> {
    let mut complete = Vec::new();
    let mut incomplete = Vec::new();
    for demo in demos {
        let values = demo.fields();
        let is_complete = sig
            .fields()
            .all(|(_, f)| values.get(&f.name).is_some_and(|v| !v.is_null()));
        let has_input = sig.inputs.iter().any(|f| values.contains_key(&f.name));
        let has_output = sig.outputs.iter().any(|f| values.contains_key(&f.name));
        if is_complete {
            complete.push(values);
        } else if has_input && has_output {
            incomplete.push(values);
        }
    }
    let mut out = Vec::new();
    for values in incomplete {
        out.push(Message::user(r.user_content(
            sig,
            values,
            INCOMPLETE_PREFIX,
            false,
        )));
        out.push(Message::assistant(r.assistant_content(
            sig,
            values,
            Some("Not supplied for this particular example. "),
        )));
    }
    for values in complete {
        out.push(Message::user(r.user_content(sig, values, "", false)));
        out.push(Message::assistant(r.assistant_content(
            sig,
            values,
            Some("Not supplied for this conversation history message. "),
        )));
    }
    out
}

/// DSPy's `format_conversation_history` (without native tool calls): per turn, a user message
/// when the turn has inputs, and an assistant message.
fn history_messages(r: &dyn Render, sig: &Signature, history: &History) -> Vec<Message> {
    let mut out = Vec::new();
    for turn in &history.messages {
        let main = sig.inputs.iter().any(|f| turn.contains_key(&f.name));
        let user = r.user_content(sig, turn, "", main);
        if !user.is_empty() {
            out.push(Message::user(user));
        }
        let assistant = r.assistant_content(sig, turn, None);
        if !assistant.is_empty() {
            out.push(Message::assistant(assistant));
        }
    }
    out
}

/// The whole message list for a call.
pub(crate) fn format_messages(
    r: &dyn Render,
    sig: &Signature,
    demos: &[Example],
    inputs: &Example,
    history: Option<&History>,
) -> Result<Vec<Message>, AdapterError> {
    let history_field = sig
        .inputs
        .iter()
        .find(|f| History::is_history_type(&f.ty))
        .map(|f| f.name.clone());
    let from_inputs = match (&history_field, history) {
        (Some(name), None) => inputs
            .get(name)
            .map(|v| History::from_value(name, v))
            .transpose()?,
        _ => None,
    };
    let history = history.or(from_inputs.as_ref());
    let mut messages = vec![Message::system(system_message(r, sig))];
    messages.extend(demo_messages(r, sig, demos));
    let mut current = inputs.fields().clone();
    let content_sig = match &history_field {
        Some(name) => {
            current.remove(name);
            sig.without_field(name).unwrap_or_else(|_| sig.clone())
        }
        None => sig.clone(),
    };
    if let Some(h) = history {
        messages.extend(history_messages(r, &content_sig, h));
    }
    let content = r.user_content(&content_sig, &current, "", true);
    if !content.is_empty() {
        messages.push(Message::user(content));
    }
    Ok(messages)
}
