//! `hone optimize --events FILE` and `hone resume --events FILE`: the run's events as JSON
//! lines against `hone sim` — run_started first, run_ended last, one trial_scored per trial of
//! run.json, new bests rising, checkpoints written; a resumed session appends to the file; `-`
//! is refused beside --json.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Sim, command, hone, ok, read, text};
use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn program() -> String {
    repo()
        .join("testdata/programs/review-pipeline.toml")
        .display()
        .to_string()
}

fn events(path: &Path) -> Vec<Value> {
    read(path)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn of_type<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["type"] == kind).collect()
}

fn record(run_dir: &Path) -> Value {
    serde_json::from_str(&read(&run_dir.join("run.json"))).unwrap_or_else(|e| panic!("{e}"))
}

/// Checks one session's events: the order, the version, rising times and bests.
fn check_session(session: &[Value]) {
    assert_eq!(
        session.first().map(|e| &e["type"]),
        Some(&"run_started".into())
    );
    assert_eq!(
        session.last().map(|e| &e["type"]),
        Some(&"run_ended".into())
    );
    assert_eq!(of_type(session, "run_started").len(), 1);
    assert_eq!(of_type(session, "run_ended").len(), 1);
    for e in session {
        assert_eq!(e["v"], 1, "{e}");
        assert!(e["unix_ms"].as_u64().is_some_and(|t| t > 0), "{e}");
    }
    let times: Vec<f64> = session
        .iter()
        .filter_map(|e| e["elapsed_secs"].as_f64())
        .collect();
    assert_eq!(times.len(), session.len());
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
}

fn trial_numbers(events: &[Value]) -> Vec<u64> {
    of_type(events, "trial_scored")
        .iter()
        .filter_map(|e| e["trial"].as_u64())
        .collect()
}

#[test]
fn an_optimization_writes_its_events_as_json_lines() {
    let sim = Sim::start(&[]);
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let run_dir = tmp.path().join("run");
    let file = tmp.path().join("events.jsonl");
    let out = hone(&[
        "optimize",
        &program(),
        "--out",
        &run_dir.display().to_string(),
        "--base-url",
        &sim.url,
        "--events",
        &file.display().to_string(),
    ]);
    ok(&out);
    let all = events(&file);
    check_session(&all);
    let started = &all[0];
    assert_eq!(
        started["optimizer"],
        "bootstrap_few_shot_with_random_search"
    );
    assert_eq!(started["resumed"], false);
    let rec = record(&run_dir);
    assert_eq!(started["trainset"], rec["dataset"]["train"]);
    assert_eq!(started["valset"], rec["dataset"]["dev"]);

    // One trial_scored per trial of run.json, with its score and time.
    let trials = rec["trials"].as_array().cloned().unwrap_or_default();
    assert!(trials.len() >= 3);
    let scored = of_type(&all, "trial_scored");
    assert_eq!(scored.len(), trials.len());
    for (e, t) in scored.iter().zip(&trials) {
        assert_eq!(e["trial"], t["trial"]);
        assert_eq!(e["candidate"], t["candidate"]);
        assert_eq!(e["score"], t["score"]);
        assert_eq!(e["full"], t["full"]);
        assert_eq!(
            e["elapsed_secs"], t["at_secs"],
            "run.json's times are the events'"
        );
    }
    let bests: Vec<f64> = of_type(&all, "new_best")
        .iter()
        .filter_map(|e| e["score"].as_f64())
        .collect();
    assert!(!bests.is_empty());
    assert!(bests.windows(2).all(|w| w[0] < w[1]), "{bests:?}");
    let written = of_type(&all, "checkpoint_written");
    assert!(!written.is_empty());
    let last = written.last().unwrap_or_else(|| panic!("a checkpoint"));
    let checkpoint = run_dir.join("checkpoint.json");
    assert_eq!(
        last["path"].as_str().map(PathBuf::from),
        Some(checkpoint.clone())
    );
    let size = std::fs::metadata(&checkpoint)
        .unwrap_or_else(|e| panic!("{e}"))
        .len();
    assert_eq!(last["bytes"].as_u64(), Some(size));
    let ended = all.last().unwrap_or_else(|| panic!("events"));
    assert_eq!(ended["reason"], "done");
    assert_eq!(ended["tells"], rec["tells"]);
    assert_eq!(ended["best_score"].as_f64(), bests.last().copied());
}

#[test]
fn a_resumed_run_appends_its_session_to_the_events_file() {
    let sim = Sim::start(&["--latency-ms", "40"]);
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let run_dir = tmp.path().join("run");
    let file = tmp.path().join("events.jsonl");
    let child = command()
        .args(["optimize", &program(), "--out"])
        .arg(&run_dir)
        .args(["--base-url", &sim.url, "--events"])
        .arg(&file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    // Stop it (as Ctrl-C does) once a few results are checkpointed.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !std::fs::read_to_string(&file)
        .is_ok_and(|t| t.matches("\"checkpoint_written\"").count() >= 3)
    {
        assert!(Instant::now() < deadline, "no checkpoint written");
        std::thread::sleep(Duration::from_millis(20));
    }
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(status.success());
    let out = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    let first = events(&file);
    check_session(&first);
    let ended = first.last().unwrap_or_else(|| panic!("events"));
    assert_eq!(ended["reason"], "cancelled");

    let resumed = hone(&[
        "resume",
        &run_dir.display().to_string(),
        "--events",
        &file.display().to_string(),
    ]);
    ok(&resumed);
    let all = events(&file);
    let second = &all[first.len()..];
    assert_eq!(&all[..first.len()], &first[..], "the first session is kept");
    check_session(second);
    assert_eq!(second[0]["resumed"], true);
    assert_eq!(second[0]["tells"], ended["tells"]);
    assert!(second[0]["elapsed_secs"].as_f64() >= ended["elapsed_secs"].as_f64());
    // The sessions' trials are run.json's, each once.
    let mut numbers = trial_numbers(&first);
    numbers.extend(trial_numbers(second));
    let rec = record(&run_dir);
    let recorded: Vec<u64> = rec["trials"]
        .as_array()
        .map(|t| t.iter().filter_map(|t| t["trial"].as_u64()).collect())
        .unwrap_or_default();
    assert_eq!(numbers, recorded);
    assert_eq!(second.last().map(|e| &e["reason"]), Some(&"done".into()));
}

#[test]
fn events_on_stdout_are_refused_beside_json() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let run_dir = tmp.path().join("run");
    let out = hone(&[
        "--json",
        "optimize",
        &program(),
        "--out",
        &run_dir.display().to_string(),
        "--events",
        "-",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("--events -") && stderr.contains("--json"),
        "{stderr}"
    );
    assert!(!run_dir.exists(), "nothing was started");
}
