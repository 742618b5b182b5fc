//! The command-metric protocol: requests carry an id the answer echoes; an extra or a missing
//! line is an error, never a shifted score; an answer must come within `timeout_secs`; Ctrl-C
//! stops an eval waiting on the metric, and the metric process is killed and reaped. A metric
//! that never echoes ids (the protocol before ids) still works.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{Sim, command, read, text};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The review pipeline scored by `metric.py` (the given Python source) in a temp dir.
fn setup(script: &str, metric_extra: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let text = read(&repo().join("testdata/programs/review-pipeline.toml")).replace(
        "[metric]\nkind = \"exact_match\"\nfield = \"sentiment\"",
        &format!(
            "[metric]\nkind = \"command\"\ncommand = [\"python3\", \"metric.py\"]\n{metric_extra}"
        ),
    );
    assert!(text.contains("metric.py"));
    std::fs::write(tmp.path().join("program.toml"), text).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(tmp.path().join("metric.py"), script).unwrap_or_else(|e| panic!("{e}"));
    std::fs::copy(
        repo().join("testdata/programs/reviews.jsonl"),
        tmp.path().join("reviews.jsonl"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    tmp
}

fn eval(dir: &Path, url: &str, extra: &[&str]) -> (i32, String, String) {
    let out = command()
        .args(["eval", "program.toml", "--base-url", url, "--json"])
        .args(extra)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    (
        out.status.code().unwrap_or(-1),
        text(&out.stdout),
        text(&out.stderr),
    )
}

const LEGACY: &str = r#"
import json, sys
for line in sys.stdin:
    req = json.loads(line)
    ok = req["example"].get("sentiment") == req["prediction"].get("sentiment")
    print(json.dumps({"score": 1.0 if ok else 0.0}), flush=True)
"#;

const EXTRA_LINE: &str = r#"
import json, sys
for line in sys.stdin:
    req = json.loads(line)
    print(json.dumps({"id": req["id"], "score": 1.0}), flush=True)
    print(json.dumps({"id": req["id"], "score": 0.0}), flush=True)
"#;

const SILENT: &str = r#"
import os, sys, time
open("metric.pid", "w").write(str(os.getpid()))
for line in sys.stdin:
    time.sleep(3600)
"#;

fn score(stdout: &str) -> serde_json::Value {
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

#[test]
fn an_echoing_metric_and_a_legacy_one_score_the_same() {
    let sim = Sim::start(&[]);
    // The documented example metric.
    let example = read(&repo().join("examples/metric/exact_match.py"));
    let echo = setup(&example, "");
    let (code, out, err) = eval(echo.path(), &sim.url, &[]);
    assert_eq!(code, 0, "{err}");
    let legacy = setup(LEGACY, "");
    let (code2, out2, err2) = eval(legacy.path(), &sim.url, &[]);
    assert_eq!(code2, 0, "{err2}");
    let (a, b) = (score(&out), score(&out2));
    assert_eq!(a["errors"], 0, "{a}");
    assert_eq!(a["score"], b["score"], "{a} {b}");
    assert!(a["score"].as_f64().is_some_and(|s| s > 0.0), "{a}");
}

#[test]
fn an_extra_answer_line_is_an_error_not_a_shifted_score() {
    let sim = Sim::start(&[]);
    let tmp = setup(EXTRA_LINE, "");
    let (code, out, err) = eval(tmp.path(), &sim.url, &["--concurrency", "1"]);
    assert_eq!(code, 1, "stdout {out}\nstderr {err}");
    assert!(err.contains("is for request 1, not 2"), "{err}");
    assert!(err.contains("extra"), "{err}");
}

#[test]
fn a_metric_that_does_not_answer_times_out() {
    let sim = Sim::start(&[]);
    let tmp = setup(SILENT, "timeout_secs = 0.3");
    let started = Instant::now();
    let (code, _, err) = eval(tmp.path(), &sim.url, &["--max-errors", "2"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("no answer within 300ms"), "{err}");
    assert!(err.contains("timeout_secs"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(30));
}

fn alive(pid: &str) -> bool {
    // A zombie (state Z) is dead but not reaped; count it as alive.
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok()
}

#[test]
fn ctrl_c_stops_an_eval_waiting_on_the_metric_and_reaps_it() {
    let sim = Sim::start(&[]);
    let tmp = setup(SILENT, "");
    let mut child = command()
        .args(["eval", "program.toml", "--base-url", &sim.url])
        .current_dir(tmp.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let pid_file = tmp.path().join("metric.pid");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !pid_file.exists() || read(&pid_file).is_empty() {
        assert!(Instant::now() < deadline, "the metric never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    let metric_pid = read(&pid_file);
    std::thread::sleep(Duration::from_millis(300));
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(status.success());
    let stopped = Instant::now();
    let exit = loop {
        if let Some(s) = child.try_wait().unwrap_or_else(|e| panic!("{e}")) {
            break s;
        }
        assert!(
            stopped.elapsed() < Duration::from_secs(10),
            "hone eval did not stop on Ctrl-C"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(exit.code(), Some(130));
    let gone = Instant::now();
    while alive(&metric_pid) {
        assert!(
            gone.elapsed() < Duration::from_secs(5),
            "the metric process {metric_pid} outlived hone"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
