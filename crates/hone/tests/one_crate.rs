//! A program that depends on `hone` alone: a predictor called against the simulated server,
//! then optimized with `BootstrapFewShot` through the in-process driver and evaluated — every
//! name from `hone::prelude` or `hone::*`.

use std::sync::Arc;

use hone::eval::metric::ExactMatch;
use hone::optimize::BootstrapConfig;
use hone::prelude::*;
use hone_sim::{SimConfig, SimServer};

fn lm(base_url: &str) -> LmHandle {
    let http = HttpLm::builder()
        .model("sim-1")
        .base_url(base_url)
        .no_api_key()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    LmHandle::new(http)
}

#[tokio::test]
async fn a_program_on_hone_alone() {
    let sim = SimServer::start(SimConfig::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let lm = lm(&sim.base_url());
    let program = Predict::new("question -> answer: int").unwrap_or_else(|e| panic!("{e}"));

    let ctx = CallContext::with_default_lm(lm.clone());
    let out = program
        .call(Example::new().with("question", "What is 2 + 3?"), &ctx)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(out.get("answer").is_some_and(|a| a.is_i64()), "{out:?}");

    let trainset: Vec<Example> = (0..8)
        .map(|i| {
            Example::new()
                .with("question", format!("What is {i} + {i}?"))
                .with("answer", i * 2)
                .with_inputs(["question"])
        })
        .collect();
    let executor = InProcessExecutor::from_template(
        program.clone(),
        lm.clone(),
        Arc::new(ExactMatch::new("answer")),
    );
    let mut optimizer =
        BootstrapFewShot::new(&program.state(), &trainset, BootstrapConfig::default())
            .unwrap_or_else(|e| panic!("{e}"));
    let report = run_optimizer(
        &mut optimizer,
        &executor,
        &DriverConfig::with_concurrency(4),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let best = report.best.unwrap_or_else(|| panic!("no program"));
    let mut compiled = program.clone();
    compiled.load_state(&best).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        !compiled.demos().is_empty(),
        "the bootstrap found demos for the predictor"
    );

    let result = Evaluate::new(trainset, ExactMatch::new("answer"))
        .concurrency(4)
        .run(&compiled, &CallContext::with_default_lm(lm))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(result.results.len(), 8);
    sim.shutdown().await;
}
