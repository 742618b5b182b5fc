//! Programs and inputs the export tests share.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use hone_core::adapter::History;
use hone_core::state::{PredictorState, ProgramState, ProgramStructure};
use hone_core::{Example, Field, FieldType, ModelField, ModelType, Signature};
use serde_json::{Value, json};

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn read(path: &str) -> String {
    std::fs::read_to_string(repo().join(path)).unwrap_or_else(|e| panic!("read {path}: {e}"))
}

fn example(v: Value) -> Example {
    Example::from_json(v).expect("an object")
}

/// A program with typed fields of every kind, tricky instructions and demos (one incomplete).
pub fn typed_program() -> ProgramState {
    let person = ModelType::new(
        "Person",
        vec![
            ModelField::required("name", FieldType::Str),
            ModelField::with_default("age", FieldType::optional(FieldType::Int), Value::Null),
        ],
    );
    let sig = Signature::builder()
        .name("Extract")
        .instructions(
            "Extract people from {{ text }} and {% raw %} blocks {# not a comment #}.\r\n\
             Mind the [[ ## marker ## ]] and }} braces {\n  indented line\t tab\n",
        )
        .input(Field::new("text", FieldType::Str).desc("The text, with {{placeholders}}"))
        .input(Field::new("context", FieldType::Str))
        .input(Field::new("tags", FieldType::list(FieldType::Str)))
        .input(Field::new(
            "meta",
            FieldType::dict(FieldType::Str, FieldType::Any),
        ))
        .input(Field::new("limit", FieldType::Int))
        .input(Field::new("threshold", FieldType::Float))
        .input(Field::new("strict", FieldType::Bool))
        .output(Field::new(
            "people",
            FieldType::list(FieldType::model(person)),
        ))
        .output(Field::new(
            "kind",
            FieldType::literal(["news", "blog", "{{other}}"]),
        ))
        .output(Field::new("confidence", FieldType::Float))
        .output(
            Field::new("note", FieldType::optional(FieldType::Str)).desc("Anything odd: `{%`, «»"),
        )
        .build()
        .expect("signature builds");
    let mut p = PredictorState::new(sig);
    p.demos = vec![
        example(json!({
            "text": "Ann {{met}} Bob", "context": ["one", "two\nlines"], "tags": ["a"],
            "meta": {"k": [1, 2.5]}, "limit": 2, "threshold": 0.5, "strict": true,
            "people": [{"name": "Ann", "age": 30}, {"name": "Bob", "age": null}],
            "kind": "news", "confidence": 0.9, "note": "{% if x %}ok{% endif %}",
            "augmented": true
        })),
        example(json!({"text": "Only text {#", "people": [], "kind": "blog"})),
        example(json!({
            "text": "<b>&amp;</b>", "context": "plain", "tags": [], "meta": {}, "limit": 0,
            "threshold": 1e-7, "strict": false, "people": [], "kind": "{{other}}",
            "confidence": 1.0, "note": null
        })),
    ];
    p.lm = Some(json!({"model": "openai/gpt-4o-mini", "temperature": 0.0, "max_tokens": 1000}));
    let mut program = ProgramState::from_structure(&ProgramStructure::new());
    program.predictors.insert("extract".into(), p);
    let summary = Signature::parse("text, history: dspy.History -> summary")
        .ok()
        .unwrap_or_else(|| {
            Signature::builder()
                .input(Field::new("text", FieldType::Str))
                .input(Field::new("history", History::field_type()))
                .output(Field::new("summary", FieldType::Str))
                .build()
                .expect("builds")
        });
    let mut s = PredictorState::new(summary.with_instructions(""));
    s.demos = vec![example(json!({"text": "x", "summary": "y\n"}))];
    program.predictors.insert("summarize.predict".into(), s);
    let empty = Signature::builder()
        .output(Field::new("greeting", FieldType::Str))
        .instructions("Say hello {")
        .build()
        .expect("builds");
    program
        .predictors
        .insert("greet".into(), PredictorState::new(empty));
    program
}

/// The programs every round-trip test runs over: (label, program).
pub fn programs() -> Vec<(String, ProgramState)> {
    let mut out = Vec::new();
    for name in ["qa_plain", "qa_typed", "two_step_optimized"] {
        let text = read(&format!("testdata/hone-saved/{name}.json"));
        out.push((
            format!("hone-saved/{name}"),
            ProgramState::from_json_str(&text).expect("hone-saved loads"),
        ));
    }
    for name in ["qa_plain", "two_step_optimized"] {
        let structure =
            ProgramState::from_json_str(&read(&format!("testdata/hone-saved/{name}.json")))
                .expect("loads")
                .structure();
        let text = read(&format!("testdata/dspy-golden/programs/{name}.json"));
        out.push((
            format!("dspy-golden/{name}"),
            ProgramState::from_json_str_with(&text, &structure).expect("golden loads"),
        ));
    }
    out.push(("typed".into(), typed_program()));
    out
}

/// Nasty text values.
pub const NASTY: [&str; 12] = [
    "",
    "plain",
    "{{ question }}",
    "}} {{",
    "{% if true %}yes{% endif %}",
    "{# comment #}",
    "[[ ## answer ## ]]\n42\n\n[[ ## completed ## ]]",
    "line one\r\nline two\rthree\n",
    "unicode: é 漢字 🦀 \u{2028} «quoted» »",
    "{{{{raw}}}} {%raw%}{%endraw%} {",
    "<answer>&lt;</answer>",
    "trailing newline\n",
];

/// Some input values for a field of the given type, a `str` field also getting lists.
pub fn sample_values(ty: &FieldType, i: usize) -> Value {
    let s = NASTY[i % NASTY.len()];
    match ty {
        FieldType::Str => match i % 4 {
            3 => json!([s, "two"]),
            _ => json!(s),
        },
        FieldType::Int => json!(i as i64 - 3),
        FieldType::Float => json!([0.5, 1e-7, 1e16, -2.0][i % 4]),
        FieldType::Bool => json!(i.is_multiple_of(2)),
        FieldType::List { .. } => json!([s, i, null]),
        FieldType::Dict { .. } => json!({"k": s, "n": [i, 2.5], "{{k}}": {"x": true}}),
        _ => json!(s),
    }
}

/// Deterministic inputs for a signature: `n` examples.
pub fn sample_inputs(sig: &Signature, n: usize) -> Vec<Example> {
    (0..n)
        .map(|i| {
            let mut e = Example::new();
            for f in &sig.inputs {
                if History::is_history_type(&f.ty) {
                    continue;
                }
                e.insert(f.name.clone(), sample_values(&f.ty, i + f.name.len()));
            }
            e
        })
        .collect()
}
