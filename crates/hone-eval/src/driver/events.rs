//! The events of a run, one stream for every driver: [`RunEvent`] (versioned JSON with a
//! `type` tag, `docs/schema/event.v1.json`) and [`RunObserver`], the small trait that receives
//! them. [`DriverCore`](super::DriverCore) emits them — so the in-process driver and the Redis
//! coordinator emit the same events — from what the optimizer writes in its run log
//! ([`LogEvent`]); the checkpoint writers add `checkpoint_written`.
//!
//! ```
//! use std::sync::{Arc, Mutex};
//! use hone_eval::driver::events::{FanOut, RunEvent, RunObserver};
//!
//! let seen = Arc::new(Mutex::new(Vec::new()));
//! let log = seen.clone();
//! let observer = FanOut::new()
//!     .with(move |e: &RunEvent| log.lock().expect("not poisoned").push(e.kind.name()))
//!     .with(|_: &RunEvent| {});
//! observer.on_event(&RunEvent::new(
//!     1.5,
//!     hone_eval::driver::events::EventKind::NewBest { candidate: 3, score: 0.75 },
//! ));
//! assert_eq!(*seen.lock().expect("not poisoned"), ["new_best"]);
//! ```

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hone_optimize::LogEvent;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::StopReason;
use crate::run::JobUsage;

/// The version of the event schema ([`RunEvent::v`]).
pub const EVENTS_VERSION: u32 = 1;

/// One event of a run: the version, when it happened, and what happened (`type`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunEvent {
    /// The schema version, [`EVENTS_VERSION`].
    pub v: u32,
    /// Milliseconds since the Unix epoch when the event was emitted.
    pub unix_ms: u64,
    /// Seconds into the run (earlier sessions of a resumed run included).
    pub elapsed_secs: f64,
    /// What happened.
    #[serde(flatten)]
    pub kind: EventKind,
}

impl RunEvent {
    /// An event of this version, `elapsed_secs` into the run, stamped with the current time.
    pub fn new(elapsed_secs: f64, kind: EventKind) -> Self {
        let unix_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0);
        RunEvent {
            v: EVENTS_VERSION,
            unix_ms,
            elapsed_secs,
            kind,
        }
    }
}

/// Why a run ended, as `run_ended` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// The optimizer is done.
    Done,
    /// The run was cancelled (Ctrl-C, a cancellation token).
    Cancelled,
    /// The run's tell limit was reached.
    TellLimit,
    /// The optimizer had nothing to ask for and nothing in flight.
    Stalled,
    /// The run failed (too many errors in a row, a checkpoint that could not be written...).
    Failed,
}

impl From<StopReason> for EndReason {
    fn from(stop: StopReason) -> Self {
        match stop {
            StopReason::Done => EndReason::Done,
            StopReason::Cancelled => EndReason::Cancelled,
            StopReason::TellLimit => EndReason::TellLimit,
        }
    }
}

/// What happened, tagged by `type` in JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    /// The run (or a resumed session of it) started.
    RunStarted {
        /// The optimizer's canonical name.
        optimizer: String,
        /// The optimizer's parameters, as the caller gave them (`{}` when it gave none).
        params: Value,
        /// Training examples, when the caller says.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        trainset: Option<usize>,
        /// Validation examples, when the caller says.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        valset: Option<usize>,
        /// Whether this session continues a run from a checkpoint.
        resumed: bool,
        /// Results accepted by earlier sessions.
        tells: u64,
    },
    /// The optimizer proposed a new text for a predictor (an instruction, a rule).
    CandidateProposed {
        /// The candidate it is for, when the optimizer says.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        candidate: Option<u64>,
        /// The predictor (or component) whose text changed.
        predictor: String,
        /// The proposed text.
        text: String,
        /// How it was produced (`grounded_proposer`, `reflection`, `merge`, ...).
        source: String,
    },
    /// A candidate was scored.
    TrialScored {
        /// The trial's number within the run (0-based, over resumed sessions too).
        trial: u64,
        /// The candidate's id within the optimizer.
        candidate: u64,
        /// The mean score over the examples scored.
        score: f64,
        /// Examples scored.
        examples: usize,
        /// Examples that failed.
        errors: usize,
        /// A full evaluation (rather than a minibatch).
        full: bool,
        /// Optimizer-specific detail (which instruction and demo set, the parent...), what
        /// changed where the optimizer says.
        #[serde(default, skip_serializing_if = "Value::is_null")]
        detail: Value,
    },
    /// A new best candidate.
    NewBest {
        /// The candidate's id.
        candidate: u64,
        /// Its score.
        score: f64,
    },
    /// A checkpoint was written.
    CheckpointWritten {
        /// The file.
        path: PathBuf,
        /// Its size in bytes.
        bytes: u64,
        /// Results accepted when it was taken (resumed sessions included).
        tells: u64,
    },
    /// The run (this session of it) ended.
    RunEnded {
        /// Why.
        reason: EndReason,
        /// The error, when it failed or stalled.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
        /// The best score of the optimizer's `new_best` events, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        best_score: Option<f64>,
        /// Results accepted over all sessions.
        tells: u64,
        /// LM calls reported with the results over all sessions.
        lm_calls: u64,
        /// Examples and jobs that failed in this session.
        failures: u64,
        /// The usage of the results' LM calls by model, when the driver knows it (the Redis
        /// coordinator, from what workers report).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        usage: Option<JobUsage>,
    },
}

impl EventKind {
    /// The `type` tag.
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::RunStarted { .. } => "run_started",
            EventKind::CandidateProposed { .. } => "candidate_proposed",
            EventKind::TrialScored { .. } => "trial_scored",
            EventKind::NewBest { .. } => "new_best",
            EventKind::CheckpointWritten { .. } => "checkpoint_written",
            EventKind::RunEnded { .. } => "run_ended",
        }
    }

    /// The event an optimizer's log entry stands for (a note stands for none).
    pub fn of_log(event: &LogEvent) -> Option<EventKind> {
        Some(match event {
            LogEvent::Trial {
                trial,
                candidate,
                score,
                examples,
                errors,
                full,
                detail,
            } => EventKind::TrialScored {
                trial: *trial,
                candidate: *candidate,
                score: *score,
                examples: *examples,
                errors: *errors,
                full: *full,
                detail: detail.clone(),
            },
            LogEvent::Proposal {
                predictor,
                text,
                source,
            } => EventKind::CandidateProposed {
                candidate: None,
                predictor: predictor.clone(),
                text: text.clone(),
                source: source.clone(),
            },
            LogEvent::NewBest { candidate, score } => EventKind::NewBest {
                candidate: *candidate,
                score: *score,
            },
            LogEvent::Note { .. } => return None,
        })
    }
}

/// Receives a run's events, on the driver's task: keep it quick. Any `Fn(&RunEvent)` is one;
/// [`FanOut`] hands each event to several.
pub trait RunObserver: Send + Sync {
    /// One event.
    fn on_event(&self, event: &RunEvent);
}

impl<F: Fn(&RunEvent) + Send + Sync> RunObserver for F {
    fn on_event(&self, event: &RunEvent) {
        self(event)
    }
}

impl<T: RunObserver + ?Sized> RunObserver for Arc<T> {
    fn on_event(&self, event: &RunEvent) {
        (**self).on_event(event)
    }
}

/// Hands each event to every observer it holds, in the order they were added.
#[derive(Clone, Default)]
pub struct FanOut {
    observers: Vec<Arc<dyn RunObserver>>,
}

impl std::fmt::Debug for FanOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FanOut")
            .field("observers", &self.observers.len())
            .finish()
    }
}

impl FanOut {
    /// No observers.
    pub fn new() -> Self {
        FanOut::default()
    }

    /// Adds an observer.
    pub fn with(mut self, observer: impl RunObserver + 'static) -> Self {
        self.observers.push(Arc::new(observer));
        self
    }

    /// Adds a shared observer.
    pub fn push(&mut self, observer: Arc<dyn RunObserver>) {
        self.observers.push(observer);
    }

    /// Whether it holds no observer.
    pub fn is_empty(&self) -> bool {
        self.observers.is_empty()
    }
}

impl RunObserver for FanOut {
    fn on_event(&self, event: &RunEvent) {
        for o in &self.observers {
            o.on_event(event);
        }
    }
}

/// What a driver's caller tells about a run for its `run_started` event, and who observes it.
#[derive(Clone)]
pub struct RunEvents {
    /// Receives the events.
    pub observer: Arc<dyn RunObserver>,
    /// The optimizer's parameters (`run_started`'s `params`).
    pub params: Value,
    /// Training examples.
    pub trainset: Option<usize>,
    /// Validation examples.
    pub valset: Option<usize>,
}

impl std::fmt::Debug for RunEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunEvents")
            .field("params", &self.params)
            .field("trainset", &self.trainset)
            .field("valset", &self.valset)
            .finish_non_exhaustive()
    }
}

impl RunEvents {
    /// Events to `observer`, with no parameters or dataset sizes.
    pub fn new(observer: impl RunObserver + 'static) -> Self {
        RunEvents {
            observer: Arc::new(observer),
            params: Value::Object(Default::default()),
            trainset: None,
            valset: None,
        }
    }
}

/// Emits events to an observer, stamped with the run's elapsed time: this session's wall
/// time since it was made plus `before` (earlier sessions). Cheap to clone, so a checkpoint
/// writer holds one.
#[derive(Clone)]
pub struct Emitter {
    observer: Arc<dyn RunObserver>,
    started: Instant,
    before: Duration,
}

impl std::fmt::Debug for Emitter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emitter")
            .field("before", &self.before)
            .finish_non_exhaustive()
    }
}

impl Emitter {
    /// An emitter to `observer` for a session that earlier sessions took `before` into.
    pub fn new(observer: Arc<dyn RunObserver>, before: Duration) -> Self {
        Emitter {
            observer,
            started: Instant::now(),
            before,
        }
    }

    /// Emits `kind` now.
    pub fn emit(&self, kind: EventKind) {
        let elapsed = (self.before + self.started.elapsed()).as_secs_f64();
        self.observer.on_event(&RunEvent::new(elapsed, kind));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn an_event_is_one_flat_json_object_with_version_type_and_time() {
        let e = RunEvent::new(
            2.5,
            EventKind::TrialScored {
                trial: 4,
                candidate: 2,
                score: 0.5,
                examples: 8,
                errors: 1,
                full: true,
                detail: Value::Null,
            },
        );
        let v = serde_json::to_value(&e).expect("serializes");
        assert_eq!(v["v"], 1);
        assert_eq!(v["type"], "trial_scored");
        assert_eq!(v["elapsed_secs"], 2.5);
        assert_eq!(v["trial"], 4);
        assert!(v["unix_ms"].as_u64().expect("a number") > 1_600_000_000_000);
        assert!(v.get("detail").is_none());
        let back: RunEvent = serde_json::from_value(v).expect("reads back");
        assert_eq!(back, e);
    }

    #[test]
    fn log_entries_map_onto_events_and_notes_onto_none() {
        let note = LogEvent::Note {
            message: "phase".into(),
        };
        assert_eq!(EventKind::of_log(&note), None);
        let proposal = LogEvent::Proposal {
            predictor: "self".into(),
            text: "Be brief.".into(),
            source: "reflection".into(),
        };
        let kind = EventKind::of_log(&proposal).expect("an event");
        assert_eq!(kind.name(), "candidate_proposed");
    }

    #[test]
    fn a_fan_out_hands_each_event_to_every_observer_in_order() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (a, b) = (seen.clone(), seen.clone());
        let fan = FanOut::new()
            .with(move |_: &RunEvent| a.lock().expect("lock").push("a"))
            .with(move |_: &RunEvent| b.lock().expect("lock").push("b"));
        let emitter = Emitter::new(Arc::new(fan), Duration::from_secs(10));
        emitter.emit(EventKind::NewBest {
            candidate: 1,
            score: 1.0,
        });
        assert_eq!(*seen.lock().expect("lock"), ["a", "b"]);
    }
}
