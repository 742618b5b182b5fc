//! `hone resume` trusts the run directory: it reads the program copy and the LMs the run
//! recorded (no `--base-url` needed, nothing goes to a provider the user never chose), refuses
//! other data and another optimizer's checkpoint, says a finished run is done and spends
//! nothing, adds usage over sessions, restarts a run killed before its first checkpoint, and
//! one process at a time drives a run directory. SIGTERM stops a run like Ctrl-C.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::{command, read, text};
use hone_sim::{BlockingSimHandle, SimConfig, SimServer};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

struct Case {
    tmp: tempfile::TempDir,
    sim: BlockingSimHandle,
}

impl Case {
    fn new() -> Case {
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
        let sim = SimServer::start_blocking(SimConfig {
            latency: Duration::from_millis(40),
            ..SimConfig::default()
        })
        .unwrap_or_else(|e| panic!("{e}"));
        Case { tmp, sim }
    }

    fn dir(&self) -> &Path {
        self.tmp.path()
    }

    fn run_dir(&self) -> PathBuf {
        self.dir().join("run")
    }

    fn record(&self) -> serde_json::Value {
        serde_json::from_str(&read(&self.run_dir().join("run.json")))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// `hone optimize` in the background.
    fn start(&self) -> Child {
        command()
            .args(["optimize", "program.toml", "--out", "run", "--base-url"])
            .arg(self.sim.base_url())
            .current_dir(self.dir())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Waits until `ready` holds, for at most 30 s.
    fn wait_for(&self, what: &str, ready: impl Fn(&Case) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !ready(self) {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Starts an optimization and kills it (-9) once the checkpoint and some usage are on disk.
    fn killed_run(&self) {
        let mut child = self.start();
        self.wait_for("a checkpoint and recorded usage", |c| {
            c.run_dir().join("checkpoint.json").exists()
                && std::fs::read_to_string(c.run_dir().join("run.json"))
                    .ok()
                    .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
                    .is_some_and(|v| v["usage"]["calls"].as_u64().unwrap_or(0) > 0)
        });
        child.kill().unwrap_or_else(|e| panic!("{e}"));
        let _ = child.wait();
    }

    /// `hone resume run EXTRA...` with no OpenAI settings in the environment.
    fn resume(&self, extra: &[&str]) -> (i32, String, String) {
        let out = command()
            .args(["resume", "run"])
            .args(extra)
            .current_dir(self.dir())
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        (
            out.status.code().unwrap_or(-1),
            text(&out.stdout),
            text(&out.stderr),
        )
    }
}

#[test]
fn resume_uses_the_recorded_lms_and_adds_usage_over_sessions() {
    let case = Case::new();
    case.killed_run();
    let before = case.record();
    assert_eq!(before["status"], "running", "{before}");
    let calls_then = before["usage"]["calls"].as_u64().unwrap_or(0);
    assert!(calls_then > 0);
    let requests_then = case.sim.stats().requests_total;
    // No --base-url: the run's recorded URL is used (without it, the LM would be OpenAI's).
    let (code, _, err) = case.resume(&[]);
    assert_eq!(code, 0, "{err}");
    let after = case.record();
    assert_eq!(after["status"], "done", "{after}");
    let session = case.sim.stats().requests_total - requests_then;
    assert!(
        session > 0,
        "the resumed session called the recorded server"
    );
    assert_eq!(
        after["usage"]["calls"].as_u64(),
        Some(calls_then + session),
        "usage adds up over sessions: {after}"
    );
    assert_eq!(after["usage"]["failed_calls"], 0, "{after}");

    // A finished run says so and spends nothing.
    let requests_done = case.sim.stats().requests_total;
    let (code, _, err) = case.resume(&[]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("is already done"), "{err}");
    assert_eq!(case.sim.stats().requests_total, requests_done);
    assert_eq!(case.record(), after, "run.json is unchanged");
}

#[test]
fn resume_reads_the_program_copy_not_the_edited_original() {
    let case = Case::new();
    case.killed_run();
    let original = case.dir().join("program.toml");
    let edited = read(&original).replace("seed = 7", "seed = 8");
    assert_ne!(edited, read(&original));
    std::fs::write(&original, edited).unwrap_or_else(|e| panic!("{e}"));
    let (code, _, err) = case.resume(&[]);
    assert_eq!(code, 0, "the copy's split is the run's: {err}");
    assert_eq!(case.record()["status"], "done");
}

#[test]
fn other_data_is_refused_naming_what_differs() {
    let case = Case::new();
    case.killed_run();
    let data = case.dir().join("reviews.jsonl");
    let changed = read(&data).replacen("Overpriced", "Underpriced", 1);
    std::fs::write(&data, changed).unwrap_or_else(|e| panic!("{e}"));
    let requests = case.sim.stats().requests_total;
    let (code, _, err) = case.resume(&[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("the dataset differs"), "{err}");
    assert!(err.contains("train 20 and dev 20"), "{err}");
    assert_eq!(case.sim.stats().requests_total, requests, "nothing spent");
}

#[test]
fn another_optimizers_checkpoint_is_refused() {
    let case = Case::new();
    case.killed_run();
    let path = case.run_dir().join("checkpoint.json");
    let mut checkpoint: serde_json::Value =
        serde_json::from_str(&read(&path)).unwrap_or_else(|e| panic!("{e}"));
    let own = checkpoint["optimizer"].as_str().unwrap_or("").to_owned();
    assert!(!own.is_empty(), "{checkpoint}");
    checkpoint["optimizer"] = serde_json::json!("gepa");
    std::fs::write(&path, checkpoint.to_string()).unwrap_or_else(|e| panic!("{e}"));
    let (code, _, err) = case.resume(&[]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(&format!(
            "is a checkpoint of gepa, but the run is a {own} run"
        )),
        "{err}"
    );
}

#[test]
fn a_run_killed_before_its_first_checkpoint_starts_again_cleanly() {
    let case = Case::new();
    case.killed_run();
    std::fs::remove_file(case.run_dir().join("checkpoint.json")).unwrap_or_else(|e| panic!("{e}"));
    let (code, _, err) = case.resume(&[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(case.record()["status"], "done");
    assert!(case.run_dir().join("program.json").is_file());
}

#[test]
fn one_process_drives_a_run_directory() {
    let case = Case::new();
    case.killed_run();
    let lock = case.run_dir().join("lock");
    // A live holder: this test process.
    std::fs::write(&lock, std::process::id().to_string()).unwrap_or_else(|e| panic!("{e}"));
    let (code, _, err) = case.resume(&[]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(&format!(
            "is driven by another hone process (pid {})",
            std::process::id()
        )),
        "{err}"
    );
    // A holder that is gone (a killed process): the lock is taken over.
    std::fs::write(&lock, "4194303").unwrap_or_else(|e| panic!("{e}"));
    let (code, _, err) = case.resume(&[]);
    assert_eq!(code, 0, "{err}");
    assert!(!lock.exists(), "the lock is released");
}

#[test]
fn sigterm_checkpoints_like_ctrl_c() {
    let case = Case::new();
    let child = case.start();
    case.wait_for("a checkpoint", |c| {
        c.run_dir().join("checkpoint.json").exists()
    });
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(status.success());
    let out = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("hone resume"));
    assert_eq!(case.record()["status"], "interrupted");
    assert!(
        !case.run_dir().join("lock").exists(),
        "the lock is released"
    );
    let (code, _, err) = case.resume(&[]);
    assert_eq!(code, 0, "{err}");
}
