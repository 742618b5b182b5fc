//! Distributed runs against a real redis-server and the simulated LM server.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use hone_eval::StopReason;
use hone_optimize::Registry;
use hone_redis::{
    DeadLetter, MESSAGE_FIELD, RedisDriver, RunSelection, Worker, WorkerConfig, build_executor,
};
use tokio_util::sync::CancellationToken;

const SEED: u64 = 3;

/// Three worker processes; one is killed (SIGKILL) while it holds a job. The run ends with the
/// single-process program, every job accepted exactly once and the same LM calls counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_worker_killed_mid_job_loses_nothing_and_counts_nothing_twice() {
    let Some(server) = redis_server() else { return };
    let sim = sim(20).await;
    let (expected, expected_calls) = reference(&sim.base_url(), SEED).await;

    let dir = tempfile::tempdir().expect("temp dir");
    let mut workers: Vec<_> = ["w1", "w2", "w3"]
        .iter()
        .map(|name| worker_process(&spec(&server.url(), &sim.base_url(), name, 2), dir.path()))
        .collect();

    let recorder = Arc::new(Recorder::default());
    let config = coordinator_config("kill-worker", &recorder).checkpoint(dir.path().join("c.json"));
    let mut driver = RedisDriver::new(connect(&server.url()).await, optimizer(SEED), config);
    let coordinator = tokio::spawn(async move { driver.run().await });

    // Kill w1 as soon as it holds a job.
    let mut pending_cmd = redis::cmd("XPENDING");
    pending_cmd
        .arg("hone:kill-worker:jobs")
        .arg("workers")
        .arg("-")
        .arg("+")
        .arg(10)
        .arg("w1");
    let mut killed = false;
    for _ in 0..3000 {
        let held: Vec<redis::Value> = raw_or_empty(&server.url(), &pending_cmd).await;
        if !held.is_empty() {
            workers[0].kill().expect("kill w1");
            workers[0].wait().expect("reap w1");
            killed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(killed, "w1 never held a job");

    let report = tokio::time::timeout(Duration::from_secs(180), coordinator)
        .await
        .expect("the run finishes")
        .expect("the coordinator task")
        .expect("the run succeeds");
    for w in &mut workers[1..] {
        let _ = w.kill();
        let _ = w.wait();
    }

    assert_eq!(report.stop, StopReason::Done);
    assert_eq!(
        report.best.as_ref(),
        Some(&expected),
        "same program as one process"
    );
    let jobs = recorder.assert_each_job_accepted_once();
    assert_eq!(
        report.tells as usize, jobs,
        "every job accepted exactly once"
    );
    assert_eq!(
        report.lm_calls, expected_calls,
        "LM calls counted once per job"
    );
    assert_eq!(report.dead_lettered, 0);
}

async fn raw_or_empty(url: &str, cmd: &redis::Cmd) -> Vec<redis::Value> {
    let client = redis::Client::open(url).expect("url");
    let Ok(mut conn) = client.get_multiplexed_async_connection().await else {
        return vec![];
    };
    cmd.query_async(&mut conn).await.unwrap_or_default()
}

fn in_process_worker(
    url: String,
    sim_url: String,
    name: &str,
    runs: RunSelection,
    stop: CancellationToken,
) -> tokio::task::JoinHandle<hone_redis::WorkerStats> {
    let spec = spec(&url, &sim_url, name, 2);
    let name = name.to_owned();
    tokio::spawn(async move {
        let executor = build_executor(&spec, &hone_lm::Env::empty()).expect("executor");
        let mut config = WorkerConfig::new(name);
        config.concurrency = 2;
        config.visibility_timeout = Duration::from_millis(1_500);
        config.poll = Duration::from_millis(200);
        config.refresh_runs = Duration::from_millis(200);
        config.runs = runs;
        let redis = connect(&url).await;
        Worker::new(redis, Arc::new(executor), config)
            .run(stop.cancelled_owned())
            .await
            .expect("the worker runs")
    })
}

/// The coordinator is aborted mid-run and restarted from its checkpoint; the run finishes
/// with the single-process program.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_restarted_coordinator_finishes_the_run() {
    let Some(server) = redis_server() else { return };
    let sim = sim(0).await;
    let (expected, _) = reference(&sim.base_url(), SEED).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let checkpoint = dir.path().join("run.ckpt.json");

    let stop = CancellationToken::new();
    let workers: Vec<_> = ["a", "b"]
        .iter()
        .map(|n| {
            in_process_worker(
                server.url(),
                sim.base_url(),
                n,
                RunSelection::All,
                stop.clone(),
            )
        })
        .collect();

    let recorder = Arc::new(Recorder::default());
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    *recorder.accepted_tx.lock().expect("lock") = Some(tx);
    let config = coordinator_config("restart", &recorder).checkpoint(&checkpoint);
    let mut first = RedisDriver::new(
        connect(&server.url()).await,
        optimizer(SEED),
        config.clone(),
    );
    let task = tokio::spawn(async move { first.run().await });
    // Abort it after a few accepted results: no clean stop, as if the process died.
    while let Some(accepted) = rx.recv().await {
        if accepted >= 5 {
            break;
        }
    }
    task.abort();
    assert!(
        task.await.is_err_and(|e| e.is_cancelled()),
        "the first coordinator was aborted mid-run"
    );
    assert!(checkpoint.exists(), "a checkpoint was written");

    let recorder2 = Arc::new(Recorder::default());
    let mut config2 = coordinator_config("restart", &recorder2).checkpoint(&checkpoint);
    config2.metadata = config.metadata.clone();
    let mut second =
        RedisDriver::resume(connect(&server.url()).await, &Registry::builtin(), config2)
            .expect("resumes from the checkpoint");
    let report = tokio::time::timeout(Duration::from_secs(180), second.run())
        .await
        .expect("the resumed run finishes")
        .expect("the resumed run succeeds");
    stop.cancel();
    for w in workers {
        w.await.expect("worker task");
    }
    assert_eq!(report.stop, StopReason::Done);
    assert_eq!(report.best.as_ref(), Some(&expected));
    recorder2.assert_each_job_accepted_once();
    assert!(
        report.total_tells > report.tells,
        "the resumed run continued the first one"
    );
}

/// Malformed jobs and results go to the dead-letter stream with a reason; the worker and the
/// coordinator carry on and the run ends as usual.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn malformed_messages_are_dead_lettered_and_nothing_crashes() {
    let Some(server) = redis_server() else { return };
    let sim = sim(0).await;
    let (expected, _) = reference(&sim.base_url(), SEED).await;
    let url = server.url();

    let recorder = Arc::new(Recorder::default());
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    *recorder.published_tx.lock().expect("lock") = Some(tx);
    let config = coordinator_config("bad-input", &recorder);
    let mut driver = RedisDriver::new(connect(&url).await, optimizer(SEED), config);
    let coordinator = tokio::spawn(async move { driver.run().await });
    rx.recv().await.expect("a job is published");

    // Garbage on both streams before any worker runs.
    let jobs = "hone:bad-input:jobs";
    let results = "hone:bad-input:results";
    let bad: [(&str, &str, &str); 6] = [
        (jobs, MESSAGE_FIELD, "this is not json"),
        (jobs, "other", "no msg field"),
        (
            jobs,
            MESSAGE_FIELD,
            r#"{"v":1,"run":"another-run","job":{"id":0,"spec":{}}}"#,
        ),
        (results, MESSAGE_FIELD, "{\"v\":1,"),
        (
            results,
            MESSAGE_FIELD,
            r#"{"v":99,"run":"bad-input","result":{}}"#,
        ),
        (
            results,
            MESSAGE_FIELD,
            r#"{"v":1,"run":"bad-input","result":{"id":424242,"output":{"kind":"failed","error":"x"}}}"#,
        ),
    ];
    for (key, field, value) in bad {
        let mut cmd = redis::cmd("XADD");
        cmd.arg(key).arg("*").arg(field).arg(value);
        let _: String = raw(&url, &cmd).await;
    }

    let stop = CancellationToken::new();
    let worker = in_process_worker(
        url.clone(),
        sim.base_url(),
        "solo",
        RunSelection::All,
        stop.clone(),
    );
    let report = tokio::time::timeout(Duration::from_secs(180), coordinator)
        .await
        .expect("the run finishes")
        .expect("the coordinator task")
        .expect("the run succeeds despite bad input");
    stop.cancel();
    let stats = worker.await.expect("the worker ran to its shutdown");

    assert_eq!(report.best.as_ref(), Some(&expected));
    assert_eq!(
        stats.dead_lettered, 3,
        "the worker dead-lettered the three bad jobs"
    );
    assert_eq!(
        report.dead_lettered, 2,
        "the coordinator dead-lettered the two unreadable results"
    );
    assert_eq!(report.ignored, 1, "the result of an unknown job is ignored");
    recorder.assert_each_job_accepted_once();

    let mut range = redis::cmd("XRANGE");
    range.arg("hone:bad-input:dead").arg("-").arg("+");
    let entries: Vec<(String, Vec<(String, String)>)> = raw(&url, &range).await;
    assert_eq!(entries.len(), 5);
    for (_, fields) in &entries {
        let (_, text) = fields
            .iter()
            .find(|(k, _)| k == MESSAGE_FIELD)
            .expect("msg field");
        let letter: DeadLetter = serde_json::from_str(text).expect("a dead letter");
        assert!(!letter.reason.is_empty());
    }
    let reasons: Vec<String> = entries.iter().map(|(_, f)| f[0].1.clone()).collect();
    let all = reasons.join("\n");
    assert!(all.contains("not JSON"), "{all}");
    assert!(all.contains("no `msg` field"), "{all}");
    assert!(all.contains("another-run"), "{all}");
    assert!(all.contains("version 99"), "{all}");
}

/// Two runs share one Redis and one pool of workers and stay apart.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_runs_share_one_worker_pool_and_stay_isolated() {
    let Some(server) = redis_server() else { return };
    let sim = sim(0).await;
    let (expected_a, _) = reference(&sim.base_url(), 11).await;
    let (expected_b, _) = reference(&sim.base_url(), 12).await;
    assert_ne!(
        expected_a, expected_b,
        "the two runs optimize different things"
    );

    let stop = CancellationToken::new();
    let workers: Vec<_> = ["p1", "p2"]
        .iter()
        .map(|n| {
            in_process_worker(
                server.url(),
                sim.base_url(),
                n,
                RunSelection::All,
                stop.clone(),
            )
        })
        .collect();

    let rec_a = Arc::new(Recorder::default());
    let rec_b = Arc::new(Recorder::default());
    let mut a = RedisDriver::new(
        connect(&server.url()).await,
        optimizer(11),
        coordinator_config("run-a", &rec_a),
    );
    let mut b = RedisDriver::new(
        connect(&server.url()).await,
        optimizer(12),
        coordinator_config("run-b", &rec_b),
    );
    let (ra, rb) = tokio::time::timeout(Duration::from_secs(180), async {
        tokio::join!(a.run(), b.run())
    })
    .await
    .expect("both runs finish");
    stop.cancel();
    for w in workers {
        w.await.expect("worker task");
    }
    let (ra, rb) = (ra.expect("run a"), rb.expect("run b"));
    assert_eq!(ra.best.as_ref(), Some(&expected_a));
    assert_eq!(rb.best.as_ref(), Some(&expected_b));
    for r in [&ra, &rb] {
        assert_eq!(r.ignored, 0, "no result of the other run reached {}", r.run);
        assert_eq!(r.dead_lettered, 0);
    }
    rec_a.assert_each_job_accepted_once();
    rec_b.assert_each_job_accepted_once();
    let mut members = redis::cmd("SMEMBERS");
    members.arg("hone:runs");
    let runs: Vec<String> = raw(&server.url(), &members).await;
    assert!(
        runs.is_empty(),
        "finished runs leave the registry: {runs:?}"
    );
}

/// One coordinator per run: a second one for a run being driven waits one lease and is
/// refused, naming the holder; the lease is gone once the first stops.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_coordinator_for_a_driven_run_is_refused() {
    let Some(server) = redis_server() else { return };
    let recorder = Arc::new(Recorder::default());
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    *recorder.published_tx.lock().expect("lock") = Some(tx);
    let first_config = coordinator_config("lease", &recorder);
    let cancel = first_config.cancel.clone();
    let mut first = RedisDriver::new(connect(&server.url()).await, optimizer(SEED), first_config);
    // No worker: the first coordinator publishes its jobs and waits for results.
    let task = tokio::spawn(async move { first.run().await });
    rx.recv().await.expect("the first coordinator publishes");

    let mut config = coordinator_config("lease", &Arc::new(Recorder::default()));
    config.lease = Duration::from_millis(500);
    let mut second = RedisDriver::new(connect(&server.url()).await, optimizer(SEED), config);
    let err = second.run().await.expect_err("the run is taken");
    assert!(
        matches!(&err, hone_redis::Error::RunTaken { run, .. } if run == "lease"),
        "{err}"
    );
    assert!(err.to_string().contains("another coordinator"), "{err}");

    cancel.cancel();
    let report = task
        .await
        .expect("the first coordinator's task")
        .expect("it stops cleanly");
    assert_eq!(report.stop, StopReason::Cancelled);
    let holder: Option<String> = raw(
        &server.url(),
        redis::cmd("GET").arg("hone:lease:coordinator"),
    )
    .await;
    assert_eq!(
        holder, None,
        "the lease is released when the coordinator stops"
    );
}

/// A lease that expired while the coordinator stalled (here: deleted, as its expiry does) is
/// taken again when nobody else holds it; the run is not stopped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_lease_nobody_took_is_taken_again() {
    let Some(server) = redis_server() else { return };
    let recorder = Arc::new(Recorder::default());
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    *recorder.published_tx.lock().expect("lock") = Some(tx);
    let mut config = coordinator_config("stall", &recorder);
    config.lease = Duration::from_millis(300);
    let cancel = config.cancel.clone();
    let mut driver = RedisDriver::new(connect(&server.url()).await, optimizer(SEED), config);
    let task = tokio::spawn(async move { driver.run().await });
    rx.recv().await.expect("the coordinator publishes");
    let _: i64 = raw(
        &server.url(),
        redis::cmd("DEL").arg("hone:stall:coordinator"),
    )
    .await;
    // Several renewal periods pass with the lease gone.
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(!task.is_finished(), "the coordinator kept driving the run");
    let holder: Option<String> = raw(
        &server.url(),
        redis::cmd("GET").arg("hone:stall:coordinator"),
    )
    .await;
    assert!(holder.is_some(), "the lease is held again");
    cancel.cancel();
    let report = task
        .await
        .expect("the coordinator's task")
        .expect("it stops cleanly");
    assert_eq!(report.stop, StopReason::Cancelled);
}

/// A worker serving another program or metric refuses the run's jobs: it stops with an error
/// naming both fingerprints and acknowledges nothing, so the jobs wait for a worker that fits.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_worker_with_another_program_refuses_the_jobs() {
    let Some(server) = redis_server() else { return };
    let sim = sim(0).await;
    let recorder = Arc::new(Recorder::default());
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    *recorder.published_tx.lock().expect("lock") = Some(tx);
    let mut config = coordinator_config("fingerprint", &recorder);
    config.serves = Some("sha256:coordinator".into());
    let cancel = config.cancel.clone();
    let mut driver = RedisDriver::new(connect(&server.url()).await, optimizer(SEED), config);
    let task = tokio::spawn(async move { driver.run().await });
    rx.recv().await.expect("the coordinator publishes");

    let spec = spec(&server.url(), &sim.base_url(), "other", 2);
    let executor = build_executor(&spec, &hone_lm::Env::empty()).expect("executor");
    let mut worker_config = WorkerConfig::new("other");
    worker_config.poll = Duration::from_millis(100);
    worker_config.refresh_runs = Duration::from_millis(100);
    worker_config.serves = Some("sha256:worker".into());
    let worker = Worker::new(
        connect(&server.url()).await,
        Arc::new(executor),
        worker_config,
    );
    let err = tokio::time::timeout(
        Duration::from_secs(20),
        worker.run(std::future::pending::<()>()),
    )
    .await
    .expect("the worker stops")
    .expect_err("the worker refuses the job");
    let text = err.to_string();
    assert!(
        matches!(err, hone_redis::Error::WrongProgram { .. }),
        "{text}"
    );
    assert!(
        text.contains("sha256:coordinator") && text.contains("sha256:worker"),
        "{text}"
    );
    assert_eq!(sim.stats().requests_total, 0, "no job ran");
    let results: Vec<redis::Value> = raw_or_empty(
        &server.url(),
        redis::cmd("XRANGE")
            .arg("hone:fingerprint:results")
            .arg("-")
            .arg("+"),
    )
    .await;
    assert!(results.is_empty(), "no result was published");
    cancel.cancel();
    let _ = task.await;
}
