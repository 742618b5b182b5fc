//! `bootstrap-rs`: `BootstrapFewShotWithRandomSearch` driven in process against the simulated
//! server at a fixed latency; wall time against the ideal `calls × latency ÷ concurrency`, with
//! calls counted by the server.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use hone_eval::metric::ExactMatch;
use hone_eval::{DriverConfig, InProcessExecutor, run_optimizer};
use hone_lm::{HttpLm, LmHandle};
use hone_modules::{Module, Predict};
use hone_optimize::{BootstrapFewShotWithRandomSearch, RandomSearchConfig};
use hone_sim::{SimConfig, SimServer};

/// Runs the benchmark and prints a Markdown table row.
pub async fn bootstrap_rs(
    train: usize,
    val: usize,
    candidates: usize,
    latency_ms: u64,
    concurrency: usize,
    checkpoint: Option<std::path::PathBuf>,
) -> anyhow::Result<()> {
    let latency = Duration::from_millis(latency_ms);
    let sim = SimServer::start(SimConfig {
        latency,
        seed: 1,
        ..Default::default()
    })
    .await
    .context("starting the simulated server")?;
    let lm = LmHandle::new(
        HttpLm::builder()
            .model("sim-1")
            .base_url(sim.base_url())
            .no_api_key()
            .timeout(Duration::from_secs(60))
            .build()?,
    );
    let program = Predict::new("question -> answer: int")?;
    let executor =
        InProcessExecutor::from_template(program.clone(), lm, Arc::new(ExactMatch::new("answer")));
    let config = RandomSearchConfig {
        num_candidate_programs: candidates,
        ..Default::default()
    };
    let trainset = crate::side::arithmetic(train, 1);
    let valset = crate::side::arithmetic(val, 2);
    let mut opt =
        BootstrapFewShotWithRandomSearch::new(&program.state(), &trainset, Some(&valset), config)?;
    sim.reset_stats();
    let mut driver = DriverConfig::with_concurrency(concurrency);
    driver.checkpoint = checkpoint;
    let report = run_optimizer(&mut opt, &executor, &driver).await?;
    let stats = sim.stats();
    let calls = stats
        .requests_by_path
        .get("/v1/chat/completions")
        .copied()
        .unwrap_or(0);
    let wall = report.elapsed.as_secs_f64();
    let ideal = calls as f64 * latency.as_secs_f64() / concurrency.max(1) as f64;
    let best = opt
        .candidates()
        .first()
        .map(|c| c.score.mean())
        .unwrap_or(0.0);
    println!(
        "| train | val | candidates | concurrency | latency ms | LM calls | wall s | ideal s | wall/ideal | peak in flight | best val score |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    println!(
        "| {train} | {val} | {} | {concurrency} | {latency_ms} | {calls} | {wall:.2} | {ideal:.2} | {:.3} | {} | {best:.3} |",
        candidates + 3,
        wall / ideal.max(f64::MIN_POSITIVE),
        stats.peak_concurrency
    );
    sim.shutdown().await;
    Ok(())
}
