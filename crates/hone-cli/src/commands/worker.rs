//! `hone worker`: runs jobs of distributed optimization runs from Redis until Ctrl-C or
//! SIGTERM. The job loop is `hone_redis::run_worker`; this file only maps flags to a spec.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use hone_redis::{LmSpec, WorkerSpec, run_worker};

/// Flags of `hone worker`.
#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// The Redis URL (redis://HOST:PORT[/DB] or unix:///PATH/redis.sock).
    #[arg(long, default_value = "redis://127.0.0.1:6379")]
    redis: String,
    /// The program to run jobs of: a saved hone or DSPy program (JSON) with one predictor.
    #[arg(long)]
    program: PathBuf,
    /// The task LM's OpenAI-compatible base URL.
    #[arg(long)]
    lm_base_url: String,
    /// The task LM's model id.
    #[arg(long)]
    model: String,
    /// Environment variable holding the API key (none is sent without it).
    #[arg(long)]
    api_key_env: Option<String>,
    /// The teacher LM's base URL (default: the task LM).
    #[arg(long, requires = "teacher_model")]
    teacher_base_url: Option<String>,
    /// The teacher LM's model id.
    #[arg(long)]
    teacher_model: Option<String>,
    /// The proposer LM's base URL (instruction proposals).
    #[arg(long, requires = "proposer_model")]
    proposer_base_url: Option<String>,
    /// The proposer LM's model id.
    #[arg(long)]
    proposer_model: Option<String>,
    /// The metric: exact_match:FIELD, f1:FIELD, contains:FIELD or numeric:FIELD.
    #[arg(long, default_value = "exact_match:answer")]
    metric: String,
    /// LM calls in flight at once in this worker (also its job slots).
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Serve only this run (repeatable); every run in the registry by default.
    #[arg(long = "run")]
    runs: Vec<String>,
    /// This worker's consumer name (unique per worker; default from the process id).
    #[arg(long)]
    name: Option<String>,
    /// Milliseconds a job may go without a heartbeat before another worker takes it over.
    #[arg(long, default_value_t = 60_000)]
    visibility_ms: u64,
    /// Deliveries of one job before it is dead-lettered.
    #[arg(long, default_value_t = 3)]
    max_deliveries: u64,
    /// Key prefix in Redis.
    #[arg(long)]
    prefix: Option<String>,
}

fn lm(base_url: &str, model: &str, key: &Option<String>) -> LmSpec {
    LmSpec {
        base_url: base_url.to_owned(),
        model: model.to_owned(),
        api_key_env: key.clone(),
    }
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// Runs the worker until a signal; prints what it did.
pub fn run(args: &WorkerArgs) -> anyhow::Result<bool> {
    let text = std::fs::read_to_string(&args.program)
        .with_context(|| format!("reading the program {}", args.program.display()))?;
    let program: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not JSON", args.program.display()))?;
    let mut lms = BTreeMap::from([(
        "task".to_owned(),
        lm(&args.lm_base_url, &args.model, &args.api_key_env),
    )]);
    if let (Some(url), Some(model)) = (&args.teacher_base_url, &args.teacher_model) {
        lms.insert("teacher".into(), lm(url, model, &args.api_key_env));
    }
    if let (Some(url), Some(model)) = (&args.proposer_base_url, &args.proposer_model) {
        lms.insert("proposer".into(), lm(url, model, &args.api_key_env));
    }
    let spec = WorkerSpec {
        redis_url: args.redis.clone(),
        prefix: args.prefix.clone(),
        runs: args.runs.clone(),
        consumer_name: args.name.clone(),
        concurrency: args.concurrency,
        visibility_timeout_ms: args.visibility_ms,
        max_deliveries: args.max_deliveries,
        program,
        lms,
        metric: args.metric.clone(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let stats = runtime.block_on(run_worker(&spec, shutdown_signal()))?;
    eprintln!(
        "worker stopped: {} job(s) started, {} result(s) published, {} taken over, {} dead-lettered",
        stats.jobs_started, stats.results_published, stats.reclaimed, stats.dead_lettered
    );
    Ok(true)
}
