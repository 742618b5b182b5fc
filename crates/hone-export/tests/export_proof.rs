//! Keeps testdata/export-proof in sync: the exports and the messages hone's adapters send, for
//! the Python checks (scripts/check-export-jinja.py renders the Jinja templates with Python's
//! jinja2; scripts/check-dspy-export.py loads the `dspy` exports in the real DSPy).
//!
//! Run with `UPDATE_EXPORT_PROOF=1` to rewrite the files after an intended change.

mod common;

use hone_core::adapter::AdapterKind;
use hone_core::state::ProgramState;
use hone_export::{
    JinjaExport, PromptTemplate, dspy_json, format_input_value, import_dspy_value,
    structure_from_signatures,
};
use serde_json::{Map, Value, json};

fn jinja_fixture() -> Value {
    let mut cases = Vec::new();
    for (label, program) in common::programs() {
        for adapter in AdapterKind::single_call() {
            let export = JinjaExport::new(&program, adapter).expect("jinja export");
            for (name, state) in &program.predictors {
                let template = PromptTemplate::new(name, state, adapter).expect("template");
                let jinja = &export.predictors[name];
                let mut renders = Vec::new();
                let mut fixed: Option<Value> = None;
                for inputs in common::sample_inputs(&state.signature, 6) {
                    let messages = template.render(&inputs).expect("renders");
                    let values: Map<String, Value> = template
                        .inputs()
                        .map(|f| {
                            let v = inputs.get(&f.name).expect("sampled");
                            (f.name.clone(), Value::String(format_input_value(f, v)))
                        })
                        .collect();
                    let (last, rest) = messages.split_last().expect("messages");
                    fixed.get_or_insert_with(|| json!(rest));
                    renders.push(json!({"values": values, "last": last.content}));
                }
                cases.push(json!({
                    "program": label,
                    "adapter": adapter,
                    "predictor": name,
                    "templates": jinja.messages,
                    "fixed_messages": fixed,
                    "renders": renders,
                }));
            }
        }
    }
    json!({"cases": cases})
}

/// The hone-saved programs, by the kind testdata/dspy-programs/programs.py builds them as.
const DSPY_KINDS: [(&str, &str); 3] = [
    ("qa_plain", "qa_plain"),
    ("qa_typed", "qa_typed"),
    ("two_step_optimized", "two_step"),
];

/// The real DSPy saves of testdata/dspy-imports that import, each as `import_NAME` in
/// programs.py; imported with no structure except where the file cannot name a field (the
/// structure then is the one the import suggests, with the program's field name).
const DSPY_IMPORTS: [(&str, Option<(&str, &str)>); 7] = [
    ("legacy_plexlogic_contract", None),
    ("honeyoak_rag_cot", None),
    ("knutole_pii_cot", None),
    ("robofactor_pipeline", None),
    ("habenicht_react", None),
    ("legacy_lear_netlogo", None),
    (
        "bhanu_counter_narrative",
        Some(("generate", "hate_speech -> counter_narrative")),
    ),
];

/// The program kinds scripts/make-dspy-saves.py saves, each as `save_KIND` in programs.py.
const SAVE_KINDS: [&str; 5] = [
    "predict",
    "chain_of_thought",
    "react",
    "refine",
    "custom_module",
];

/// The DSPy releases testdata/dspy-saves holds saves of.
fn save_versions() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(common::repo().join("testdata/dspy-saves"))
        .expect("testdata/dspy-saves")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// The import of one save of testdata/dspy-imports.
pub fn imported(file: &str, signature: Option<(&str, &str)>) -> ProgramState {
    import_file(
        &format!("testdata/dspy-imports/programs/{file}.json"),
        signature,
    )
}

/// The import (with no structure, or one signature) of a DSPy save.
fn import_file(path: &str, signature: Option<(&str, &str)>) -> ProgramState {
    let value: Value = serde_json::from_str(&common::read(path)).expect("JSON");
    let structure = signature.map(|s| structure_from_signatures(&[s]).expect("signature"));
    import_dspy_value(&value, structure.as_ref())
        .expect("imports")
        .state
}

fn dspy_fixture() -> Value {
    let mut programs = Vec::new();
    let saved = DSPY_KINDS.iter().map(|(file, kind)| {
        let program =
            ProgramState::from_json_str(&common::read(&format!("testdata/hone-saved/{file}.json")))
                .expect("loads");
        (file.to_string(), kind.to_string(), program)
    });
    let imports = DSPY_IMPORTS.iter().map(|(file, sig)| {
        (
            format!("import_{file}"),
            format!("import_{file}"),
            imported(file, *sig),
        )
    });
    let made: Vec<(String, String, ProgramState)> = save_versions()
        .into_iter()
        .flat_map(|v| {
            SAVE_KINDS.iter().map(move |k| {
                (
                    format!("save_{v}_{k}"),
                    format!("save_{k}"),
                    import_file(&format!("testdata/dspy-saves/{v}/programs/{k}.json"), None),
                )
            })
        })
        .collect();
    for (file, kind, program) in saved.chain(imports).chain(made) {
        let mut predictors = Map::new();
        for (name, state) in &program.predictors {
            let mut renders = Vec::new();
            for inputs in common::sample_inputs(&state.signature, 4) {
                let mut by_adapter = Map::new();
                for adapter in AdapterKind::single_call() {
                    let t = PromptTemplate::new(name, state, adapter).expect("template");
                    by_adapter.insert(
                        adapter.to_string(),
                        json!({
                            "messages": t.render(&inputs).expect("renders"),
                            "response_format": t.response_format,
                        }),
                    );
                }
                renders.push(json!({"inputs": inputs, "adapters": by_adapter}));
            }
            predictors.insert(name.clone(), Value::Array(renders));
        }
        programs.push(json!({
            "file": format!("{file}.json"),
            "kind": kind,
            "dspy_json": dspy_json(&program),
            "predictors": predictors,
        }));
    }
    json!({"programs": programs})
}

fn check_or_update(rel: &str, value: &Value) {
    let path = common::repo().join(rel);
    let mut text = serde_json::to_string_pretty(value).expect("JSON");
    text.push('\n');
    if std::env::var_os("UPDATE_EXPORT_PROOF").is_some() {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("create dir");
        }
        std::fs::write(&path, text).expect("write");
        return;
    }
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        current == text,
        "{rel} is out of date with hone's exports; rerun with UPDATE_EXPORT_PROOF=1 and review the change"
    );
}

#[test]
fn jinja_proof_fixture_is_current() {
    check_or_update("testdata/export-proof/jinja.json", &jinja_fixture());
}

#[test]
fn dspy_proof_fixture_is_current() {
    check_or_update("testdata/export-proof/dspy.json", &dspy_fixture());
}
