//! Understanding DSPy-format prompts: the signature in the system message,
//! demos as user/assistant pairs, and the inputs of the final user message,
//! for the chat (`[[ ## name ## ]]`), JSON and XML adapters.

mod field_type;
mod sections;
mod system;

pub use field_type::FieldType;
pub use sections::{first_json_object, split_json, split_markers, split_xml, strip_reminder};
pub use system::{SystemInfo, parse_system};

use serde_json::{Map, Value};

use crate::openai::Message;

/// Which DSPy adapter rendered a prompt (and so which format the answer must use).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdapterKind {
    /// `ChatAdapter`: `[[ ## field ## ]]` sections.
    Chat,
    /// `JSONAdapter` (or `BAMLAdapter`, a JSON adapter with another system message): a JSON
    /// object.
    Json,
    /// `XMLAdapter`: `<field>value</field>` elements.
    Xml,
}

/// One field of the signature as the system message lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldSpec {
    /// Field name.
    pub name: String,
    /// DSPy's type text, e.g. `Literal['a', 'b']`.
    pub type_text: String,
    /// The description after the colon (may be empty).
    pub desc: String,
    /// The structure note (`the value you produce must ...`), outputs only.
    pub note: Option<String>,
    /// The parsed type.
    pub kind: FieldType,
}

/// A demo: the field values of one user/assistant pair before the final message.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Demo {
    /// Input values as text.
    pub inputs: Map<String, Value>,
    /// Output values as text.
    pub outputs: Map<String, Value>,
}

impl Demo {
    /// An input value as text.
    pub fn input(&self, name: &str) -> Option<&str> {
        self.inputs.get(name).and_then(Value::as_str)
    }

    /// An output value as text.
    pub fn output(&self, name: &str) -> Option<&str> {
        self.outputs.get(name).and_then(Value::as_str)
    }
}

/// A parsed DSPy prompt.
#[derive(Debug, Clone, PartialEq)]
pub struct DspyPrompt {
    /// The adapter format.
    pub adapter: AdapterKind,
    /// Input fields in order.
    pub input_fields: Vec<FieldSpec>,
    /// Output fields in order.
    pub output_fields: Vec<FieldSpec>,
    /// The objective (instructions).
    pub instructions: String,
    /// Demos in order.
    pub demos: Vec<Demo>,
    /// Values of the final user message, as text.
    pub inputs: Map<String, Value>,
}

impl DspyPrompt {
    /// An input value of the final message as text.
    pub fn input(&self, name: &str) -> Option<&str> {
        self.inputs.get(name).and_then(Value::as_str)
    }

    /// The output field with this name.
    pub fn output_field(&self, name: &str) -> Option<&FieldSpec> {
        self.output_fields.iter().find(|f| f.name == name)
    }

    /// Whether an output field of this name is requested.
    pub fn has_output(&self, name: &str) -> bool {
        self.output_field(name).is_some()
    }

    /// Whether an input field of this name exists.
    pub fn has_input(&self, name: &str) -> bool {
        self.input_fields.iter().any(|f| f.name == name)
    }

    /// All input values of the final message joined, for keyword scans.
    pub fn input_text(&self) -> String {
        self.inputs
            .values()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Parses DSPy-format messages; `None` when the first message is not a DSPy
/// system message or there is no final user message.
pub fn parse(messages: &[Message]) -> Option<DspyPrompt> {
    let first = messages.first()?;
    if first.role != "system" {
        return None;
    }
    let info = parse_system(&first.text)?;
    let last_user = messages.iter().rposition(|m| m.role == "user")?;
    if last_user == 0 {
        return None;
    }
    let input_names: Vec<&str> = info.inputs.iter().map(|f| f.name.as_str()).collect();
    let output_names: Vec<&str> = info.outputs.iter().map(|f| f.name.as_str()).collect();

    let mut demos = Vec::new();
    let mut i = 1;
    while i + 1 < last_user {
        let (u, a) = (&messages[i], &messages[i + 1]);
        if u.role == "user" && a.role == "assistant" {
            demos.push(Demo {
                inputs: sections::split_inputs(info.adapter, &u.text, &input_names),
                outputs: sections::split_outputs(info.adapter, &a.text, &output_names),
            });
            i += 2;
        } else {
            i += 1;
        }
    }
    let final_text = strip_reminder(&messages[last_user].text);
    let inputs = sections::split_inputs(info.adapter, final_text, &input_names);
    Some(DspyPrompt {
        adapter: info.adapter,
        input_fields: info.inputs,
        output_fields: info.outputs,
        instructions: info.instructions,
        demos,
        inputs,
    })
}

#[cfg(test)]
mod golden_tests {
    use super::*;
    use std::path::{Path, PathBuf};

    fn golden_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/golden")
    }

    fn read_json(path: &Path) -> Value {
        let text =
            std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    fn messages(path: &Path) -> Vec<Message> {
        read_json(path)
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|m| {
                        Message::new(
                            m["role"].as_str().unwrap_or(""),
                            m["content"].as_str().unwrap_or(""),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    fn names(fields: &Value) -> Vec<String> {
        fields
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|f| f["name"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Text of an input value the way DSPy renders it.
    fn rendered(v: &Value) -> String {
        match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }
    }

    #[test]
    fn parses_every_golden_rendering() {
        let mut cases = 0;
        let dir = std::fs::read_dir(golden_dir()).expect("fixtures dir");
        for entry in dir.flatten() {
            let case = entry.path();
            if !case.is_dir() {
                continue;
            }
            let sig = read_json(&case.join("signature.json"));
            let demos = read_json(&case.join("demos.json"));
            let inputs = read_json(&case.join("inputs.json"));
            for (file, kind) in [
                ("chat.messages.json", AdapterKind::Chat),
                ("json.messages.json", AdapterKind::Json),
                ("xml.messages.json", AdapterKind::Xml),
                ("baml.messages.json", AdapterKind::Json),
            ] {
                let what = format!("{}/{file}", case.display());
                // Only some cases are rendered with the BAML adapter; it refuses some types.
                if file == "baml.messages.json"
                    && (!case.join(file).exists() || read_json(&case.join(file)).is_object())
                {
                    continue;
                }
                let p = parse(&messages(&case.join(file)))
                    .unwrap_or_else(|| panic!("{what}: not parsed"));
                assert_eq!(p.adapter, kind, "{what}");
                let in_names: Vec<String> = p.input_fields.iter().map(|f| f.name.clone()).collect();
                let out_names: Vec<String> =
                    p.output_fields.iter().map(|f| f.name.clone()).collect();
                assert_eq!(in_names, names(&sig["inputs"]), "{what}");
                assert_eq!(out_names, names(&sig["outputs"]), "{what}");
                assert_eq!(
                    Some(p.instructions.as_str()),
                    sig["instructions"].as_str(),
                    "{what}"
                );
                assert_eq!(
                    p.demos.len(),
                    demos.as_array().map_or(0, Vec::len),
                    "{what}"
                );
                for (k, v) in inputs.as_object().into_iter().flatten() {
                    let got = p
                        .input(k)
                        .unwrap_or_else(|| panic!("{what}: input {k} missing"));
                    if v.is_string() {
                        assert_eq!(got, rendered(v).trim(), "{what}: input {k}");
                    } else {
                        assert!(!got.is_empty(), "{what}: input {k}");
                    }
                }
                // Demo outputs that the demo supplies are recovered.
                for (demo, expected) in p.demos.iter().zip(demos.as_array().into_iter().flatten()) {
                    for name in &out_names {
                        if let Some(v) = expected.get(name) {
                            let got = demo
                                .output(name)
                                .unwrap_or_else(|| panic!("{what}: demo output {name}"));
                            let want = match v {
                                Value::Bool(true) => "True".to_owned(),
                                Value::Bool(false) => "False".to_owned(),
                                Value::Null if kind != AdapterKind::Json => "None".to_owned(),
                                other => rendered(other),
                            };
                            assert_eq!(got, want, "{what}: demo output {name}");
                        }
                    }
                }
                // Simple types agree with DSPy's JSON schema.
                for (f, s) in p
                    .output_fields
                    .iter()
                    .zip(sig["outputs"].as_array().into_iter().flatten())
                {
                    let want = &s["json_schema"];
                    let got = f.kind.to_schema();
                    if let Some(t) = want.get("type").and_then(Value::as_str)
                        && matches!(t, "string" | "integer" | "number" | "boolean")
                    {
                        assert_eq!(got.get("type"), want.get("type"), "{what}: {}", f.name);
                    }
                    if let Some(e) = want.get("enum") {
                        assert_eq!(got.get("enum"), Some(e), "{what}: {}", f.name);
                    }
                }
                cases += 1;
            }
        }
        // Seven cases in three adapters, two more in four (with BAML).
        assert_eq!(cases, 29);
    }
}
