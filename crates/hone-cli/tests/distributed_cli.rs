//! A distributed optimization from the shell: `hone optimize --redis` coordinates, two
//! `hone worker` processes run the jobs of the same program file against `hone sim`, one
//! worker is killed mid-run — its jobs are taken over by the other — and the run ends with
//! the same best program as the same optimization run in one process.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Process, Sim, command as hone, ok, redis_server, text};
use serde_json::Value;

fn program() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/programs/review-pipeline.toml")
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn worker(redis: &str, sim: &str, name: &str) -> Process {
    let mut command = worker_command(&program(), redis, sim, name, "reviews");
    command
        .args(["--visibility-ms", "1500"])
        .stderr(Stdio::piped());
    Process(
        command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start hone worker: {e}")),
    )
}

/// `hone worker` for `program`, serving run `run` against `sim` with 4 calls in flight.
fn worker_command(program: &Path, redis: &str, sim: &str, name: &str, run: &str) -> Command {
    let mut command = hone();
    command
        .args(["worker", "--program"])
        .arg(program)
        .args(["--redis", redis, "--run", run, "--base-url", sim])
        .args(["--concurrency", "4", "--name", name])
        .stdout(Stdio::null());
    command
}

/// The reference: the optimization in one process, into `dir`; its JSON summary.
fn optimize_in_process(sim_url: &str, dir: &Path) -> Value {
    let out = hone()
        .arg("optimize")
        .arg(program())
        .arg("--out")
        .arg(dir)
        .args(["--base-url", sim_url, "--json"])
        .output()
        .unwrap_or_else(|e| panic!("cannot run hone: {e}"));
    let summary: Value = serde_json::from_str(ok(&out).trim()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(summary["status"], "done");
    summary
}

/// `hone optimize --redis` into `dir` for run `reviews`, its stderr piped.
fn coordinator(dir: &Path, sim_url: &str, redis_url: &str, stdout: Stdio) -> Process {
    Process(
        hone()
            .arg("optimize")
            .arg(program())
            .arg("--out")
            .arg(dir)
            .args([
                "--base-url",
                sim_url,
                "--json",
                "--redis",
                redis_url,
                "--run-id",
                "reviews",
            ])
            .stdout(stdout)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the coordinator: {e}")),
    )
}

/// Waits until `path` exists.
fn wait_for(path: &Path) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !path.exists() {
        assert!(
            Instant::now() < deadline,
            "no {} after 60 s: the workers did not run the jobs",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn workers_run_a_distributed_optimization_and_survive_a_killed_worker() {
    let Some(redis) = redis_server() else {
        return;
    };
    let sim = Sim::start(&["--latency-ms", "40"]);
    let sim_url = sim.url.clone();
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));

    let local_dir = tmp.path().join("local");
    let local = optimize_in_process(&sim_url, &local_dir);

    // The distributed run: the coordinator first, then two workers.
    let dist_dir = tmp.path().join("dist");
    let mut coordinator = coordinator(&dist_dir, &sim_url, &redis.url(), Stdio::piped());
    let mut doomed = worker(&redis.url(), &sim_url, "doomed");

    // Kill the first worker once the run has made progress (its first checkpoint): it holds
    // jobs then, which the second worker, started afterwards, must take over.
    wait_for(&dist_dir.join("checkpoint.json"));
    assert!(
        doomed.0.try_wait().ok().flatten().is_none(),
        "the worker exited on its own"
    );
    doomed
        .0
        .kill()
        .unwrap_or_else(|e| panic!("cannot kill a worker: {e}"));
    let _ = doomed.0.wait();
    let mut survivor = worker(&redis.url(), &sim_url, "survivor");

    // The coordinator finishes with the survivor alone.
    let deadline = Instant::now() + Duration::from_secs(180);
    let status = loop {
        if let Some(status) = coordinator.0.try_wait().unwrap_or_else(|e| panic!("{e}")) {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = coordinator.0.kill();
            let _ = survivor.0.kill();
            let mut err = String::new();
            if let Some(mut s) = coordinator.0.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut s, &mut err);
            }
            let mut worker_err = String::new();
            if let Some(mut s) = survivor.0.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut s, &mut worker_err);
            }
            panic!(
                "the distributed run did not end\ncoordinator:\n{err}\nsurviving worker:\n{worker_err}"
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stdout = String::new();
    let mut stderr = String::new();
    if let Some(mut s) = coordinator.0.stdout.take() {
        std::io::Read::read_to_string(&mut s, &mut stdout).unwrap_or_else(|e| panic!("{e}"));
    }
    if let Some(mut s) = coordinator.0.stderr.take() {
        std::io::Read::read_to_string(&mut s, &mut stderr).unwrap_or_else(|e| panic!("{e}"));
    }
    assert!(status.success(), "exit {status}\n{stdout}\n{stderr}");
    assert!(
        stderr.contains("hone worker --redis"),
        "the coordinator tells how to start workers: {stderr}"
    );
    let dist: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(dist["status"], "done");

    // Same scores and the same best program as in one process.
    assert_eq!(dist["baseline"], local["baseline"]);
    assert_eq!(dist["best"], local["best"]);
    assert_eq!(dist["trials"], local["trials"]);
    assert_eq!(
        read_json(&dist_dir.join("program.json")),
        read_json(&local_dir.join("program.json")),
        "the distributed run found another best program"
    );
    // The survivor stops cleanly on SIGTERM and says it took over the killed worker's jobs.
    let term = Command::new("kill")
        .args(["-TERM", &survivor.0.id().to_string()])
        .status()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(term.success());
    let _ = survivor.0.wait();
    let mut report = String::new();
    if let Some(mut s) = survivor.0.stderr.take() {
        std::io::Read::read_to_string(&mut s, &mut report).unwrap_or_else(|e| panic!("{e}"));
    }
    let taken_over = report
        .lines()
        .find_map(|l| l.strip_prefix("worker stopped: "))
        .and_then(|l| l.split(", ").find(|p| p.ends_with("taken over")))
        .and_then(|p| p.split(' ').next())
        .and_then(|n| n.parse::<u64>().ok())
        .unwrap_or_else(|| panic!("no stop report from the surviving worker: {report}"));
    assert!(taken_over >= 1, "{report}");

    let record = read_json(&dist_dir.join("run.json"));
    assert_eq!(record["redis"]["run_id"], "reviews", "{record}");
}

#[test]
fn a_saved_program_needs_its_lm_and_a_program_file_refuses_metric() {
    let out = hone()
        .args([
            "worker",
            "--program",
            "saved.json",
            "--redis",
            "redis://127.0.0.1:1",
        ])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("--lm-base-url URL --model MODEL"),
        "{stderr}"
    );

    let out = hone()
        .args(["worker", "--program"])
        .arg(program())
        .args(["--metric", "f1:answer", "--redis", "redis://127.0.0.1:1"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(stderr.contains("scores with its [metric]"), "{stderr}");
}

/// Ctrl-C on the coordinator writes the checkpoint and keeps the run in Redis; `hone resume`
/// continues it on the same Redis with the same workers and ends with the in-process result.
#[test]
fn an_interrupted_distributed_run_resumes_from_the_shell() {
    let Some(redis) = redis_server() else {
        return;
    };
    let sim = Sim::start(&["--latency-ms", "40"]);
    let sim_url = sim.url.clone();
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let local_dir = tmp.path().join("local");
    let local = optimize_in_process(&sim_url, &local_dir);

    let dist_dir = tmp.path().join("interrupted");
    let mut coordinator = coordinator(&dist_dir, &sim_url, &redis.url(), Stdio::null());
    let _worker = worker(&redis.url(), &sim_url, "steady");
    wait_for(&dist_dir.join("checkpoint.json"));
    let status = Command::new("kill")
        .args(["-INT", &coordinator.0.id().to_string()])
        .status()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(status.success());
    let code = coordinator
        .0
        .wait()
        .unwrap_or_else(|e| panic!("{e}"))
        .code();
    assert_eq!(code, Some(130), "Ctrl-C exits with 130");
    let record = read_json(&dist_dir.join("run.json"));
    assert_eq!(record["status"], "interrupted", "{record}");
    assert_eq!(
        record["redis"]["url"],
        redis.url(),
        "the run record keeps its Redis for the resume"
    );

    let out = hone()
        .arg("resume")
        .arg(&dist_dir)
        .args(["--base-url", &sim_url, "--json"])
        .output()
        .unwrap_or_else(|e| panic!("cannot run hone resume: {e}"));
    let resumed: Value = serde_json::from_str(ok(&out).trim()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(resumed["status"], "done");
    assert_eq!(resumed["best"], local["best"]);
    assert_eq!(
        read_json(&dist_dir.join("program.json")),
        read_json(&local_dir.join("program.json")),
        "the resumed distributed run found another best program"
    );
}

/// The review pipeline with `table` as its `[optimizer]`, in `dir` beside its dataset.
fn program_with(dir: &Path, table: &str) -> PathBuf {
    const OPTIMIZER: &str = "[optimizer]\nkind = \"random_search\"\nnum_candidate_programs = 3\nmax_bootstrapped_demos = 2\nmax_labeled_demos = 2\nseed = 0";
    let text = std::fs::read_to_string(program()).unwrap_or_else(|e| panic!("{e}"));
    assert!(text.contains(OPTIMIZER), "the optimizer table changed");
    std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("{e}"));
    let path = dir.join("program.toml");
    std::fs::write(&path, text.replace(OPTIMIZER, table)).unwrap_or_else(|e| panic!("{e}"));
    std::fs::copy(
        program().with_file_name("reviews.jsonl"),
        dir.join("reviews.jsonl"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    path
}

/// `hone optimize PROGRAM --out DIR` in one process, or with `redis` = `(url, run id)` as
/// the coordinator of a distributed run; its JSON summary.
fn optimize_with(program: &Path, dir: &Path, sim_url: &str, redis: Option<(&str, &str)>) -> Value {
    let mut cmd = hone();
    cmd.arg("optimize")
        .arg(program)
        .arg("--out")
        .arg(dir)
        .args(["--base-url", sim_url, "--json"]);
    if let Some((url, run)) = redis {
        cmd.args(["--redis", url, "--run-id", run]);
    }
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run hone: {e}"));
    let summary: Value = serde_json::from_str(ok(&out).trim()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(summary["status"], "done", "{summary}");
    summary
}

/// Random search, MIPROv2 and GEPA, each with the same program, seed and dataset: the run in
/// one process (hone-eval's driver) and the run over Redis with two `hone worker` processes
/// (hone-redis's coordinator) follow the same driver core and end with the same best
/// program, the same trials and the same scores.
#[test]
fn the_same_run_in_process_and_over_redis_finds_the_same_best_program() {
    let Some(redis) = redis_server() else {
        return;
    };
    let sim = Sim::start(&["--latency-ms", "5"]);
    let sim_url = sim.url.clone();
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let tables = [
        (
            "random_search",
            "[optimizer]\nkind = \"random_search\"\nnum_candidate_programs = 3\nmax_bootstrapped_demos = 2\nmax_labeled_demos = 2\nseed = 0",
        ),
        (
            "mipro_v2",
            "[optimizer]\nkind = \"mipro_v2\"\nauto = \"light\"\nmax_bootstrapped_demos = 1\nmax_labeled_demos = 1\nseed = 0",
        ),
        (
            "gepa",
            "[optimizer]\nkind = \"gepa\"\nbudget = { max_metric_calls = 120 }\nseed = 0",
        ),
    ];
    for (kind, table) in tables {
        let dir = tmp.path().join(kind);
        let program = program_with(&dir, table);
        let local = optimize_with(&program, &dir.join("local"), &sim_url, None);
        let _workers: Vec<Process> = ["a", "b"]
            .iter()
            .map(|name| worker_of(&program, &redis.url(), &sim_url, name, kind))
            .collect();
        let dist = optimize_with(
            &program,
            &dir.join("dist"),
            &sim_url,
            Some((&redis.url(), kind)),
        );
        for key in ["baseline", "best", "trials"] {
            assert_eq!(dist[key], local[key], "{kind}: the same {key}");
        }
        assert_eq!(
            read_json(&dir.join("dist/program.json")),
            read_json(&dir.join("local/program.json")),
            "{kind}: the distributed run found another best program"
        );
        let (local_record, dist_record) = (
            read_json(&dir.join("local/run.json")),
            read_json(&dir.join("dist/run.json")),
        );
        assert_eq!(
            local_record["tells"], dist_record["tells"],
            "{kind}: the same accepted results"
        );
        assert_eq!(
            local_record["lm_calls"], dist_record["lm_calls"],
            "{kind}: the same LM calls counted"
        );
    }
}

/// A `hone worker` for `program` serving run `run`.
fn worker_of(program: &Path, redis: &str, sim: &str, name: &str, run: &str) -> Process {
    let mut command = worker_command(program, redis, sim, name, run);
    command.stderr(Stdio::null());
    Process(
        command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start hone worker: {e}")),
    )
}

/// A second coordinator for a run another one drives gives up with a message that says its
/// directory holds no checkpoint; once the first is gone, `hone resume` of that directory
/// runs the optimization from the start to the same end as the run in one process.
#[test]
fn a_coordinator_that_lost_the_race_leaves_a_directory_that_resumes() {
    let Some(redis) = redis_server() else {
        return;
    };
    let sim = Sim::start(&["--latency-ms", "20"]);
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let local = optimize_in_process(&sim.url, &tmp.path().join("local"));
    let lease = ["--lease-secs", "2"];
    let start = |dir: &Path| {
        hone()
            .arg("optimize")
            .arg(program())
            .arg("--out")
            .arg(dir)
            .args(["--base-url", &sim.url, "--json", "--redis", &redis.url()])
            .args(["--run-id", "reviews"])
            .args(lease)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the coordinator: {e}"))
    };
    let mut first = Process(start(&tmp.path().join("first")));
    wait_for(&tmp.path().join("first/run.json"));
    std::thread::sleep(Duration::from_millis(300));
    let loser_dir = tmp.path().join("second");
    let loser = start(&loser_dir)
        .wait_with_output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(loser.status.code(), Some(1), "{}", text(&loser.stderr));
    let err = text(&loser.stderr);
    assert!(err.contains("driven by another coordinator"), "{err}");
    assert!(
        err.contains("holds no checkpoint") && err.contains("hone resume"),
        "{err}"
    );
    assert!(!err.contains("the last checkpoint is in"), "{err}");
    assert_eq!(read_json(&loser_dir.join("run.json"))["status"], "failed");

    let _ = first.0.kill();
    let _ = first.0.wait();
    let _worker = worker(&redis.url(), &sim.url, "after-the-race");
    let out = hone()
        .arg("resume")
        .arg(&loser_dir)
        .arg("--json")
        .output()
        .unwrap_or_else(|e| panic!("cannot run hone resume: {e}"));
    let resumed: Value = serde_json::from_str(ok(&out).trim()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(resumed["status"], "done");
    assert_eq!(resumed["best"], local["best"]);
    assert_eq!(
        read_json(&loser_dir.join("program.json")),
        read_json(&tmp.path().join("local/program.json"))
    );
}
