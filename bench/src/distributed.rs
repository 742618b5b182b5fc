//! `distributed`: throughput of a distributed optimization run with 1, 2, 4... worker
//! processes against the simulated server, each worker capped at the same LM concurrency.
//!
//! Starts a throwaway redis-server and the simulated server, then for each worker count runs
//! the same random search (same seed, so the same job set) with a coordinator here and worker
//! processes (this binary in `distributed-worker` mode), and prints jobs and LM calls per
//! second and the speedup over one worker.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use anyhow::Context;
use hone_core::Signature;
use hone_core::state::{ProgramState, ProgramStructure};
use hone_optimize::{BootstrapFewShotWithRandomSearch, RandomSearchConfig};
use hone_redis::{CoordinatorConfig, LmSpec, LocalRedis, Redis, RedisDriver, RunId, WorkerSpec};
use hone_sim::{SimConfig, SimServer};

/// Kills the worker processes when dropped, however the benchmark ends.
struct Workers(Vec<Child>);

impl Drop for Workers {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn student() -> anyhow::Result<ProgramState> {
    let sig = Signature::parse("question -> answer: int")?;
    Ok(ProgramState::from_structure(&ProgramStructure::single(sig)))
}

/// Settings of one benchmark.
pub struct Settings {
    /// Worker counts to measure.
    pub workers: Vec<usize>,
    /// Simulated latency.
    pub latency_ms: u64,
    /// LM calls in flight per worker.
    pub per_worker_concurrency: usize,
    /// Training examples.
    pub train: usize,
    /// Validation examples.
    pub val: usize,
    /// Shuffled candidates.
    pub candidates: usize,
}

fn start_workers(
    count: usize,
    spec: &WorkerSpec,
    dir: &Path,
    tag: &str,
) -> anyhow::Result<Workers> {
    let exe = std::env::current_exe().context("locating hone-bench")?;
    let mut workers = Workers(Vec::new());
    for i in 0..count {
        let mut spec = spec.clone();
        spec.consumer_name = Some(format!("{tag}-w{i}"));
        let path = dir.join(format!("{tag}-w{i}.json"));
        std::fs::write(&path, serde_json::to_vec(&spec)?)?;
        workers.0.push(
            Command::new(&exe)
                .arg("distributed-worker")
                .arg(&path)
                .spawn()
                .context("starting a worker process")?,
        );
    }
    Ok(workers)
}

/// Runs the benchmark and prints a Markdown table.
pub async fn distributed(settings: Settings) -> anyhow::Result<()> {
    let redis_server = LocalRedis::start("redis-server")?;
    let sim = SimServer::start(SimConfig {
        latency: Duration::from_millis(settings.latency_ms),
        ..SimConfig::default()
    })
    .await
    .context("starting the simulated server")?;
    let dir = std::env::temp_dir().join(format!("hone-bench-distributed-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let train = crate::side::arithmetic(settings.train, 1);
    let val = crate::side::arithmetic(settings.val, 2);
    let config = RandomSearchConfig {
        num_candidate_programs: settings.candidates,
        eval_batch_size: settings.per_worker_concurrency.max(1),
        ..RandomSearchConfig::default()
    };

    let mut rows = Vec::new();
    for &count in &settings.workers {
        let run = RunId::new(format!("bench-{count}"))?;
        let spec = WorkerSpec {
            redis_url: redis_server.url(),
            prefix: None,
            runs: vec![run.to_string()],
            consumer_name: None,
            concurrency: settings.per_worker_concurrency,
            visibility_timeout_ms: 60_000,
            max_deliveries: 3,
            program: student()?.to_value(),
            lms: BTreeMap::from([(
                "task".to_owned(),
                LmSpec::new("sim-1").base_url(sim.base_url()),
            )]),
            metric: "exact_match:answer".into(),
        };
        let workers = start_workers(count, &spec, &dir, run.as_str())?;
        let opt =
            BootstrapFewShotWithRandomSearch::new(&student()?, &train, Some(&val), config.clone())?;
        let mut coordinator = CoordinatorConfig::new(run);
        coordinator.max_queued = 4 * count * settings.per_worker_concurrency.max(1);
        coordinator.poll = Duration::from_millis(100);
        let redis = Redis::connect(&redis_server.url()).await?;
        sim.reset_stats();
        let started = Instant::now();
        let report = RedisDriver::new(redis, Box::new(opt), coordinator)
            .run()
            .await?;
        let wall = started.elapsed().as_secs_f64();
        drop(workers);
        let stats = sim.stats();
        rows.push((
            count,
            wall,
            report.tells,
            report.lm_calls,
            stats.peak_concurrency,
        ));
    }
    sim.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);

    println!(
        "## distributed ({} train, {} val, {} candidates, {} ms latency, {} LM calls in flight per worker)\n",
        settings.train,
        settings.val,
        settings.candidates,
        settings.latency_ms,
        settings.per_worker_concurrency
    );
    println!(
        "| workers | wall (s) | jobs | LM calls | jobs/s | LM calls/s | speedup vs 1 | peak at server |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    let base = rows.iter().find(|r| r.0 == 1).map(|r| r.1);
    for (count, wall, jobs, calls, peak) in rows {
        let speedup = base.map_or("—".to_owned(), |b| format!("{:.2}×", b / wall));
        println!(
            "| {count} | {wall:.2} | {jobs} | {calls} | {:.1} | {:.1} | {speedup} | {peak} |",
            jobs as f64 / wall,
            calls as f64 / wall
        );
    }
    Ok(())
}

/// The worker process of the benchmark: runs until killed.
pub async fn worker(spec_path: &Path) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(spec_path)
        .with_context(|| format!("reading {}", spec_path.display()))?;
    let spec: WorkerSpec = serde_json::from_str(&text)?;
    hone_redis::run_worker(
        &spec,
        &hone_lm::Env::from_process(),
        std::future::pending::<()>(),
    )
    .await?;
    Ok(())
}
