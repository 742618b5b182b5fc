//! Out-of-range and non-finite values are errors naming the field (exit code 2), before any
//! LM is called or any run directory is written.

mod common;

use std::path::{Path, PathBuf};

use common::{command, read, text};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs `hone ARGS...` on the review pipeline edited by `edit`; (exit code, stderr).
fn hone_on(edit: impl Fn(String) -> String, args: &[&str]) -> (i32, String, bool) {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let original = read(&repo().join("testdata/programs/review-pipeline.toml"));
    let edited = edit(original.clone());
    assert_ne!(edited, original, "the edit changed nothing");
    std::fs::write(tmp.path().join("program.toml"), edited).unwrap_or_else(|e| panic!("{e}"));
    std::fs::copy(
        repo().join("testdata/programs/reviews.jsonl"),
        tmp.path().join("reviews.jsonl"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let out = command()
        .args(args)
        .args(["--base-url", "http://127.0.0.1:9/v1"])
        .current_dir(tmp.path())
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let run_dir_written = tmp.path().join("run").exists();
    (
        out.status.code().unwrap_or(-1),
        text(&out.stderr),
        run_dir_written,
    )
}

fn eval(edit: impl Fn(String) -> String) -> (i32, String) {
    let (code, err, _) = hone_on(edit, &["eval", "program.toml"]);
    (code, err)
}

fn replace(from: &'static str, to: &'static str) -> impl Fn(String) -> String {
    move |t: String| t.replace(from, to)
}

#[test]
fn a_dev_fraction_above_one_is_an_error_at_its_line() {
    let (code, err) = eval(replace(
        "split = { dev = 0.5, seed = 7 }",
        "split = { dev = 1.5, seed = 7 }",
    ));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("program.toml:30:1:"), "{err}");
    assert!(err.contains("`dataset.split.dev`"), "{err}");
    assert!(err.contains("from 0 to 1; got 1.5"), "{err}");
}

#[test]
fn a_nan_temperature_is_an_error() {
    let (code, err) = eval(replace("temperature = 0.0", "temperature = nan"));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("`lm.task.temperature`"), "{err}");
    assert!(err.contains("got NaN"), "{err}");
    let (code, err) = eval(replace("temperature = 0.0", "temperature = 7.5"));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("from 0 to 2, got 7.5"), "{err}");
}

#[test]
fn zero_in_flight_and_zero_tokens_are_errors() {
    let (code, err) = eval(replace(
        "temperature = 0.0",
        "temperature = 0.0\nmax_in_flight = 0",
    ));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("`lm.task.max_in_flight`"), "{err}");
    assert!(err.contains("at least 1, got 0"), "{err}");
    let (code, err) = eval(replace(
        "temperature = 0.0",
        "temperature = 0.0\nmax_tokens = 0",
    ));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("`lm.task.max_tokens`"), "{err}");
}

#[test]
fn a_metric_fraction_out_of_range_is_an_error() {
    let (code, err) = eval(replace(
        "field = \"sentiment\"",
        "field = \"sentiment\"\nfrac = 2.0",
    ));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("`metric.frac`"), "{err}");
}

#[test]
fn a_stage_with_zero_attempts_is_an_error() {
    let (code, err) = eval(replace(
        "module = \"chain_of_thought\"",
        "module = \"best_of_n\"\nn = 0",
    ));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("`program.stages[1].n`"), "{err}");
}

#[test]
fn a_nan_optimizer_value_is_an_error_and_writes_no_run() {
    let (code, err, written) = hone_on(
        replace("num_candidate_programs = 3", "num_candidate_programs = nan"),
        &["optimize", "program.toml", "--out", "run"],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("`optimizer.num_candidate_programs`"), "{err}");
    assert!(err.contains("finite number, got NaN"), "{err}");
    assert!(!written, "no run directory");
}

#[test]
fn zero_concurrency_and_zero_limit_are_refused() {
    for args in [
        &["eval", "program.toml", "--concurrency", "0"][..],
        &[
            "optimize",
            "program.toml",
            "--out",
            "run",
            "--concurrency",
            "0",
        ],
        &["run", "program.toml", "--concurrency", "0"],
        &["eval", "program.toml", "--limit", "0"],
        &[
            "optimize",
            "program.toml",
            "--out",
            "run",
            "--redis",
            "redis://127.0.0.1:9",
            "--lease-secs",
            "0",
        ],
    ] {
        let (code, err, written) =
            hone_on(replace("temperature = 0.0", "temperature = 0.0 "), args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains("must be at least 1, got 0"), "{args:?}: {err}");
        assert!(!written, "{args:?}: no run directory");
    }
}

#[test]
fn an_invalid_run_id_writes_no_run() {
    let (code, err, written) = hone_on(
        replace("temperature = 0.0", "temperature = 0.0 "),
        &[
            "optimize",
            "program.toml",
            "--out",
            "run",
            "--redis",
            "redis://127.0.0.1:9",
            "--run-id",
            "bad id!",
        ],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--run-id"), "{err}");
    assert!(!written, "no run directory");
}
