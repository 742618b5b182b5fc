//! The run's events from the Redis coordinator: the same events as the in-process driver's,
//! from the same core.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use hone_eval::StopReason;
use hone_eval::driver::events::{EndReason, EventKind, RunEvent, RunEvents};
use hone_redis::{RedisDriver, RunSelection, Worker, WorkerConfig, build_executor};
use tokio_util::sync::CancellationToken;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_distributed_run_emits_started_trials_bests_checkpoints_and_ended() {
    let Some(server) = redis_server() else { return };
    let sim = sim(0).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let checkpoint = dir.path().join("c.json");
    let stop = CancellationToken::new();
    let worker = {
        let spec = spec(&server.url(), &sim.base_url(), "w", 2);
        let url = server.url();
        let stop = stop.clone();
        tokio::spawn(async move {
            let executor = build_executor(&spec, &hone_lm::Env::empty()).expect("executor");
            let mut config = WorkerConfig::new("w");
            config.concurrency = 2;
            config.poll = Duration::from_millis(200);
            config.refresh_runs = Duration::from_millis(200);
            config.runs = RunSelection::All;
            Worker::new(connect(&url).await, Arc::new(executor), config)
                .run(stop.cancelled_owned())
                .await
                .expect("the worker runs")
        })
    };

    let seen = Arc::new(Mutex::new(Vec::<RunEvent>::new()));
    let sink = seen.clone();
    let recorder = Arc::new(Recorder::default());
    let mut config = coordinator_config("events", &recorder).checkpoint(&checkpoint);
    config.events = Some(RunEvents::new(move |e: &RunEvent| {
        sink.lock().expect("not poisoned").push(e.clone());
    }));
    let mut driver = RedisDriver::new(connect(&server.url()).await, optimizer(3), config);
    let report = tokio::time::timeout(Duration::from_secs(180), driver.run())
        .await
        .expect("the run finishes")
        .expect("the run succeeds");
    stop.cancel();
    worker.await.expect("worker task");
    assert_eq!(report.stop, StopReason::Done);

    let events = seen.lock().expect("not poisoned").clone();
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.name()).collect();
    assert_eq!(kinds.first(), Some(&"run_started"), "{kinds:?}");
    assert_eq!(kinds.last(), Some(&"run_ended"), "{kinds:?}");
    let trials = events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::TrialScored { .. }))
        .count();
    assert_eq!(trials, driver.optimizer().log().trials().count());
    assert!(trials > 0);
    assert!(kinds.contains(&"new_best"));
    let last_write = events.iter().rev().find_map(|e| match &e.kind {
        EventKind::CheckpointWritten { bytes, tells, .. } => Some((*bytes, *tells)),
        _ => None,
    });
    let on_disk = std::fs::metadata(&checkpoint).expect("checkpoint").len();
    assert_eq!(last_write, Some((on_disk, report.total_tells)));
    match &events.last().expect("events").kind {
        EventKind::RunEnded {
            reason,
            tells,
            usage,
            ..
        } => {
            assert_eq!(*reason, EndReason::Done);
            assert_eq!(*tells, report.total_tells);
            assert_eq!(usage.as_ref(), Some(&report.total_usage));
        }
        other => panic!("run_ended last, got {other:?}"),
    }
}
