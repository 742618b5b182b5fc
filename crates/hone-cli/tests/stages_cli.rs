//! The `react`, `best_of_n` and `refine` stages of TOML programs, run with `hone run` against
//! `hone sim`: each stage kind builds, calls the simulated LM and prints its prediction.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{Sim, command};
use serde_json::Value;

fn write_program(dir: &Path, name: &str, stages: &str) -> PathBuf {
    let path = dir.join(name);
    let text = format!(
        "[lm.task]\nmodel = \"sim-model\"\ntemperature = 0.0\n\n[program]\nlm = \"task\"\n\n{stages}"
    );
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    path
}

fn run_json(program: &Path, sim: &Sim, input: &str) -> (Output, Option<Value>) {
    let out = command()
        .arg("run")
        .arg(program)
        .args(["--base-url", &sim.url, "--json", "--input", input])
        .output()
        .unwrap_or_else(|e| panic!("cannot run hone: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let value = stdout
        .lines()
        .next()
        .and_then(|l| serde_json::from_str::<Value>(l).ok());
    (out, value)
}

fn prediction(out: &Output, value: Option<Value>) -> Value {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    value
        .and_then(|v| v.get("prediction").cloned())
        .unwrap_or_else(|| {
            panic!(
                "no JSON prediction in {:?}",
                String::from_utf8_lossy(&out.stdout)
            )
        })
}

#[test]
fn a_react_stage_uses_the_calculator_and_answers() {
    let sim = Sim::start(&[]);
    let dir = tempfile::tempdir().expect("tempdir");
    let program = write_program(
        dir.path(),
        "agent.toml",
        r#"[[program.stages]]
name = "solve"
module = "react"
signature = "question -> answer: float"
tools = ["calculator"]
max_iters = 4
tool_timeout_secs = 5
"#,
    );
    let (out, value) = run_json(&program, &sim, "question=What is (17 + 25) * 3?");
    let p = prediction(&out, value);
    assert_eq!(p["answer"], serde_json::json!(126.0), "{p}");
    let trajectory = &p["trajectory"];
    assert_eq!(trajectory["tool_name_0"], "calculator", "{trajectory}");
    assert_eq!(
        trajectory["observation_0"],
        serde_json::json!(126),
        "{trajectory}"
    );
    assert_eq!(trajectory["tool_name_1"], "finish", "{trajectory}");
}

#[test]
fn a_stage_with_the_baml_adapter_gets_typed_outputs() {
    let sim = Sim::start(&[]);
    let dir = tempfile::tempdir().expect("tempdir");
    let program = write_program(
        dir.path(),
        "baml.toml",
        r#"[[program.stages]]
name = "answer"
module = "predict"
adapter = "baml"
signature = "question -> answer: int, steps: list[str]"
"#,
    );
    let (out, value) = run_json(&program, &sim, "question=What is 2 + 2?");
    let p = prediction(&out, value);
    assert!(p["answer"].is_i64(), "{p}");
    assert!(p["steps"].is_array(), "{p}");
}

#[test]
fn best_of_n_and_refine_stages_return_a_rewarded_answer() {
    let sim = Sim::start(&[]);
    let dir = tempfile::tempdir().expect("tempdir");
    for kind in ["best_of_n", "refine"] {
        let program = write_program(
            dir.path(),
            &format!("{kind}.toml"),
            &format!(
                r#"[[program.stages]]
name = "classify"
module = "{kind}"
inner = "chain_of_thought"
signature = "review -> sentiment: Literal['positive', 'negative', 'neutral']"
n = 3
threshold = 1.0
reward = {{ field = "sentiment", one_of = ["positive", "negative", "neutral"] }}
"#
            ),
        );
        let (out, value) = run_json(
            &program,
            &sim,
            "review=I love this blender, it works great.",
        );
        let p = prediction(&out, value);
        assert_eq!(p["sentiment"], "positive", "{kind}: {p}");
        assert!(
            p["reasoning"].as_str().is_some_and(|r| !r.is_empty()),
            "{kind}: the inner chain of thought reasons: {p}"
        );
    }
}

#[test]
fn a_bad_tool_timeout_is_located() {
    let dir = tempfile::tempdir().expect("tempdir");
    let program = write_program(
        dir.path(),
        "agent.toml",
        r#"[[program.stages]]
name = "solve"
module = "react"
signature = "question -> answer: float"
tools = ["calculator"]
tool_timeout_secs = -1
"#,
    );
    let out = command()
        .arg("run")
        .arg(&program)
        .args([
            "--base-url",
            "http://127.0.0.1:9",
            "--input",
            "question=1 + 1",
        ])
        .output()
        .unwrap_or_else(|e| panic!("cannot run hone: {e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("`tool_timeout_secs` must be a positive number of seconds, got -1"),
        "{stderr}"
    );
}

#[test]
fn a_two_step_stage_asks_the_task_lm_then_the_extraction_lm() {
    let sim = hone_sim::SimServer::start_blocking(hone_sim::SimConfig::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("two_step.toml");
    std::fs::write(
        &path,
        r#"[lm.task]
model = "sim-model"
temperature = 0.0

[lm.extraction]
model = "sim-extractor"

[program]
lm = "task"
adapter = "two_step"

[[program.stages]]
name = "classify"
module = "predict"
signature = "review -> sentiment: Literal['positive', 'negative']"
"#,
    )
    .expect("program written");
    let out = command()
        .arg("run")
        .arg(&path)
        .args(["--base-url", &sim.base_url(), "--json"])
        .args(["--input", "review=I loved this movie, wonderful"])
        .output()
        .unwrap_or_else(|e| panic!("cannot run hone: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let value = stdout
        .lines()
        .next()
        .and_then(|l| serde_json::from_str::<Value>(l).ok());
    let p = prediction(&out, value);
    let sentiment = p["sentiment"].as_str().unwrap_or_default();
    assert!(["positive", "negative"].contains(&sentiment), "{p}");
    let by_model = sim.stats().requests_by_model;
    assert_eq!(by_model.get("sim-model"), Some(&1), "{by_model:?}");
    assert_eq!(by_model.get("sim-extractor"), Some(&1), "{by_model:?}");
}
