//! `instruction-opt`: MIPROv2 (auto = light), GEPA and COPRO driven in process against the
//! simulated server at a fixed latency; wall time against the ideal
//! `calls × latency ÷ concurrency`, with calls counted by the server.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use hone_eval::metric::ExactMatch;
use hone_eval::{DriverConfig, Evaluate, InProcessExecutor, run_optimizer};
use hone_lm::{HttpLm, LmHandle};
use hone_modules::{CallContext, Module, Predict};
use hone_optimize::{Catalogue, Inputs, LmRole};
use hone_sim::{SimConfig, SimServer};
use serde_json::{Value, json};

/// Runs each named optimizer (a catalogue name or alias: `mipro`, `gepa`, `copro`, `simba`)
/// and prints a Markdown table.
pub async fn instruction_opt(
    optimizers: Vec<String>,
    train: usize,
    val: usize,
    latency_ms: u64,
    concurrency: usize,
    gepa_parallel: usize,
    mipro_auto: &str,
) -> anyhow::Result<()> {
    if !["light", "medium", "heavy"].contains(&mipro_auto) {
        anyhow::bail!("unknown MIPROv2 preset `{mipro_auto}`; use light, medium or heavy");
    }
    // The parameters this benchmark gives each optimizer (the catalogue's defaults otherwise).
    let params: HashMap<&str, Value> = HashMap::from([
        ("mipro_v2", json!({"auto": mipro_auto})),
        (
            "gepa",
            json!({
                "budget": {"auto": "light"},
                "num_parallel_proposals": gepa_parallel,
                "overlap_full_evals": true,
            }),
        ),
    ]);
    let catalogue = Catalogue::builtin();
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
            .timeout(Duration::from_secs(120))
            .build()?,
    );
    let program = Predict::new("question -> answer: int")?;
    let metric = Arc::new(ExactMatch::new("answer"));
    let executor = InProcessExecutor::from_template(program.clone(), lm.clone(), metric.clone())
        .with_lm(LmRole::Proposer, lm.clone());
    let trainset = crate::side::arithmetic(train, 1);
    let valset = crate::side::arithmetic(val, 2);
    let devset = crate::side::arithmetic(100, 3);
    let student = program.state();
    println!(
        "| optimizer | train | val | concurrency | latency ms | LM calls | wall s | ideal s | wall/ideal | peak in flight | dev score |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for name in optimizers {
        let kind = catalogue.lookup(&name)?;
        let mut opt = kind.build(
            &Inputs {
                student: &student,
                trainset: &trainset,
                valset: Some(&valset),
            },
            params.get(kind.name()).unwrap_or(&json!({})),
        )?;
        sim.reset_stats();
        let config = crate::side::with_timeline(DriverConfig::with_concurrency(concurrency));
        let report = run_optimizer(opt.as_mut(), &executor, &config).await?;
        crate::side::print_log_with_timeline(opt.as_ref());
        let stats = sim.stats();
        let calls = stats
            .requests_by_path
            .get("/v1/chat/completions")
            .copied()
            .unwrap_or(0);
        let wall = report.elapsed.as_secs_f64();
        let ideal = calls as f64 * latency.as_secs_f64() / concurrency.max(1) as f64;
        let dev = match report.best {
            Some(best) => {
                let mut p = program.clone();
                p.load_state(&best)?;
                Evaluate::with_metric(devset.clone(), metric.clone())
                    .concurrency(concurrency)
                    .run(&p, &CallContext::with_default_lm(lm.clone()))
                    .await?
                    .summary
                    .mean
            }
            None => 0.0,
        };
        let label = if kind.name() == "mipro_v2" {
            format!("{name} ({mipro_auto})")
        } else {
            name.clone()
        };
        // Without latency there is no ideal to compare with: the run is all CPU.
        let ratio = if ideal > 0.0 {
            format!("{:.3}", wall / ideal)
        } else {
            "n/a".to_owned()
        };
        println!(
            "| {label} | {train} | {val} | {concurrency} | {latency_ms} | {calls} | {wall:.2} | {ideal:.2} | {ratio} | {} | {dev:.3} |",
            stats.peak_concurrency
        );
    }
    sim.shutdown().await;
    Ok(())
}
