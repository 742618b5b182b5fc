//! The worker: takes jobs from runs' jobs streams through the `workers` consumer group, runs
//! them with an [`Executor`], publishes their results and acknowledges the jobs.
//!
//! # Delivery
//!
//! * **At least once.** A job is acknowledged (`XACK`) only after its result is on the results
//!   stream. A worker that dies mid-job leaves the job in the group's pending list, and another
//!   worker claims it (`XAUTOCLAIM`) once it has been idle for the visibility timeout.
//! * **Heartbeats.** While a job runs, its worker re-claims it for itself every third of the
//!   visibility timeout (`XCLAIM ... JUSTID`, which does not count as a delivery), so a slow but
//!   live worker keeps its jobs and only dead or stuck ones are taken over.
//! * **Bounded retries.** A job delivered `max_deliveries` times without a result goes to the
//!   run's dead-letter stream with the reason, and a `failed` result is published for it so the
//!   optimizer can go on (it counts as a failed job).
//! * **Bad input.** An entry that is not a valid job message (not JSON, wrong shape or version,
//!   another run's) is moved to the dead-letter stream with the parse error as reason and
//!   removed; the worker carries on.
//! * **Backpressure.** A worker takes a job only while it has a free slot: `concurrency` slots,
//!   a job holding one per example (or predict call), at most all of them. Jobs it cannot take
//!   stay on the stream for other workers.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use hone_eval::{CallSlots, Executor, JobUsage, job_priority};
use hone_optimize::{JobOutput, JobResult};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::conn::{Redis, is_no_group};
use crate::error::Error;
use crate::keys::RunId;
use crate::message::{DeadKind, DeadLetter, JobMessage, MESSAGE_VERSION, ResultMessage, to_json};
use crate::streams::Entry;

/// Which runs a worker serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunSelection {
    /// Every run in the registry set (`hone:runs`), rechecked every
    /// [`WorkerConfig::refresh_runs`].
    All,
    /// Only these runs (each served once its coordinator has created it).
    Only(Vec<RunId>),
}

/// How a [`Worker`] runs.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// The consumer name in the `workers` group; unique per worker process.
    pub consumer_name: String,
    /// LM-calling work items (examples, predict calls) in flight at once, across all jobs;
    /// also the number of job slots (at least 1).
    pub concurrency: usize,
    /// A delivered job not acknowledged and not heartbeated for this long is taken over by
    /// another worker.
    pub visibility_timeout: Duration,
    /// Deliveries of one job before it is dead-lettered (at least 1).
    pub max_deliveries: u64,
    /// The runs to serve.
    pub runs: RunSelection,
    /// The longest a blocking read waits (also bounds how long a shutdown takes to notice).
    pub poll: Duration,
    /// How often the registry set and the runs' streams are rechecked.
    pub refresh_runs: Duration,
    /// Entries examined per run per reclaim round.
    pub reclaim_batch: usize,
    /// A job still running after this long is reported as failed.
    pub job_timeout: Option<Duration>,
    /// On shutdown, how long running jobs may take to finish; after that they are dropped and
    /// left to other workers.
    pub drain_timeout: Duration,
    /// The fingerprint of the program and metric this worker runs jobs with: a job that
    /// carries another stops the worker with [`Error::WrongProgram`], the job left on the
    /// stream for a worker that fits. `None` runs every job.
    pub serves: Option<String>,
}

impl WorkerConfig {
    /// A configuration with this consumer name and defaults otherwise.
    pub fn new(consumer_name: impl Into<String>) -> Self {
        WorkerConfig {
            consumer_name: consumer_name.into(),
            ..WorkerConfig::default()
        }
    }
}

impl Default for WorkerConfig {
    fn default() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        WorkerConfig {
            consumer_name: format!("worker-{}-{nanos:08x}", std::process::id()),
            concurrency: 8,
            visibility_timeout: Duration::from_secs(60),
            max_deliveries: 3,
            runs: RunSelection::All,
            poll: Duration::from_secs(1),
            refresh_runs: Duration::from_secs(2),
            reclaim_batch: 16,
            job_timeout: Some(Duration::from_secs(3600)),
            drain_timeout: Duration::from_secs(30),
            serves: None,
        }
    }
}

/// What a worker did, returned when it stops.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkerStats {
    /// Jobs started (new and reclaimed).
    pub jobs_started: u64,
    /// Results published.
    pub results_published: u64,
    /// Jobs taken over from other consumers.
    pub reclaimed: u64,
    /// Entries moved to dead-letter streams.
    pub dead_lettered: u64,
    /// Jobs whose result could not be published (they stay pending and are retried).
    pub publish_failures: u64,
}

#[derive(Default)]
struct Counters {
    started: AtomicU64,
    published: AtomicU64,
    reclaimed: AtomicU64,
    dead: AtomicU64,
    publish_failures: AtomicU64,
}

impl Counters {
    fn snapshot(&self) -> WorkerStats {
        WorkerStats {
            jobs_started: self.started.load(Ordering::Relaxed),
            results_published: self.published.load(Ordering::Relaxed),
            reclaimed: self.reclaimed.load(Ordering::Relaxed),
            dead_lettered: self.dead.load(Ordering::Relaxed),
            publish_failures: self.publish_failures.load(Ordering::Relaxed),
        }
    }
}

struct Shared {
    redis: Redis,
    executor: Arc<dyn Executor>,
    config: WorkerConfig,
    slots: Arc<Semaphore>,
    /// LM-calling units in flight across jobs, earlier deliveries first.
    limits: CallSlots,
    /// Deliveries started so far (each job's priority in `limits`).
    started: AtomicU64,
    /// Entry ids of running jobs, by jobs-stream key (for heartbeats).
    running: Mutex<HashMap<String, HashSet<String>>>,
    /// The runs currently served.
    served: Mutex<Vec<RunId>>,
    counters: Counters,
    /// Stops fetching and reclaiming.
    stop: CancellationToken,
    /// Drops running jobs (after the drain timeout).
    abandon: CancellationToken,
    tracker: TaskTracker,
}

/// Removes a job from the running set when its task ends, however it ends.
struct RunningGuard {
    shared: Arc<Shared>,
    key: String,
    id: String,
}

impl Drop for RunningGuard {
    fn drop(&mut self) {
        let mut running = self
            .shared
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(set) = running.get_mut(&self.key) {
            set.remove(&self.id);
            if set.is_empty() {
                running.remove(&self.key);
            }
        }
    }
}

/// A worker process' job loop; see the [module documentation](self).
pub struct Worker {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("redis", &self.shared.redis)
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}

impl Worker {
    /// A worker running jobs with `executor` (which holds the program factory, the LMs by
    /// role and the metric).
    pub fn new(redis: Redis, executor: Arc<dyn Executor>, config: WorkerConfig) -> Self {
        let mut config = config;
        config.concurrency = config.concurrency.max(1);
        config.max_deliveries = config.max_deliveries.max(1);
        config.reclaim_batch = config.reclaim_batch.max(1);
        let concurrency = config.concurrency;
        Worker {
            shared: Arc::new(Shared {
                redis,
                executor,
                config,
                slots: Arc::new(Semaphore::new(concurrency)),
                limits: CallSlots::new(concurrency),
                started: AtomicU64::new(0),
                running: Mutex::new(HashMap::new()),
                served: Mutex::new(Vec::new()),
                counters: Counters::default(),
                stop: CancellationToken::new(),
                abandon: CancellationToken::new(),
                tracker: TaskTracker::new(),
            }),
        }
    }

    /// Runs until `shutdown` completes, then stops taking jobs, lets running jobs finish (up
    /// to the drain timeout) and returns what it did.
    ///
    /// Errors only when Redis stays unreachable beyond the retry policy or rejects the
    /// worker's commands; bad messages and failing jobs never end the loop.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send,
    ) -> Result<WorkerStats, Error> {
        let shared = self.shared;
        let reader = shared.redis.blocking(shared.config.poll).await?;
        let mut fetch = tokio::spawn(fetch_loop(shared.clone(), reader));
        let mut reclaim = tokio::spawn(reclaim_loop(shared.clone()));
        let outcome: Result<(), Error> = tokio::select! {
            _ = shutdown => Ok(()),
            r = &mut fetch => flatten(r),
            r = &mut reclaim => flatten(r),
        };
        shared.stop.cancel();
        let fetched = if fetch.is_finished() {
            Ok(())
        } else {
            flatten(fetch.await)
        };
        shared.tracker.close();
        if tokio::time::timeout(shared.config.drain_timeout, shared.tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                running = shared.tracker.len(),
                "drain timeout: leaving running jobs to other workers"
            );
            shared.abandon.cancel();
            shared.tracker.wait().await;
        }
        reclaim.abort();
        let _ = reclaim.await;
        outcome.and(fetched)?;
        Ok(shared.counters.snapshot())
    }
}

fn flatten(r: Result<Result<(), Error>, tokio::task::JoinError>) -> Result<(), Error> {
    match r {
        Ok(inner) => inner,
        Err(e) if e.is_cancelled() => Ok(()),
        Err(e) => Err(Error::Config {
            message: format!("a worker task panicked: {e}"),
        }),
    }
}

/// Sleeps for `d` unless `token` fires first; returns whether it fired.
async fn nap(token: &CancellationToken, d: Duration) -> bool {
    tokio::select! {
        _ = token.cancelled() => true,
        _ = tokio::time::sleep(d) => false,
    }
}

/// The runs to serve now: the selection, keeping only runs whose jobs stream has the group.
async fn refresh_runs(shared: &Shared) -> Result<Vec<RunId>, Error> {
    let candidates = match &shared.config.runs {
        RunSelection::All => shared.redis.runs().await?,
        RunSelection::Only(runs) => runs.clone(),
    };
    let mut served = Vec::with_capacity(candidates.len());
    for run in candidates {
        if shared
            .redis
            .has_group(&shared.redis.keys().jobs(&run))
            .await?
        {
            served.push(run);
        }
    }
    *shared.served.lock().unwrap_or_else(PoisonError::into_inner) = served.clone();
    Ok(served)
}

async fn fetch_loop(shared: Arc<Shared>, reader: Redis) -> Result<(), Error> {
    let config = &shared.config;
    let mut served: Vec<RunId> = Vec::new();
    let mut refreshed: Option<Instant> = None;
    while !shared.stop.is_cancelled() {
        if refreshed.is_none_or(|t| t.elapsed() >= config.refresh_runs) {
            served = refresh_runs(&shared).await?;
            refreshed = Some(Instant::now());
        }
        if served.is_empty() {
            if nap(&shared.stop, config.refresh_runs.min(config.poll)).await {
                break;
            }
            refreshed = None;
            continue;
        }
        let ticket = tokio::select! {
            _ = shared.stop.cancelled() => break,
            p = shared.slots.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        let keys: Vec<String> = served.iter().map(|r| shared.redis.keys().jobs(r)).collect();
        let read = reader
            .read_group(&keys, &config.consumer_name, 1, config.poll)
            .await;
        let streams = match read {
            Ok(s) => s,
            Err(e) if is_no_group(&e) => {
                // A run ended (its coordinator deleted the stream): recheck the runs.
                refreshed = None;
                continue;
            }
            Err(e) => return Err(e),
        };
        let mut ticket = Some(ticket);
        for (key, entries) in streams {
            let Some(run) = served.iter().find(|r| shared.redis.keys().jobs(r) == key) else {
                continue;
            };
            for entry in entries {
                deliver(&shared, run, entry, ticket.take(), false).await?;
            }
        }
    }
    Ok(())
}

/// Starts a delivered entry: a valid job runs in its own task; anything else is dead-lettered.
async fn deliver(
    shared: &Arc<Shared>,
    run: &RunId,
    entry: Entry,
    ticket: Option<OwnedSemaphorePermit>,
    reclaimed: bool,
) -> Result<(), Error> {
    let key = shared.redis.keys().jobs(run);
    let message = match JobMessage::from_fields(&entry.fields, run) {
        Ok(m) => m,
        Err(e) => {
            let letter = DeadLetter {
                v: MESSAGE_VERSION,
                run: run.clone(),
                kind: DeadKind::Malformed,
                reason: e.reason,
                source: key.clone(),
                entry: entry.id.clone(),
                job: e.job,
                by: shared.config.consumer_name.clone(),
                payload: e.payload,
            };
            shared.redis.dead_letter(run, &letter).await?;
            shared.redis.ack_delete(&key, &[entry.id.as_str()]).await?;
            shared.counters.dead.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
    };
    if let (Some(wanted), Some(mine)) = (&message.serves, &shared.config.serves)
        && wanted != mine
    {
        // Not acknowledged: the job stays on the stream for a worker that fits.
        return Err(Error::WrongProgram {
            run: run.to_string(),
            job: message.job.id.0,
            wanted: wanted.clone(),
            serves: mine.clone(),
        });
    }
    let need = message
        .job
        .min_lm_calls()
        .clamp(1, shared.config.concurrency);
    let have = usize::from(ticket.is_some());
    let mut permit = ticket;
    if need > have {
        // All of the job's slots at once: holding one while waiting for more would deadlock
        // with another delivery doing the same (the fetch and reclaim loops both deliver).
        drop(permit.take());
        let all = u32::try_from(need).unwrap_or(u32::MAX);
        permit = Some(tokio::select! {
            // Shutting down: the job stays pending and is reclaimed by another worker.
            _ = shared.stop.cancelled() => return Ok(()),
            p = shared.slots.clone().acquire_many_owned(all) => match p {
                Ok(p) => p,
                Err(_) => return Ok(()),
            },
        });
    }
    shared
        .running
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .entry(key.clone())
        .or_default()
        .insert(entry.id.clone());
    let guard = RunningGuard {
        shared: shared.clone(),
        key,
        id: entry.id.clone(),
    };
    shared.counters.started.fetch_add(1, Ordering::Relaxed);
    if reclaimed {
        shared.counters.reclaimed.fetch_add(1, Ordering::Relaxed);
    }
    let task = run_job(
        shared.clone(),
        run.clone(),
        entry.id,
        message,
        permit,
        guard,
    );
    shared.tracker.spawn(task);
    Ok(())
}

fn failed(id: hone_optimize::JobId, error: String) -> JobResult {
    JobResult {
        id,
        output: JobOutput::Failed { error },
        lm_calls: 0,
    }
}

async fn run_job(
    shared: Arc<Shared>,
    run: RunId,
    entry_id: String,
    message: JobMessage,
    permit: Option<OwnedSemaphorePermit>,
    guard: RunningGuard,
) {
    let id = message.job.id;
    let order = shared.started.fetch_add(1, Ordering::Relaxed);
    let slots = shared.limits.for_job(job_priority(&message.job, order));
    let future = shared.executor.run_with_usage(message.job, slots);
    let timed = async {
        match shared.config.job_timeout {
            Some(t) => tokio::time::timeout(t, future).await.unwrap_or_else(|_| {
                let error =
                    format!("the job did not finish within the worker's job timeout ({t:?})");
                (failed(id, error), JobUsage::default())
            }),
            None => future.await,
        }
    };
    let (result, usage) = tokio::select! {
        _ = shared.abandon.cancelled() => return,
        r = timed => r,
    };
    publish_and_ack(&shared, &run, &entry_id, message.epoch, result, usage).await;
    drop(permit);
    drop(guard);
}

/// Publishes a result, then acknowledges the job. A failure leaves the job pending, to be
/// heartbeated no more and reclaimed.
async fn publish_and_ack(
    shared: &Shared,
    run: &RunId,
    entry_id: &str,
    epoch: Option<u64>,
    result: JobResult,
    usage: JobUsage,
) {
    let keys = shared.redis.keys();
    let message = ResultMessage {
        v: MESSAGE_VERSION,
        run: run.clone(),
        epoch,
        job_entry: Some(entry_id.to_owned()),
        worker: Some(shared.config.consumer_name.clone()),
        result,
        usage,
    };
    let published = shared
        .redis
        .add(&keys.results(run), &to_json(&message), true)
        .await;
    let acked = match published {
        Ok(_) => {
            // `None` (no results stream) means the run ended; the job is acknowledged anyway.
            shared.counters.published.fetch_add(1, Ordering::Relaxed);
            shared.redis.ack(&keys.jobs(run), &[entry_id]).await
        }
        Err(e) => Err(e),
    };
    if let Err(e) = acked {
        shared
            .counters
            .publish_failures
            .fetch_add(1, Ordering::Relaxed);
        tracing::error!(run = %run, entry = entry_id, error = %e, "could not deliver a job's result; the job stays pending");
    }
}

async fn reclaim_loop(shared: Arc<Shared>) -> Result<(), Error> {
    let tick = (shared.config.visibility_timeout / 3)
        .clamp(Duration::from_millis(50), Duration::from_secs(5));
    let mut cursors: HashMap<RunId, String> = HashMap::new();
    loop {
        if nap(&shared.stop, tick).await {
            return Ok(());
        }
        let served = shared
            .served
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        for run in served {
            let cursor = cursors.entry(run.clone()).or_insert_with(|| "0-0".into());
            match reclaim_run(&shared, &run, cursor).await {
                Ok(()) => {}
                Err(e) if is_no_group(&e) => {
                    cursors.remove(&run);
                }
                Err(e) => return Err(e),
            }
            if shared.stop.is_cancelled() {
                return Ok(());
            }
        }
    }
}

/// One reclaim round on one run: heartbeats, dead letters, take-overs.
async fn reclaim_run(shared: &Arc<Shared>, run: &RunId, cursor: &mut String) -> Result<(), Error> {
    let redis = &shared.redis;
    let config = &shared.config;
    let me = config.consumer_name.as_str();
    let key = redis.keys().jobs(run);

    // Heartbeat the jobs still running here and still ours.
    let mine: Vec<String> = shared
        .running
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(&key)
        .map(|s| s.iter().cloned().collect())
        .unwrap_or_default();
    if !mine.is_empty() {
        let owned: HashSet<String> = redis
            .pending(&key, None, mine.len() + config.reclaim_batch, Some(me))
            .await?
            .into_iter()
            .map(|p| p.id)
            .collect();
        let beat: Vec<&str> = mine
            .iter()
            .filter(|id| owned.contains(*id))
            .map(String::as_str)
            .collect();
        redis.claim(&key, me, Duration::ZERO, &beat, true).await?;
    }

    // Jobs delivered too often: dead-letter them and answer with a failed result.
    let idle = redis
        .pending(
            &key,
            Some(config.visibility_timeout),
            config.reclaim_batch,
            None,
        )
        .await?;
    for p in idle
        .iter()
        .filter(|p| p.deliveries >= config.max_deliveries)
    {
        let claimed = redis
            .claim(&key, me, config.visibility_timeout, &[p.id.as_str()], false)
            .await?;
        let Some(entry) = claimed.into_iter().next() else {
            continue; // someone else got it first, or it was deleted
        };
        let parsed = JobMessage::from_fields(&entry.fields, run);
        let reason = format!(
            "delivered {} time(s) without a result (limit {}); the last consumer, `{}`, died, hung or \
             kept failing to publish. A `failed` result was published for the job",
            p.deliveries, config.max_deliveries, p.consumer
        );
        let letter = DeadLetter {
            v: MESSAGE_VERSION,
            run: run.clone(),
            kind: DeadKind::MaxDeliveries,
            reason: reason.clone(),
            source: key.clone(),
            entry: entry.id.clone(),
            job: parsed.as_ref().ok().map(|m| m.job.id),
            by: me.to_owned(),
            payload: None,
        };
        redis.dead_letter(run, &letter).await?;
        shared.counters.dead.fetch_add(1, Ordering::Relaxed);
        match parsed {
            Ok(m) => {
                let result = failed(m.job.id, reason);
                publish_and_ack(shared, run, &entry.id, m.epoch, result, JobUsage::default()).await;
            }
            Err(_) => redis.ack_delete(&key, &[entry.id.as_str()]).await?,
        }
    }

    // Take over idle jobs of dead or stuck consumers, one free slot at a time.
    for _ in 0..config.reclaim_batch {
        let Ok(ticket) = shared.slots.clone().try_acquire_owned() else {
            break;
        };
        let (next, claimed, _deleted) = redis
            .autoclaim(&key, me, config.visibility_timeout, cursor, 1)
            .await?;
        let wrapped = next == "0-0";
        *cursor = next;
        match claimed.into_iter().next() {
            Some(entry) => {
                tracing::info!(run = %run, entry = %entry.id, "taking over an idle job");
                deliver(shared, run, entry, Some(ticket), true).await?;
            }
            None if wrapped => break,
            None => {}
        }
    }
    Ok(())
}
