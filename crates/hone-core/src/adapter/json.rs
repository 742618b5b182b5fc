//! DSPy's `JSONAdapter`: inputs in `[[ ## field ## ]]` sections, the answer as one JSON object.

use serde_json::{Map, Value, json};

use super::chat::{finish_parse, parse_field, placeholder_sections, section_user_content};
use super::describe::{placeholder, type_reminder};
use super::error::AdapterError;
use super::history::History;
use super::pyfmt::{json_dumps_indent2, py_strip};
use super::render::{Render, format_messages, missing_value};
use super::{Adapter, AdapterKind};
use crate::coerce::repair_json;
use crate::example::{Example, Prediction};
use crate::message::Message;
use crate::signature::{FieldRole, Signature};
use crate::types::{FieldType, ModelField, ModelType};

/// Asks for the outputs as one JSON object; sends a structured-output `response_format`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JsonAdapter;

impl JsonAdapter {
    /// The JSON adapter.
    pub fn new() -> Self {
        JsonAdapter
    }
}

impl Render for JsonAdapter {
    fn structure(&self, sig: &Signature) -> String {
        let outputs: Map<String, Value> = sig
            .outputs
            .iter()
            .map(|f| {
                (
                    f.name.clone(),
                    Value::String(placeholder(f, FieldRole::Output)),
                )
            })
            .collect();
        let parts = [
            "All interactions will be structured in the following way, with the appropriate values filled in.".to_owned(),
            "Inputs will have the following structure:".to_owned(),
            placeholder_sections(&sig.inputs, FieldRole::Input),
            "Outputs will be a JSON object with the following fields.".to_owned(),
            json_dumps_indent2(&Value::Object(outputs)),
        ];
        py_strip(&parts.join("\n\n")).to_owned()
    }

    fn user_content(
        &self,
        sig: &Signature,
        values: &Map<String, Value>,
        prefix: &str,
        main_request: bool,
    ) -> String {
        let reminder = main_request.then(|| json_reminder(sig));
        section_user_content(sig, values, prefix, reminder)
    }

    fn assistant_content(
        &self,
        sig: &Signature,
        values: &Map<String, Value>,
        missing: Option<&str>,
    ) -> String {
        let obj: Map<String, Value> = sig
            .outputs
            .iter()
            .map(|f| {
                let v = values
                    .get(&f.name)
                    .cloned()
                    .unwrap_or_else(|| missing_value(missing));
                (f.name.clone(), v)
            })
            .collect();
        json_dumps_indent2(&Value::Object(obj))
    }
}

/// The JSON adapters' output-format reminder at the end of the last user message.
pub(super) fn json_reminder(sig: &Signature) -> String {
    let fields: Vec<String> = sig
        .outputs
        .iter()
        .map(|f| format!("`{}`{}", f.name, type_reminder(f)))
        .collect();
    format!(
        "Respond with a JSON object in the following order of fields: {}.",
        fields.join(", then ")
    )
}

/// DSPy's `JSONAdapter.parse`, for the JSON adapter and those built on it: the completion (or
/// the first balanced `{...}` in it) repaired into a JSON object, its output fields converted to
/// their types. `adapter` names the adapter in errors.
pub(super) fn parse_json_completion(
    adapter: &'static str,
    signature: &Signature,
    completion: &str,
) -> Result<Prediction, AdapterError> {
    let mut response = completion;
    let mut parsed = repair_json(completion);
    if !matches!(parsed, Some(Value::Object(_)))
        && let Some(obj) = first_balanced_object(completion)
    {
        response = obj;
        parsed = repair_json(obj);
    }
    let Some(Value::Object(obj)) = parsed else {
        return Err(AdapterError::NotAnObject {
            adapter,
            expected: signature.outputs.iter().map(|f| f.name.clone()).collect(),
            response: response.to_owned(),
        });
    };
    let mut found = Map::new();
    for (k, v) in &obj {
        if let Some(field) = signature.outputs.iter().find(|f| &f.name == k) {
            found.insert(k.clone(), parse_field(adapter, field, v, response)?);
        }
    }
    finish_parse(adapter, signature, &found, response)
}

/// The first balanced `{...}` in the text (what the regex `\{(?:[^{}]|(?R))*\}` DSPy searches
/// with finds): the leftmost `{` that has a matching `}`, in one pass.
fn first_balanced_object(text: &str) -> Option<&str> {
    let mut open: Vec<usize> = Vec::new();
    let mut best: Option<(usize, usize)> = None;
    for (i, b) in text.bytes().enumerate() {
        match b {
            b'{' => open.push(i),
            b'}' => {
                if let Some(start) = open.pop()
                    && best.is_none_or(|(s, _)| start < s)
                {
                    best = Some((start, i));
                }
            }
            _ => {}
        }
    }
    best.and_then(|(s, e)| text.get(s..=e))
}

impl Adapter for JsonAdapter {
    fn name(&self) -> &'static str {
        "JSONAdapter"
    }

    fn format_with_history(
        &self,
        signature: &Signature,
        demos: &[Example],
        inputs: &Example,
        history: Option<&History>,
    ) -> Result<Vec<Message>, AdapterError> {
        format_messages(self, signature, demos, inputs, history)
    }

    fn format_assistant_message(
        &self,
        signature: &Signature,
        outputs: &Map<String, Value>,
    ) -> String {
        self.assistant_content(signature, outputs, None)
    }

    fn parse(&self, signature: &Signature, completion: &str) -> Result<Prediction, AdapterError> {
        parse_json_completion(self.name(), signature, completion)
    }

    /// DSPy's structured-output request: `{"type": "json_object"}` when an output is an
    /// open-ended `dict`, otherwise a strict `json_schema` of the outputs (every property
    /// required, objects closed), named `DSPyProgramOutputs`.
    fn response_format(&self, signature: &Signature) -> Option<Value> {
        if signature
            .outputs
            .iter()
            .any(|f| matches!(f.ty, FieldType::Dict { .. }))
        {
            return Some(json!({"type": "json_object"}));
        }
        let model = ModelType::new(
            "DSPyProgramOutputs",
            signature
                .outputs
                .iter()
                .map(|f| ModelField {
                    name: f.name.clone(),
                    ty: f.ty.clone(),
                    default: f.default.clone(),
                    description: None,
                })
                .collect(),
        );
        let mut schema = FieldType::model(model).json_schema();
        enforce_required(&mut schema);
        let root = schema.clone();
        let schema = strict_schema(&schema, &root, 0);
        Some(json!({
            "type": "json_schema",
            "json_schema": {"name": "DSPyProgramOutputs", "schema": schema, "strict": true}
        }))
    }

    fn fallback(&self) -> Option<AdapterKind> {
        None
    }
}

/// DSPy's `enforce_required`: objects list every property as required and allow no others.
fn enforce_required(schema: &mut Value) {
    let Value::Object(obj) = schema else { return };
    if obj.get("type").and_then(Value::as_str) == Some("object") {
        match obj.get("properties").and_then(Value::as_object).cloned() {
            Some(props) => {
                let names: Vec<Value> = props.keys().cloned().map(Value::String).collect();
                obj.insert("required".into(), Value::Array(names));
                obj.insert("additionalProperties".into(), Value::Bool(false));
                if let Some(Value::Object(props)) = obj.get_mut("properties") {
                    for sub in props.values_mut() {
                        enforce_required(sub);
                    }
                }
            }
            None => {
                obj.insert("properties".into(), json!({}));
                obj.insert("required".into(), json!([]));
                obj.insert("additionalProperties".into(), Value::Bool(false));
            }
        }
    }
    if obj.get("type").and_then(Value::as_str) == Some("array")
        && let Some(items @ Value::Object(_)) = obj.get_mut("items")
    {
        enforce_required(items);
    }
    for key in ["$defs", "definitions"] {
        if let Some(Value::Object(defs)) = obj.get_mut(key) {
            for sub in defs.values_mut() {
                enforce_required(sub);
            }
        }
    }
}

/// DSPy's `_strict_json_schema` (the OpenAI SDK's strict-mode rules).
fn strict_schema(schema: &Value, root: &Value, depth: usize) -> Value {
    let Value::Object(src) = schema else {
        return schema.clone();
    };
    if depth > 64 {
        return schema.clone();
    }
    let rec = |v: &Value| strict_schema(v, root, depth + 1);
    let mut out = src.clone();
    for key in ["$defs", "definitions"] {
        if let Some(Value::Object(defs)) = src.get(key) {
            let mapped: Map<String, Value> =
                defs.iter().map(|(k, v)| (k.clone(), rec(v))).collect();
            out.insert(key.into(), Value::Object(mapped));
        }
    }
    if out.get("type").and_then(Value::as_str) == Some("object")
        && !out.contains_key("additionalProperties")
    {
        out.insert("additionalProperties".into(), Value::Bool(false));
    }
    if let Some(Value::Object(props)) = src.get("properties") {
        let names: Vec<Value> = props.keys().cloned().map(Value::String).collect();
        out.insert("required".into(), Value::Array(names));
        let mapped: Map<String, Value> = props.iter().map(|(k, v)| (k.clone(), rec(v))).collect();
        out.insert("properties".into(), Value::Object(mapped));
    }
    if let Some(items @ Value::Object(_)) = src.get("items") {
        out.insert("items".into(), rec(items));
    }
    if let Some(Value::Array(any)) = src.get("anyOf") {
        out.insert("anyOf".into(), Value::Array(any.iter().map(rec).collect()));
    }
    if let Some(Value::Array(all)) = src.get("allOf") {
        if all.len() == 1 {
            out.remove("allOf");
            if let Value::Object(inner) = rec(&all[0]) {
                out.extend(inner);
            }
        } else {
            out.insert("allOf".into(), Value::Array(all.iter().map(rec).collect()));
        }
    }
    if out.get("default") == Some(&Value::Null) {
        out.remove("default");
    }
    if let Some(Value::String(r)) = out.get("$ref").cloned()
        && out.len() > 1
        && let Some(Some(target @ Value::Object(_))) = r
            .strip_prefix("#/")
            .map(|p| p.split('/').try_fold(root, |v, key| v.get(key)))
        && let Value::Object(mut merged) = rec(target)
    {
        for (k, v) in out {
            if k != "$ref" {
                merged.insert(k, v);
            }
        }
        return Value::Object(merged);
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::first_balanced_object;

    #[test]
    fn finds_the_leftmost_balanced_object() {
        assert_eq!(first_balanced_object("a {b} {c}"), Some("{b}"));
        assert_eq!(first_balanced_object("{ {x} "), Some("{x}"));
        assert_eq!(first_balanced_object("} {a {b}} {"), Some("{a {b}}"));
        assert_eq!(first_balanced_object("{{{"), None);
    }
}
