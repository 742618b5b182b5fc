//! A bounded fault-injection soak: one optimization per optimizer family with one request in
//! five answered by an injected fault (every kind `hone sim` offers that a retry recovers:
//! 429 with `retry-after-ms`, 503, a reset connection, a 2xx body that is not JSON, a body cut
//! off mid-way) ends with the same best program, the same scores and the same usage totals as
//! the fault-free run with the same seed.

mod common;

use std::path::{Path, PathBuf};

use common::{command, read, text};
use hone_sim::{Fault, RetryAfter, SimConfig, SimServer};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

const OPTIMIZER: &str = "[optimizer]\nkind = \"random_search\"\nnum_candidate_programs = 3\nmax_bootstrapped_demos = 2\nmax_labeled_demos = 2\nseed = 0";

/// Optimizes the review pipeline with `table` against a fresh sim, injecting faults into one
/// request in five when `faults`; returns run.json and program.json.
fn optimize(table: &str, faults: bool) -> (serde_json::Value, String) {
    let sim = SimServer::start_blocking(SimConfig::default()).unwrap_or_else(|e| panic!("{e}"));
    if faults {
        // A zero hang answers normally: four clean answers between faults.
        sim.push_faults(fault_sequence());
    }
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let program = soak_program();
    assert!(program.contains(OPTIMIZER));
    std::fs::write(
        tmp.path().join("program.toml"),
        program.replace(OPTIMIZER, table),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    std::fs::copy(
        repo().join("testdata/programs/reviews.jsonl"),
        tmp.path().join("reviews.jsonl"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let out = command()
        .args(["optimize", "program.toml", "--out", "run", "--base-url"])
        .arg(sim.base_url())
        .current_dir(tmp.path())
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        out.status.success(),
        "{table} (faults: {faults}):\n{}",
        text(&out.stderr)
    );
    if faults {
        assert!(
            sim.stats().requests_total > 50,
            "faults were served: {:?}",
            sim.stats()
        );
    }
    sim.shutdown();
    let record: serde_json::Value = serde_json::from_str(&read(&tmp.path().join("run/run.json")))
        .unwrap_or_else(|e| panic!("{e}"));
    (record, read(&tmp.path().join("run/program.json")))
}

/// The review pipeline with a retry budget for one request in five failing: 8 retries, so
/// that no call fails for good however the faults fall among concurrent calls (with the
/// default 3, four faults in a row for one call, which concurrency makes possible, fail it —
/// loudly, as a failure the run reports).
fn soak_program() -> String {
    let program = read(&repo().join("testdata/programs/review-pipeline.toml"));
    let lm = "[lm.task]\nmodel = \"sim-model\"\n";
    assert!(program.contains(lm), "the program's LM table changed");
    program.replace(lm, &format!("{lm}num_retries = 8\n"))
}

fn same_run(table: &str) {
    let (clean, clean_best) = optimize(table, false);
    let (faulty, faulty_best) = optimize(table, true);
    assert_eq!(faulty["status"], "done", "{faulty}");
    assert_eq!(faulty["failures"], 0, "nothing failed for good: {faulty}");
    assert_eq!(faulty["usage"]["failed_calls"], 0, "{faulty}");
    assert_eq!(clean_best, faulty_best, "{table}: the same best program");
    for key in ["baseline", "best"] {
        assert_eq!(clean[key], faulty[key], "{table}: the same {key} score");
    }
    for key in [
        "calls",
        "prompt_tokens",
        "completion_tokens",
        "failed_calls",
    ] {
        assert_eq!(
            clean["usage"][key], faulty["usage"][key],
            "{table}: the same usage {key}"
        );
    }
    let scores = |r: &serde_json::Value| -> Vec<serde_json::Value> {
        r["trials"]
            .as_array()
            .map(|t| t.iter().map(|p| p["score"].clone()).collect())
            .unwrap_or_default()
    };
    assert_eq!(scores(&clean), scores(&faulty), "{table}: the same trials");
}

#[test]
fn few_shot_search_under_faults_equals_the_fault_free_run() {
    same_run(OPTIMIZER);
}

#[test]
fn copro_under_faults_equals_the_fault_free_run() {
    same_run("[optimizer]\nkind = \"copro\"\nbreadth = 3\ndepth = 1");
}

#[test]
fn gepa_under_faults_equals_the_fault_free_run() {
    same_run("[optimizer]\nkind = \"gepa\"\nbudget = { max_metric_calls = 120 }\nseed = 0");
}

#[test]
fn simba_under_faults_equals_the_fault_free_run() {
    same_run(
        "[optimizer]\nkind = \"simba\"\nbsize = 8\nnum_candidates = 3\nmax_steps = 2\nseed = 0",
    );
}

/// kill -9 at `when` (a condition on the run directory), then `hone resume` (with no LM flags:
/// the run's recorded server is used): the same best program and scores as the uninterrupted
/// run, and usage over both sessions (the killed session's calls of its last 200 ms before the
/// kill are not on disk, so the totals are compared session by session, not with the
/// uninterrupted run's).
fn killed_and_resumed(when: &str, ready: impl Fn(&Path) -> bool) {
    let (clean, clean_best) = optimize(OPTIMIZER, false);
    let sim = SimServer::start_blocking(SimConfig {
        latency: std::time::Duration::from_millis(30),
        ..SimConfig::default()
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    std::fs::copy(
        repo().join("testdata/programs/review-pipeline.toml"),
        tmp.path().join("program.toml"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    std::fs::copy(
        repo().join("testdata/programs/reviews.jsonl"),
        tmp.path().join("reviews.jsonl"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let mut child = command()
        .args(["optimize", "program.toml", "--out", "run", "--base-url"])
        .arg(sim.base_url())
        .current_dir(tmp.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let run = tmp.path().join("run");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !ready(&run) {
        assert!(
            std::time::Instant::now() < deadline,
            "the run never reached the point to kill it: {when}"
        );
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    child.kill().unwrap_or_else(|e| panic!("{e}"));
    let _ = child.wait();
    assert!(
        !run.join("results.jsonl").exists(),
        "killed before the end ({when})"
    );
    let calls_then = std::fs::read_to_string(run.join("run.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v["usage"]["calls"].as_u64())
        .unwrap_or(0);
    let requests_then = sim.stats().requests_total;
    let out = command()
        .args(["resume", "run"])
        .current_dir(tmp.path())
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(out.status.success(), "{when}: {}", text(&out.stderr));
    let session_requests = sim.stats().requests_total - requests_then;
    sim.shutdown();
    let resumed: serde_json::Value =
        serde_json::from_str(&read(&run.join("run.json"))).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(resumed["status"], "done", "{when}");
    assert_eq!(read(&run.join("program.json")), clean_best, "{when}");
    for key in ["baseline", "best"] {
        assert_eq!(clean[key], resumed[key], "the same {key} score ({when})");
    }
    // Usage adds up: what the killed session recorded plus the resumed session's calls.
    assert_eq!(
        resumed["usage"]["calls"].as_u64(),
        Some(calls_then + session_requests),
        "{when}: {}",
        resumed["usage"]
    );
}

fn tells(run: &Path) -> u64 {
    std::fs::read_to_string(run.join("checkpoint.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v["tells"].as_u64())
        .unwrap_or(0)
}

#[test]
fn a_run_killed_in_its_first_moments_and_resumed_equals_the_uninterrupted_run() {
    // The run directory is there, no result has been told yet.
    killed_and_resumed("before the first checkpoint", |run| {
        run.join("run.json").exists() && !run.join("checkpoint.json").exists()
    });
}

#[test]
fn a_run_killed_mid_way_and_resumed_equals_the_uninterrupted_run() {
    killed_and_resumed("mid-run", |run| tells(run) >= 3);
}

#[test]
fn a_run_killed_while_scoring_its_best_and_resumed_equals_the_uninterrupted_run() {
    // The search is over (the best program is written), the dev scoring is under way.
    killed_and_resumed("during the final dev scoring", |run| {
        run.join("program.json").exists() && !run.join("results.jsonl").exists()
    });
}

/// The faults [`optimize`] injects, as one sequence: one request in five.
fn fault_sequence() -> impl Iterator<Item = Fault> {
    let kinds = [
        Fault::Status {
            code: 429,
            retry_after: Some(RetryAfter::Millis(5)),
            error_type: None,
            message: None,
        },
        Fault::status(503),
        Fault::ConnectionReset,
        Fault::MalformedJson,
        Fault::TruncatedStream,
    ];
    (0..4000).map(move |i| {
        if i % 5 == 0 {
            kinds[(i / 5) % kinds.len()].clone()
        } else {
            Fault::Hang(std::time::Duration::ZERO)
        }
    })
}

/// A `hone worker` serving run `soak` of `tmp/program.toml`.
fn soak_worker(tmp: &Path, redis: &str, sim: &str, name: &str) -> std::process::Child {
    command()
        .args(["worker", "--program", "program.toml", "--redis", redis])
        .args(["--run", "soak", "--base-url", sim, "--concurrency", "4"])
        .args(["--visibility-ms", "1500", "--name", name])
        .current_dir(tmp)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start hone worker: {e}"))
}

/// Waits (up to 60 s) until `ready`, or fails naming `what`.
fn wait_until(what: &str, ready: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !ready() {
        assert!(
            std::time::Instant::now() < deadline,
            "never reached: {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// The distributed form of the soak: a coordinator and Redis workers against a server that
/// fails one request in five, one worker killed (SIGKILL) while it holds jobs, Redis killed
/// and restarted (with its append-only file, as a production server keeps its data) mid-run,
/// a fresh worker started after that. The run ends with the same best program, the same
/// scores, trials and usage totals as the fault-free run in one process.
#[test]
fn a_distributed_run_under_faults_a_killed_worker_and_a_redis_restart_equals_the_fault_free_run() {
    let Some(mut redis) = common::redis_server_with(true) else {
        return;
    };
    let (clean, clean_best) = optimize(OPTIMIZER, false);
    let sim = SimServer::start_blocking(SimConfig {
        latency: std::time::Duration::from_millis(20),
        ..SimConfig::default()
    })
    .unwrap_or_else(|e| panic!("{e}"));
    sim.push_faults(fault_sequence());
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(tmp.path().join("program.toml"), soak_program())
        .unwrap_or_else(|e| panic!("{e}"));
    std::fs::copy(
        repo().join("testdata/programs/reviews.jsonl"),
        tmp.path().join("reviews.jsonl"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let url = redis.url();
    let base = sim.base_url();
    let mut coordinator = command()
        .args([
            "optimize",
            "program.toml",
            "--out",
            "run",
            "--base-url",
            &base,
        ])
        .args(["--redis", &url, "--run-id", "soak"])
        .current_dir(tmp.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start the coordinator: {e}"));
    let run = tmp.path().join("run");
    let mut doomed = soak_worker(tmp.path(), &url, &base, "doomed");
    wait_until("the first checkpoint", || tells(&run) >= 1);
    doomed.kill().unwrap_or_else(|e| panic!("{e}"));
    let _ = doomed.wait();
    let mut second = soak_worker(tmp.path(), &url, &base, "second");
    wait_until("a few more results", || tells(&run) >= 4);
    redis.restart().unwrap_or_else(|e| panic!("{e}"));
    let mut third = soak_worker(tmp.path(), &url, &base, "third");

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(240);
    let status = loop {
        if let Some(status) = coordinator.try_wait().unwrap_or_else(|e| panic!("{e}")) {
            break status;
        }
        if std::time::Instant::now() >= deadline {
            let _ = coordinator.kill();
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let mut stderr = String::new();
    if let Some(mut s) = coordinator.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut s, &mut stderr);
    }
    for w in [&mut second, &mut third] {
        let _ = w.kill();
        let _ = w.wait();
    }
    sim.shutdown();
    assert!(status.success(), "the coordinator: {status}\n{stderr}");
    let record: serde_json::Value =
        serde_json::from_str(&read(&run.join("run.json"))).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(record["status"], "done", "{record}");
    assert_eq!(record["failures"], 0, "nothing failed for good: {record}");
    assert_eq!(
        read(&run.join("program.json")),
        clean_best,
        "the same best program"
    );
    for key in ["baseline", "best"] {
        assert_eq!(clean[key], record[key], "the same {key} score");
    }
    let scores = |r: &serde_json::Value| -> Vec<serde_json::Value> {
        r["trials"]
            .as_array()
            .map(|t| t.iter().map(|p| p["score"].clone()).collect())
            .unwrap_or_default()
    };
    assert_eq!(
        scores(&clean),
        scores(&record),
        "the same trials: {}\n{stderr}",
        record["trials"]
    );
    for key in [
        "calls",
        "prompt_tokens",
        "completion_tokens",
        "failed_calls",
    ] {
        assert_eq!(
            clean["usage"][key], record["usage"][key],
            "the same usage {key}: {}",
            record["usage"]
        );
    }
}
