//! The in-process driver: runs any [`Optimizer`] with an [`Executor`], bounded concurrency, a
//! checkpoint after each result, cancellation, and resume from a checkpoint. It is the only
//! place of a run that does IO.
//!
//! # How it runs
//!
//! Every job the optimizer hands out is started at once as its own task; a semaphore of
//! `concurrency` permits, shared by all jobs, bounds the LM-calling work in flight (one permit
//! per example or predict call), so the LM stays busy across jobs and candidates while never
//! seeing more than `concurrency` requests from this run. Results are told as they arrive; after
//! each, new jobs are asked for and started.
//!
//! # Checkpoints
//!
//! After each accepted result the optimizer's state is captured and handed to a writer task
//! that writes it atomically (temporary file + rename). If results arrive faster than the disk
//! takes them, the writer skips to the newest state — a checkpoint is never older than the last
//! write, and the final state is always written before the driver returns (done, cancelled or
//! stopped). Resuming re-runs the jobs that were pending in the checkpoint; results told after
//! the last write are simply recomputed, which the optimizers' idempotent protocol allows.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hone_core::state::ProgramState;
use hone_optimize::{Job, Optimizer, Registry, Told};
use serde_json::Value;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;

use crate::checkpoint::{Checkpoint, write_atomic};
use crate::error::DriverError;
use crate::executor::Executor;
use crate::failures::FailureWatch;
use crate::slots::{CallSlots, job_priority};

/// Observes a run as results arrive.
pub trait DriverProgress: Send + Sync {
    /// A result was told.
    fn on_tell(&self, _event: &TellEvent<'_>) {}
}

/// What [`DriverProgress::on_tell`] receives.
#[derive(Debug, Clone, Copy)]
pub struct TellEvent<'a> {
    /// The optimizer.
    pub optimizer: &'a str,
    /// What the optimizer did with the result.
    pub told: Told,
    /// Results accepted so far (resumed runs included).
    pub tells: u64,
    /// LM calls reported so far (resumed runs included).
    pub lm_calls: u64,
    /// Jobs still running.
    pub running: usize,
    /// Events in the optimizer's run log after this result (those it added came with it).
    pub log_events: usize,
}

/// How [`run_optimizer`] runs.
#[derive(Clone)]
pub struct DriverConfig {
    /// LM-calling work items in flight at once, across all jobs (at least 1).
    pub concurrency: usize,
    /// Where to write the checkpoint; none when `None`.
    pub checkpoint: Option<PathBuf>,
    /// Cancel to stop cleanly: running jobs are dropped, the checkpoint is written, and the run
    /// returns [`StopReason::Cancelled`]. The CLI wires Ctrl-C to it.
    pub cancel: CancellationToken,
    /// Stop after this many accepted results (counted over resumed runs too), as if cancelled.
    pub stop_after_tells: Option<u64>,
    /// Caller metadata stored in the checkpoint.
    pub metadata: Value,
    /// Progress observer.
    pub progress: Option<Arc<dyn DriverProgress>>,
    /// Stop with [`DriverError::TooManyErrors`] once this many examples or jobs in a row
    /// failed (see [`FailureWatch`]); `None` never stops.
    pub max_errors: Option<usize>,
}

impl std::fmt::Debug for DriverConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DriverConfig")
            .field("concurrency", &self.concurrency)
            .field("checkpoint", &self.checkpoint)
            .field("stop_after_tells", &self.stop_after_tells)
            .field("metadata", &self.metadata)
            .field("max_errors", &self.max_errors)
            .finish_non_exhaustive()
    }
}

impl Default for DriverConfig {
    fn default() -> Self {
        DriverConfig {
            concurrency: crate::evaluate::DEFAULT_CONCURRENCY,
            checkpoint: None,
            cancel: CancellationToken::new(),
            stop_after_tells: None,
            metadata: Value::Null,
            progress: None,
            max_errors: None,
        }
    }
}

impl DriverConfig {
    /// A configuration with this concurrency.
    pub fn with_concurrency(concurrency: usize) -> Self {
        DriverConfig {
            concurrency,
            ..DriverConfig::default()
        }
    }

    /// Checkpoints to `path`.
    pub fn checkpoint(mut self, path: impl Into<PathBuf>) -> Self {
        self.checkpoint = Some(path.into());
        self
    }
}

/// Why a run returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// The optimizer is done.
    Done,
    /// The cancellation token fired.
    Cancelled,
    /// `stop_after_tells` was reached.
    TellLimit,
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// The optimizer's name.
    pub optimizer: String,
    /// Why the run returned.
    pub stop: StopReason,
    /// The best program (the optimized program when `stop` is [`StopReason::Done`]).
    pub best: Option<ProgramState>,
    /// Results accepted in this run.
    pub tells: u64,
    /// LM calls reported by this run's results.
    pub lm_calls: u64,
    /// Results accepted over all runs of this optimizer (resumed ones included).
    pub total_tells: u64,
    /// Examples and jobs that failed in this run.
    pub failures: u64,
    /// The first of them.
    pub first_error: Option<String>,
    /// Wall time of this run.
    pub elapsed: Duration,
}

type Snapshot = Option<(u64, Arc<Vec<u8>>)>;

/// Writes the newest snapshot it is handed, skipping ones superseded while a write ran.
struct Writer {
    tx: watch::Sender<Snapshot>,
    seq: u64,
    task: JoinHandle<Result<(), DriverError>>,
}

impl Writer {
    fn spawn(path: PathBuf) -> Writer {
        let (tx, mut rx) = watch::channel::<Snapshot>(None);
        let task = tokio::spawn(async move {
            let mut written = 0u64;
            loop {
                let changed = rx.changed().await;
                let latest = rx.borrow_and_update().clone();
                if let Some((seq, bytes)) = latest
                    && seq > written
                {
                    let target = path.clone();
                    tokio::task::spawn_blocking(move || write_atomic(&target, &bytes))
                        .await
                        .map_err(|e| DriverError::CheckpointWrite {
                            path: path.clone(),
                            source: std::io::Error::other(e.to_string()),
                        })??;
                    written = seq;
                }
                if changed.is_err() {
                    return Ok(());
                }
            }
        });
        Writer { tx, seq: 0, task }
    }

    fn submit(&mut self, bytes: Vec<u8>) {
        self.seq += 1;
        self.tx.send_replace(Some((self.seq, Arc::new(bytes))));
    }

    async fn finish(self) -> Result<(), DriverError> {
        drop(self.tx);
        self.task.await.map_err(|e| DriverError::Job {
            optimizer: "checkpoint writer".into(),
            message: e.to_string(),
        })?
    }
}

fn snapshot(
    opt: &dyn Optimizer,
    tells: u64,
    lm_calls: u64,
    metadata: &Value,
) -> Result<Vec<u8>, DriverError> {
    let checkpoint = Checkpoint::new(opt.name(), tells, lm_calls, metadata.clone(), opt.state()?);
    serde_json::to_vec(&checkpoint).map_err(|e| DriverError::Job {
        optimizer: opt.name().into(),
        message: format!("could not serialize the checkpoint: {e}"),
    })
}

/// Runs `opt` with `executor` until it is done, cancelled, or stopped by `stop_after_tells`.
///
/// Jobs the optimizer reports as [`pending`](Optimizer::pending) (a restored run's lost jobs)
/// run first. Errors: the optimizer's (too many failures...), a checkpoint that cannot be
/// written, or an optimizer that stalls.
pub async fn run_optimizer<E: Executor + ?Sized>(
    opt: &mut dyn Optimizer,
    executor: &E,
    config: &DriverConfig,
) -> Result<RunReport, DriverError> {
    drive(opt, executor, config, 0, 0).await
}

async fn drive<E: Executor + ?Sized>(
    opt: &mut dyn Optimizer,
    executor: &E,
    config: &DriverConfig,
    base_tells: u64,
    base_calls: u64,
) -> Result<RunReport, DriverError> {
    let started = Instant::now();
    // Proposer calls first, then older jobs first: optimizers read results in the order they
    // issued jobs.
    let slots = CallSlots::new(config.concurrency.max(1));
    let mut writer = config.checkpoint.clone().map(Writer::spawn);
    let mut running: JoinSet<hone_optimize::JobResult> = JoinSet::new();
    let (mut tells, mut calls) = (0u64, 0u64);
    let name = opt.name().to_owned();
    let mut watch = FailureWatch::new(config.max_errors);

    let start = |jobs: Vec<Job>, running: &mut JoinSet<_>| {
        for job in jobs {
            let job_slots = slots.for_job(job_priority(&job, job.id.0));
            running.spawn(executor.run(job, job_slots));
        }
    };
    start(opt.pending(), &mut running);
    start(opt.ask(), &mut running);

    let result: Result<StopReason, DriverError> = async {
        loop {
            if opt.is_done() {
                return Ok(StopReason::Done);
            }
            if config
                .stop_after_tells
                .is_some_and(|k| base_tells + tells >= k)
            {
                return Ok(StopReason::TellLimit);
            }
            if running.is_empty() {
                return Err(DriverError::Stalled {
                    optimizer: name.clone(),
                });
            }
            let joined = tokio::select! {
                biased;
                _ = config.cancel.cancelled() => return Ok(StopReason::Cancelled),
                joined = running.join_next() => joined,
            };
            let Some(joined) = joined else { continue };
            let result = joined.map_err(|e| DriverError::Job {
                optimizer: name.clone(),
                message: e.to_string(),
            })?;
            let reported = result.lm_calls;
            // A result that ends the run is not told: resuming runs its job again.
            watch.observe(&name, &result)?;
            let told = opt.tell(result)?;
            if told == Told::Accepted {
                tells += 1;
                calls += reported;
                if let Some(w) = &mut writer {
                    w.submit(snapshot(
                        &*opt,
                        base_tells + tells,
                        base_calls + calls,
                        &config.metadata,
                    )?);
                }
            }
            if let Some(p) = &config.progress {
                p.on_tell(&TellEvent {
                    optimizer: &name,
                    told,
                    tells: base_tells + tells,
                    lm_calls: base_calls + calls,
                    running: running.len(),
                    log_events: opt.log().events().len(),
                });
            }
            start(opt.ask(), &mut running);
        }
    }
    .await;

    running.abort_all();
    let stop = match result {
        Ok(stop) => stop,
        Err(e) => {
            if let Some(w) = writer {
                // Keep the last good checkpoint; report the run's own error.
                let _ = w.finish().await;
            }
            return Err(e);
        }
    };
    if let Some(mut w) = writer {
        if tells == 0 {
            // Nothing told in this run: still leave a checkpoint to resume from.
            w.submit(snapshot(&*opt, base_tells, base_calls, &config.metadata)?);
        }
        w.finish().await?;
    }
    Ok(RunReport {
        optimizer: name,
        stop,
        best: opt.best(),
        tells,
        lm_calls: calls,
        total_tells: base_tells + tells,
        failures: watch.failures,
        first_error: watch.first_error().map(str::to_owned),
        elapsed: started.elapsed(),
    })
}

/// Restores the optimizer saved in the checkpoint at `path` (by name, through `registry`) and
/// continues its run: the jobs pending at the checkpoint run first. Checkpoints go to
/// `config.checkpoint` (set it to `path` to keep updating the same file).
pub async fn resume<E: Executor + ?Sized>(
    path: &Path,
    registry: &Registry,
    executor: &E,
    config: &DriverConfig,
) -> Result<(Box<dyn Optimizer>, RunReport), DriverError> {
    let checkpoint = Checkpoint::read(path)?;
    let mut opt = registry.restore(&checkpoint.optimizer, checkpoint.state)?;
    let report = drive(
        opt.as_mut(),
        executor,
        config,
        checkpoint.tells,
        checkpoint.lm_calls,
    )
    .await?;
    Ok((opt, report))
}
