//! The coordinator: [`RedisDriver`] owns an [`Optimizer`], publishes its jobs to a run's jobs
//! stream, tells it the results workers publish, and checkpoints.
//!
//! The rules of the run — asking and telling, when it stops (done, `stop_after_tells`,
//! cancelled, stalled, `max_errors` failures in a row), what counts, when a checkpoint is due —
//! are hone-eval's [`DriverCore`], as in the in-process driver; this module is the transport:
//! streams, leases and reconciliation.
//!
//! # The loop
//!
//! 1. Jobs from [`Optimizer::ask`] are queued locally and published (`XADD`) while fewer than
//!    [`CoordinatorConfig::max_queued`] of the run's jobs are outstanding on the stream
//!    (backpressure: the stream never holds more).
//! 2. Results are read in order with `XREAD` from the stored results position and told to the
//!    optimizer. `tell` is idempotent, so duplicates (a job run twice after a take-over) and
//!    redeliveries after a restart are harmless; only
//!    [`Told::Accepted`](hone_optimize::Told::Accepted) results count.
//! 3. After each batch of results the checkpoint is written (hone's checkpoint format, the
//!    results position in its metadata under `hone_redis`), and only then are the told results
//!    trimmed from the results stream and their jobs deleted from the jobs stream.
//! 4. A result that is not a valid message goes to the dead-letter stream with the reason; a
//!    result that does not fit its job too, and the job is published again.
//! 5. When no result arrives for a while, the coordinator looks for lost jobs — pending in the
//!    optimizer but neither on the stream nor delivered-and-unacknowledged — and publishes them
//!    again, at most [`CoordinatorConfig::max_republish`] times before telling the optimizer
//!    the job failed.
//!
//! # Restart
//!
//! [`RedisDriver::resume`] restores the optimizer from the checkpoint, reads results from the
//! stored position (results told after the last checkpoint are told again; duplicates are
//! ignored), deletes jobs that no longer need a result, and re-publishes pending jobs that are
//! not on the stream any more. A run started without a checkpoint clears the run's jobs and
//! results streams first and gets a new epoch; results carrying another epoch are ignored.
//!
//! # One coordinator per run
//!
//! A coordinator holds the run's lease (`hone:<run>:coordinator`, a token that expires after
//! [`CoordinatorConfig::lease`] unless renewed, which the loop does every third of it). A second
//! coordinator for the same run waits up to one lease for it — so a restart after a crash
//! takes over once the dead coordinator's lease expires — and then fails with
//! [`Error::RunTaken`]. A coordinator whose lease expired during a stall takes it again when
//! nobody else did; one that finds its lease taken by another stops with
//! [`Error::LeaseLost`]. The lease is released when the run stops, however it stops.
//!
//! Several runs share a Redis through their run ids.

use std::collections::{HashMap, VecDeque};
use std::time::Instant;

use hone_eval::driver::events::EndReason;
use hone_eval::{Checkpoint, DriverCore, JobUsage, Next, RunLimits, StopReason};
use hone_optimize::{Job, JobId, Optimizer, OptimizerError, Registry};
use serde_json::Value;

use crate::conn::Redis;
use crate::error::Error;

mod config;
mod lease;
mod publish;
mod reconcile;
mod record;

pub use config::{CoordinatorConfig, CoordinatorEvent, CoordinatorProgress, CoordinatorReport};
use lease::{Lease, new_epoch};
pub use record::checkpoint_position;

/// The checkpoint metadata key holding the coordinator's own position.
pub const CHECKPOINT_KEY: &str = "hone_redis";

/// Drives an optimizer over Redis; see the [module documentation](self).
pub struct RedisDriver {
    pub(super) redis: Redis,
    pub(super) opt: Box<dyn Optimizer>,
    pub(super) config: CoordinatorConfig,
    pub(super) epoch: u64,
    pub(super) results_pos: String,
    pub(super) fresh: bool,
    pub(super) base_tells: u64,
    pub(super) base_calls: u64,
    /// Worker usage of the results told before the checkpoint this run resumed from.
    pub(super) base_usage: JobUsage,
}

impl std::fmt::Debug for RedisDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisDriver")
            .field("optimizer", &self.opt.name())
            .field("config", &self.config)
            .field("epoch", &self.epoch)
            .field("results_pos", &self.results_pos)
            .finish_non_exhaustive()
    }
}

impl RedisDriver {
    /// A coordinator starting `optimizer` afresh. The run's jobs and results streams are
    /// cleared when it starts (the dead-letter stream is kept).
    pub fn new(redis: Redis, optimizer: Box<dyn Optimizer>, config: CoordinatorConfig) -> Self {
        RedisDriver {
            redis,
            opt: optimizer,
            config,
            epoch: new_epoch(),
            results_pos: "0-0".into(),
            fresh: true,
            base_tells: 0,
            base_calls: 0,
            base_usage: JobUsage::default(),
        }
    }

    /// A coordinator continuing from the checkpoint at `config.checkpoint`; the optimizer is
    /// restored by name through `registry`. A checkpoint written by hone's in-process driver
    /// works too (the run then starts on fresh streams).
    pub fn resume(
        redis: Redis,
        registry: &Registry,
        config: CoordinatorConfig,
    ) -> Result<Self, Error> {
        let path = config.checkpoint.clone().ok_or_else(|| Error::Config {
            message: "resuming needs a checkpoint path in CoordinatorConfig::checkpoint".into(),
        })?;
        let checkpoint = Checkpoint::read(&path).map_err(|e| Error::Checkpoint {
            path: path.clone(),
            message: e.to_string(),
        })?;
        let opt = registry.restore(&checkpoint.optimizer, checkpoint.state)?;
        let own = checkpoint.metadata.get(CHECKPOINT_KEY);
        let run = own.and_then(|o| o.get("run")).and_then(Value::as_str);
        if let Some(run) = run
            && run != config.run.as_str()
        {
            return Err(Error::Config {
                message: format!(
                    "the checkpoint {} belongs to run `{run}`, not `{}`; pass --run {run} or another checkpoint",
                    path.display(),
                    config.run
                ),
            });
        }
        let epoch = own.and_then(|o| o.get("epoch")).and_then(Value::as_u64);
        let pos = own
            .and_then(|o| o.get("results_position"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        let mut driver = RedisDriver::new(redis, opt, config);
        driver.base_tells = checkpoint.tells;
        driver.base_calls = checkpoint.lm_calls;
        driver.base_usage = own
            .and_then(|o| o.get("usage"))
            .and_then(|u| serde_json::from_value(u.clone()).ok())
            .unwrap_or_default();
        if let (Some(epoch), Some(pos)) = (epoch, pos) {
            driver.epoch = epoch;
            driver.results_pos = pos;
            driver.fresh = false;
        }
        Ok(driver)
    }

    /// Resumes from `config.checkpoint` when that file exists, or starts `fresh()` otherwise.
    pub fn resume_or_new(
        redis: Redis,
        registry: &Registry,
        config: CoordinatorConfig,
        fresh: impl FnOnce() -> Result<Box<dyn Optimizer>, OptimizerError>,
    ) -> Result<Self, Error> {
        match &config.checkpoint {
            Some(path) if path.exists() => RedisDriver::resume(redis, registry, config),
            _ => Ok(RedisDriver::new(redis, fresh()?, config)),
        }
    }

    /// The optimizer.
    pub fn optimizer(&self) -> &dyn Optimizer {
        self.opt.as_ref()
    }

    /// Gives the optimizer back.
    pub fn into_optimizer(self) -> Box<dyn Optimizer> {
        self.opt
    }

    /// Runs until the optimizer is done, the run is cancelled, or `stop_after_tells` is
    /// reached. See the [module documentation](self).
    pub async fn run(&mut self) -> Result<CoordinatorReport, Error> {
        let started = Instant::now();
        let mut lease = Lease::acquire(&self.redis, &self.config).await?;
        let outcome = self.run_leased(started, &mut lease).await;
        if let Err(e) = lease.release(&self.redis).await {
            tracing::warn!(error = %e, "could not release the run's lease; it expires by itself");
        }
        outcome
    }

    async fn run_leased(
        &mut self,
        started: Instant,
        lease: &mut Lease,
    ) -> Result<CoordinatorReport, Error> {
        let poll = self.config.poll.min(lease.renew_every());
        let reader = self.redis.blocking(poll).await?;
        let limits = RunLimits {
            stop_after_tells: self.config.stop_after_tells,
            max_errors: self.config.max_errors,
        };
        let core = DriverCore::new(self.opt.name(), limits, self.base_tells, self.base_calls)
            .with_events(self.config.events.clone(), self.config.elapsed_before);
        let mut state = RunState::new(core, started);
        state.core.start(&*self.opt);
        let outcome = self.drive_to_end(&reader, &mut state, lease).await;
        let usage = Some(self.total_usage(&state));
        match &outcome {
            Ok(stop) => state.core.end(&*self.opt, (*stop).into(), None, usage),
            Err(e) => {
                let reason = match e {
                    Error::Stalled { .. } => EndReason::Stalled,
                    _ => EndReason::Failed,
                };
                state
                    .core
                    .end(&*self.opt, reason, Some(e.to_string()), usage);
            }
        }
        let stop = outcome?;
        Ok(CoordinatorReport {
            run: self.config.run.clone(),
            optimizer: self.opt.name().to_owned(),
            stop,
            best: self.opt.best(),
            tells: state.core.tells(),
            lm_calls: state.core.lm_calls(),
            usage: state.usage.clone(),
            total_usage: self.total_usage(&state),
            total_tells: state.core.total_tells(),
            published: state.published_count,
            republished: state.republished_count,
            duplicates: state.duplicates,
            ignored: state.ignored,
            dead_lettered: state.dead,
            failures: state.core.watch().failures,
            first_error: state.core.watch().first_error().map(str::to_owned),
            elapsed: started.elapsed(),
        })
    }

    /// Worker usage over all sessions: the checkpoint's and this run's.
    fn total_usage(&self, state: &RunState) -> JobUsage {
        let mut total = self.base_usage.clone();
        total.add(&state.usage);
        total
    }

    /// Sets the run up, drives it and writes its last checkpoint (after an error too, to keep
    /// the newest state for a resume).
    async fn drive_to_end(
        &mut self,
        reader: &Redis,
        state: &mut RunState,
        lease: &mut Lease,
    ) -> Result<StopReason, Error> {
        self.setup(state).await?;
        let outcome = self.drive(reader, state, lease).await;
        let stop = match outcome {
            Ok(stop) => stop,
            Err(e) => {
                // Report the run's own error.
                if let Err(ce) = self.write_checkpoint(state).await {
                    tracing::error!(error = %ce, "could not write the checkpoint after an error");
                }
                return Err(e);
            }
        };
        self.write_checkpoint(state).await?;
        if stop == StopReason::Done {
            self.finish().await?;
        }
        Ok(stop)
    }

    pub(super) fn emit(&self, event: CoordinatorEvent<'_>) {
        if let Some(p) = &self.config.progress {
            p.on_event(&event);
        }
    }

    async fn setup(&mut self, state: &mut RunState) -> Result<(), Error> {
        let keys = self.redis.keys().clone();
        let run = &self.config.run;
        let (jobs, results) = (keys.jobs(run), keys.results(run));
        if self.fresh {
            let mut del = redis::cmd("DEL");
            del.arg(&jobs).arg(&results);
            self.redis.exec("DEL", &jobs, &del).await?;
        }
        self.redis.ensure_group(&jobs).await?;
        // The results stream must exist: workers publish with NOMKSTREAM, so nothing
        // re-creates the stream of a run that has ended.
        let mut exists = redis::cmd("EXISTS");
        exists.arg(&results);
        let n: i64 = self.redis.query("EXISTS", &results, &exists).await?;
        if n == 0
            && let Some(id) = self.redis.add(&results, "{}", false).await?
        {
            let mut del = redis::cmd("XDEL");
            del.arg(&results).arg(&id);
            self.redis.exec("XDEL", &results, &del).await?;
        }
        let mut sadd = redis::cmd("SADD");
        sadd.arg(keys.runs()).arg(run.as_str());
        self.redis.exec("SADD", &keys.runs(), &sadd).await?;
        state.held.extend(state.core.resumed_jobs(&*self.opt));
        self.reconcile(state).await?;
        state.held.extend(state.core.ask(&mut *self.opt));
        Ok(())
    }

    async fn drive(
        &mut self,
        reader: &Redis,
        state: &mut RunState,
        lease: &mut Lease,
    ) -> Result<StopReason, Error> {
        let results = self.redis.keys().results(&self.config.run);
        let mut last_progress = Instant::now();
        let poll = self.config.poll.min(lease.renew_every());
        loop {
            lease.renew_if_due(&self.redis).await?;
            self.publish_held(state).await?;
            let in_flight = state.held.len() + state.published.len();
            let cancelled = self.config.cancel.is_cancelled();
            match state.core.turn(&mut *self.opt, in_flight, cancelled) {
                Next::Stop(stop) => return Ok(stop),
                Next::Stalled => {
                    return Err(Error::Stalled {
                        run: self.config.run.to_string(),
                        optimizer: self.opt.name().to_owned(),
                    });
                }
                Next::Dispatch(jobs) => state.held.extend(jobs),
            }
            let batch = tokio::select! {
                biased;
                _ = self.config.cancel.cancelled() => return Ok(StopReason::Cancelled),
                r = reader.read_after(&results, &self.results_pos, self.config.read_batch, Some(poll)) => r?,
            };
            if batch.is_empty() {
                if last_progress.elapsed() >= self.config.reconcile_after {
                    self.reconcile(state).await?;
                    last_progress = Instant::now();
                }
                continue;
            }
            last_progress = Instant::now();
            if self.process(batch, state).await? {
                self.reconcile(state).await?;
            }
        }
    }
}

/// The transport's side of a run (what is held, what is on the stream, what was ignored),
/// beside the core's rules and accounting.
pub(super) struct RunState {
    /// The rules of the run: asking, telling, stop conditions, accounting.
    pub(super) core: DriverCore,
    /// Jobs asked for but not yet on the stream.
    pub(super) held: VecDeque<Job>,
    /// Jobs on the stream, waiting for a result: job id → entry id.
    pub(super) published: HashMap<JobId, String>,
    /// Times each job was published again.
    pub(super) republished: HashMap<JobId, u32>,
    pub(super) published_count: u64,
    pub(super) republished_count: u64,
    pub(super) duplicates: u64,
    pub(super) ignored: u64,
    pub(super) dead: u64,
    /// Worker usage of this run's accepted results.
    pub(super) usage: JobUsage,
    /// When this session began, for the run's elapsed time.
    pub(super) started: Instant,
}

impl RunState {
    fn new(core: DriverCore, started: Instant) -> Self {
        RunState {
            core,
            started,
            held: VecDeque::new(),
            published: HashMap::new(),
            republished: HashMap::new(),
            published_count: 0,
            republished_count: 0,
            duplicates: 0,
            ignored: 0,
            dead: 0,
            usage: JobUsage::default(),
        }
    }
}
