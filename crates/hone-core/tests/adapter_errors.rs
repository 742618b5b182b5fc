//! Bad completions give clear errors; a few rendered prompts and errors are pinned as snapshots.

use hone_core::adapter::{
    Adapter, AdapterError, AdapterKind, BamlAdapter, ChatAdapter, History, JsonAdapter, XmlAdapter,
};
use hone_core::{Example, Field, FieldType, Signature};
use serde_json::{Map, Value, json};

fn qa() -> Signature {
    Signature::parse("question -> answer, confidence: float").expect("valid signature")
}

fn all() -> [Box<dyn Adapter>; 4] {
    AdapterKind::single_call().map(AdapterKind::adapter)
}

#[test]
fn missing_fields_name_what_was_found() {
    let e = ChatAdapter::new()
        .parse(&qa(), "[[ ## answer ## ]]\nParis")
        .expect_err("confidence is missing");
    assert_eq!(e.missing(), vec!["confidence".to_owned()]);
    assert!(e.is_parse_error());
    assert_eq!(e.dspy_exception(), "AdapterParseError");
    insta::assert_snapshot!("chat_missing_field", e.to_string());
}

#[test]
fn wrong_types_name_field_type_and_text() {
    let e = ChatAdapter::new()
        .parse(
            &qa(),
            "[[ ## answer ## ]]\nParis\n\n[[ ## confidence ## ]]\nvery high",
        )
        .expect_err("not a float");
    match &e {
        AdapterError::FieldParse {
            field,
            expected,
            text,
            ..
        } => {
            assert_eq!(
                (field.as_str(), expected.as_str(), &**text),
                ("confidence", "float", "very high")
            );
        }
        other => panic!("unexpected error {other:?}"),
    }
    insta::assert_snapshot!("chat_wrong_type", e.to_string());
    let e = JsonAdapter::new()
        .parse(&qa(), r#"{"answer": "Paris", "confidence": [0.9]}"#)
        .expect_err("a list is not a float");
    assert!(e.to_string().contains("`confidence` as float"), "{e}");
}

#[test]
fn truncated_and_garbage_completions_fail_cleanly() {
    let sig = qa();
    let truncated = JsonAdapter::new()
        .parse(&sig, r#"{"answer": "Par"#)
        .expect_err("confidence missing");
    assert!(
        matches!(truncated, AdapterError::MissingFields { .. }),
        "{truncated}"
    );
    let garbage = JsonAdapter::new()
        .parse(&sig, "I cannot answer that.")
        .expect_err("no object");
    insta::assert_snapshot!("json_not_an_object", garbage.to_string());
    let xml = XmlAdapter::new()
        .parse(&sig, "<answer>a < b</answer><confidence>1</confidence>")
        .expect_err("not XML");
    insta::assert_snapshot!("xml_malformed", xml.to_string());
    for adapter in all() {
        for bad in ["", "\u{0}", "[[ ## answer ## ]]", "{", "<answer>", "}}}]]]"] {
            let e = adapter.parse(&sig, bad).expect_err("no valid outputs");
            assert!(e.is_parse_error(), "{}: {e}", adapter.name());
        }
    }
}

#[test]
fn long_responses_are_shortened_in_messages() {
    let long = "x".repeat(5000);
    let e = ChatAdapter::new()
        .parse(&qa(), &long)
        .expect_err("no fields");
    let text = e.to_string();
    assert!(text.len() < 1500, "{}", text.len());
    assert!(text.contains("(4500 more characters)"), "{text}");
}

#[test]
fn optional_and_defaulted_outputs_may_be_missing() {
    let sig = Signature::builder()
        .input(Field::new("q", FieldType::Str))
        .output(Field::new("a", FieldType::Str))
        .output(Field::new("note", FieldType::optional(FieldType::Str)))
        .output(Field::new("n", FieldType::Int).default_value(json!(7)))
        .build()
        .expect("valid signature");
    let out = ChatAdapter::new()
        .parse(&sig, "[[ ## a ## ]]\nyes")
        .expect("parses");
    assert_eq!(
        Value::Object(out.into_fields()),
        json!({"a": "yes", "note": null, "n": 7})
    );
}

#[test]
fn fallbacks_follow_dspy() {
    assert_eq!(ChatAdapter::new().fallback(), Some(AdapterKind::Json));
    assert_eq!(XmlAdapter::new().fallback(), Some(AdapterKind::Json));
    assert_eq!(JsonAdapter::new().fallback(), None);
    assert_eq!(BamlAdapter::new().fallback(), None);
    let no_fallback = ChatAdapter {
        use_json_adapter_fallback: false,
    };
    assert_eq!(no_fallback.fallback(), None);
}

#[test]
fn response_format_matches_dspy_structured_outputs() {
    let person = FieldType::from_json_schema(&json!({
        "properties": {
            "name": {"title": "Name", "type": "string"},
            "age": {"anyOf": [{"type": "integer"}, {"type": "null"}], "default": null, "title": "Age"},
            "emails": {"default": [], "items": {"type": "string"}, "title": "Emails", "type": "array"}
        },
        "required": ["name"], "title": "Person", "type": "object"
    }))
    .expect("model schema");
    let sig = Signature::builder()
        .input(Field::new("text", FieldType::Str))
        .output(Field::new("people", FieldType::list(person)))
        .output(Field::new("count", FieldType::Int))
        .build()
        .expect("valid signature");
    // What DSPy 3.4.1 sends for the `Extract` signature of the reference cases.
    let expected = json!({"type": "json_schema", "json_schema": {"name": "DSPyProgramOutputs", "strict": true, "schema":
        {"$defs": {"Person": {"properties": {"name": {"title": "Name", "type": "string"}, "age": {"anyOf": [{"type": "integer"}, {"type": "null"}], "title": "Age"}, "emails": {"default": [], "items": {"type": "string"}, "title": "Emails", "type": "array"}}, "required": ["name", "age", "emails"], "title": "Person", "type": "object", "additionalProperties": false}}, "additionalProperties": false, "properties": {"people": {"items": {"$ref": "#/$defs/Person"}, "title": "People", "type": "array"}, "count": {"title": "Count", "type": "integer"}}, "required": ["people", "count"], "title": "DSPyProgramOutputs", "type": "object"}}});
    assert_eq!(JsonAdapter::new().response_format(&sig), Some(expected));
    let open = Signature::parse("q -> meta: dict[str, int]").expect("valid signature");
    assert_eq!(
        JsonAdapter::new().response_format(&open),
        Some(json!({"type": "json_object"}))
    );
    assert_eq!(ChatAdapter::new().response_format(&sig), None);
}

#[test]
fn explicit_history_is_rendered_between_demos_and_input() {
    let sig = Signature::parse("question -> answer").expect("valid signature");
    let turn = |q: Option<&str>, a: Option<&str>| {
        let mut m = Map::new();
        if let Some(q) = q {
            m.insert("question".into(), json!(q));
        }
        if let Some(a) = a {
            m.insert("answer".into(), json!(a));
        }
        m
    };
    let history = History::new(vec![turn(Some("q1"), Some("a1")), turn(None, Some("a2"))]);
    let inputs = Example::from_json(json!({"question": "q3"})).expect("object");
    let msgs = ChatAdapter::new()
        .format_with_history(&sig, &[], &inputs, Some(&history))
        .expect("formats");
    let roles: Vec<String> = msgs.iter().map(|m| format!("{:?}", m.role)).collect();
    assert_eq!(roles, ["System", "User", "Assistant", "Assistant", "User"]);
    assert_eq!(
        msgs[3].content,
        "[[ ## answer ## ]]\na2\n\n[[ ## completed ## ]]\n"
    );

    let with_field = Signature::builder()
        .input(Field::new("question", FieldType::Str))
        .input(Field::new("history", History::field_type()))
        .output(Field::new("answer", FieldType::Str))
        .build()
        .expect("valid signature");
    let bad = Example::from_json(json!({"question": "q", "history": [1]})).expect("object");
    let e = ChatAdapter::new()
        .format(&with_field, &[], &bad)
        .expect_err("not a history");
    assert!(matches!(e, AdapterError::InvalidHistory { .. }), "{e}");
}

#[test]
fn rendered_prompts_snapshot() {
    let sig = Signature::parse(
        "context: list[str], question -> answer: Literal['yes', 'no'], score: float",
    )
    .expect("valid signature")
    .with_instructions("Answer with yes or no.");
    let demo = Example::from_json(
        json!({"context": ["a"], "question": "q?", "answer": "yes", "score": 0.5}),
    )
    .expect("object");
    let inputs =
        Example::from_json(json!({"context": ["b", "c"], "question": "r?"})).expect("object");
    for adapter in all() {
        let msgs = adapter
            .format(&sig, std::slice::from_ref(&demo), &inputs)
            .expect("formats");
        let rendered: Vec<String> = msgs
            .iter()
            .map(|m| format!("=== {:?}\n{}", m.role, m.content))
            .collect();
        insta::assert_snapshot!(format!("prompt_{}", adapter.name()), rendered.join("\n"));
    }
}

#[test]
fn baml_refuses_a_model_repeated_inside_an_output_type() {
    let address = FieldType::from_json_schema(&json!({
        "properties": {"city": {"title": "City", "type": "string"}},
        "required": ["city"], "title": "Address", "type": "object"
    }))
    .expect("model schema");
    let pair = hone_core::ModelType::new(
        "Pair",
        vec![
            hone_core::ModelField::required("home", address.clone()),
            hone_core::ModelField::required("work", address),
        ],
    );
    let sig = Signature::builder()
        .input(Field::new("text", FieldType::Str))
        .output(Field::new("pair", FieldType::model(pair)))
        .build()
        .expect("valid signature");
    let inputs = Example::from_json(json!({"text": "x"})).expect("object");
    let e = BamlAdapter::new()
        .format(&sig, &[], &inputs)
        .expect_err("Address appears twice");
    assert!(!e.is_parse_error());
    assert_eq!(e.dspy_exception(), "ValueError");
    assert_eq!(
        e.to_string(),
        "BAMLAdapter cannot render the type of output field `pair`: the model `Address` appears \
         more than once inside it (a recursive or repeated model). Use another adapter (json or \
         chat) for this signature, or give each place its own model class."
    );
    assert!(JsonAdapter::new().format(&sig, &[], &inputs).is_ok());
    assert_eq!(
        BamlAdapter::new().response_format(&sig),
        JsonAdapter::new().response_format(&sig)
    );
}
