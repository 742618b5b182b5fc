//! A worker in another language takes part: `examples/python_worker.py` — its message loop
//! unchanged, its `run_job` replaced by an oracle that answers every example with its label and
//! records traces when asked — serves a whole optimization run of a Rust coordinator. Every job
//! is accepted exactly once and nothing is dead-lettered.
//!
//! Needs a Python with the `redis` package: `HONE_PYTHON` names it (`scripts/test` points it at
//! its venv), else `python3`. Outside CI the test skips when there is none.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use common::{Recorder, connect, coordinator_config, optimizer, raw, redis_server};
use hone_eval::StopReason;
use hone_redis::RedisDriver;

/// The job runner the test swaps into the example worker.
const ORACLE: &str = r#"
import sys
sys.path.insert(0, sys.argv[1])
import python_worker as worker

def oracle(job):
    spec = job["spec"]
    if spec["kind"] != "evaluate":
        return {"kind": "failed", "error": "this worker runs evaluate jobs only"}, 0
    predictor = next(name for name in spec["program"] if name != "metadata")
    outcomes = []
    for ex in spec["examples"]:
        fields = ex["example"]
        inputs = ex.get("inputs") or [k for k in fields if k != "answer"]
        prediction = {"answer": fields["answer"]}
        outcome = {"split": ex["split"], "index": ex["index"], "prediction": prediction, "score": 1.0}
        if spec.get("capture_traces"):
            outcome["trace"] = [{"predictor": predictor,
                                 "inputs": {k: fields[k] for k in inputs},
                                 "outputs": prediction}]
        outcomes.append(outcome)
    return {"kind": "evaluated", "outcomes": outcomes}, len(outcomes)

worker.run_job = oracle
sys.argv = ["python_worker.py", "--redis", sys.argv[2], "--name", "py-1", "--visibility-ms", "5000"]
worker.main()
"#;

struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A Python that can `import redis`, or `None` (with a message) outside CI.
fn python() -> Option<String> {
    let python = std::env::var("HONE_PYTHON").unwrap_or_else(|_| "python3".into());
    let ok = Command::new(&python)
        .args(["-c", "import redis"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        return Some(python);
    }
    let msg = format!(
        "`{python}` cannot `import redis`: install it (`pip install redis`) or set HONE_PYTHON \
         to a Python that has it (scripts/test does)"
    );
    if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
        panic!("{msg}");
    }
    eprintln!("SKIPPED: {msg}");
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_example_worker_serves_a_whole_run() {
    let Some(server) = redis_server() else { return };
    let Some(python) = python() else { return };
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let _worker = Process(
        Command::new(&python)
            .arg("-c")
            .arg(ORACLE)
            .arg(&examples)
            .arg(server.url())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {python}: {e}")),
    );

    let recorder = Arc::new(Recorder::default());
    let config = coordinator_config("py", &recorder);
    let mut driver = RedisDriver::new(connect(&server.url()).await, optimizer(3), config);
    let report = tokio::time::timeout(Duration::from_secs(120), driver.run())
        .await
        .expect("the run ends within 2 minutes")
        .expect("the run succeeds");

    assert_eq!(report.stop, StopReason::Done);
    let accepted = recorder.assert_each_job_accepted_once();
    assert!(accepted >= 5, "only {accepted} job(s) were run");
    assert!(
        recorder.dead.lock().expect("lock").is_empty(),
        "dead-lettered: {:?}",
        recorder.dead.lock().expect("lock")
    );
    let dead: usize = raw(&server.url(), redis::cmd("XLEN").arg("hone:py:dead")).await;
    assert_eq!(dead, 0, "the Python worker dead-lettered messages");
    assert_eq!(
        report.total_tells as usize, accepted,
        "every result the worker published was accepted"
    );
    assert!(report.best.is_some(), "the run has a best program");
}
