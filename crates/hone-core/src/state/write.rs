//! Writing a program's state in DSPy's key order, with or without hone's additions.

use serde_json::{Map, Value};

use super::{FORMAT_VERSION, PredictorState, ProgramState, ROOT_PREDICTOR};

/// The state as a JSON value; `hone` adds the `hone` keys.
pub(super) fn write(state: &ProgramState, hone: bool) -> Value {
    let mut top = Map::new();
    match state.predictors.get(ROOT_PREDICTOR) {
        Some(root) if state.is_single_predictor() => {
            top = predictor(root, hone);
        }
        _ => {
            for (name, p) in &state.predictors {
                top.insert(name.clone(), Value::Object(predictor(p, hone)));
            }
        }
    }
    top.insert(
        "metadata".into(),
        Value::Object(metadata(&state.metadata, hone)),
    );
    for (key, value) in &state.extra {
        if !top.contains_key(key) {
            top.insert(key.clone(), value.clone());
        }
    }
    Value::Object(top)
}

/// One predictor in DSPy's `Predict.dump_state` key order: `traces`, `train`, `demos`,
/// `signature`, (other keys, where DSPy writes `fields`), `lm`; then `hone`.
fn predictor(p: &PredictorState, hone: bool) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("traces".into(), Value::Array(p.traces.clone()));
    out.insert("train".into(), Value::Array(p.train.clone()));
    out.insert(
        "demos".into(),
        Value::Array(
            p.demos
                .iter()
                .map(|d| Value::Object(d.fields().clone()))
                .collect(),
        ),
    );
    let fields: Vec<Value> = p
        .signature
        .fields()
        .map(|(_, f)| {
            let mut entry = Map::new();
            entry.insert("prefix".into(), Value::String(f.prefix.clone()));
            entry.insert("description".into(), Value::String(f.description.clone()));
            Value::Object(entry)
        })
        .collect();
    let mut sig = Map::new();
    sig.insert(
        "instructions".into(),
        Value::String(p.signature.instructions.clone()),
    );
    sig.insert("fields".into(), Value::Array(fields));
    out.insert("signature".into(), Value::Object(sig));
    for (key, value) in &p.extra {
        if !out.contains_key(key) && key != "lm" && key != "hone" {
            out.insert(key.clone(), value.clone());
        }
    }
    out.insert("lm".into(), p.lm.clone().unwrap_or(Value::Null));
    if hone {
        let mut h = Map::new();
        // A `Signature` always serializes: its keys are strings and its values plain data.
        h.insert(
            "signature".into(),
            serde_json::to_value(&p.signature).unwrap_or(Value::Null),
        );
        for (key, value) in &p.hone_extra {
            if key != "signature" {
                h.insert(key.clone(), value.clone());
            }
        }
        out.insert("hone".into(), Value::Object(h));
    }
    out
}

/// `metadata` with `dependency_versions` present (DSPy's `load` reads it unconditionally) and
/// `hone.format_version` set (hone's format) or `hone` removed (DSPy's format).
fn metadata(saved: &Map<String, Value>, hone: bool) -> Map<String, Value> {
    let mut out = Map::new();
    if !saved.contains_key("dependency_versions") {
        out.insert("dependency_versions".into(), Value::Object(Map::new()));
    }
    for (key, value) in saved {
        out.insert(key.clone(), value.clone());
    }
    if hone {
        let version = Value::from(FORMAT_VERSION);
        match out.get_mut("hone") {
            Some(Value::Object(h)) => {
                let mut with_version = Map::new();
                with_version.insert("format_version".into(), version);
                for (key, value) in std::mem::take(h) {
                    if key != "format_version" {
                        with_version.insert(key, value);
                    }
                }
                *h = with_version;
            }
            _ => {
                let mut h = Map::new();
                h.insert("format_version".into(), version);
                out.insert("hone".into(), Value::Object(h));
            }
        }
    } else {
        out.shift_remove("hone");
    }
    out
}
