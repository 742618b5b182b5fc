//! `hone-bench`: measures hone components against the simulated server and prints Markdown.
//!
//! * `lm-overhead`: sequential calls at 0 ms simulated latency through `HttpLm`, the full
//!   layer stack, and a bare reqwest client; the difference is the framework's overhead.
//! * `lm-concurrency`: many calls at a fixed simulated latency through the layer stack with
//!   a concurrency limit; wall time against the ideal `calls × latency ÷ concurrency`.
//! * `bootstrap-rs`: `BootstrapFewShotWithRandomSearch` driven in process; wall time against
//!   the ideal `calls × latency ÷ concurrency`, calls counted by the server.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Parser, Subcommand};
use hone_lm::{CallOptions, ChatRequest, HttpLm, Lm, LmBuilder, Message};
use hone_sim::{SimConfig, SimServer};

mod bootstrap_rs;
mod distributed;
mod instruction_opt;
mod side;

#[derive(Parser)]
#[command(about = "Benchmarks of hone components against the simulated server")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Per-call cost of the client compared with a bare HTTP client.
    LmOverhead {
        /// Sequential calls per client.
        #[arg(long, default_value_t = 500)]
        calls: usize,
    },
    /// Wall time of many concurrent calls against the ideal.
    LmConcurrency {
        /// Total calls.
        #[arg(long, default_value_t = 1000)]
        calls: usize,
        /// Simulated latency per call.
        #[arg(long, default_value_t = 200)]
        latency_ms: u64,
        /// Requests in flight.
        #[arg(long, default_value_t = 100)]
        concurrency: usize,
    },
    /// BootstrapFewShotWithRandomSearch in process: wall time against the ideal.
    BootstrapRs {
        /// Training examples.
        #[arg(long, default_value_t = 50)]
        train: usize,
        /// Validation examples.
        #[arg(long, default_value_t = 50)]
        val: usize,
        /// Shuffled candidates (DSPy's `num_candidate_programs`).
        #[arg(long, default_value_t = 16)]
        candidates: usize,
        /// Simulated latency per call.
        #[arg(long, default_value_t = 200)]
        latency_ms: u64,
        /// LM calls in flight.
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        /// Write a checkpoint after each result to this file.
        #[arg(long)]
        checkpoint: Option<std::path::PathBuf>,
    },
    /// MIPROv2 (light), GEPA and COPRO in process: wall time against the ideal.
    InstructionOpt {
        /// Optimizers to run, comma-separated (mipro, gepa, copro, simba).
        #[arg(long, value_delimiter = ',', default_value = "mipro,gepa,copro,simba")]
        optimizers: Vec<String>,
        /// Training examples.
        #[arg(long, default_value_t = 100)]
        train: usize,
        /// Validation examples.
        #[arg(long, default_value_t = 100)]
        val: usize,
        /// Simulated latency per call.
        #[arg(long, default_value_t = 200)]
        latency_ms: u64,
        /// LM calls in flight.
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        /// GEPA's proposals per iteration.
        #[arg(long, default_value_t = 8)]
        gepa_parallel: usize,
        /// MIPROv2's preset: light, medium or heavy.
        #[arg(long, default_value = "light")]
        mipro_auto: String,
    },
    /// Distributed optimization over Redis: throughput with 1, 2, 4... worker processes.
    Distributed {
        /// Worker counts, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "1,2,4")]
        workers: Vec<usize>,
        /// Simulated latency per call.
        #[arg(long, default_value_t = 200)]
        latency_ms: u64,
        /// LM calls in flight per worker.
        #[arg(long, default_value_t = 8)]
        per_worker_concurrency: usize,
        /// Training examples.
        #[arg(long, default_value_t = 50)]
        train: usize,
        /// Validation examples.
        #[arg(long, default_value_t = 64)]
        val: usize,
        /// Shuffled candidates.
        #[arg(long, default_value_t = 16)]
        candidates: usize,
    },
    /// Writes the arithmetic task's train/val/dev splits as JSONL (for both sides of bench/run).
    Dataset {
        /// Output directory.
        #[arg(long)]
        out: std::path::PathBuf,
        /// Training examples.
        #[arg(long, default_value_t = 50)]
        train: usize,
        /// Validation examples.
        #[arg(long, default_value_t = 50)]
        val: usize,
        /// Dev examples.
        #[arg(long, default_value_t = 200)]
        dev: usize,
    },
    /// Sequential `Predict` calls against an external server vs a bare client (JSON).
    Overhead {
        /// The server's base URL (`.../v1`).
        #[arg(long)]
        base_url: String,
        /// Calls per round.
        #[arg(long, default_value_t = 500)]
        calls: usize,
        /// Rounds; the median is reported.
        #[arg(long, default_value_t = 5)]
        repeats: usize,
    },
    /// Sequential `Predict` calls and nothing else, for the peak RSS of a process that calls
    /// an LM (JSON).
    Memory {
        /// The server's base URL (`.../v1`).
        #[arg(long)]
        base_url: String,
        /// Calls.
        #[arg(long, default_value_t = 300)]
        calls: usize,
    },
    /// `Evaluate` over a JSONL split against an external server (JSON).
    Evaluate {
        /// The server's base URL (`.../v1`).
        #[arg(long)]
        base_url: String,
        /// The split (JSONL of question/answer).
        #[arg(long)]
        dev: std::path::PathBuf,
        /// Examples in flight.
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
    },
    /// One optimizer run against an external server, then the dev score (JSON).
    Optimize {
        /// The server's base URL (`.../v1`).
        #[arg(long)]
        base_url: String,
        /// The directory written by `dataset`.
        #[arg(long)]
        data: std::path::PathBuf,
        /// The optimizer.
        #[arg(long, value_enum)]
        optimizer: side::Which,
        /// LM calls in flight.
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
        /// Random search: shuffled candidates.
        #[arg(long, default_value_t = 8)]
        candidates: usize,
        /// GEPA: proposals evaluated at once.
        #[arg(long, default_value_t = 8)]
        gepa_parallel: usize,
        /// Seed.
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
    /// A worker process of `distributed` (started by it).
    #[command(hide = true)]
    DistributedWorker {
        /// The worker spec (JSON).
        spec: std::path::PathBuf,
    },
}

fn request(i: usize) -> ChatRequest {
    ChatRequest::new(vec![Message::user(format!("What is {i} + 1?"))]).model("sim-1")
}

async fn time_lm(lm: &dyn Lm, calls: usize) -> anyhow::Result<Duration> {
    let options = CallOptions::default();
    let start = Instant::now();
    for i in 0..calls {
        lm.chat(request(i), &options).await?;
    }
    Ok(start.elapsed())
}

fn raw_client() -> anyhow::Result<reqwest::Client> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
    Ok(reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .build()?)
}

async fn time_raw(base_url: &str, calls: usize) -> anyhow::Result<Duration> {
    let client = raw_client()?;
    let url = format!("{base_url}/chat/completions");
    let start = Instant::now();
    for i in 0..calls {
        let body = serde_json::to_value(request(i))?;
        let value: serde_json::Value = client.post(&url).json(&body).send().await?.json().await?;
        anyhow::ensure!(
            value.get("choices").is_some(),
            "unexpected response {value}"
        );
    }
    Ok(start.elapsed())
}

fn micros_per_call(total: Duration, calls: usize) -> f64 {
    total.as_secs_f64() * 1e6 / calls.max(1) as f64
}

async fn lm_overhead(calls: usize) -> anyhow::Result<()> {
    let sim = SimServer::start(SimConfig::default())
        .await
        .context("starting the simulated server")?;
    let base_url = sim.base_url();
    let http = HttpLm::builder()
        .model("sim-1")
        .base_url(&base_url)
        .no_api_key()
        .build()?;
    let stack = LmBuilder::new(http.clone()).max_in_flight(8).build();
    // Warm up connections and code paths.
    time_raw(&base_url, 20).await?;
    time_lm(&http, 20).await?;
    time_lm(&stack, 20).await?;

    let raw = micros_per_call(time_raw(&base_url, calls).await?, calls);
    let bare = micros_per_call(time_lm(&http, calls).await?, calls);
    let layered = micros_per_call(time_lm(&stack, calls).await?, calls);
    sim.shutdown().await;

    println!("## lm-overhead ({calls} sequential calls, 0 ms simulated latency)\n");
    println!("| client | µs per call | overhead vs raw reqwest (µs) |");
    println!("|---|---:|---:|");
    println!("| raw reqwest + serde_json::Value | {raw:.1} | — |");
    println!("| HttpLm | {bare:.1} | {:.1} |", bare - raw);
    println!(
        "| LmBuilder (trace + retry + limit + HttpLm) | {layered:.1} | {:.1} |",
        layered - raw
    );
    Ok(())
}

async fn lm_concurrency(calls: usize, latency_ms: u64, concurrency: usize) -> anyhow::Result<()> {
    let latency = Duration::from_millis(latency_ms);
    let sim = SimServer::start(SimConfig {
        latency,
        ..Default::default()
    })
    .await
    .context("starting the simulated server")?;
    let http = HttpLm::builder()
        .model("sim-1")
        .base_url(sim.base_url())
        .no_api_key()
        .build()?;
    let lm = Arc::new(LmBuilder::new(http).max_in_flight(concurrency).build());
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(calls);
    for i in 0..calls {
        let lm = lm.clone();
        tasks.push(tokio::spawn(async move {
            lm.chat(request(i), &CallOptions::default()).await
        }));
    }
    let mut failed = 0;
    for task in tasks {
        if !matches!(task.await, Ok(Ok(_))) {
            failed += 1;
        }
    }
    let wall = start.elapsed();
    let stats = sim.stats();
    sim.shutdown().await;
    let ideal = latency.as_secs_f64() * calls as f64 / concurrency.max(1) as f64;

    println!(
        "## lm-concurrency ({calls} calls, {latency_ms} ms latency, max {concurrency} in flight)\n"
    );
    println!("| wall (s) | ideal (s) | wall / ideal | peak at server | failed |");
    println!("|---:|---:|---:|---:|---:|");
    println!(
        "| {:.2} | {:.2} | {:.3} | {} | {failed} |",
        wall.as_secs_f64(),
        ideal,
        wall.as_secs_f64() / ideal.max(f64::MIN_POSITIVE),
        stats.peak_concurrency
    );
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::LmOverhead { calls } => lm_overhead(calls).await,
        Command::LmConcurrency {
            calls,
            latency_ms,
            concurrency,
        } => lm_concurrency(calls, latency_ms, concurrency).await,
        Command::BootstrapRs {
            train,
            val,
            candidates,
            latency_ms,
            concurrency,
            checkpoint,
        } => {
            bootstrap_rs::bootstrap_rs(train, val, candidates, latency_ms, concurrency, checkpoint)
                .await
        }
        Command::InstructionOpt {
            optimizers,
            train,
            val,
            latency_ms,
            concurrency,
            gepa_parallel,
            mipro_auto,
        } => {
            instruction_opt::instruction_opt(
                optimizers,
                train,
                val,
                latency_ms,
                concurrency,
                gepa_parallel,
                &mipro_auto,
            )
            .await
        }
        Command::Distributed {
            workers,
            latency_ms,
            per_worker_concurrency,
            train,
            val,
            candidates,
        } => {
            distributed::distributed(distributed::Settings {
                workers,
                latency_ms,
                per_worker_concurrency,
                train,
                val,
                candidates,
            })
            .await
        }
        Command::DistributedWorker { spec } => distributed::worker(&spec).await,
        Command::Dataset {
            out,
            train,
            val,
            dev,
        } => side::dataset(&out, train, val, dev),
        Command::Overhead {
            base_url,
            calls,
            repeats,
        } => {
            // In a task on the runtime's workers, as a server handler calls an LM (not on the
            // thread blocked in `main`, where every I/O wake-up crosses threads).
            tokio::spawn(async move { side::overhead(&base_url, calls, repeats).await })
                .await
                .map_err(anyhow::Error::from)
                .and_then(|r| r)
        }
        Command::Memory { base_url, calls } => side::memory(&base_url, calls).await,
        Command::Evaluate {
            base_url,
            dev,
            concurrency,
        } => side::evaluate(&base_url, &dev, concurrency).await,
        Command::Optimize {
            base_url,
            data,
            optimizer,
            concurrency,
            candidates,
            gepa_parallel,
            seed,
        } => {
            side::optimize(&side::OptimizeArgs {
                base_url,
                data,
                which: optimizer,
                concurrency,
                candidates,
                gepa_parallel,
                seed,
            })
            .await
        }
    }
}
