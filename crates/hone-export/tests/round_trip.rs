//! The round-trip proof: for every predictor of several programs, under every adapter, the
//! `openai` export filled by its slot rule and the `jinja` export rendered by minijinja give
//! exactly the messages (and `response_format`) the adapter sends, for many inputs.

mod common;

use std::collections::BTreeMap;

use hone_core::adapter::AdapterKind;
use hone_core::message::Message;
use hone_core::state::ProgramState;
use hone_core::{Example, Field, FieldType, ModelField, ModelType, Signature};
use hone_export::{JinjaExport, OpenAiExport, PromptTemplate, format_input_value};
use indexmap::IndexMap;
use minijinja::{Environment, UndefinedBehavior};
use proptest::prelude::*;
use serde_json::{Value, json};

fn render_jinja(template: &str, values: &IndexMap<String, String>) -> String {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    let ctx: BTreeMap<String, String> =
        values.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    env.render_str(template, ctx)
        .unwrap_or_else(|e| panic!("minijinja renders {template:?}: {e:#}"))
}

fn formatted(sig: &Signature, inputs: &Example) -> IndexMap<String, String> {
    sig.inputs
        .iter()
        .filter_map(|f| {
            inputs
                .get(&f.name)
                .map(|v| (f.name.clone(), format_input_value(f, v)))
        })
        .collect()
}

/// Checks one predictor under one adapter for some inputs; returns how many were checked.
fn check(
    label: &str,
    program: &ProgramState,
    openai: &OpenAiExport,
    jinja: &JinjaExport,
    adapter: AdapterKind,
    name: &str,
    inputs: &Example,
) {
    let state = &program.predictors[name];
    let a = adapter.adapter();
    let expected: Vec<Message> = a
        .format(&state.signature, &state.demos, inputs)
        .expect("the adapter formats");
    let values = formatted(&state.signature, inputs);
    let o = &openai.predictors[name];
    assert_eq!(
        o.fill(&values),
        expected,
        "{label} {name} {adapter}: openai export filled with {values:?}"
    );
    assert_eq!(
        o.request.response_format,
        a.response_format(&state.signature),
        "{label} {name} {adapter}: response_format"
    );
    let j = &jinja.predictors[name];
    let rendered: Vec<Message> = j
        .messages
        .iter()
        .map(|m| Message {
            role: m.role,
            content: render_jinja(&m.template, &values),
        })
        .collect();
    assert_eq!(
        rendered, expected,
        "{label} {name} {adapter}: jinja export with {values:?}"
    );
    let t = PromptTemplate::new(name, state, adapter).expect("template");
    assert_eq!(t.render(inputs).expect("renders"), expected);
}

#[test]
fn every_export_renders_what_the_adapter_sends() {
    let mut checked = 0;
    for (label, program) in common::programs() {
        for adapter in AdapterKind::single_call() {
            let openai = OpenAiExport::new(&program, adapter).expect("openai export");
            let jinja = JinjaExport::new(&program, adapter).expect("jinja export");
            for (name, state) in &program.predictors {
                for inputs in common::sample_inputs(&state.signature, 24) {
                    check(&label, &program, &openai, &jinja, adapter, name, &inputs);
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 500, "checked {checked}");
}

fn value_strategy() -> impl Strategy<Value = Value> {
    let text = prop_oneof![
        any::<String>(),
        proptest::sample::select(common::NASTY.to_vec()).prop_map(str::to_owned),
        "[{}%#\\[\\] ##a-z\n\r«»]{0,24}",
    ];
    let leaf = prop_oneof![
        text.clone().prop_map(Value::String),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |x| x.is_finite())
            .prop_map(|x| json!(x)),
        any::<bool>().prop_map(Value::Bool),
        Just(Value::Null),
    ];
    leaf.prop_recursive(2, 8, 4, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map("[a-z{}%#]{0,6}", inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Arbitrary values (any text, nested lists and dicts, numbers) in every input of every
    /// predictor, under every adapter.
    #[test]
    fn arbitrary_inputs_render_exactly(
        seed_values in proptest::collection::vec(value_strategy(), 8),
        program_index in 0usize..6,
        adapter_index in 0usize..4,
    ) {
        let programs = common::programs();
        let (label, program) = &programs[program_index % programs.len()];
        let adapter = AdapterKind::single_call()[adapter_index];
        let openai = OpenAiExport::new(program, adapter).expect("openai export");
        let jinja = JinjaExport::new(program, adapter).expect("jinja export");
        for (name, state) in &program.predictors {
            let mut inputs = Example::new();
            for (i, f) in state.signature.inputs.iter().enumerate() {
                if hone_core::adapter::History::is_history_type(&f.ty) {
                    continue;
                }
                inputs.insert(f.name.clone(), seed_values[i % seed_values.len()].clone());
            }
            check(label, program, &openai, &jinja, adapter, name, &inputs);
        }
    }
}

#[test]
fn jinja_syntax_in_values_is_inert() {
    let program = common::typed_program();
    let jinja = JinjaExport::new(&program, AdapterKind::Chat).expect("export");
    let t = &jinja.predictors["extract"]
        .messages
        .last()
        .expect("messages")
        .template;
    let mut values: IndexMap<String, String> = IndexMap::new();
    for v in [
        "text",
        "context",
        "tags",
        "meta",
        "limit",
        "threshold",
        "strict",
    ] {
        values.insert(
            v.into(),
            "{{ 7 * 7 }} {% for x in [1] %}{{ x }}{% endfor %}".into(),
        );
    }
    let out = render_jinja(t, &values);
    assert!(out.contains("{{ 7 * 7 }} {% for x in [1] %}{{ x }}{% endfor %}"));
    assert!(!out.contains("49"));
}

#[test]
fn openai_slots_are_filled_once() {
    let program = common::programs().remove(0).1;
    let export = OpenAiExport::new(&program, AdapterKind::Chat).expect("export");
    let p = &export.predictors["self"];
    let values = IndexMap::from([("question".to_string(), "{{question}}".to_string())]);
    let messages = p.fill(&values);
    let last = &messages.last().expect("messages").content;
    assert!(last.contains("[[ ## question ## ]]\n{{question}}\n"));
}

#[test]
fn baml_exports_refuse_model_inputs_with_a_reason() {
    let person = FieldType::model(ModelType::new(
        "Person",
        vec![ModelField::required("name", FieldType::Str)],
    ));
    let sig = Signature::builder()
        .input(Field::new("who", FieldType::optional(person)))
        .output(Field::new("greeting", FieldType::Str))
        .build()
        .expect("signature");
    let state = hone_core::state::PredictorState::new(sig);
    let e = PromptTemplate::new("greet", &state, AdapterKind::Baml).expect_err("model input");
    assert!(
        e.to_string()
            .starts_with("predictor `greet`: input `who` is a model, which the baml adapter"),
        "{e}"
    );
    for kind in [AdapterKind::Chat, AdapterKind::Json, AdapterKind::Xml] {
        PromptTemplate::new("greet", &state, kind).expect("other adapters export model inputs");
    }
}

#[test]
fn image_inputs_are_refused_with_a_reason() {
    let state = hone_core::state::PredictorState::new(
        Signature::parse("photo: Image, question -> caption").expect("signature"),
    );
    for kind in AdapterKind::single_call() {
        let e = PromptTemplate::new("describe", &state, kind).expect_err("images have no slot");
        assert!(
            e.to_string()
                .starts_with("predictor `describe`: input `photo` holds images"),
            "{e}"
        );
    }
}

#[test]
fn two_step_exports_are_refused_with_a_reason() {
    let program = ProgramState::from_structure(&hone_core::state::ProgramStructure::single(
        Signature::parse("question -> answer").expect("signature"),
    ));
    let e = OpenAiExport::new(&program, AdapterKind::TwoStep).expect_err("two calls");
    assert!(
        e.to_string().contains("makes two LM calls per prediction"),
        "{e}"
    );
    let e = JinjaExport::new(&program, AdapterKind::TwoStep).expect_err("two calls");
    assert!(e.to_string().contains("two_step adapter"), "{e}");
    let e = hone_export::parse_output(
        &Signature::parse("question -> answer").expect("signature"),
        AdapterKind::TwoStep,
        "Paris",
    )
    .expect_err("parsing needs the extraction call");
    assert!(e.to_string().contains("extraction LM"), "{e}");
}
