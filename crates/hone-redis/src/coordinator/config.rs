//! What a coordinator is told ([`CoordinatorConfig`]), what it reports as it runs
//! ([`CoordinatorEvent`]) and what it did ([`CoordinatorReport`]).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use hone_core::state::ProgramState;
use hone_eval::{JobUsage, StopReason};
use hone_optimize::{JobId, Told};
use serde_json::{Map, Value};
use tokio_util::sync::CancellationToken;

use crate::keys::RunId;
use crate::message::DeadKind;

/// What the coordinator reports as it runs.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum CoordinatorEvent<'a> {
    /// A job was put on the jobs stream.
    Published {
        /// The job.
        job: JobId,
        /// Its entry id.
        entry: &'a str,
    },
    /// A result was told to the optimizer.
    Told {
        /// The job.
        job: JobId,
        /// What the optimizer did with it.
        told: Told,
        /// The worker that ran it, if the message says.
        worker: Option<&'a str>,
    },
    /// A message went to the dead-letter stream.
    DeadLettered {
        /// Why, as a category.
        kind: DeadKind,
        /// The entry id on the results stream.
        entry: &'a str,
        /// Why, in words.
        reason: &'a str,
    },
    /// A lost job was published again.
    Republished {
        /// The job.
        job: JobId,
        /// How many times so far.
        times: u32,
    },
    /// The checkpoint was written.
    Checkpointed {
        /// Accepted results so far (resumed runs included).
        tells: u64,
    },
}

/// Observes a coordinator.
pub trait CoordinatorProgress: Send + Sync {
    /// Called for every event, on the coordinator's task: keep it quick.
    fn on_event(&self, event: &CoordinatorEvent<'_>);
}

/// How a [`RedisDriver`](crate::RedisDriver) runs.
#[derive(Clone)]
pub struct CoordinatorConfig {
    /// The run.
    pub run: RunId,
    /// Jobs on the jobs stream at most (at least 1); the rest wait in the coordinator.
    pub max_queued: usize,
    /// Where the checkpoint is written (and read by [`RedisDriver::resume`](crate::RedisDriver::resume)).
    pub checkpoint: Option<PathBuf>,
    /// Caller metadata stored in the checkpoint (next to the coordinator's own key).
    pub metadata: Map<String, Value>,
    /// The longest a blocking read of the results stream waits.
    pub poll: Duration,
    /// Results read per batch (one checkpoint per batch).
    pub read_batch: usize,
    /// With no result for this long, look for lost jobs.
    pub reconcile_after: Duration,
    /// Times a lost job is published again before it is told as failed.
    pub max_republish: u32,
    /// Cancel to stop cleanly (checkpoint written, streams kept for a resume).
    pub cancel: CancellationToken,
    /// Stop after this many accepted results (resumed runs included), as if cancelled.
    pub stop_after_tells: Option<u64>,
    /// Keep the run's jobs and results streams when the run is done (they are deleted
    /// otherwise; the dead-letter stream is always kept).
    pub keep_streams: bool,
    /// Observer.
    pub progress: Option<Arc<dyn CoordinatorProgress>>,
    /// The run's events (hone-eval's [`RunEvent`](hone_eval::driver::events::RunEvent)s, the
    /// same as the in-process driver's) and who observes them; none when `None`.
    pub events: Option<hone_eval::driver::events::RunEvents>,
    /// How long the run's lease lasts without renewal (default 10 s, at least 100 ms): the
    /// longest a restarted coordinator waits for a crashed one's lease.
    pub lease: Duration,
    /// Stop once this many examples or jobs in a row failed (see
    /// [`hone_eval::FailureWatch`]); `None` never stops.
    pub max_errors: Option<usize>,
    /// The fingerprint every job carries (see [`JobMessage::serves`](crate::message::JobMessage::serves)); workers serving another
    /// refuse the run's jobs.
    pub serves: Option<String>,
    /// Wall time earlier sessions of this run took (a resumed run's), so that the elapsed
    /// time handed to the optimizer ([`hone_optimize::RunSignals`]) counts the whole run.
    pub elapsed_before: Duration,
}

impl std::fmt::Debug for CoordinatorConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CoordinatorConfig")
            .field("run", &self.run)
            .field("max_queued", &self.max_queued)
            .field("checkpoint", &self.checkpoint)
            .field("poll", &self.poll)
            .field("reconcile_after", &self.reconcile_after)
            .field("max_republish", &self.max_republish)
            .field("stop_after_tells", &self.stop_after_tells)
            .field("keep_streams", &self.keep_streams)
            .field("lease", &self.lease)
            .field("max_errors", &self.max_errors)
            .field("elapsed_before", &self.elapsed_before)
            .field("events", &self.events)
            .finish_non_exhaustive()
    }
}

impl CoordinatorConfig {
    /// Defaults for `run`: 64 queued jobs, no checkpoint.
    pub fn new(run: RunId) -> Self {
        CoordinatorConfig {
            run,
            max_queued: 64,
            checkpoint: None,
            metadata: Map::new(),
            poll: Duration::from_secs(1),
            read_batch: 64,
            reconcile_after: Duration::from_secs(10),
            max_republish: 3,
            cancel: CancellationToken::new(),
            stop_after_tells: None,
            keep_streams: false,
            progress: None,
            events: None,
            lease: Duration::from_secs(10),
            max_errors: None,
            serves: None,
            elapsed_before: Duration::ZERO,
        }
    }

    /// Checkpoints to `path`.
    pub fn checkpoint(mut self, path: impl Into<PathBuf>) -> Self {
        self.checkpoint = Some(path.into());
        self
    }
}

/// What a coordinator run did.
#[derive(Debug, Clone)]
pub struct CoordinatorReport {
    /// The run.
    pub run: RunId,
    /// The optimizer's name.
    pub optimizer: String,
    /// Why the run returned.
    pub stop: StopReason,
    /// The best program (the optimized program when `stop` is [`StopReason::Done`]).
    pub best: Option<ProgramState>,
    /// Results accepted in this run.
    pub tells: u64,
    /// LM calls reported by this run's accepted results.
    pub lm_calls: u64,
    /// The usage workers reported with this run's accepted results, by model.
    pub usage: JobUsage,
    /// The same over all runs of this optimizer (resumed ones included), as the checkpoint
    /// keeps it.
    pub total_usage: JobUsage,
    /// Results accepted over all runs of this optimizer (resumed ones included).
    pub total_tells: u64,
    /// Jobs published (re-publications included).
    pub published: u64,
    /// Lost jobs published again.
    pub republished: u64,
    /// Results ignored as duplicates.
    pub duplicates: u64,
    /// Results ignored otherwise (unknown or stale jobs, another epoch).
    pub ignored: u64,
    /// Results moved to the dead-letter stream.
    pub dead_lettered: u64,
    /// Examples and jobs of accepted results that failed in this run.
    pub failures: u64,
    /// The first of them.
    pub first_error: Option<String>,
    /// Wall time of this run.
    pub elapsed: Duration,
}
