//! The value rules the `openai` and `jinja` exports state (`slots`, `rendering`) are complete:
//! a client that formats values by the stated text alone, and fills the exported templates
//! with them, sends the bytes DSPy 3.4.1 rendered (testdata/dspy-imports) and hone's adapter
//! renders, for empty, single, multi-line and « » lists given to a `str` input.

mod common;

use std::collections::BTreeMap;

use hone_core::adapter::{Adapter, AdapterKind, ChatAdapter};
use hone_core::message::Message;
use hone_core::{Example, FieldType};
use hone_export::{JinjaExport, OpenAiExport, VALUE_RULES, import_dspy_value};
use indexmap::IndexMap;
use minijinja::{Environment, UndefinedBehavior};
use serde_json::{Value, json};

/// The sentences of the rule this client implements; each must be in the exports' text.
const STATED: [&str; 6] = [
    "A str input given a string is inserted as is.",
    "N/A when it is empty",
    "ITEM alone, not numbered, when it has one item",
    "one line per item, '[1] ITEM', '[2] ITEM', ..., joined by newlines",
    "written as «item» when it holds no newline, « or »; otherwise as a block: «««, a newline, the text with four spaces put after each of its newlines and before its first line, a newline, »»»",
    "Other lists and dicts (including lists given to inputs of other types) are inserted as json.dumps(value, ensure_ascii=False)",
];

/// A client written from the stated rule (strings and lists of strings, what these inputs
/// hold), knowing nothing of hone.
fn client_format(is_str: bool, value: &Value) -> String {
    let item = |text: &str| {
        if !text.contains('\n') && !text.contains('«') && !text.contains('»') {
            format!("«{text}»")
        } else {
            format!("«««\n    {}\n»»»", text.replace('\n', "\n    "))
        }
    };
    match value {
        Value::String(s) if is_str => s.clone(),
        Value::Array(items) if is_str => {
            let texts: Vec<String> = items
                .iter()
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                .collect();
            match texts.as_slice() {
                [] => "N/A".to_owned(),
                [one] => item(one),
                many => many
                    .iter()
                    .enumerate()
                    .map(|(i, t)| format!("[{}] {}", i + 1, item(t)))
                    .collect::<Vec<_>>()
                    .join("\n"),
            }
        }
        other => serde_json::to_string(other).expect("JSON"),
    }
}

#[test]
fn the_exports_state_every_rule_the_client_follows() {
    let program = common::typed_program();
    let openai = OpenAiExport::new(&program, AdapterKind::Chat).expect("openai");
    let jinja = JinjaExport::new(&program, AdapterKind::Chat).expect("jinja");
    for sentence in STATED {
        assert!(VALUE_RULES.contains(sentence), "not stated: {sentence}");
        assert!(
            openai.slots.contains(sentence),
            "openai slots lack: {sentence}"
        );
        assert!(
            jinja.rendering.contains(sentence),
            "jinja rendering lacks: {sentence}"
        );
    }
}

fn messages(v: &Value) -> Vec<Message> {
    serde_json::from_value(v.clone()).expect("messages")
}

#[test]
fn a_client_following_the_text_sends_dspys_bytes_for_every_kind_of_list() {
    let file: Value = serde_json::from_str(&common::read(
        "testdata/dspy-imports/programs/honeyoak_rag_cot.json",
    ))
    .expect("JSON");
    let expected: Value = serde_json::from_str(&common::read(
        "testdata/dspy-imports/expected/honeyoak_rag_cot.json",
    ))
    .expect("JSON");
    let program = import_dspy_value(&file, None).expect("imports").state;
    let name = "respond.predict";
    let predictor = program.predictor(name).expect("predictor");
    let openai = OpenAiExport::new(&program, AdapterKind::Chat).expect("openai");
    let jinja = JinjaExport::new(&program, AdapterKind::Chat).expect("jinja");

    let mut cases: Vec<(String, Value, Option<Vec<Message>>)> =
        expected["predictors"][name]["edge"]
            .as_object()
            .expect("edge cases")
            .iter()
            .map(|(k, v)| (k.clone(), v["inputs"].clone(), Some(messages(&v["chat"]))))
            .collect();
    // More shapes than DSPy's reference holds: « » alone, a multi-line single item, many items.
    for (label, context) in [
        ("guillemets", json!(["plain", "with «quoted» text"])),
        ("one_multiline", json!(["first line\nsecond line"])),
        ("three", json!(["a", "b", "c"])),
        ("one_with_guillemet", json!(["»"])),
    ] {
        cases.push((
            label.to_owned(),
            json!({"context": context, "question": "Why?"}),
            None,
        ));
    }
    let kinds = ["empty", "single", "multi-line", "« »"];
    let mut covered = Vec::new();
    for (label, inputs, dspy) in cases {
        let values: IndexMap<String, String> = predictor
            .signature
            .inputs
            .iter()
            .map(|f| {
                let v = &inputs[&f.name];
                (f.name.clone(), client_format(f.ty == FieldType::Str, v))
            })
            .collect();
        let adapter = ChatAdapter::default()
            .format(
                &predictor.signature,
                &predictor.demos,
                &Example::from_json(inputs.clone()).expect("inputs"),
            )
            .expect("renders");
        let sent = openai.predictors[name].fill(&values);
        assert_eq!(
            sent, adapter,
            "{label}: the openai export filled by the text"
        );
        if let Some(dspy) = &dspy {
            assert_eq!(sent, *dspy, "{label}: DSPy 3.4.1's bytes");
        }
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        let ctx: BTreeMap<String, String> = values.clone().into_iter().collect();
        let rendered: Vec<String> = jinja.predictors[name]
            .messages
            .iter()
            .map(|m| env.render_str(&m.template, &ctx).expect("renders"))
            .collect();
        let want: Vec<&str> = adapter.iter().map(|m| m.content.as_str()).collect();
        assert_eq!(
            rendered, want,
            "{label}: the jinja export rendered by the text"
        );
        let context = inputs["context"].as_array().expect("a list");
        if context.is_empty() {
            covered.push("empty");
        }
        if context.len() == 1 {
            covered.push("single");
        }
        if context
            .iter()
            .any(|c| c.as_str().is_some_and(|s| s.contains('\n')))
        {
            covered.push("multi-line");
        }
        if context
            .iter()
            .any(|c| c.as_str().is_some_and(|s| s.contains('«')))
        {
            covered.push("« »");
        }
    }
    for k in kinds {
        assert!(covered.contains(&k), "no case of a {k} list");
    }
}
