//! The run's events from the in-process driver: the sequence of a run and of its resumed
//! session, against the simulated server.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{arithmetic, executor, program, sim};
use hone_eval::driver::events::{EndReason, EventKind, RunEvent, RunEvents};
use hone_eval::{DriverConfig, StopReason, resume, run_optimizer};
use hone_modules::Module;
use hone_optimize::{BootstrapFewShotWithRandomSearch, Optimizer, RandomSearchConfig, Registry};

fn collector() -> (Arc<Mutex<Vec<RunEvent>>>, RunEvents) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let mut events = RunEvents::new(move |e: &RunEvent| {
        sink.lock().expect("not poisoned").push(e.clone());
    });
    events.trainset = Some(12);
    events.valset = Some(8);
    (seen, events)
}

fn types(events: &[RunEvent]) -> Vec<&'static str> {
    events.iter().map(|e| e.kind.name()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_and_its_resumed_session_emit_the_log_once_between_start_and_end() {
    let sim = sim(Duration::ZERO).await;
    let train = arithmetic(12, 6);
    let val = arithmetic(8, 7);
    let student = program().state();
    let exec = executor(&sim);
    let config = RandomSearchConfig {
        num_candidate_programs: 3,
        eval_batch_size: 4,
        ..Default::default()
    };
    let mut opt =
        BootstrapFewShotWithRandomSearch::new(&student, &train, Some(&val), config).expect("valid");
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("checkpoint.json");

    let (seen, events) = collector();
    let first = DriverConfig {
        stop_after_tells: Some(6),
        events: Some(events),
        ..DriverConfig::with_concurrency(4).checkpoint(&path)
    };
    let stopped = run_optimizer(&mut opt, &exec, &first).await.expect("runs");
    assert_eq!(stopped.stop, StopReason::TellLimit);
    let first_events = seen.lock().expect("not poisoned").clone();
    let kinds = types(&first_events);
    assert_eq!(kinds.first(), Some(&"run_started"));
    assert_eq!(kinds.last(), Some(&"run_ended"));
    match &first_events[0].kind {
        EventKind::RunStarted {
            optimizer,
            trainset,
            resumed,
            ..
        } => {
            assert_eq!(optimizer, opt.name());
            assert_eq!(*trainset, Some(12));
            assert!(!resumed);
        }
        other => panic!("run_started first, got {other:?}"),
    }
    assert!(matches!(
        first_events.last().map(|e| &e.kind),
        Some(EventKind::RunEnded {
            reason: EndReason::TellLimit,
            tells: 6,
            ..
        })
    ));
    let written: Vec<u64> = first_events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::CheckpointWritten { path: p, bytes, .. } => {
                assert_eq!(p, &path);
                Some(*bytes)
            }
            _ => None,
        })
        .collect();
    assert!(!written.is_empty(), "a checkpoint was written: {kinds:?}");
    let on_disk = std::fs::metadata(&path).expect("the checkpoint").len();
    assert_eq!(written.last(), Some(&on_disk), "the last write is the file");
    let elapsed: Vec<f64> = first_events.iter().map(|e| e.elapsed_secs).collect();
    assert!(elapsed.windows(2).all(|w| w[0] <= w[1]), "{elapsed:?}");

    // The resumed session emits only what its own results added to the log.
    let (seen, events) = collector();
    let config = DriverConfig {
        events: Some(events),
        elapsed_before: Duration::from_secs(100),
        ..DriverConfig::with_concurrency(4).checkpoint(&path)
    };
    let (opt, report) = resume(&path, &Registry::builtin(), &exec, &config)
        .await
        .expect("resumes");
    assert_eq!(report.stop, StopReason::Done);
    let second = seen.lock().expect("not poisoned").clone();
    assert!(matches!(
        second[0].kind,
        EventKind::RunStarted {
            resumed: true,
            tells: 6,
            ..
        }
    ));
    assert!(second[0].elapsed_secs >= 100.0);
    assert!(matches!(
        second.last().map(|e| &e.kind),
        Some(EventKind::RunEnded {
            reason: EndReason::Done,
            ..
        })
    ));
    // The optimizer's log holds each trial once; the two sessions' events hold the same
    // trials, once each (a result told again after the resume logs nothing new).
    let trials = |events: &[RunEvent]| -> Vec<u64> {
        events
            .iter()
            .filter_map(|e| match e.kind {
                EventKind::TrialScored { trial, .. } => Some(trial),
                _ => None,
            })
            .collect()
    };
    let mut all = trials(&first_events);
    all.extend(trials(&second));
    let logged: Vec<u64> = opt
        .log()
        .trials()
        .filter_map(|t| match t {
            hone_optimize::LogEvent::Trial { trial, .. } => Some(*trial),
            _ => None,
        })
        .collect();
    assert!(!logged.is_empty());
    assert_eq!(all, logged);
    let bests: Vec<f64> = first_events
        .iter()
        .chain(&second)
        .filter_map(|e| match e.kind {
            EventKind::NewBest { score, .. } => Some(score),
            _ => None,
        })
        .collect();
    assert!(!bests.is_empty());
    assert!(bests.windows(2).all(|w| w[0] < w[1]), "{bests:?}");
    match second.last().map(|e| &e.kind) {
        Some(EventKind::RunEnded { best_score, .. }) => {
            assert_eq!(*best_score, bests.last().copied());
        }
        other => panic!("run_ended last, got {other:?}"),
    }
}
