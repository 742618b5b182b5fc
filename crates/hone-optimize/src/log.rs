//! The run log: every candidate tried, every proposal made, with scores — what reports and
//! `hone diff` show about how a prompt evolved.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One event of an optimization run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum LogEvent {
    /// A candidate program was scored.
    Trial {
        /// Sequence number of the trial within the run.
        trial: u64,
        /// The candidate's id within the optimizer.
        candidate: u64,
        /// Mean score over the examples scored.
        score: f64,
        /// How many examples were scored.
        examples: usize,
        /// How many of them failed (the program, the LM or the metric), scored as the
        /// optimizer scores failures (0, or GEPA's `failure_score`).
        #[serde(default, skip_serializing_if = "is_zero")]
        errors: usize,
        /// Whether this was a full evaluation (rather than a minibatch).
        full: bool,
        /// Optimizer-specific detail (which instruction and demo set, the parent, ...).
        #[serde(default, skip_serializing_if = "Value::is_null")]
        detail: Value,
    },
    /// An instruction (or other text component) was proposed.
    Proposal {
        /// The predictor (or component) the text is for.
        predictor: String,
        /// The proposed text.
        text: String,
        /// How it was produced (`grounded_proposer`, `reflection`, `merge`, ...).
        source: String,
    },
    /// A new best candidate.
    NewBest {
        /// The candidate's id.
        candidate: u64,
        /// Its score.
        score: f64,
    },
    /// Free-form progress note (phase changes, skipped candidates).
    Note {
        /// The message.
        message: String,
    },
}

/// The ordered list of [`LogEvent`]s of a run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RunLog {
    events: Vec<LogEvent>,
}

impl RunLog {
    /// An empty log.
    pub fn new() -> Self {
        RunLog::default()
    }

    /// Appends an event.
    pub fn push(&mut self, event: LogEvent) {
        self.events.push(event);
    }

    /// All events in order.
    pub fn events(&self) -> &[LogEvent] {
        &self.events
    }

    /// The trials, in order.
    pub fn trials(&self) -> impl Iterator<Item = &LogEvent> {
        self.events
            .iter()
            .filter(|e| matches!(e, LogEvent::Trial { .. }))
    }

    /// The next trial number.
    pub fn next_trial(&self) -> u64 {
        self.trials().count() as u64
    }
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}
