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
use hone_optimize::{Job, Optimizer, Registry, RunSignals, Told};
use serde_json::Value;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::checkpoint::Checkpoint;
use crate::error::DriverError;
use crate::executor::Executor;
use crate::slots::{CallSlots, job_priority};

pub mod core;
pub mod events;
mod writer;

pub use self::core::{Applied, DriverCore, Next, RunLimits};
use events::{EndReason, RunEvents};
use writer::{Writer, snapshot};

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

/// What a driver hands an optimizer before each result ([`Optimizer::observe`]): the run's
/// wall time, `elapsed_secs`, and whether the optimizer's stop file exists (a relative path is
/// taken from this process's working directory). The optimizers do no IO, so this is where a
/// stop file is looked for.
pub fn run_signals(opt: &dyn Optimizer, elapsed_secs: f64) -> RunSignals {
    RunSignals {
        elapsed_secs,
        stop_requested: opt.stop_file().is_some_and(Path::exists),
    }
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
    /// The run's [events](events) and who observes them; none when `None`.
    pub events: Option<RunEvents>,
    /// Stop with [`DriverError::TooManyErrors`] once this many examples or jobs in a row
    /// failed (see [`FailureWatch`](crate::FailureWatch)); `None` never stops.
    pub max_errors: Option<usize>,
    /// Wall time earlier sessions of this run took (a resumed run's), so that the run's
    /// elapsed time handed to the optimizer ([`RunSignals::elapsed_secs`]) counts the whole
    /// run.
    pub elapsed_before: Duration,
}

impl std::fmt::Debug for DriverConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DriverConfig")
            .field("concurrency", &self.concurrency)
            .field("checkpoint", &self.checkpoint)
            .field("stop_after_tells", &self.stop_after_tells)
            .field("metadata", &self.metadata)
            .field("max_errors", &self.max_errors)
            .field("elapsed_before", &self.elapsed_before)
            .field("events", &self.events)
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
            events: None,
            max_errors: None,
            elapsed_before: Duration::ZERO,
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
    let name = opt.name().to_owned();
    let limits = RunLimits {
        stop_after_tells: config.stop_after_tells,
        max_errors: config.max_errors,
    };
    let mut core = DriverCore::new(&name, limits, base_tells, base_calls)
        .with_events(config.events.clone(), config.elapsed_before);
    core.start(&*opt);
    let outcome = drive_core(opt, executor, config, &mut core, started).await;
    match &outcome {
        Ok(stop) => core.end(&*opt, (*stop).into(), None, None),
        Err(e) => {
            let reason = match e {
                DriverError::Stalled { .. } => EndReason::Stalled,
                _ => EndReason::Failed,
            };
            core.end(&*opt, reason, Some(e.to_string()), None);
        }
    }
    let stop = outcome?;
    Ok(RunReport {
        optimizer: name,
        stop,
        best: opt.best(),
        tells: core.tells(),
        lm_calls: core.lm_calls(),
        total_tells: core.total_tells(),
        failures: core.watch().failures,
        first_error: core.watch().first_error().map(str::to_owned),
        elapsed: started.elapsed(),
    })
}

/// The loop of a run on `core`, up to the last checkpoint written.
async fn drive_core<E: Executor + ?Sized>(
    opt: &mut dyn Optimizer,
    executor: &E,
    config: &DriverConfig,
    core: &mut DriverCore,
    started: Instant,
) -> Result<StopReason, DriverError> {
    // Proposer calls first, then older jobs first: optimizers read results in the order they
    // issued jobs.
    let slots = CallSlots::new(config.concurrency.max(1));
    let mut writer = config
        .checkpoint
        .clone()
        .map(|path| Writer::spawn(path, core.emitter().cloned()));
    let mut running: JoinSet<hone_optimize::JobResult> = JoinSet::new();
    let name = opt.name().to_owned();

    let start = |jobs: Vec<Job>, running: &mut JoinSet<_>| {
        for job in jobs {
            let job_slots = slots.for_job(job_priority(&job, job.id.0));
            running.spawn(executor.run(job, job_slots));
        }
    };
    start(core.resumed_jobs(&*opt), &mut running);
    start(core.ask(opt), &mut running);

    let stalled = || DriverError::Stalled {
        optimizer: name.clone(),
    };
    let result: Result<StopReason, DriverError> = async {
        loop {
            match core.turn(opt, running.len(), config.cancel.is_cancelled()) {
                Next::Stop(stop) => return Ok(stop),
                Next::Stalled => return Err(stalled()),
                Next::Dispatch(jobs) => start(jobs, &mut running),
            }
            if running.is_empty() {
                // Pending jobs no task runs: in one process, nothing finds them again.
                return Err(stalled());
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
            // A result that ends the run is not in a checkpoint: resuming runs its job again.
            opt.observe(run_signals(
                &*opt,
                (config.elapsed_before + started.elapsed()).as_secs_f64(),
            ));
            let applied = core.on_result(opt, result)?;
            if applied.checkpoint
                && let Some(w) = &mut writer
            {
                let checkpoint = core.checkpoint(&*opt, config.metadata.clone())?;
                w.submit(snapshot(&checkpoint)?, checkpoint.tells);
            }
            if let Some(p) = &config.progress {
                p.on_tell(&TellEvent {
                    optimizer: &name,
                    told: applied.told,
                    tells: core.total_tells(),
                    lm_calls: core.total_lm_calls(),
                    running: running.len(),
                    log_events: opt.log().events().len(),
                });
            }
            start(applied.jobs, &mut running);
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
        if core.final_checkpoint_due() {
            // Nothing told in this run: still leave a checkpoint to resume from.
            let checkpoint = core.checkpoint(&*opt, config.metadata.clone())?;
            w.submit(snapshot(&checkpoint)?, checkpoint.tells);
        }
        w.finish().await?;
    }
    Ok(stop)
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
