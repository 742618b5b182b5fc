//! The simulated model on prompts rendered by DSPy itself: every golden
//! signature in every adapter format, and the meta prompts of MIPROv2,
//! COPRO, SIMBA, GEPA and ReAct (fixtures made by
//! `tests/fixtures/meta/make_meta_fixtures.py`).

mod common;

use common::{chat_field, fixture_messages};
use hone_sim::engine::{self, Completion};
use hone_sim::openai::ChatRequest;
use hone_sim::prompt::{self, AdapterKind, FieldType};
use hone_sim::tasks::TaskKind;
use hone_sim::tasks::ideas::instruction_score;
use hone_sim::{SimConfig, SimStats};
use serde_json::{Value, json};

fn run(body: &Value) -> Completion {
    let req = ChatRequest::from_json(body.to_string().as_bytes()).expect("valid request");
    engine::complete(&SimConfig::default(), &req)
}

fn first(c: &Completion) -> String {
    c.choices[0].content.clone().unwrap_or_default()
}

#[test]
fn answers_every_golden_prompt_in_its_format() {
    let cases = [
        "chain_of_thought",
        "extract_pydantic_list",
        "incomplete_demo",
        "qa_string_signature",
        "qa_typed_with_demos",
        "route_no_docstring_dict_optional",
        "sentiment_literal_bool",
    ];
    for case in cases {
        for adapter in ["chat", "json", "xml"] {
            let file = format!("golden/{case}/{adapter}.messages.json");
            let messages = fixture_messages(&file);
            let req = ChatRequest::from_json(json!({"messages": messages}).to_string().as_bytes())
                .expect("req");
            let parsed = prompt::parse(&req.normalized_messages()).expect("DSPy prompt");
            let out = first(&run(&json!({"messages": messages})));
            // Parse the answer the way the adapter would.
            let names: Vec<&str> = parsed
                .output_fields
                .iter()
                .map(|f| f.name.as_str())
                .collect();
            let values = match parsed.adapter {
                AdapterKind::Chat => {
                    assert!(out.ends_with("[[ ## completed ## ]]"), "{file}: {out}");
                    prompt::split_markers(&out, &names)
                }
                AdapterKind::Json => {
                    let obj: Value =
                        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{file}: {e}: {out}"));
                    assert!(obj.is_object());
                    prompt::split_json(&out, &names)
                }
                AdapterKind::Xml => prompt::split_xml(&out, &names),
            };
            for f in &parsed.output_fields {
                let v = values
                    .get(&f.name)
                    .and_then(Value::as_str)
                    .unwrap_or_else(|| panic!("{file}: missing {}: {out}", f.name));
                match &f.kind {
                    FieldType::Int => assert!(v.parse::<i64>().is_ok(), "{file}: {} = {v}", f.name),
                    FieldType::Float => {
                        assert!(v.parse::<f64>().is_ok(), "{file}: {} = {v}", f.name)
                    }
                    FieldType::Bool => {
                        assert!(v == "True" || v == "False", "{file}: {} = {v}", f.name)
                    }
                    FieldType::Literal(c) => {
                        assert!(c.iter().any(|x| x == v), "{file}: {} = {v}", f.name)
                    }
                    FieldType::Schema(s) if s.get("type") == Some(&json!("array")) => {
                        assert!(v.starts_with('['), "{file}: {} = {v}", f.name);
                    }
                    _ => {}
                }
            }
        }
    }
}

#[test]
fn golden_tasks_are_recognised() {
    let c =
        run(&json!({"messages": fixture_messages("golden/chain_of_thought/chat.messages.json")}));
    assert_eq!(c.kind, "arithmetic");
    // One correct demo and a reasoning field: 0.35 + 0.1 + 0.05.
    assert!(
        c.accuracy.is_some_and(|p| (p - 0.5).abs() < 1e-9),
        "{:?}",
        c.accuracy
    );
    let c = run(
        &json!({"messages": fixture_messages("golden/sentiment_literal_bool/xml.messages.json")}),
    );
    assert_eq!(c.kind, "sentiment");
    let c = run(
        &json!({"messages": fixture_messages("golden/qa_typed_with_demos/chat.messages.json")}),
    );
    assert_eq!(c.kind, "generic");
    assert_eq!(chat_field(&first(&c), "answer").as_deref(), Some("Paris"));
}

fn proposals(file: &str, n: u32) -> Vec<String> {
    let c = run(&json!({"messages": fixture_messages(file), "n": n, "temperature": 1.0}));
    assert_eq!(c.kind, "meta", "{file}");
    c.choices
        .iter()
        .map(|ch| {
            chat_field(ch.content.as_deref().unwrap_or(""), "proposed_instruction")
                .unwrap_or_default()
        })
        .collect()
}

#[test]
fn instruction_proposals_mix_weak_and_strong_candidates() {
    let got = proposals("meta/mipro_proposer_chat.messages.json", 12);
    let scores: Vec<f64> = got
        .iter()
        .map(|p| instruction_score(TaskKind::Arithmetic, p))
        .collect();
    assert!(got.iter().all(|p| !p.is_empty()));
    let distinct: std::collections::BTreeSet<&String> = got.iter().collect();
    assert!(distinct.len() >= 6, "{got:?}");
    assert!(scores.contains(&0.0), "some weak: {got:?}");
    assert!(scores.iter().any(|s| *s >= 0.25), "some strong: {got:?}");

    let got = proposals("meta/copro_basic_chat.messages.json", 8);
    assert!(
        got.iter()
            .any(|p| instruction_score(TaskKind::Sentiment, p) > 0.0),
        "{got:?}"
    );
    let c = run(&json!({"messages": fixture_messages("meta/copro_basic_chat.messages.json")}));
    assert!(
        chat_field(&first(&c), "proposed_prefix_for_output_field").is_some_and(|p| !p.is_empty())
    );

    // COPRO with attempts builds on the best attempt.
    let got = proposals("meta/copro_attempts_chat.messages.json", 3);
    for p in &got {
        assert!(p.contains("sarcasm"), "{p}");
        assert!(
            instruction_score(TaskKind::Sentiment, p)
                > instruction_score(TaskKind::Sentiment, "watching for sarcasm")
        );
    }
}

#[test]
fn summaries_and_descriptions_are_answered() {
    for (file, field) in [
        (
            "meta/describe_program_chat.messages.json",
            "program_description",
        ),
        (
            "meta/describe_module_chat.messages.json",
            "module_description",
        ),
        ("meta/dataset_descriptor_chat.messages.json", "observations"),
        (
            "meta/dataset_descriptor_prior_chat.messages.json",
            "observations",
        ),
    ] {
        let c = run(&json!({"messages": fixture_messages(file)}));
        let text = chat_field(&first(&c), field).unwrap_or_default();
        assert!(text.contains("arithmetic"), "{file}: {text}");
    }
}

#[test]
fn gepa_reflection_returns_a_better_fenced_instruction() {
    let c = run(&json!({"messages": fixture_messages("meta/gepa_reflection.messages.json")}));
    assert_eq!(c.kind, "gepa_reflection");
    let out = first(&c);
    let start = out.find("```").expect("fence") + 3;
    let end = out.rfind("```").expect("closing fence");
    assert!(end > start);
    let instruction = out[start..end].trim();
    assert!(
        instruction_score(TaskKind::Arithmetic, instruction) >= 0.15,
        "{instruction}"
    );
}

#[test]
fn simba_advice_names_every_module_with_key_ideas() {
    let c = run(&json!({"messages": fixture_messages("meta/simba_feedback_chat.messages.json")}));
    let out = first(&c);
    assert!(chat_field(&out, "discussion").is_some_and(|d| !d.is_empty()));
    let advice: Value =
        serde_json::from_str(&chat_field(&out, "module_advice").unwrap_or_default()).expect("dict");
    let text = advice["predict"].as_str().expect("advice for predict");
    assert!(
        instruction_score(TaskKind::Arithmetic, text) > 0.0,
        "{text}"
    );
}

#[test]
fn react_calls_the_calculator_then_finishes_and_extracts() {
    for adapter in ["chat", "json", "xml"] {
        let file = format!("meta/react_step0_{adapter}.messages.json");
        let c = run(&json!({"messages": fixture_messages(&file)}));
        assert_eq!(c.kind, "react");
        let out = first(&c);
        let messages = fixture_messages(&file);
        let req = ChatRequest::from_json(json!({"messages": messages}).to_string().as_bytes())
            .expect("req");
        let parsed = prompt::parse(&req.normalized_messages()).expect("parsed");
        let names = ["next_thought", "next_tool_name", "next_tool_args"];
        let values = match parsed.adapter {
            AdapterKind::Chat => prompt::split_markers(&out, &names),
            AdapterKind::Json => prompt::split_json(&out, &names),
            AdapterKind::Xml => prompt::split_xml(&out, &names),
        };
        assert_eq!(values["next_tool_name"], "calculator", "{file}: {out}");
        let args: Value = serde_json::from_str(values["next_tool_args"].as_str().unwrap_or(""))
            .expect("args JSON");
        assert_eq!(args, json!({"expression": "17 + 25"}), "{file}");
    }
    let c = run(&json!({"messages": fixture_messages("meta/react_step1_chat.messages.json")}));
    assert_eq!(
        chat_field(&first(&c), "next_tool_name").as_deref(),
        Some("finish")
    );
    assert_eq!(
        chat_field(&first(&c), "next_tool_args").as_deref(),
        Some("{}")
    );
    let c = run(&json!({"messages": fixture_messages("meta/react_extract_chat.messages.json")}));
    assert_eq!(chat_field(&first(&c), "answer").as_deref(), Some("42"));
    assert!(chat_field(&first(&c), "reasoning").is_some());
}

#[test]
fn stats_serialize_as_plain_json() {
    let s = SimStats::default();
    let v = serde_json::to_value(&s).expect("serializes");
    assert_eq!(v["requests_total"], 0);
    assert!(v["requests_by_path"].is_object());
}
