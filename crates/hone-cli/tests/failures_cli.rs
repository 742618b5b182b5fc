//! Failures are loud: a broken setup (an LM that is down, a metric command that is missing or
//! crashes, a label column that is missing, a 429 storm past the retry budget) makes `hone
//! eval` and every optimizer exit with 1 and say what failed, how often, and the first error,
//! instead of reporting a plausible score.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{Sim, command, read, text};
use hone_sim::{Fault, SimConfig, SimServer};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A port on 127.0.0.1 that nothing listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let port = listener
        .local_addr()
        .unwrap_or_else(|e| panic!("{e}"))
        .port();
    drop(listener);
    port
}

/// The review pipeline in `dir` with `edit` applied to its text and `data` to its dataset lines.
fn program(
    dir: &Path,
    edit: impl Fn(String) -> String,
    data: impl Fn(Vec<String>) -> Vec<String>,
) -> PathBuf {
    let text = read(&repo().join("testdata/programs/review-pipeline.toml"));
    let path = dir.join("program.toml");
    std::fs::write(&path, edit(text)).unwrap_or_else(|e| panic!("{e}"));
    let lines: Vec<String> = read(&repo().join("testdata/programs/reviews.jsonl"))
        .lines()
        .map(str::to_owned)
        .collect();
    std::fs::write(dir.join("reviews.jsonl"), data(lines).join("\n") + "\n")
        .unwrap_or_else(|e| panic!("{e}"));
    path
}

fn same<T>(v: T) -> T {
    v
}

struct Ran {
    code: i32,
    stdout: String,
    stderr: String,
    secs: f64,
}

fn run(args: &[&str], dir: &Path) -> Ran {
    let started = Instant::now();
    let out = command()
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run hone: {e}"));
    Ran {
        code: out.status.code().unwrap_or(-1),
        stdout: text(&out.stdout),
        stderr: text(&out.stderr),
        secs: started.elapsed().as_secs_f64(),
    }
}

#[test]
fn eval_against_an_unreachable_lm_fails_fast_and_says_so() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = program(tmp.path(), same, same);
    let url = format!("http://127.0.0.1:{}/v1", closed_port());
    let r = run(
        &["eval", &path.display().to_string(), "--base-url", &url],
        tmp.path(),
    );
    assert_eq!(r.code, 1, "stdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("max_errors = 10"), "{}", r.stderr);
    assert!(r.stderr.contains("unreachable"), "{}", r.stderr);
    assert!(r.stderr.contains("LM call(s) failed"), "{}", r.stderr);
    assert!(r.stdout.is_empty(), "no score table: {}", r.stdout);
    assert!(r.secs < 30.0, "took {:.1}s", r.secs);
}

#[test]
fn every_failed_example_is_an_error_even_under_max_errors() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = program(tmp.path(), same, same);
    let url = format!("http://127.0.0.1:{}/v1", closed_port());
    let r = run(
        &[
            "eval",
            &path.display().to_string(),
            "--base-url",
            &url,
            "--max-errors",
            "1000",
        ],
        tmp.path(),
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("every example failed (20 of 20"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("example #0"), "{}", r.stderr);
}

#[test]
fn max_errors_zero_is_refused() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = program(tmp.path(), same, same);
    let r = run(
        &["eval", &path.display().to_string(), "--max-errors", "0"],
        tmp.path(),
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--max-errors"), "{}", r.stderr);
}

fn command_metric(command: &str) -> impl Fn(String) -> String {
    let command = command.to_owned();
    move |text: String| {
        text.replace(
            "[metric]\nkind = \"exact_match\"\nfield = \"sentiment\"",
            &format!("[metric]\nkind = \"command\"\ncommand = {command}"),
        )
    }
}

#[test]
fn a_missing_metric_command_fails_the_eval() {
    let sim = Sim::start(&[]);
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = program(tmp.path(), command_metric("[\"./no-such-metric\"]"), same);
    let r = run(
        &["eval", &path.display().to_string(), "--base-url", &sim.url],
        tmp.path(),
    );
    assert_eq!(r.code, 1, "stdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("cannot start `./no-such-metric`"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("0 LM call(s) failed"), "{}", r.stderr);
}

#[test]
fn a_crashing_metric_command_fails_the_eval() {
    let sim = Sim::start(&[]);
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = program(
        tmp.path(),
        command_metric("[\"sh\", \"-c\", \"read line; exit 3\"]"),
        same,
    );
    let r = run(
        &["eval", &path.display().to_string(), "--base-url", &sim.url],
        tmp.path(),
    );
    assert_eq!(r.code, 1, "stdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("the command exited instead of answering"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_missing_label_column_fails_the_eval() {
    let sim = Sim::start(&[]);
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = program(tmp.path(), same, |lines| {
        lines
            .into_iter()
            .map(|l| {
                let mut v: serde_json::Value =
                    serde_json::from_str(&l).unwrap_or_else(|e| panic!("{e}"));
                if let Some(m) = v.as_object_mut() {
                    m.remove("sentiment");
                }
                v.to_string()
            })
            .collect()
    });
    let r = run(
        &["eval", &path.display().to_string(), "--base-url", &sim.url],
        tmp.path(),
    );
    assert_eq!(r.code, 1, "stdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("sentiment"), "{}", r.stderr);
    assert!(r.stdout.is_empty(), "{}", r.stdout);
}

#[test]
fn a_429_storm_past_the_retry_budget_fails_the_eval() {
    let sim = SimServer::start_blocking(SimConfig::default()).unwrap_or_else(|e| panic!("{e}"));
    // Every attempt of every call is rate limited (retry-after 0: the retries come at once).
    sim.push_faults((0..2000).map(|_| Fault::Status {
        code: 429,
        retry_after: Some(hone_sim::RetryAfter::Millis(1)),
        error_type: None,
        message: None,
    }));
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = program(tmp.path(), same, same);
    let r = run(
        &[
            "eval",
            &path.display().to_string(),
            "--base-url",
            &sim.base_url(),
        ],
        tmp.path(),
    );
    assert_eq!(r.code, 1, "stdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("HTTP 429"), "{}", r.stderr);
    assert!(r.stderr.contains("4 attempts"), "{}", r.stderr);
    assert!(r.stdout.is_empty(), "{}", r.stdout);
    sim.shutdown();
}

#[test]
fn some_failures_are_reported_beside_the_score() {
    let sim = SimServer::start_blocking(SimConfig::default()).unwrap_or_else(|e| panic!("{e}"));
    // Two calls fail for good (a 400 is not retried); the other examples score.
    sim.push_faults([Fault::status(400), Fault::status(400)]);
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = program(tmp.path(), same, same);
    let r = run(
        &[
            "eval",
            &path.display().to_string(),
            "--base-url",
            &sim.base_url(),
            "--concurrency",
            "1",
        ],
        tmp.path(),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("2 error(s)"), "{}", r.stdout);
    assert!(
        r.stderr
            .contains("warning: 2 of 20 example(s) failed and scored 0; 2 LM call(s) failed"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("HTTP 400"), "{}", r.stderr);
    sim.shutdown();
}

const OPTIMIZER: &str = "[optimizer]\nkind = \"random_search\"\nnum_candidate_programs = 3\nmax_bootstrapped_demos = 2\nmax_labeled_demos = 2\nseed = 0";

fn optimize_unreachable(table: &str) {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = program(tmp.path(), |t| t.replace(OPTIMIZER, table), same);
    let url = format!("http://127.0.0.1:{}/v1", closed_port());
    let run_dir = tmp.path().join("run");
    let r = run(
        &[
            "optimize",
            &path.display().to_string(),
            "--out",
            &run_dir.display().to_string(),
            "--base-url",
            &url,
        ],
        tmp.path(),
    );
    assert_eq!(
        r.code, 1,
        "{table}\nstdout:\n{}\nstderr:\n{}",
        r.stdout, r.stderr
    );
    assert!(r.stderr.contains("unreachable"), "{table}: {}", r.stderr);
    assert!(
        r.stderr.contains("max_errors = 10"),
        "{table}: {}",
        r.stderr
    );
    assert!(r.secs < 60.0, "{table}: took {:.1}s", r.secs);
    let record: serde_json::Value =
        serde_json::from_str(&read(&run_dir.join("run.json"))).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(record["status"], "failed", "{record}");
    assert!(record["best"].is_null(), "no score: {record}");
}

#[test]
fn gepa_stops_when_the_lm_is_unreachable() {
    optimize_unreachable("[optimizer]\nkind = \"gepa\"\nbudget = { max_metric_calls = 400 }");
}

#[test]
fn copro_stops_when_the_lm_is_unreachable() {
    optimize_unreachable("[optimizer]\nkind = \"copro\"\nbreadth = 4\ndepth = 2");
}

#[test]
fn simba_stops_when_the_lm_is_unreachable() {
    optimize_unreachable("[optimizer]\nkind = \"simba\"\nbsize = 4\nmax_steps = 4");
}

#[test]
fn random_search_stops_when_the_lm_is_unreachable() {
    optimize_unreachable(OPTIMIZER);
}

#[test]
fn a_run_with_failures_says_so_beside_its_scores() {
    let sim = SimServer::start_blocking(SimConfig::default()).unwrap_or_else(|e| panic!("{e}"));
    sim.push_faults([Fault::status(400)]);
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = program(tmp.path(), same, same);
    let run_dir = tmp.path().join("run");
    let r = run(
        &[
            "optimize",
            &path.display().to_string(),
            "--out",
            &run_dir.display().to_string(),
            "--base-url",
            &sim.base_url(),
        ],
        tmp.path(),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("warning: 1 example(s) or job(s) of the search failed, 1 LM call(s) failed"),
        "{}",
        r.stderr
    );
    let record: serde_json::Value =
        serde_json::from_str(&read(&run_dir.join("run.json"))).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(record["failures"], 1, "{record}");
    assert!(
        record["first_failure"]
            .as_str()
            .is_some_and(|e| e.contains("HTTP 400")),
        "{record}"
    );
    assert_eq!(record["usage"]["failed_calls"], 1, "{record}");
    assert_eq!(record["best"]["errors"], 0, "{record}");
    // A failed example is counted beside the score of the trial it belonged to; the one
    // fault may fall on a trial's call or on a bootstrapping call (the first request of
    // several in flight), so the trials count it at most once. `hone-optimize`'s
    // `trial_errors` tests count each optimizer's trial errors exactly.
    let trials = record["trials"].as_array().cloned().unwrap_or_default();
    assert!(!trials.is_empty(), "{record}");
    let counted: u64 = trials.iter().filter_map(|t| t["errors"].as_u64()).sum();
    assert!(counted <= 1, "{trials:?}");
    assert!(
        trials
            .iter()
            .all(|t| t.get("errors").is_none_or(|e| e == 1)),
        "{trials:?}"
    );
    sim.shutdown();
    let _ = Duration::ZERO;
}
