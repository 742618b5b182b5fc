//! The coordinator: [`RedisDriver`] owns an [`Optimizer`], publishes its jobs to a run's jobs
//! stream, tells it the results workers publish, and checkpoints.
//!
//! # The loop
//!
//! 1. Jobs from [`Optimizer::ask`] are queued locally and published (`XADD`) while fewer than
//!    [`CoordinatorConfig::max_queued`] of the run's jobs are outstanding on the stream
//!    (backpressure: the stream never holds more).
//! 2. Results are read in order with `XREAD` from the stored results position and told to the
//!    optimizer. `tell` is idempotent, so duplicates (a job run twice after a take-over) and
//!    redeliveries after a restart are harmless; only [`Told::Accepted`] results count.
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

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hone_core::state::ProgramState;
use hone_eval::checkpoint::write_atomic;
use hone_eval::{Checkpoint, StopReason};
use hone_optimize::{Job, JobId, JobOutput, JobResult, Optimizer, OptimizerError, Registry, Told};
use serde_json::{Map, Value, json};
use tokio_util::sync::CancellationToken;

use crate::conn::Redis;
use crate::error::Error;
use crate::keys::RunId;
use crate::message::{DeadKind, DeadLetter, JobMessage, MESSAGE_VERSION, ResultMessage, to_json};
use crate::streams::Entry;

/// The checkpoint metadata key holding the coordinator's own position.
pub const CHECKPOINT_KEY: &str = "hone_redis";

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

/// How a [`RedisDriver`] runs.
#[derive(Clone)]
pub struct CoordinatorConfig {
    /// The run.
    pub run: RunId,
    /// Jobs on the jobs stream at most (at least 1); the rest wait in the coordinator.
    pub max_queued: usize,
    /// Where the checkpoint is written (and read by [`RedisDriver::resume`]).
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
    /// How long the run's lease lasts without renewal (default 10 s, at least 100 ms): the
    /// longest a restarted coordinator waits for a crashed one's lease.
    pub lease: Duration,
    /// Stop once this many examples or jobs in a row failed (see
    /// [`hone_eval::FailureWatch`]); `None` never stops.
    pub max_errors: Option<usize>,
    /// The fingerprint every job carries (see [`JobMessage::serves`]); workers serving another
    /// refuse the run's jobs.
    pub serves: Option<String>,
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
            lease: Duration::from_secs(10),
            max_errors: None,
            serves: None,
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

/// Drives an optimizer over Redis; see the [module documentation](self).
pub struct RedisDriver {
    redis: Redis,
    opt: Box<dyn Optimizer>,
    config: CoordinatorConfig,
    epoch: u64,
    results_pos: String,
    fresh: bool,
    base_tells: u64,
    base_calls: u64,
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

/// The run's lease, held while a coordinator drives it.
struct Lease {
    key: String,
    run: String,
    token: String,
    ttl: Duration,
    renewed: Instant,
}

/// Extends the lease only while it still holds our token.
const RENEW: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then \
    return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end";
/// Deletes the lease only while it still holds our token.
const RELEASE: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then \
    return redis.call('DEL', KEYS[1]) else return 0 end";

impl Lease {
    /// Takes the run's lease, waiting up to one lease time for another holder's to expire.
    async fn acquire(redis: &Redis, config: &CoordinatorConfig) -> Result<Lease, Error> {
        let ttl = config.lease.max(Duration::from_millis(100));
        let key = redis.keys().coordinator(&config.run);
        let token = format!("pid {} epoch {}", std::process::id(), new_epoch());
        let started = Instant::now();
        let deadline = started + ttl + Duration::from_millis(500);
        let mut announced = false;
        loop {
            let mut set = redis::cmd("SET");
            set.arg(&key)
                .arg(&token)
                .arg("NX")
                .arg("PX")
                .arg(ttl.as_millis() as u64);
            let taken: Option<String> = redis.query("SET", &key, &set).await?;
            if taken.is_some() {
                return Ok(Lease {
                    key,
                    run: config.run.to_string(),
                    token,
                    ttl,
                    renewed: Instant::now(),
                });
            }
            let mut get = redis::cmd("GET");
            get.arg(&key);
            let holder: Option<String> = redis.query("GET", &key, &get).await?;
            if Instant::now() >= deadline {
                return Err(Error::RunTaken {
                    run: config.run.to_string(),
                    holder: holder.unwrap_or_else(|| "unknown".into()),
                    waited: started.elapsed(),
                });
            }
            if !announced {
                announced = true;
                tracing::info!(
                    run = %config.run,
                    holder = holder.as_deref().unwrap_or("unknown"),
                    "another coordinator holds the run's lease; waiting for it to expire"
                );
            }
            tokio::time::sleep(Duration::from_millis(100).min(ttl / 4)).await;
        }
    }

    fn renew_every(&self) -> Duration {
        self.ttl / 3
    }

    /// Renews the lease when a third of it has passed; fails if another coordinator has it.
    async fn renew_if_due(&mut self, redis: &Redis) -> Result<(), Error> {
        if self.renewed.elapsed() < self.renew_every() {
            return Ok(());
        }
        let mut eval = redis::cmd("EVAL");
        eval.arg(RENEW)
            .arg(1)
            .arg(&self.key)
            .arg(&self.token)
            .arg(self.ttl.as_millis() as u64);
        let renewed: i64 = redis.query("EVAL", &self.key, &eval).await?;
        if renewed == 1 {
            self.renewed = Instant::now();
            return Ok(());
        }
        // The lease expired (Redis or this process stalled longer than the lease) and nobody
        // took it: take it again and go on, rather than stop a run no one else drives.
        let mut set = redis::cmd("SET");
        set.arg(&self.key)
            .arg(&self.token)
            .arg("NX")
            .arg("PX")
            .arg(self.ttl.as_millis() as u64);
        let taken: Option<String> = redis.query("SET", &self.key, &set).await?;
        if taken.is_some() {
            tracing::info!(run = %self.run, "the run's lease had expired; took it again");
            self.renewed = Instant::now();
            return Ok(());
        }
        let mut get = redis::cmd("GET");
        get.arg(&self.key);
        let holder: Option<String> = redis.query("GET", &self.key, &get).await?;
        Err(Error::LeaseLost {
            run: self.run.clone(),
            holder: holder.unwrap_or_else(|| "nobody".into()),
        })
    }

    /// Gives the lease up (if it is still ours).
    async fn release(&self, redis: &Redis) -> Result<(), Error> {
        let mut eval = redis::cmd("EVAL");
        eval.arg(RELEASE).arg(1).arg(&self.key).arg(&self.token);
        let _: i64 = redis.query("EVAL", &self.key, &eval).await?;
        Ok(())
    }
}

fn new_epoch() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    // 53 bits, so JSON readers with f64 numbers keep it exact.
    ((nanos as u64) ^ (u64::from(std::process::id()) << 20)) & ((1u64 << 53) - 1)
}

/// The smallest stream id after `id` (`ms-seq` → `ms-(seq+1)`).
fn successor(id: &str) -> Option<String> {
    let (ms, seq) = id.split_once('-')?;
    let seq: u64 = seq.parse().ok()?;
    Some(format!("{ms}-{}", seq.checked_add(1)?))
}

/// Orders stream ids (`ms-seq`) numerically.
fn id_key(id: &str) -> (u64, u64) {
    let (ms, seq) = id.split_once('-').unwrap_or((id, "0"));
    (
        ms.parse().unwrap_or(u64::MAX),
        seq.parse().unwrap_or(u64::MAX),
    )
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
        let mut state = RunState {
            watch: hone_eval::FailureWatch::new(self.config.max_errors),
            ..RunState::default()
        };
        self.setup(&mut state).await?;
        let outcome = self.drive(&reader, &mut state, lease).await;
        let stop = match outcome {
            Ok(stop) => stop,
            Err(e) => {
                // Keep the newest state for a resume; report the run's own error.
                if let Err(ce) = self.write_checkpoint(&state).await {
                    tracing::error!(error = %ce, "could not write the checkpoint after an error");
                }
                return Err(e);
            }
        };
        self.write_checkpoint(&state).await?;
        if stop == StopReason::Done {
            self.finish().await?;
        }
        Ok(CoordinatorReport {
            run: self.config.run.clone(),
            optimizer: self.opt.name().to_owned(),
            stop,
            best: self.opt.best(),
            tells: state.tells,
            lm_calls: state.calls,
            total_tells: self.base_tells + state.tells,
            published: state.published_count,
            republished: state.republished_count,
            duplicates: state.duplicates,
            ignored: state.ignored,
            dead_lettered: state.dead,
            failures: state.watch.failures,
            first_error: state.watch.first_error().map(str::to_owned),
            elapsed: started.elapsed(),
        })
    }

    fn emit(&self, event: CoordinatorEvent<'_>) {
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
        state.held.extend(self.opt.pending());
        self.reconcile(state).await?;
        state.held.extend(self.opt.ask());
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
            if self.opt.is_done() {
                return Ok(StopReason::Done);
            }
            if self
                .config
                .stop_after_tells
                .is_some_and(|k| self.base_tells + state.tells >= k)
            {
                return Ok(StopReason::TellLimit);
            }
            if self.config.cancel.is_cancelled() {
                return Ok(StopReason::Cancelled);
            }
            if state.held.is_empty() && state.published.is_empty() {
                state.held.extend(self.opt.ask());
                if state.held.is_empty() && self.opt.pending().is_empty() {
                    return Err(Error::Stalled {
                        run: self.config.run.to_string(),
                        optimizer: self.opt.name().to_owned(),
                    });
                }
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

    /// Publishes held jobs while the stream has room.
    async fn publish_held(&mut self, state: &mut RunState) -> Result<(), Error> {
        let jobs = self.redis.keys().jobs(&self.config.run);
        while state.published.len() < self.config.max_queued.max(1) {
            let Some(job) = state.held.pop_front() else {
                break;
            };
            if state.published.contains_key(&job.id) {
                continue;
            }
            let id = job.id;
            let mut message = JobMessage::new(self.config.run.clone(), Some(self.epoch), job);
            message.serves = self.config.serves.clone();
            let entry = self
                .redis
                .add(&jobs, &to_json(&message), false)
                .await?
                .unwrap_or_default();
            self.emit(CoordinatorEvent::Published {
                job: id,
                entry: &entry,
            });
            state.published.insert(id, entry);
            state.published_count += 1;
        }
        Ok(())
    }

    /// Tells a batch of results, checkpoints, then cleans the streams. Returns whether a
    /// result was dead-lettered (so lost jobs should be looked for).
    async fn process(&mut self, batch: Vec<Entry>, state: &mut RunState) -> Result<bool, Error> {
        let run = self.config.run.clone();
        let mut done_entries: Vec<String> = Vec::new();
        let mut dead_lettered = false;
        let mut accepted = false;
        for entry in batch {
            self.results_pos = entry.id.clone();
            let message = match ResultMessage::from_fields(&entry.fields, &run) {
                Ok(m) => m,
                Err(e) => {
                    self.dead_letter(
                        state,
                        &entry.id,
                        DeadKind::Malformed,
                        e.reason,
                        e.job,
                        e.payload,
                    )
                    .await?;
                    dead_lettered = true;
                    continue;
                }
            };
            if message.epoch.is_some_and(|e| e != self.epoch) {
                state.ignored += 1;
                continue;
            }
            let id = message.result.id;
            let calls = message.result.lm_calls;
            // Counted only once accepted (a duplicate is not a second failure).
            let counted = message.result.clone();
            let told = match self.opt.tell(message.result) {
                Ok(t) => t,
                Err(OptimizerError::BadResult { message: why, .. }) => {
                    let reason = format!(
                        "the result does not fit job {id}: {why}; the job will be published again"
                    );
                    self.dead_letter(
                        state,
                        &entry.id,
                        DeadKind::BadResult,
                        reason,
                        Some(id),
                        None,
                    )
                    .await?;
                    dead_lettered = true;
                    continue;
                }
                Err(e) => {
                    self.checkpoint_and_clean(state, &done_entries).await?;
                    return Err(e.into());
                }
            };
            self.emit(CoordinatorEvent::Told {
                job: id,
                told,
                worker: message.worker.as_deref(),
            });
            match told {
                Told::Accepted => {
                    state.tells += 1;
                    state.calls += calls;
                    accepted = true;
                    if let Err(e) = state.watch.observe(self.opt.name(), &counted) {
                        self.checkpoint_and_clean(state, &done_entries).await?;
                        return Err(Error::Failures(Box::new(e)));
                    }
                }
                Told::Duplicate => state.duplicates += 1,
                Told::Unknown | Told::Stale => state.ignored += 1,
            }
            if matches!(told, Told::Accepted | Told::Duplicate | Told::Stale) {
                if let Some(e) = state.published.remove(&id) {
                    done_entries.push(e);
                }
                // A copy of the job published twice (a retried XADD) is deleted too, unless the
                // entry id is another outstanding job's.
                if let Some(e) = message.job_entry
                    && !state.published.values().any(|p| *p == e)
                {
                    done_entries.push(e);
                }
            }
            state.held.extend(self.opt.ask());
        }
        if accepted || dead_lettered || !done_entries.is_empty() {
            self.checkpoint_and_clean(state, &done_entries).await?;
        }
        Ok(dead_lettered)
    }

    async fn checkpoint_and_clean(
        &mut self,
        state: &RunState,
        done: &[String],
    ) -> Result<(), Error> {
        self.write_checkpoint(state).await?;
        let keys = self.redis.keys();
        let jobs = keys.jobs(&self.config.run);
        let ids: Vec<&str> = done.iter().map(String::as_str).collect();
        self.redis.ack_delete(&jobs, &ids).await?;
        if let Some(next) = successor(&self.results_pos) {
            self.redis
                .trim_before(&keys.results(&self.config.run), &next)
                .await?;
        }
        Ok(())
    }

    async fn dead_letter(
        &mut self,
        state: &mut RunState,
        entry: &str,
        kind: DeadKind,
        reason: String,
        job: Option<JobId>,
        payload: Option<String>,
    ) -> Result<(), Error> {
        let run = &self.config.run;
        let letter = DeadLetter {
            v: MESSAGE_VERSION,
            run: run.clone(),
            kind,
            reason,
            source: self.redis.keys().results(run),
            entry: entry.to_owned(),
            job,
            by: "coordinator".into(),
            payload,
        };
        self.redis.dead_letter(run, &letter).await?;
        state.dead += 1;
        self.emit(CoordinatorEvent::DeadLettered {
            kind,
            entry,
            reason: &letter.reason,
        });
        Ok(())
    }

    /// Finds lost jobs and publishes them again; drops entries of jobs that need no result.
    async fn reconcile(&mut self, state: &mut RunState) -> Result<(), Error> {
        let run = self.config.run.clone();
        let jobs = self.redis.keys().jobs(&run);
        let results = self.redis.keys().results(&run);
        let limit = self.config.max_queued.max(1).saturating_mul(4).max(10_000);
        // Observe the jobs stream first, then drain the results: a job acknowledged before
        // the observation has its result on the results stream already.
        let last_delivered = self
            .redis
            .last_delivered(&jobs)
            .await?
            .unwrap_or_else(|| "0-0".into());
        let unacked: HashSet<String> = self
            .redis
            .pending(&jobs, None, limit, None)
            .await?
            .into_iter()
            .map(|p| p.id)
            .collect();
        let entries = self.redis.range_all(&jobs, limit).await?;
        let complete = entries.len() < limit;
        for _ in 0..1000 {
            let batch = self
                .redis
                .read_after(&results, &self.results_pos, self.config.read_batch, None)
                .await?;
            if batch.is_empty() {
                break;
            }
            self.process(batch, state).await?;
        }

        let pending: HashMap<JobId, Job> =
            self.opt.pending().into_iter().map(|j| (j.id, j)).collect();
        let held: HashSet<JobId> = state.held.iter().map(|j| j.id).collect();
        let mut on_stream: HashMap<JobId, String> = HashMap::new();
        let mut stale: Vec<String> = Vec::new();
        for entry in &entries {
            match JobMessage::from_fields(&entry.fields, &run) {
                Ok(m) if m.epoch == Some(self.epoch) && pending.contains_key(&m.job.id) => {
                    if on_stream.insert(m.job.id, entry.id.clone()).is_some() {
                        stale.push(entry.id.clone());
                    }
                }
                Ok(_) => stale.push(entry.id.clone()),
                Err(_) => {} // workers dead-letter malformed entries
            }
        }
        let stale_refs: Vec<&str> = stale.iter().map(String::as_str).collect();
        self.redis.ack_delete(&jobs, &stale_refs).await?;

        let mut lost: Vec<Job> = Vec::new();
        let mut ids: Vec<&JobId> = pending.keys().collect();
        ids.sort();
        for id in ids {
            if held.contains(id) {
                continue;
            }
            let is_lost = match on_stream.get(id) {
                None => complete,
                Some(entry) => id_key(entry) <= id_key(&last_delivered) && !unacked.contains(entry),
            };
            if is_lost && let Some(job) = pending.get(id) {
                lost.push(job.clone());
            }
        }
        state.published = on_stream;
        for job in lost {
            let id = job.id;
            if let Some(entry) = state.published.remove(&id) {
                self.redis.ack_delete(&jobs, &[entry.as_str()]).await?;
            }
            let times = state.republished.entry(id).or_insert(0);
            *times += 1;
            let times = *times;
            if times > self.config.max_republish {
                let error = format!(
                    "job {id} was lost {} times (no result reached the coordinator); see the dead-letter stream {}",
                    times - 1,
                    self.redis.keys().dead(&run)
                );
                let told = self.opt.tell(JobResult {
                    id,
                    output: JobOutput::Failed { error },
                    lm_calls: 0,
                })?;
                self.emit(CoordinatorEvent::Told {
                    job: id,
                    told,
                    worker: None,
                });
                if told == Told::Accepted {
                    state.tells += 1;
                }
                state.held.extend(self.opt.ask());
            } else {
                state.republished_count += 1;
                self.emit(CoordinatorEvent::Republished { job: id, times });
                state.held.push_front(job);
            }
        }
        Ok(())
    }

    async fn write_checkpoint(&mut self, state: &RunState) -> Result<(), Error> {
        let Some(path) = self.config.checkpoint.clone() else {
            return Ok(());
        };
        let mut metadata = self.config.metadata.clone();
        metadata.insert(
            CHECKPOINT_KEY.into(),
            json!({
                "run": self.config.run.as_str(),
                "epoch": self.epoch,
                "results_position": self.results_pos,
            }),
        );
        let tells = self.base_tells + state.tells;
        let checkpoint = Checkpoint::new(
            self.opt.name(),
            tells,
            self.base_calls + state.calls,
            Value::Object(metadata),
            self.opt.state()?,
        );
        let bytes = serde_json::to_vec(&checkpoint).map_err(|e| Error::Checkpoint {
            path: path.clone(),
            message: format!("could not serialize it: {e}"),
        })?;
        write_file(path, bytes).await?;
        self.emit(CoordinatorEvent::Checkpointed { tells });
        Ok(())
    }

    /// The run is done: remove it from the registry and delete its jobs and results streams.
    async fn finish(&mut self) -> Result<(), Error> {
        let keys = self.redis.keys();
        let run = &self.config.run;
        let mut srem = redis::cmd("SREM");
        srem.arg(keys.runs()).arg(run.as_str());
        self.redis.exec("SREM", &keys.runs(), &srem).await?;
        if !self.config.keep_streams {
            let mut del = redis::cmd("DEL");
            del.arg(keys.jobs(run)).arg(keys.results(run));
            self.redis.exec("DEL", &keys.jobs(run), &del).await?;
        }
        Ok(())
    }
}

async fn write_file(path: PathBuf, bytes: Vec<u8>) -> Result<(), Error> {
    let target = path.clone();
    tokio::task::spawn_blocking(move || write_atomic(&target, &bytes))
        .await
        .map_err(|e| Error::Checkpoint {
            path: path.clone(),
            message: e.to_string(),
        })?
        .map_err(|e| Error::Checkpoint {
            path: path.clone(),
            message: e.to_string(),
        })
}

#[derive(Default)]
struct RunState {
    /// Jobs asked for but not yet on the stream.
    held: VecDeque<Job>,
    /// Jobs on the stream, waiting for a result: job id → entry id.
    published: HashMap<JobId, String>,
    /// Times each job was published again.
    republished: HashMap<JobId, u32>,
    tells: u64,
    calls: u64,
    published_count: u64,
    republished_count: u64,
    duplicates: u64,
    ignored: u64,
    dead: u64,
    watch: hone_eval::FailureWatch,
}

/// Reads the coordinator position stored in a checkpoint file: `(run, epoch, results
/// position)`, if it has one.
pub fn checkpoint_position(path: &Path) -> Result<Option<(String, u64, String)>, Error> {
    let checkpoint = Checkpoint::read(path).map_err(|e| Error::Checkpoint {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    let own = checkpoint.metadata.get(CHECKPOINT_KEY);
    Ok((|| {
        let o = own?;
        Some((
            o.get("run")?.as_str()?.to_owned(),
            o.get("epoch")?.as_u64()?,
            o.get("results_position")?.as_str()?.to_owned(),
        ))
    })())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_ids_order_and_succeed() {
        assert_eq!(successor("5-3").as_deref(), Some("5-4"));
        assert!(id_key("10-0") > id_key("9-5"));
        assert!(id_key("10-1") > id_key("10-0"));
        assert!(new_epoch() < (1u64 << 53));
    }
}
