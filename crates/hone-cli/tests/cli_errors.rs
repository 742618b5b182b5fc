//! Typos and bad files: every error names the file, the line and the field, and suggests the
//! fix. Exit code 2. No LM is contacted.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const HONE: &str = env!("CARGO_BIN_EXE_hone");

fn program_text() -> String {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/programs/review-pipeline.toml");
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{e}"))
}

struct Case {
    _dir: tempfile::TempDir,
    program: PathBuf,
}

/// A program (edited by `edit`) and a copy of the dataset (edited by `data`) in a temp dir.
fn case(edit: impl Fn(String) -> String, data: impl Fn(Vec<String>) -> Vec<String>) -> Case {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let program = dir.path().join("program.toml");
    std::fs::write(&program, edit(program_text())).unwrap_or_else(|e| panic!("{e}"));
    let reviews =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/programs/reviews.jsonl");
    let lines: Vec<String> = std::fs::read_to_string(reviews)
        .unwrap_or_else(|e| panic!("{e}"))
        .lines()
        .map(str::to_owned)
        .collect();
    std::fs::write(
        dir.path().join("reviews.jsonl"),
        data(lines).join("\n") + "\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    Case { _dir: dir, program }
}

fn eval(c: &Case) -> (i32, String) {
    let out: Output = Command::new(HONE)
        .args([
            "eval",
            &c.program.display().to_string(),
            "--base-url",
            "http://127.0.0.1:9/v1",
        ])
        .current_dir(c.program.parent().unwrap_or(Path::new(".")))
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let stderr = String::from_utf8_lossy(&out.stderr).replace(
        &c.program
            .parent()
            .unwrap_or(Path::new("."))
            .display()
            .to_string(),
        "DIR",
    );
    (out.status.code().unwrap_or(-1), stderr)
}

#[test]
fn a_typo_in_a_key_is_located_and_corrected() {
    let c = case(
        |t| {
            t.replace(
                "module = \"chain_of_thought\"",
                "modul = \"chain_of_thought\"",
            )
        },
        |d| d,
    );
    let (code, err) = eval(&c);
    assert_eq!(code, 2);
    insta::assert_snapshot!("typo_in_key", err);
}

#[test]
fn an_unknown_module_kind_gets_the_closest_kind() {
    let c = case(
        |t| t.replace("\"chain_of_thought\"", "\"chain_of_thougt\""),
        |d| d,
    );
    let (code, err) = eval(&c);
    assert_eq!(code, 2);
    assert!(
        err.contains(
            "DIR/program.toml:20:10: `program.stages[1].module`: unknown variant `chain_of_thougt`"
        ),
        "{err}"
    );
    assert!(
        err.contains("help: did you mean `chain_of_thought`?"),
        "{err}"
    );
}

#[test]
fn a_missing_field_names_the_table() {
    let c = case(
        |t| t.replace("signature = \"review -> summary\"\n", ""),
        |d| d,
    );
    let (code, err) = eval(&c);
    assert_eq!(code, 2);
    assert!(err.contains("DIR/program.toml:"), "{err}");
    assert!(err.contains("missing field `signature`"), "{err}");
    assert!(err.contains("program.stages[0]"), "{err}");
    assert!(
        err.contains("help: add `signature = ...` to this table"),
        "{err}"
    );
}

#[test]
fn a_bad_dataset_line_names_file_and_line() {
    let c = case(
        |t| t,
        |mut d| {
            d[6] = "{\"review\": \"broken".to_owned();
            d
        },
    );
    let (code, err) = eval(&c);
    assert_eq!(code, 2);
    assert!(err.contains("DIR/reviews.jsonl:7:"), "{err}");
    assert!(err.contains("not valid JSON"), "{err}");
}

#[test]
fn a_dataset_without_the_input_field_suggests_a_mapping() {
    let c = case(
        |t| t,
        |d| {
            d.into_iter()
                .map(|l| l.replace("\"review\"", "\"reviews\""))
                .collect()
        },
    );
    let (code, err) = eval(&c);
    assert_eq!(code, 2);
    assert!(
        err.contains("DIR/reviews.jsonl:1:1: `review`: the example has no input field `review`"),
        "{err}"
    );
    assert!(err.contains("map = { review = \"reviews\" }"), "{err}");
}

#[test]
fn an_unknown_lm_name_gets_the_closest_name() {
    let c = case(|t| t.replace("lm = \"task\"", "lm = \"tsak\""), |d| d);
    let (code, err) = eval(&c);
    assert_eq!(code, 2);
    assert!(
        err.contains("DIR/program.toml:9:6: `program.lm`: unknown LM `tsak`"),
        "{err}"
    );
    assert!(err.contains("did you mean `task`?"), "{err}");
}

#[test]
fn an_unknown_stage_reference_is_corrected() {
    let c = case(
        |t| t.replace("summarize.summary", "sumarize.summary"),
        |d| d,
    );
    let (code, err) = eval(&c);
    assert_eq!(code, 2);
    assert!(err.contains("`program.stages[1].inputs.summary`: `sumarize.summary` names no earlier stage `sumarize`"), "{err}");
    assert!(err.contains("did you mean `summarize`?"), "{err}");
}

#[test]
fn an_unknown_optimizer_parameter_is_corrected() {
    let c = case(
        |t| t.replace("num_candidate_programs", "num_candidates_programs"),
        |d| d,
    );
    let out = Command::new(HONE)
        .args([
            "optimize",
            &c.program.display().to_string(),
            "--out",
            &c.program.with_extension("run").display().to_string(),
            "--base-url",
            "http://127.0.0.1:9/v1",
        ])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("`optimizer.num_candidates_programs`"), "{err}");
    assert!(
        err.contains("did you mean `num_candidate_programs`?"),
        "{err}"
    );
}
