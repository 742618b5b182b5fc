//! Program state: DSPy-saved files load onto hone structures, hone-saved files stand alone and
//! round-trip byte for byte, unknown keys survive, and mismatches are clear errors.
//!
//! `UPDATE_GOLDEN=1 cargo test -p hone-core --test state` rewrites testdata/hone-saved/*.json
//! (the files scripts/check-dspy-load.py loads into real DSPy programs).

use std::path::PathBuf;

use hone_core::state::{FORMAT_VERSION, ROOT_PREDICTOR, to_dspy_json_text};
use hone_core::{
    Example, Field, FieldRole, FieldType, ProgramState, ProgramStructure, Signature, StateError,
};
use serde_json::{Value, json};

fn testdata(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata")
        .join(path)
}

fn read(path: &str) -> String {
    let p = testdata(path);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("reading {}: {e}", p.display()))
}

fn read_json(path: &str) -> Value {
    serde_json::from_str(&read(path)).unwrap_or_else(|e| panic!("{path} is not JSON: {e}"))
}

/// A signature as DSPy holds it in a golden case (names, prefixes, descriptions, types from
/// the JSON Schema), with the given class name.
fn golden_signature(case: &str, name: &str) -> Signature {
    let g = read_json(&format!("dspy-golden/{case}/signature.json"));
    let fields = |key: &str| -> Vec<Field> {
        g[key]
            .as_array()
            .expect("field list")
            .iter()
            .map(|f| {
                let ty = FieldType::from_json_schema(&f["json_schema"]).expect("supported schema");
                Field::new(f["name"].as_str().expect("name"), ty)
                    .prefix(f["prefix"].as_str().expect("prefix"))
                    .desc(f["desc"].as_str().expect("desc"))
            })
            .collect()
    };
    Signature {
        name: name.into(),
        instructions: g["instructions"].as_str().expect("instructions").into(),
        inputs: fields("inputs"),
        outputs: fields("outputs"),
    }
}

/// `dspy.ChainOfThought(sig).predict.signature`: a `reasoning` output prepended.
fn chain_of_thought(sig: Signature) -> Signature {
    sig.with_field_at(
        FieldRole::Output,
        0,
        Field::new("reasoning", FieldType::Str),
    )
    .expect("no field named reasoning yet")
}

/// cases.py's `TwoStep`: `route = Predict(Route)`, `answer = ChainOfThought("ticket, team -> reply")`.
fn two_step() -> ProgramStructure {
    ProgramStructure::new()
        .with_predictor(
            "route",
            golden_signature("route_no_docstring_dict_optional", "Route"),
        )
        .with_predictor(
            "answer.predict",
            chain_of_thought(Signature::parse("ticket, team -> reply").expect("parses")),
        )
}

/// `dspy.Predict("question -> answer")`.
fn qa_plain() -> ProgramStructure {
    ProgramStructure::single(Signature::parse("question -> answer").expect("parses"))
}

fn example(v: Value) -> Example {
    Example::from_json(v).expect("an object")
}

fn load_two_step() -> ProgramState {
    ProgramState::from_json_str_with(
        &read("dspy-golden/programs/two_step_optimized.json"),
        &two_step(),
    )
    .expect("DSPy's file loads onto TwoStep")
}

#[test]
fn dspy_two_step_loads_onto_its_structure() {
    let state = load_two_step();
    assert_eq!(
        state.predictors.keys().collect::<Vec<_>>(),
        ["route", "answer.predict"]
    );
    let route = state.predictor("route").expect("route");
    assert_eq!(
        route.signature.instructions,
        "Route the ticket to the team that can resolve it. Urgent outages are priority 5."
    );
    assert_eq!(
        route.signature.inputs[0].description,
        "a customer support ticket"
    );
    assert_eq!(route.signature.outputs[1].prefix, "Priority:");
    assert_eq!(
        route.signature.outputs[0].ty,
        FieldType::literal(["billing", "tech", "sales"])
    );
    assert_eq!(
        route.demos,
        [example(
            json!({"ticket": "Refund please", "metadata": {"plan": "pro"},
                        "team": "billing", "priority": 2, "summary": "refund request"})
        )]
    );
    assert_eq!(route.lm, None);

    let answer = state.predictor("answer.predict").expect("answer.predict");
    assert_eq!(
        answer.signature.instructions,
        "Given the fields `ticket`, `team`, produce the fields `reply`."
    );
    assert_eq!(
        answer.signature.field_string(),
        "ticket, team -> reasoning, reply"
    );
    assert_eq!(answer.signature.outputs[0].prefix, "Reasoning:");
    assert_eq!(answer.signature.outputs[0].description, "${reasoning}");
    assert_eq!(
        answer.demos[0].get("reasoning"),
        Some(&json!("Billing handles refunds."))
    );
    assert_eq!(
        state.metadata["dependency_versions"],
        json!({"python": "3.11", "dspy": "3.4.1", "cloudpickle": "3.1"})
    );
}

#[test]
fn dspy_bare_predict_is_the_flat_form() {
    let state =
        ProgramState::from_json_str_with(&read("dspy-golden/programs/qa_plain.json"), &qa_plain())
            .expect("loads");
    assert!(state.is_single_predictor());
    let root = state.root().expect("root predictor");
    assert_eq!(
        root.signature,
        Signature::parse("question -> answer").expect("parses")
    );
    assert!(root.demos.is_empty());
    assert_eq!(state.structure(), qa_plain());
}

#[test]
fn dspy_files_are_written_back_byte_for_byte() {
    for (file, structure) in [
        ("qa_plain.json", qa_plain()),
        ("two_step_optimized.json", two_step()),
    ] {
        let text = read(&format!("dspy-golden/programs/{file}"));
        let state = ProgramState::from_json_str_with(&text, &structure).expect("loads");
        assert_eq!(state.to_dspy_json_string_pretty(), text, "{file}");
    }
}

/// The state hone saves as testdata/hone-saved/qa_typed.json: the golden `Answer` signature
/// (declared in Rust), new instructions, and demos of which the first was bootstrapped.
#[cfg(feature = "derive")]
fn qa_typed_state() -> ProgramState {
    use hone_core::TypedSignature;

    /// Answer the question using the context. Be concise.
    #[derive(hone_core::Signature)]
    struct Answer {
        #[input(desc = "passages that may contain the answer")]
        context: Vec<String>,
        #[input]
        question: String,
        #[output(desc = "a short factual answer")]
        answer: String,
        #[output(desc = "between 0 and 1")]
        confidence: f64,
    }

    let mut state = ProgramState::from_structure(&ProgramStructure::single(Answer::signature()));
    let root = state.root_mut().expect("single predictor");
    root.signature.instructions =
        "Answer the question using only the context. Reply with one word.".into();
    let Value::Array(demos) = read_json("dspy-golden/qa_typed_with_demos/demos.json") else {
        panic!("demos.json is an array");
    };
    root.demos = demos.into_iter().map(example).collect();
    root.demos[0].insert("augmented", true);
    state
}

/// The programs hone saves into testdata/hone-saved/.
fn hone_saved() -> Vec<(&'static str, ProgramState, ProgramStructure)> {
    let qa =
        ProgramState::from_json_str_with(&read("dspy-golden/programs/qa_plain.json"), &qa_plain())
            .expect("loads");
    #[allow(unused_mut)]
    let mut out = vec![
        ("qa_plain.json", qa, qa_plain()),
        ("two_step_optimized.json", load_two_step(), two_step()),
    ];
    #[cfg(feature = "derive")]
    {
        let state = qa_typed_state();
        let structure = state.structure();
        out.push(("qa_typed.json", state, structure));
    }
    out
}

#[test]
fn hone_saves_exactly_the_committed_files() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1");
    for (file, state, _) in hone_saved() {
        let text = state.to_json_string_pretty();
        let path = testdata(&format!("hone-saved/{file}"));
        if update {
            std::fs::write(&path, &text)
                .unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        } else {
            let committed = read(&format!("hone-saved/{file}"));
            assert!(
                committed == text,
                "hone now writes {file} differently; if intended, run with UPDATE_GOLDEN=1 and \
                 check it still loads in DSPy (scripts/check-dspy-load.py)\n--- now:\n{text}"
            );
        }
    }
}

#[test]
fn hone_files_stand_alone_and_round_trip() {
    for (file, state, structure) in hone_saved() {
        let text = read(&format!("hone-saved/{file}"));
        let loaded = ProgramState::from_json_str(&text).expect("a hone file loads on its own");
        assert_eq!(loaded, state, "{file}: value equality");
        assert_eq!(loaded.to_json_string_pretty(), text, "{file}: stable bytes");
        assert_eq!(
            loaded.structure(),
            state.structure(),
            "{file}: names and types restored"
        );
        let onto =
            ProgramState::from_json_str_with(&text, &structure).expect("loads onto structure");
        assert_eq!(onto, state, "{file}: loaded onto the structure");
        // The DSPy view of the hone file is DSPy's own file with no hone keys.
        let dspy = loaded.to_dspy_json_string_pretty();
        assert!(!dspy.contains("\"hone\""), "{file}");
        assert_eq!(
            ProgramState::from_json_str_with(&dspy, &structure).expect("loads"),
            state
        );
    }
}

#[test]
fn hone_file_layout() {
    let text = read("hone-saved/two_step_optimized.json");
    let v: Value = serde_json::from_str(&text).expect("JSON");
    let keys: Vec<&String> = v["route"].as_object().expect("object").keys().collect();
    assert_eq!(
        keys,
        ["traces", "train", "demos", "signature", "lm", "hone"]
    );
    assert_eq!(v["route"]["hone"]["signature"]["name"], "Route");
    assert_eq!(
        v["answer.predict"]["hone"]["signature"]["outputs"][0]["name"],
        "reasoning"
    );
    assert_eq!(
        v["metadata"]["hone"],
        json!({"format_version": FORMAT_VERSION})
    );
    let flat = read_json("hone-saved/qa_plain.json");
    assert!(flat.get(ROOT_PREDICTOR).is_none() && flat.get("signature").is_some());
    assert_eq!(to_dspy_json_text(&v), text);
}

#[test]
fn unknown_keys_survive_a_round_trip() {
    let mut v: Value =
        serde_json::from_str(&read("hone-saved/two_step_optimized.json")).expect("JSON");
    v["route"]["fields"] = json!({"team": {"strategy": "first"}});
    v["route"]["notes"] = json!("kept");
    v["route"]["hone"]["history"] = json!([1, 2]);
    v["answer.predict"]["demos"][0]["augmented"] = json!(true);
    v["metadata"]["created_by"] = json!("someone");
    v["metadata"]["hone"]["run"] = json!({"trial": 7});
    v["tool_settings"] = json!({"x": 1});
    let state = ProgramState::from_value(&v).expect("loads");
    assert_eq!(
        state.predictor("route").expect("route").extra["notes"],
        "kept"
    );
    assert_eq!(state.extra["tool_settings"], json!({"x": 1}));
    assert_eq!(state.to_value(), v);

    // DSPy's view keeps everything but hone's keys; `fields` stays where DSPy writes it.
    let dspy = state.to_dspy_value();
    let keys: Vec<&String> = dspy["route"].as_object().expect("object").keys().collect();
    assert_eq!(
        keys,
        [
            "traces",
            "train",
            "demos",
            "signature",
            "fields",
            "notes",
            "lm"
        ]
    );
    assert_eq!(dspy["metadata"].get("hone"), None);
    assert_eq!(dspy["metadata"]["created_by"], "someone");

    // The flat form keeps unknown keys too.
    let mut flat = read_json("hone-saved/qa_plain.json");
    flat["custom"] = json!([true]);
    let state = ProgramState::from_value(&flat).expect("loads");
    assert_eq!(state.to_value(), flat);
}

#[test]
fn the_dspy_part_of_a_hone_file_wins() {
    let mut v = read_json("hone-saved/qa_plain.json");
    v["signature"]["instructions"] = json!("Edited in DSPy's part.");
    v["signature"]["fields"][1]["description"] = json!("the answer");
    let state = ProgramState::from_value(&v).expect("loads");
    let sig = &state.root().expect("root").signature;
    assert_eq!(sig.instructions, "Edited in DSPy's part.");
    assert_eq!(sig.outputs[0].description, "the answer");
    // Saved again, both parts agree.
    assert_eq!(
        state.to_value()["hone"]["signature"]["instructions"],
        "Edited in DSPy's part."
    );
}

fn err_onto(v: &Value, structure: &ProgramStructure) -> StateError {
    ProgramState::from_value_with(v, structure).expect_err("must not load")
}

#[test]
fn field_count_mismatch_names_the_predictor_and_fields() {
    let mut v = read_json("dspy-golden/programs/two_step_optimized.json");
    v["route"]["signature"]["fields"]
        .as_array_mut()
        .expect("array")
        .pop();
    assert_eq!(
        err_onto(&v, &two_step()).to_string(),
        "predictor `route`: `signature.fields` has 4 entries but the program's signature has 5 \
         fields (ticket, metadata, team, priority, summary)"
    );
}

#[test]
fn predictor_mismatches_are_errors() {
    let v = read_json("dspy-golden/programs/two_step_optimized.json");
    let missing = ProgramStructure::new().with_predictor(
        "route",
        golden_signature("route_no_docstring_dict_optional", "Route"),
    );
    assert_eq!(
        err_onto(&v, &missing),
        StateError::UnknownPredictor {
            name: "answer.predict".into(),
            in_program: "route".into()
        }
    );
    let extra = two_step().with_predictor(
        "review",
        Signature::parse("reply -> ok: bool").expect("parses"),
    );
    let e = err_onto(&v, &extra);
    assert_eq!(
        e.to_string(),
        "the file has no state for predictor `review`, which the program has (the file's \
         predictors: route, answer.predict); was the file saved from a different program?"
    );
    // A bare Predict's file onto a two-predictor program.
    let e = err_onto(
        &read_json("dspy-golden/programs/qa_plain.json"),
        &two_step(),
    );
    assert!(
        e.to_string().starts_with(
            "the file has state for predictor `self`, which the program does not have"
        ),
        "{e}"
    );
    // A hone file whose signature has other fields than the program's.
    let hone = read_json("hone-saved/qa_plain.json");
    let other = ProgramStructure::single(Signature::parse("query -> answer").expect("parses"));
    assert_eq!(
        err_onto(&hone, &other).to_string(),
        "predictor `self`: the file's signature is `question -> answer` but the program's is \
         `query -> answer`; was the file saved from a different program?"
    );
}

#[test]
fn dspy_files_need_the_structure() {
    let e = ProgramState::from_json_str(&read("dspy-golden/programs/two_step_optimized.json"))
        .expect_err("no field names in a DSPy file");
    assert_eq!(
        e,
        StateError::NoSignature {
            predictor: "route".into()
        }
    );
    assert!(e.to_string().contains("ProgramState::from_json_str_with"));
}

#[test]
fn corrupt_or_foreign_json_is_a_clear_error() {
    let e = ProgramState::from_json_str("{\"route\": {").expect_err("truncated");
    assert!(matches!(e, StateError::Json { line: 1, .. }), "{e}");
    assert!(
        e.to_string().starts_with("not valid JSON (line 1, column"),
        "{e}"
    );

    assert_eq!(
        ProgramState::from_json_str("{\"name\": \"package.json?\"}").expect_err("foreign"),
        StateError::NoPredictors
    );
    assert_eq!(
        ProgramState::from_json_str("\"x\"")
            .expect_err("not an object")
            .to_string(),
        "the program file: expected a JSON object, found a string"
    );

    let base = read_json("dspy-golden/programs/two_step_optimized.json");
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "/route/demos/0",
            json!("just text"),
            "predictor `route`: `demos[0]`: expected an object of field values, found a string",
        ),
        (
            "/route/signature/instructions",
            json!(null),
            "predictor `route`: `signature.instructions`: expected a string, found null",
        ),
        (
            "/answer.predict/signature/fields/2/prefix",
            json!(3),
            "predictor `answer.predict`: `signature.fields[2].prefix`: expected a string, found a number",
        ),
        (
            "/route/lm",
            json!("gpt-4o"),
            "predictor `route`: `lm`: expected null or an object of LM settings, found a string",
        ),
        (
            "/route/signature",
            json!([]),
            "predictor `route`: `signature`: expected an object with `instructions` and `fields`, found an array",
        ),
    ];
    for (pointer, value, message) in cases {
        let mut v = base.clone();
        *v.pointer_mut(pointer).expect("pointer exists") = value;
        assert_eq!(err_onto(&v, &two_step()).to_string(), message, "{pointer}");
    }
    let mut v = base.clone();
    v["route"]["signature"]
        .as_object_mut()
        .expect("object")
        .remove("fields");
    assert_eq!(
        err_onto(&v, &two_step()).to_string(),
        "predictor `route`: `signature.fields`: expected an array of {\"prefix\", \"description\"} \
         objects, found nothing (the key is missing)"
    );
}

#[test]
fn newer_format_and_bad_hone_signature_are_errors() {
    let mut v = read_json("hone-saved/qa_plain.json");
    v["metadata"]["hone"]["format_version"] = json!(FORMAT_VERSION + 1);
    assert_eq!(
        ProgramState::from_value(&v).expect_err("newer"),
        StateError::NewerFormat {
            found: FORMAT_VERSION + 1,
            supported: FORMAT_VERSION
        }
    );
    let mut v = read_json("hone-saved/qa_plain.json");
    v["hone"]["signature"]["inputs"] = json!(7);
    let e = ProgramState::from_value(&v).expect_err("bad signature");
    assert!(
        e.to_string()
            .starts_with("predictor `self`: `hone.signature` is not a valid signature:"),
        "{e}"
    );
}

#[test]
fn fresh_state_writes_loadable_dspy_metadata() {
    let state = ProgramState::from_structure(&two_step());
    let v = state.to_dspy_value();
    assert_eq!(v["metadata"], json!({"dependency_versions": {}}));
    assert_eq!(v["route"]["lm"], Value::Null);
    assert_eq!(
        ProgramState::from_value(&state.to_value()).expect("loads"),
        state
    );
}

/// A loaded program renders the messages DSPy renders for it.
mod render {
    use super::*;
    use hone_core::Message;
    use hone_core::adapter::{Adapter, ChatAdapter};

    fn messages(v: &Value) -> Vec<Message> {
        serde_json::from_value(v.clone()).expect("a message list")
    }

    fn render(state: &ProgramState, predictor: &str, inputs: &Value) -> Vec<Message> {
        let p = state.predictor(predictor).expect("predictor exists");
        ChatAdapter::new()
            .format(&p.signature, &p.demos, &example(inputs.clone()))
            .expect("formats")
    }

    #[test]
    fn dspy_qa_plain_renders_like_dspy() {
        let state = ProgramState::from_json_str_with(
            &read("dspy-golden/programs/qa_plain.json"),
            &qa_plain(),
        )
        .expect("loads");
        let inputs = read_json("dspy-golden/qa_string_signature/inputs.json");
        assert_eq!(
            render(&state, ROOT_PREDICTOR, &inputs),
            messages(&read_json(
                "dspy-golden/qa_string_signature/chat.messages.json"
            ))
        );
    }

    #[test]
    fn dspy_two_step_renders_like_dspy() {
        let state = load_two_step();
        let expected = read_json("dspy-programs/two_step_messages.json");
        for (name, case) in expected.as_object().expect("object") {
            assert_eq!(
                render(&state, name, &case["inputs"]),
                messages(&case["messages"]),
                "{name}"
            );
        }
    }

    #[test]
    fn hone_saved_files_render_like_their_dspy_references() {
        let expected = read_json("hone-saved/expected.json");
        for (file, case) in expected.as_object().expect("object") {
            let state =
                ProgramState::from_json_str(&read(&format!("hone-saved/{file}"))).expect("loads");
            for (name, p) in case["predictors"].as_object().expect("object") {
                assert_eq!(
                    render(&state, name, &p["inputs"]),
                    messages(&p["messages"]),
                    "{file}: {name}"
                );
            }
        }
    }

    /// DSPy's saved program with enum-typed fields (made with `cases_types.py`) loads onto the
    /// signature DSPy declared, renders DSPy's messages in every adapter, parses members by
    /// name, and keeps its enum classes through hone's own format.
    #[test]
    fn dspy_enum_program_renders_like_dspy() {
        use hone_core::adapter::AdapterKind;
        use hone_core::conformance::signature_from_reference;

        let declared = signature_from_reference(&read_json(
            "dspy-golden/t_enum_output_and_input/signature.json",
        ))
        .expect("the golden signature reads");
        let structure = ProgramStructure::single(declared);
        let state = ProgramState::from_json_str_with(
            &read("dspy-golden/programs/enum_triage.json"),
            &structure,
        )
        .expect("loads");
        let standalone = ProgramState::from_json_str(&state.to_json_string_pretty())
            .expect("hone's file loads on its own");
        let inputs = read_json("dspy-golden/t_enum_saved_program/inputs.json");
        for loaded in [&state, &standalone] {
            let p = loaded.predictor(ROOT_PREDICTOR).expect("root predictor");
            for kind in AdapterKind::all() {
                let golden = format!("dspy-golden/t_enum_saved_program/{kind}.messages.json");
                // The case is rendered by the adapters make_golden.py uses by default.
                if !testdata(&golden).exists() {
                    continue;
                }
                let got = kind
                    .adapter()
                    .format(&p.signature, &p.demos, &example(inputs.clone()))
                    .expect("formats");
                let want = messages(&read_json(&golden));
                assert_eq!(got, want, "{kind}");
            }
            let parsed = ChatAdapter::new()
                .parse(
                    &p.signature,
                    "[[ ## level ## ]]\nCRITICAL\n\n[[ ## priority ## ]]\nTWO\n\n[[ ## color ## ]]\nBLUE\n\n[[ ## completed ## ]]",
                )
                .expect("parses members by name");
            assert_eq!(parsed.get("level"), Some(&json!("critical")));
            assert_eq!(parsed.get("priority"), Some(&json!(2)));
            assert_eq!(parsed.get("color"), Some(&json!("RED")));
        }
    }

    /// DSPy's saved program with image inputs (its image demos saved as DSPy's marked-up
    /// parts) renders DSPy's messages, content parts included, in every adapter.
    #[test]
    fn dspy_image_program_renders_like_dspy() {
        use hone_core::adapter::AdapterKind;
        use hone_core::conformance::signature_from_reference;

        let declared =
            signature_from_reference(&read_json("dspy-golden/t_image_inputs/signature.json"))
                .expect("the golden signature reads");
        let state = ProgramState::from_json_str_with(
            &read("dspy-golden/programs/image_describe.json"),
            &ProgramStructure::single(declared),
        )
        .expect("loads");
        let inputs = read_json("dspy-golden/t_image_saved_program/inputs.json");
        let p = state.predictor(ROOT_PREDICTOR).expect("root predictor");
        for kind in AdapterKind::all() {
            let golden = format!("dspy-golden/t_image_saved_program/{kind}.messages.json");
            // The case is rendered by the adapters make_golden.py uses by default.
            if !testdata(&golden).exists() {
                continue;
            }
            let got: Vec<Value> = kind
                .adapter()
                .format(&p.signature, &p.demos, &example(inputs.clone()))
                .expect("formats")
                .iter()
                .map(|m| json!({"role": m.role, "content": m.content_value()}))
                .collect();
            let want = read_json(&golden);
            assert_eq!(Value::Array(got), want, "{kind}");
        }
    }
}
