//! Real DSPy saves (testdata/dspy-imports, see its README) read with no structure render the
//! messages DSPy 3.4.1 renders after `program.load()` of the same file.

mod common;

use hone_core::adapter::{Adapter, ChatAdapter, JsonAdapter};
use hone_core::message::Message;
use hone_core::state::ProgramState;
use hone_core::{Example, FieldType};
use hone_export::{
    ExportError, Imported, InferredModule, dspy_export, import_dspy_value,
    structure_from_signatures,
};
use serde_json::Value;

fn file(name: &str) -> Value {
    serde_json::from_str(&common::read(&format!(
        "testdata/dspy-imports/programs/{name}.json"
    )))
    .expect("JSON")
}

fn expected(name: &str) -> Value {
    serde_json::from_str(&common::read(&format!(
        "testdata/dspy-imports/expected/{name}.json"
    )))
    .expect("JSON")
}

fn messages(v: &Value) -> Vec<Message> {
    serde_json::from_value(v.clone()).expect("messages")
}

/// Renders every predictor of `expected` (its realistic input and its edge inputs) with the
/// imported state and compares with DSPy's messages; returns the number of renders compared.
fn check_renders(state: &ProgramState, expected: &Value) -> usize {
    let mut checked = 0;
    for (name, want) in expected["predictors"].as_object().expect("predictors") {
        let p = state
            .predictor(name)
            .unwrap_or_else(|| panic!("no predictor `{name}` in {:?}", state.predictors.keys()));
        let demos: &[Example] = &p.demos;
        let mut cases = vec![("input", want)];
        if let Some(Value::Object(edge)) = want.get("edge") {
            cases.extend(edge.iter().map(|(k, v)| (k.as_str(), v)));
        }
        for (case, render) in cases {
            let inputs = Example::from_json(render["inputs"].clone()).expect("inputs");
            for (key, adapter) in [
                ("chat", &ChatAdapter::default() as &dyn Adapter),
                ("json", &JsonAdapter as &dyn Adapter),
            ] {
                let Some(want) = render.get(key) else {
                    continue;
                };
                let got = adapter
                    .format(&p.signature, demos, &inputs)
                    .expect("renders");
                assert_eq!(got, messages(want), "{name} ({case}): {key} messages");
                checked += 1;
            }
            if let Some(want) = render.get("json_response_format") {
                let got = JsonAdapter.response_format(&p.signature);
                assert_eq!(got.as_ref(), Some(want), "{name} ({case}): response_format");
                checked += 1;
            }
        }
    }
    checked
}

fn import(name: &str) -> Imported {
    import_dspy_value(&file(name), None).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn chain_of_thought_saves_import_with_no_structure_and_render_dspys_messages() {
    for name in ["honeyoak_rag_cot", "knutole_pii_cot"] {
        let imported = import(name);
        let stages = imported.stages();
        assert_eq!(stages.len(), 1);
        assert_eq!(stages[0].module, InferredModule::ChainOfThought);
        assert!(
            check_renders(&imported.state, &expected(name)) >= 3,
            "{name}"
        );
    }
    // The list given to honeyoak's `str` input is listed for the user to confirm.
    let honeyoak = import("honeyoak_rag_cot");
    let guesses = &honeyoak.inferred.as_ref().expect("present").guesses;
    assert!(
        guesses
            .iter()
            .any(|g| g.contains("input `context` left `str`")),
        "{guesses:?}"
    );
}

#[test]
fn a_three_predictor_refine_imports_with_types_and_roles_from_the_file() {
    let imported = import("robofactor_pipeline");
    let names: Vec<&str> = imported
        .state
        .predictors
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        names,
        ["module.analyzer", "module.planner", "module.implementer"]
    );
    let sig = |n: &str| {
        imported
            .state
            .predictor(n)
            .expect("present")
            .signature
            .field_string()
    };
    assert_eq!(
        sig("module.analyzer"),
        "code_snippet -> analysis, refactoring_opportunities"
    );
    assert_eq!(
        sig("module.planner"),
        "code_snippet, analysis -> refactoring_summary, plan_steps"
    );
    assert_eq!(
        sig("module.implementer"),
        "original_code, refactoring_summary, plan_steps -> refactored_code, implementation_explanation"
    );
    let planner = &imported
        .state
        .predictor("module.planner")
        .expect("present")
        .signature;
    assert_eq!(planner.outputs[1].ty, FieldType::list(FieldType::Str));
    assert!(check_renders(&imported.state, &expected("robofactor_pipeline")) >= 9);
}

#[test]
fn a_react_save_imports_as_one_react_module_with_its_tools() {
    let imported = import("habenicht_react");
    let stages = imported.stages();
    assert_eq!(stages.len(), 1);
    assert_eq!(stages[0].name, "self");
    let InferredModule::React { tools } = &stages[0].module else {
        panic!("not a react: {:?}", stages[0].module)
    };
    assert_eq!(tools[0].name, "search_wikipedia");
    assert_eq!(stages[0].signature.field_string(), "question -> answer");
    assert!(check_renders(&imported.state, &expected("habenicht_react")) >= 6);
}

#[test]
fn a_rewritten_prefix_is_named_from_it_and_the_suggested_structure_renders() {
    // COPRO rewrote the output's prefix, so its name cannot be read off the file: the import
    // names it from the prefix and says so; with the program's name it renders DSPy's messages.
    let imported = import("bhanu_counter_narrative");
    let guesses = &imported.inferred.as_ref().expect("present").guesses;
    assert!(
        guesses.iter().any(|g| g.contains("from prefixes")),
        "{guesses:?}"
    );
    let structure = structure_from_signatures(&[("generate", "hate_speech -> counter_narrative")])
        .expect("present");
    let imported =
        import_dspy_value(&file("bhanu_counter_narrative"), Some(&structure)).expect("present");
    assert!(check_renders(&imported.state, &expected("bhanu_counter_narrative")) >= 3);
}

#[test]
fn extended_signature_is_dropped_on_import_and_from_the_dspy_export() {
    let mut value = file("legacy_lear_netlogo");
    let imported = import_dspy_value(&value, None).expect("present");
    assert_eq!(imported.dropped.len(), 1, "{:?}", imported.dropped);
    assert!(imported.dropped[0].contains("extended_signature"));
    let sig = &imported.state.predictor("self").expect("present").signature;
    assert_eq!(sig.field_string(), "pseudocode -> reasoning, netlogo_code");
    let (text, _) = dspy_export(&imported.state);
    assert!(!text.contains("extended_signature"));

    // A state that still holds the key (read by an older hone) loses it in the export, which
    // says so.
    let structure = imported.state.structure();
    value["self"]["extended_signature"] = value["self"]["signature"].clone();
    let state = ProgramState::from_value_with(&value, &structure).expect("present");
    let (text, dropped) = dspy_export(&state);
    assert!(!text.contains("extended_signature"));
    assert_eq!(dropped.len(), 1);
}

#[test]
fn dspys_old_format_is_converted_and_named_with_the_versions_that_wrote_it() {
    // Its instructions are DSPy's default ones, so they name the fields.
    let imported = import("legacy_plexlogic_contract");
    let p = imported.state.predictor("predictor").expect("predictor");
    assert_eq!(
        p.signature.field_string(),
        "contract, negotiation_playbook -> recommendations"
    );
    assert_eq!(p.signature.outputs[0].prefix, "Recommendations:");
    assert_eq!(p.demos.len(), 5);
    let notes = imported.notes.join("\n");
    assert!(
        notes.contains("DSPy's old save format (DSPy 2.4 and earlier)"),
        "{notes}"
    );
    assert!(notes.contains("`rationale`"), "{notes}");

    // Without default instructions or a structure, the fields are unknown: the error names
    // the format and what to do.
    let mut value = file("legacy_plexlogic_contract");
    value["predictor"]["signature_instructions"] = "Review the contract.".into();
    let err = import_dspy_value(&value, None).expect_err("an error");
    assert!(matches!(err, ExportError::OldFormat { .. }), "{err}");
    let text = err.to_string();
    assert!(text.contains("DSPy 2.4 and earlier"), "{text}");
    assert!(text.contains("`predictor`"), "{text}");
    assert!(text.contains("--signature"), "{text}");
    let structure = structure_from_signatures(&[(
        "predictor",
        "contract, negotiation_playbook -> recommendations",
    )])
    .expect("signature");
    let imported = import_dspy_value(&value, Some(&structure)).expect("imports");
    assert_eq!(
        imported
            .state
            .predictor("predictor")
            .expect("predictor")
            .signature
            .instructions,
        "Review the contract."
    );
}

#[test]
fn every_misfit_is_reported_at_once_with_prefixes_and_a_suggested_signature() {
    let structure = structure_from_signatures(&[
        ("analyzer", "code_snippet -> analysis"),
        ("module.planner", "code_snippet -> plan_steps"),
    ])
    .expect("present");
    let err =
        import_dspy_value(&file("robofactor_pipeline"), Some(&structure)).expect_err("an error");
    let ExportError::Misfit { problems, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!(problems.len(), 4, "{problems:#?}");
    let text = err.to_string();
    for want in [
        "`module.analyzer` is not in the structure",
        "\"Code Snippet:\", \"Analysis:\", \"Refactoring Opportunities:\"",
        "--signature 'module.analyzer=code_snippet -> analysis, refactoring_opportunities: list[str]'",
        "`module.implementer` is not in the structure",
        "predictor `module.planner` has 4 fields in the file",
        "the structure's predictor `analyzer` has no state in the file",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
}

#[test]
fn a_type_the_demos_contradict_is_a_warning_naming_the_field() {
    let structure = structure_from_signatures(&[
        (
            "module.analyzer",
            "code_snippet -> analysis, refactoring_opportunities",
        ),
        (
            "module.planner",
            "code_snippet, analysis -> refactoring_summary, plan_steps: list[str]",
        ),
        (
            "module.implementer",
            "original_code, refactoring_summary, plan_steps: list[str] -> refactored_code, implementation_explanation",
        ),
    ])
    .expect("present");
    let imported =
        import_dspy_value(&file("robofactor_pipeline"), Some(&structure)).expect("present");
    assert_eq!(imported.warnings.len(), 1, "{:?}", imported.warnings);
    assert!(
        imported.warnings[0].contains(
            "predictor `module.analyzer`: output `refactoring_opportunities` is `str` but 1 demo holds `list[str]`"
        ),
        "{}",
        imported.warnings[0]
    );
}

/// The saves `scripts/make-dspy-saves.py` made with each DSPy release in testdata/dspy-saves.
fn made_saves() -> Vec<(String, String)> {
    let root = common::repo().join("testdata/dspy-saves");
    let mut out = Vec::new();
    let mut versions: Vec<_> = std::fs::read_dir(&root)
        .expect("testdata/dspy-saves")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    versions.sort();
    for dir in versions {
        let version = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        for kind in [
            "predict",
            "chain_of_thought",
            "react",
            "refine",
            "custom_module",
        ] {
            out.push((version.clone(), kind.to_owned()));
        }
    }
    out
}

#[test]
fn saves_of_every_module_kind_from_each_dspy_release_import_with_no_structure() {
    let saves = made_saves();
    let versions: std::collections::BTreeSet<&str> =
        saves.iter().map(|(v, _)| v.as_str()).collect();
    for want in ["dspy-2.6.27", "dspy-3.4.1"] {
        assert!(versions.contains(want), "no saves of {want}: {versions:?}");
    }
    for (version, kind) in &saves {
        let base = format!("testdata/dspy-saves/{version}");
        let value: Value =
            serde_json::from_str(&common::read(&format!("{base}/programs/{kind}.json")))
                .expect("JSON");
        let expected: Value =
            serde_json::from_str(&common::read(&format!("{base}/expected/{kind}.json")))
                .expect("JSON");
        let imported =
            import_dspy_value(&value, None).unwrap_or_else(|e| panic!("{version}/{kind}: {e}"));
        let want_module = match kind.as_str() {
            "predict" => vec!["predict"],
            "chain_of_thought" | "refine" => vec!["chain_of_thought"],
            "react" => vec!["react"],
            _ => vec!["predict", "chain_of_thought"],
        };
        let got: Vec<&str> = imported
            .stages()
            .iter()
            .map(|s| s.module.as_str())
            .collect();
        assert_eq!(got, want_module, "{version}/{kind}: modules");
        let n = check_renders(&imported.state, &expected);
        assert!(n >= 2, "{version}/{kind}: {n} renders");
    }
}

#[test]
fn a_chain_of_thought_given_as_a_predict_is_pointed_to_its_module() {
    let structure = structure_from_signatures(&[("respond", "context, question -> response")])
        .expect("signature");
    let err = import_dspy_value(&file("honeyoak_rag_cot"), Some(&structure)).expect_err("misfit");
    let text = err.to_string();
    for want in [
        "the file's predictor `respond.predict` is not in the structure (its fields' prefixes: \"Context:\", \"Question:\", \"Reasoning: Let's think step by step in order to\", \"Response:\")",
        "suggested: --signature 'respond.predict=context, question -> reasoning, response'",
        "make the stage `module = \"chain_of_thought\"`",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
}
