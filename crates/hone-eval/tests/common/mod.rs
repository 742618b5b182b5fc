//! Helpers for the tests against the simulated server.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use hone_core::Example;
use hone_core::state::ProgramState;
use hone_eval::metric::{ExactMatch, Metric};
use hone_eval::{Evaluate, InProcessExecutor};
use hone_lm::{HttpLm, LmHandle};
use hone_modules::{CallContext, Module, Predict};
use hone_sim::{SimConfig, SimHandle, SimServer};

/// A simulated server with `latency` and a fixed seed.
pub async fn sim(latency: Duration) -> SimHandle {
    SimServer::start(SimConfig {
        latency,
        seed: 7,
        ..Default::default()
    })
    .await
    .expect("the simulated server starts")
}

/// The chat LM on the server.
pub fn lm(sim: &SimHandle) -> LmHandle {
    LmHandle::new(
        HttpLm::builder()
            .model("sim-1")
            .base_url(sim.base_url())
            .no_api_key()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("the LM builds"),
    )
}

/// The embedding LM on the server.
pub fn embedder(sim: &SimHandle) -> LmHandle {
    LmHandle::new(
        HttpLm::builder()
            .model("sim-embed-1")
            .base_url(sim.base_url())
            .no_api_key()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("the LM builds"),
    )
}

/// Arithmetic questions the simulated model learns from demos.
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

/// The student: one `Predict`.
pub fn program() -> Predict {
    Predict::new("question -> answer: int").expect("the signature parses")
}

pub fn metric() -> Arc<dyn Metric> {
    Arc::new(ExactMatch::new("answer"))
}

pub fn executor(sim: &SimHandle) -> InProcessExecutor {
    InProcessExecutor::from_template(program(), lm(sim), metric())
}

/// The mean dev score of a program state.
pub async fn dev_score(sim: &SimHandle, state: &ProgramState, dev: &[Example]) -> f64 {
    let mut p = program();
    p.load_state(state).expect("the state fits the program");
    Evaluate::with_metric(dev.to_vec(), metric())
        .concurrency(16)
        .run(&p, &CallContext::with_default_lm(lm(sim)))
        .await
        .expect("evaluation runs")
        .summary
        .mean
}
