//! `hone worker`: runs jobs of distributed optimization runs from Redis until Ctrl-C or
//! SIGTERM. A program file (TOML) runs with its own pipeline, LMs and metric — the same the
//! coordinating `hone optimize --redis` uses; a saved one-predictor program (JSON) runs
//! through `hone_redis::run_worker`. This file only maps flags.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use hone_lm::{Env, LmSpec};
use hone_redis::{Keys, Redis, RedisOptions, WorkerSpec, run_worker};

use super::common::interrupt_signal;
use super::common::{LmArgs, at_least_one, options};

/// Flags of `hone worker`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  hone worker --program qa.toml --redis redis://10.0.0.5:6379 --run qa
  hone worker --program qa.toml --lm task=gpt-4o-mini@http://127.0.0.1:8000/v1 --concurrency 32
  hone worker --program program.json --lm-base-url http://127.0.0.1:8000/v1 --model qwen3 \\
              --metric exact_match:answer

A program file (TOML) brings its LMs, pipeline and [metric]: run workers with the same file the
coordinating `hone optimize --redis` was given. A saved program (JSON) must have one predictor
and needs --lm-base-url, --model and --metric.")]
pub struct WorkerArgs {
    /// The Redis URL (redis://HOST:PORT[/DB] or unix:///PATH/redis.sock).
    #[arg(long, default_value = "redis://127.0.0.1:6379")]
    redis: String,
    /// The program to run jobs of: a program file (TOML), or a saved hone or DSPy program
    /// (JSON) with one predictor.
    #[arg(long)]
    program: PathBuf,
    /// JSON programs: the task LM's OpenAI-compatible base URL.
    #[arg(long)]
    lm_base_url: Option<String>,
    /// JSON programs: the task LM's model id.
    #[arg(long)]
    model: Option<String>,
    /// Environment variable holding the API key (default OPENAI_API_KEY, sent only when set).
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
    /// JSON programs: the metric, exact_match:FIELD, f1:FIELD, contains:FIELD or numeric:FIELD
    /// (default exact_match:answer; a TOML program uses its [metric]).
    #[arg(long)]
    metric: Option<String>,
    /// LM calls in flight at once in this worker (also its job slots).
    #[arg(long, value_parser = at_least_one, default_value_t = 8)]
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
    /// TOML programs: the LMs (as for `hone optimize`).
    #[command(flatten)]
    lm: LmArgs,
}

fn lm(base_url: &str, model: &str, key: &Option<String>) -> LmSpec {
    let mut spec = LmSpec::new(model).base_url(base_url);
    spec.api_key_env.clone_from(key);
    spec
}

fn is_toml(path: &std::path::Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("toml"))
}

fn worker_spec(args: &WorkerArgs) -> anyhow::Result<WorkerSpec> {
    let (Some(base_url), Some(model)) = (&args.lm_base_url, &args.model) else {
        anyhow::bail!(
            "{} is a saved program: give its task LM with --lm-base-url URL --model MODEL \
             (or run the program file (TOML) it came from)",
            args.program.display()
        );
    };
    let text = std::fs::read_to_string(&args.program)
        .with_context(|| format!("reading the program {}", args.program.display()))?;
    let program: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not JSON", args.program.display()))?;
    let mut lms = BTreeMap::from([("task".to_owned(), lm(base_url, model, &args.api_key_env))]);
    if let (Some(url), Some(model)) = (&args.teacher_base_url, &args.teacher_model) {
        lms.insert("teacher".into(), lm(url, model, &args.api_key_env));
    }
    if let (Some(url), Some(model)) = (&args.proposer_base_url, &args.proposer_model) {
        lms.insert("proposer".into(), lm(url, model, &args.api_key_env));
    }
    Ok(WorkerSpec {
        program,
        lms,
        metric: args
            .metric
            .clone()
            .unwrap_or_else(|| "exact_match:answer".into()),
        ..settings_spec(args)
    })
}

/// The worker settings of the flags (Redis, runs, name, concurrency, visibility, deliveries),
/// with no program, LMs or metric.
fn settings_spec(args: &WorkerArgs) -> WorkerSpec {
    WorkerSpec {
        redis_url: args.redis.clone(),
        prefix: args.prefix.clone(),
        runs: args.runs.clone(),
        consumer_name: args.name.clone(),
        concurrency: args.concurrency,
        visibility_timeout_ms: args.visibility_ms,
        max_deliveries: args.max_deliveries,
        program: serde_json::Value::Null,
        lms: BTreeMap::new(),
        metric: String::new(),
    }
}

/// Serves a program file (TOML): its pipeline, LMs (with `--lm`/`--base-url` and the
/// JSON-program flags as overrides) and `[metric]`.
async fn serve_program_file(args: &WorkerArgs) -> anyhow::Result<hone_redis::WorkerStats> {
    if args.metric.is_some() {
        anyhow::bail!(
            "--metric applies to saved programs (JSON); {} scores with its [metric]",
            args.program.display()
        );
    }
    let mut opts = options(&args.lm, None, None, Some(args.concurrency))?;
    if let Some(model) = &args.model {
        let mut spec = LmSpec::new(model.clone());
        spec.base_url.clone_from(&args.lm_base_url);
        opts.lms.lms.push(("task".into(), spec));
    } else if let Some(url) = &args.lm_base_url {
        opts.lms.base_url.get_or_insert_with(|| url.clone());
    }
    for (role, url, model) in [
        ("teacher", &args.teacher_base_url, &args.teacher_model),
        ("proposer", &args.proposer_base_url, &args.proposer_model),
    ] {
        if let Some(model) = model {
            let mut spec = LmSpec::new(model.clone());
            spec.base_url.clone_from(url);
            opts.lms.lms.push((role.into(), spec));
        }
    }
    let loaded = hone_cli::run::Loaded::load(&args.program, &opts)?;
    let config = hone_redis::standalone::worker_config(&settings_spec(args))?;
    let redis_options = RedisOptions {
        keys: args
            .prefix
            .as_ref()
            .map(Keys::with_prefix)
            .unwrap_or_default(),
        ..RedisOptions::default()
    };
    let redis = Redis::connect_with(&args.redis, redis_options)
        .await
        .with_context(|| format!("cannot reach Redis at {}", hone_lm::redact_url(&args.redis)))?;
    Ok(loaded.serve(redis, config, interrupt_signal()).await?)
}

/// Runs the worker until a signal; prints what it did.
pub fn run(args: &WorkerArgs) -> anyhow::Result<bool> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let stats = if is_toml(&args.program) {
        runtime.block_on(serve_program_file(args))?
    } else {
        let spec = worker_spec(args)?;
        runtime.block_on(run_worker(&spec, &Env::from_process(), interrupt_signal()))?
    };
    eprintln!(
        "worker stopped: {} job(s) started, {} result(s) published, {} taken over, {} dead-lettered",
        stats.jobs_started, stats.results_published, stats.reclaimed, stats.dead_lettered
    );
    Ok(true)
}
