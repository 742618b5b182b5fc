//! Shared setup: a throwaway redis-server, the simulated LM server, a small optimization run,
//! worker specs and processes, and a coordinator observer.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hone_core::state::{ProgramState, ProgramStructure};
use hone_core::{Example, Signature};
use hone_eval::{DriverConfig, run_optimizer};
use hone_lm::Env;
use hone_optimize::{BootstrapFewShotWithRandomSearch, JobId, Optimizer, RandomSearchConfig, Told};
use hone_redis::{
    CoordinatorConfig, CoordinatorEvent, CoordinatorProgress, LmSpec, LocalRedis, Redis, RunId,
    WorkerSpec, build_executor,
};
use hone_sim::{SimConfig, SimHandle, SimServer};

/// A redis-server of our own, or `None` (with a message) when the binary is missing outside
/// CI. In CI (`CI=true`) a missing binary fails the test.
pub fn redis_server() -> Option<LocalRedis> {
    let binary = std::env::var("HONE_REDIS_SERVER").unwrap_or_else(|_| "redis-server".into());
    if !LocalRedis::available(&binary) {
        let msg = format!(
            "`{binary}` is not installed: these tests need a real Redis. Install it with \
             `apt-get install redis-server` (scripts/test does) or set HONE_REDIS_SERVER"
        );
        if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
            panic!("{msg}");
        }
        eprintln!("SKIPPED: {msg}");
        return None;
    }
    match LocalRedis::start(&binary) {
        Ok(server) => Some(server),
        Err(e) => panic!("{e}"),
    }
}

pub async fn sim(latency_ms: u64) -> SimHandle {
    SimServer::start(SimConfig {
        latency: Duration::from_millis(latency_ms),
        seed: 7,
        ..SimConfig::default()
    })
    .await
    .expect("the simulated server starts")
}

pub fn student() -> ProgramState {
    let sig = Signature::parse("question -> answer: int").expect("signature parses");
    ProgramState::from_structure(&ProgramStructure::single(sig))
}

pub fn dataset(n: usize, seed: u64) -> Vec<Example> {
    hone_sim::datasets::arithmetic(n, seed)
        .into_iter()
        .map(|e| {
            Example::new()
                .with("question", e.question)
                .with("answer", e.answer)
                .with_inputs(["question"])
        })
        .collect()
}

/// A small random search: a handful of candidates, batches of 3 validation examples.
pub fn optimizer(seed: u64) -> Box<dyn Optimizer> {
    let train = dataset(8, seed);
    let val = dataset(9, seed + 100);
    let config = RandomSearchConfig {
        max_bootstrapped_demos: 2,
        max_labeled_demos: 2,
        num_candidate_programs: 3,
        eval_batch_size: 3,
        seed: seed as i64,
        ..RandomSearchConfig::default()
    };
    Box::new(
        BootstrapFewShotWithRandomSearch::new(&student(), &train, Some(&val), config)
            .expect("the optimizer is configured"),
    )
}

pub fn spec(redis_url: &str, sim_url: &str, consumer: &str, concurrency: usize) -> WorkerSpec {
    WorkerSpec {
        redis_url: redis_url.to_owned(),
        prefix: None,
        runs: vec![],
        consumer_name: Some(consumer.to_owned()),
        concurrency,
        visibility_timeout_ms: 1_500,
        max_deliveries: 5,
        program: student().to_value(),
        lms: BTreeMap::from([("task".to_owned(), LmSpec::new("sim-1").base_url(sim_url))]),
        metric: "exact_match:answer".into(),
    }
}

/// The run in one process, with hone-eval's driver: the program distributed runs must match.
pub async fn reference(sim_url: &str, seed: u64) -> (ProgramState, u64) {
    let executor = build_executor(&spec("redis://unused", sim_url, "ref", 4), &Env::empty())
        .expect("executor");
    let mut opt = optimizer(seed);
    let report = run_optimizer(opt.as_mut(), &executor, &DriverConfig::with_concurrency(4))
        .await
        .expect("the reference run finishes");
    (report.best.expect("a best program"), report.lm_calls)
}

/// Starts a worker process.
pub fn worker_process(spec: &WorkerSpec, dir: &Path) -> Child {
    let name = spec.consumer_name.clone().unwrap_or_default();
    let path = dir.join(format!("{name}.json"));
    std::fs::write(&path, serde_json::to_vec(spec).expect("spec serializes"))
        .expect("spec written");
    Command::new(env!("CARGO_BIN_EXE_hone-redis-worker"))
        .arg(&path)
        .spawn()
        .expect("the worker process starts")
}

/// Records what the coordinator tells, per job.
#[derive(Default)]
pub struct Recorder {
    pub told: Mutex<Vec<(JobId, Told)>>,
    pub dead: Mutex<Vec<String>>,
    pub accepted_tx: Mutex<Option<tokio::sync::mpsc::UnboundedSender<u64>>>,
    pub published_tx: Mutex<Option<tokio::sync::mpsc::UnboundedSender<JobId>>>,
}

impl CoordinatorProgress for Recorder {
    fn on_event(&self, event: &CoordinatorEvent<'_>) {
        match *event {
            CoordinatorEvent::Told { job, told, .. } => {
                let mut all = self.told.lock().expect("lock");
                all.push((job, told));
                let accepted = all.iter().filter(|(_, t)| *t == Told::Accepted).count() as u64;
                if told == Told::Accepted
                    && let Some(tx) = &*self.accepted_tx.lock().expect("lock")
                {
                    let _ = tx.send(accepted);
                }
            }
            CoordinatorEvent::DeadLettered { reason, .. } => {
                self.dead.lock().expect("lock").push(reason.to_owned());
            }
            CoordinatorEvent::Published { job, .. } => {
                if let Some(tx) = &*self.published_tx.lock().expect("lock") {
                    let _ = tx.send(job);
                }
            }
            _ => {}
        }
    }
}

impl Recorder {
    /// Asserts every job told has exactly one accepted result; returns how many were accepted.
    pub fn assert_each_job_accepted_once(&self) -> usize {
        let told = self.told.lock().expect("lock");
        let mut accepted: BTreeMap<JobId, usize> = BTreeMap::new();
        for (job, t) in told.iter() {
            let n = accepted.entry(*job).or_default();
            if *t == Told::Accepted {
                *n += 1;
            }
        }
        let unknown_only = |job: &JobId| told.iter().all(|(j, t)| j != job || *t == Told::Unknown);
        accepted.retain(|job, _| !unknown_only(job));
        for (job, n) in &accepted {
            assert_eq!(*n, 1, "{job} was accepted {n} times");
        }
        accepted.len()
    }
}

pub fn coordinator_config(run: &str, recorder: &Arc<Recorder>) -> CoordinatorConfig {
    let mut config = CoordinatorConfig::new(RunId::new(run).expect("run id"));
    config.max_queued = 4;
    config.poll = Duration::from_millis(200);
    config.reconcile_after = Duration::from_secs(2);
    config.progress = Some(recorder.clone());
    // Short, so a coordinator restarted after a crash waits little for the dead one's lease.
    config.lease = Duration::from_secs(2);
    config
}

pub async fn connect(url: &str) -> Redis {
    Redis::connect(url).await.expect("redis connects")
}

/// A raw command on a fresh connection (for test setup and inspection).
pub async fn raw<T: redis::FromRedisValue>(url: &str, cmd: &redis::Cmd) -> T {
    let client = redis::Client::open(url).expect("url");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("connects");
    cmd.query_async(&mut conn).await.expect("command succeeds")
}
