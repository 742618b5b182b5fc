//! The hone side of `bench/run`, against an external simulated server that the DSPy side
//! (`bench/dspy/bench.py`) uses too. Each command prints one JSON object on stdout.
//!
//! * `dataset`: writes the arithmetic task's train/val/dev splits as JSONL for both sides;
//! * `overhead`: sequential `Predict` calls vs the same HTTP exchange by a bare client;
//! * `evaluate`: `Evaluate` of a `Predict` over a JSONL split at a concurrency;
//! * `optimize`: one optimizer run (random search, MIPROv2 light, GEPA light), then the best
//!   program's dev score. LM calls are counted by the server (`/stats`).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use hone_core::Example;
use hone_core::adapter::{Adapter, ChatAdapter};
use hone_eval::metric::{ExactMatch, Metric};
use hone_eval::{DriverConfig, Evaluate, InProcessExecutor, run_optimizer};
use hone_lm::{HttpLm, LmHandle};
use hone_modules::{CallContext, Module, Predict};
use hone_optimize::{Catalogue, Inputs, LmRole, Optimizer};
use serde_json::{Value, json};

/// The task's signature (the same string on the DSPy side).
pub const SIGNATURE: &str = "question -> answer: int";

/// `n` of the simulator's arithmetic questions (seeded) as examples with `question` as input;
/// every benchmark of this crate uses them.
pub fn arithmetic(n: usize, seed: u64) -> Vec<Example> {
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

/// Writes `train.jsonl` (seed 1), `val.jsonl` (seed 2) and `dev.jsonl` (seed 3) into `dir`.
pub fn dataset(dir: &Path, train: usize, val: usize, dev: usize) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for (name, n, seed) in [("train", train, 1), ("val", val, 2), ("dev", dev, 3)] {
        let mut text = String::new();
        for e in arithmetic(n, seed) {
            text.push_str(&serde_json::to_string(&Value::Object(e.fields().clone()))?);
            text.push('\n');
        }
        let path = dir.join(format!("{name}.jsonl"));
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    println!(
        "{}",
        json!({"dir": dir, "train": train, "val": val, "dev": dev})
    );
    Ok(())
}

fn read_split(path: &Path) -> anyhow::Result<Vec<Example>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, line)| {
            let value: Value = serde_json::from_str(line)
                .with_context(|| format!("{}:{}: not JSON", path.display(), i + 1))?;
            Example::from_json(value)
                .map(|e| e.with_inputs(["question"]))
                .with_context(|| format!("{}:{}: not an object", path.display(), i + 1))
        })
        .collect()
}

fn lm(base_url: &str) -> anyhow::Result<LmHandle> {
    Ok(LmHandle::new(
        HttpLm::builder()
            .model("sim-1")
            .base_url(base_url)
            .no_api_key()
            .timeout(Duration::from_secs(120))
            .build()?,
    ))
}

fn http_client() -> anyhow::Result<reqwest::Client> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
    // The same timeouts as the LM's (`lm` above): a production client has them, and so does
    // the DSPy side's bare `httpx.Client()` (5 s by default).
    Ok(reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .timeout(Duration::from_secs(120))
        .connect_timeout(Duration::from_secs(10))
        .build()?)
}

/// Chat completions the server has answered so far (its `/stats`).
async fn server_calls(client: &reqwest::Client, base_url: &str) -> anyhow::Result<u64> {
    let root = base_url.trim_end_matches('/').trim_end_matches("/v1");
    let stats: Value = client
        .get(format!("{root}/stats"))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(stats["requests_by_path"]["/v1/chat/completions"]
        .as_u64()
        .unwrap_or(0))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

/// Sequential `Predict` calls vs a bare reqwest POST of the same request body; medians of
/// `repeats` rounds of `calls` calls, in µs per call.
pub async fn overhead(base_url: &str, calls: usize, repeats: usize) -> anyhow::Result<()> {
    let lm = lm(base_url)?;
    let predict = Predict::new(SIGNATURE)?;
    let ctx = CallContext::with_default_lm(lm);
    let questions: Vec<Example> = arithmetic(calls, 9)
        .into_iter()
        .map(|e| e.inputs())
        .collect();
    // The raw client sends what the framework would: the adapter's messages, precomputed.
    let signature = predict.signature().clone();
    let adapter = ChatAdapter::new();
    let bodies: Vec<Value> = questions
        .iter()
        .map(|q| {
            let messages = adapter.format(&signature, &[], q)?;
            Ok(json!({"model": "sim-1", "messages": messages}))
        })
        .collect::<anyhow::Result<_>>()?;
    let client = http_client()?;
    let url = format!("{}/chat/completions", base_url.trim_end_matches('/'));

    let run_raw = || async {
        let started = Instant::now();
        for body in &bodies {
            let value: Value = client.post(&url).json(body).send().await?.json().await?;
            anyhow::ensure!(
                value.get("choices").is_some(),
                "unexpected response {value}"
            );
        }
        Ok::<f64, anyhow::Error>(started.elapsed().as_secs_f64() * 1e6 / calls as f64)
    };
    let run_predict = || async {
        let started = Instant::now();
        for q in &questions {
            predict.call(q.clone(), &ctx).await?;
        }
        Ok::<f64, anyhow::Error>(started.elapsed().as_secs_f64() * 1e6 / calls as f64)
    };
    // Warm up connections and code paths.
    run_raw().await?;
    run_predict().await?;
    let (mut raw, mut framework) = (Vec::new(), Vec::new());
    for _ in 0..repeats.max(1) {
        raw.push(run_raw().await?);
        framework.push(run_predict().await?);
    }
    let (raw, framework) = (median(raw), median(framework));
    println!(
        "{}",
        json!({
            "calls": calls,
            "repeats": repeats,
            "raw_us": raw,
            "framework_us": framework,
            "overhead_us": framework - raw,
        })
    );
    Ok(())
}

/// `calls` sequential `Predict` calls, each question made when it is asked: the process holds
/// what a program calling an LM holds, and nothing of the benchmark's own.
pub async fn memory(base_url: &str, calls: usize) -> anyhow::Result<()> {
    let predict = Predict::new(SIGNATURE)?;
    let ctx = CallContext::with_default_lm(lm(base_url)?);
    for i in 0..calls {
        let question = Example::new()
            .with("question", format!("What is {i} + {}?", i + 1))
            .with_inputs(["question"]);
        predict.call(question, &ctx).await?;
    }
    println!("{}", json!({ "calls": calls }));
    Ok(())
}

/// `Evaluate` of the unoptimized `Predict` over `devset` at `concurrency`.
pub async fn evaluate(base_url: &str, devset: &Path, concurrency: usize) -> anyhow::Result<()> {
    let dev = read_split(devset)?;
    let client = http_client()?;
    let before = server_calls(&client, base_url).await?;
    let predict = Predict::new(SIGNATURE)?;
    let ctx = CallContext::with_default_lm(lm(base_url)?);
    let started = Instant::now();
    let result = Evaluate::new(dev.clone(), ExactMatch::new("answer"))
        .concurrency(concurrency)
        .run(&predict, &ctx)
        .await?;
    let wall = started.elapsed().as_secs_f64();
    let calls = server_calls(&client, base_url).await? - before;
    println!(
        "{}",
        json!({
            "examples": dev.len(),
            "concurrency": concurrency,
            "wall_s": wall,
            "lm_calls": calls,
            "score": result.summary.mean,
            "errors": result.errors,
        })
    );
    Ok(())
}

/// Which optimizer `optimize` runs.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Which {
    /// BootstrapFewShotWithRandomSearch.
    RandomSearch,
    /// MIPROv2, auto = light.
    Mipro,
    /// GEPA, auto = light.
    Gepa,
}

impl Which {
    /// The optimizer's catalogue name and the parameters this benchmark gives it.
    fn params(self, args: &OptimizeArgs) -> (&'static str, Value) {
        match self {
            Which::RandomSearch => (
                "bootstrap_few_shot_with_random_search",
                json!({
                    "num_candidate_programs": args.candidates,
                    "max_bootstrapped_demos": 4,
                    "max_labeled_demos": 4,
                }),
            ),
            Which::Mipro => ("mipro_v2", json!({"auto": "light", "seed": args.seed})),
            Which::Gepa => (
                "gepa",
                json!({
                    "budget": {"auto": "light"},
                    "num_parallel_proposals": args.gepa_parallel.max(1),
                    "overlap_full_evals": true,
                    "seed": args.seed,
                }),
            ),
        }
    }
}

/// Settings of `optimize`.
#[derive(Debug, Clone)]
pub struct OptimizeArgs {
    /// The server.
    pub base_url: String,
    /// The directory written by `dataset`.
    pub data: PathBuf,
    /// The optimizer.
    pub which: Which,
    /// LM calls in flight (DSPy's `num_threads`).
    pub concurrency: usize,
    /// Random search: `num_candidate_programs`.
    pub candidates: usize,
    /// GEPA: proposals evaluated at once (`num_parallel_proposals`; DSPy's loop has 1).
    pub gepa_parallel: usize,
    /// Seed.
    pub seed: u64,
}

/// With `HONE_BENCH_TIMELINE` set: one stderr line per result (elapsed, results, LM calls,
/// jobs running), to see where a run waits.
struct Timeline(Instant);

impl hone_eval::DriverProgress for Timeline {
    fn on_tell(&self, e: &hone_eval::TellEvent<'_>) {
        eprintln!(
            "{:7.3}s tells {:4} lm_calls {:5} running {:3}",
            self.0.elapsed().as_secs_f64(),
            e.tells,
            e.lm_calls,
            e.running
        );
    }
}

/// `config` with a [`Timeline`] when `HONE_BENCH_TIMELINE` is set.
pub fn with_timeline(mut config: DriverConfig) -> DriverConfig {
    if std::env::var_os("HONE_BENCH_TIMELINE").is_some() {
        config.progress = Some(Arc::new(Timeline(Instant::now())));
    }
    config
}

/// With `HONE_BENCH_TIMELINE` set, prints the run log's events to stderr.
pub fn print_log_with_timeline(opt: &dyn Optimizer) {
    if std::env::var_os("HONE_BENCH_TIMELINE").is_some() {
        for event in opt.log().events() {
            eprintln!("log: {}", serde_json::to_string(event).unwrap_or_default());
        }
    }
}

/// One optimizer run, then the best program's dev score.
pub async fn optimize(args: &OptimizeArgs) -> anyhow::Result<()> {
    let train = read_split(&args.data.join("train.jsonl"))?;
    let val = read_split(&args.data.join("val.jsonl"))?;
    let dev = read_split(&args.data.join("dev.jsonl"))?;
    let lm = lm(&args.base_url)?;
    let program = Predict::new(SIGNATURE)?;
    let metric: Arc<dyn Metric> = Arc::new(ExactMatch::new("answer"));
    let executor = InProcessExecutor::from_template(program.clone(), lm.clone(), metric.clone())
        .with_lm(LmRole::Proposer, lm.clone());
    let student = program.state();
    let (name, params) = args.which.params(args);
    let mut opt = Catalogue::builtin().lookup(name)?.build(
        &Inputs {
            student: &student,
            trainset: &train,
            valset: Some(&val),
        },
        &params,
    )?;
    let client = http_client()?;
    let before = server_calls(&client, &args.base_url).await?;
    let started = Instant::now();
    let config = with_timeline(DriverConfig::with_concurrency(args.concurrency));
    let report = run_optimizer(opt.as_mut(), &executor, &config).await?;
    let wall = started.elapsed().as_secs_f64();
    print_log_with_timeline(opt.as_ref());
    let calls = server_calls(&client, &args.base_url).await? - before;
    let best = report.best.context("the optimizer returned no program")?;
    let mut optimized = program.clone();
    optimized.load_state(&best)?;
    let dev_score = Evaluate::with_metric(dev, metric)
        .concurrency(args.concurrency)
        .run(&optimized, &CallContext::with_default_lm(lm))
        .await?
        .summary
        .mean;
    println!(
        "{}",
        json!({
            "optimizer": format!("{:?}", args.which),
            "concurrency": args.concurrency,
            "wall_s": wall,
            "lm_calls": calls,
            "dev_score": dev_score,
        })
    );
    Ok(())
}
