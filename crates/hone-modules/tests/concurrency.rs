//! One program called concurrently — from 64 tokio tasks and from 8 OS threads through the
//! blocking API — with two LMs on two servers interleaved per call and per predictor. Every
//! result must come from the LM it was bound to, and every trace must hold only its own call.

mod common;

use std::sync::Arc;

use hone_core::{Example, Prediction};
use hone_lm::{BoxFuture, LmHandle};
use hone_modules::blocking::Runner;
use hone_modules::{CallContext, ChainOfThought, Module, ModuleError, Predict, TraceSink};
use hone_sim::{SimConfig, SimServer};

/// Two predictors: `first` has its own LM; `second` uses whatever the call gives.
struct Program {
    first: Predict,
    second: ChainOfThought,
}

impl Module for Program {
    fn forward<'a>(
        &'a self,
        inputs: Example,
        ctx: &'a CallContext,
    ) -> BoxFuture<'a, Result<Prediction, ModuleError>> {
        Box::pin(async move {
            let draft = self.first.call(inputs.clone(), &ctx.child("first")).await?;
            let draft = draft.get("answer").cloned().unwrap_or_default();
            self.second
                .call(inputs.with("draft", draft), &ctx.child("second"))
                .await
        })
    }
    hone_modules::predictors!(first, second);
}

fn program(own: LmHandle) -> Program {
    Program {
        first: Predict::new("question -> answer")
            .expect("signature")
            .with_lm(own),
        second: ChainOfThought::new("question, draft -> answer").expect("signature"),
    }
}

/// Which LM each predictor must use for call `i`: (ctx default, override).
fn plan(i: usize, a: &LmHandle, b: &LmHandle) -> (LmHandle, Option<LmHandle>) {
    let default = if i.is_multiple_of(2) {
        b.clone()
    } else {
        a.clone()
    };
    let over = (i % 4 == 3).then(|| b.clone());
    (default, over)
}

/// Checks one call's trace: exactly this call's question, and each predictor on its LM.
fn check_trace(i: usize, question: &str, trace: &TraceSink, urls: (&str, &str)) {
    let entries = trace.entries();
    let names: Vec<&str> = entries.iter().map(|e| e.predictor.as_str()).collect();
    assert_eq!(names, ["first", "second.predict"], "call {i}");
    for e in &entries {
        assert_eq!(
            e.inputs.get("question").and_then(|v| v.as_str()),
            Some(question),
            "call {i}: a trace entry from another call"
        );
    }
    let first_model = if i % 4 == 3 { "sim-b" } else { "sim-a" };
    let second_model = if i % 4 == 3 || i.is_multiple_of(2) {
        "sim-b"
    } else {
        "sim-a"
    };
    assert_eq!(
        entries[0].lm_model, first_model,
        "call {i}: first predictor's LM"
    );
    assert_eq!(
        entries[0].response_model, first_model,
        "call {i}: first answered by"
    );
    assert_eq!(
        entries[1].lm_model, second_model,
        "call {i}: second predictor's LM"
    );
    assert_eq!(
        entries[1].response_model, second_model,
        "call {i}: second answered by"
    );
    let url = |m: &str| if m == "sim-a" { urls.0 } else { urls.1 };
    assert_eq!(entries[0].lm_base_url, url(first_model), "call {i}");
    assert_eq!(entries[1].lm_base_url, url(second_model), "call {i}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_tasks_two_lms() {
    let sim_a = common::sim(1).await;
    let sim_b = common::sim(2).await;
    let (url_a, url_b) = (sim_a.base_url(), sim_b.base_url());
    let a = common::lm(&url_a, "sim-a");
    let b = common::lm(&url_b, "sim-b");
    let program = Arc::new(program(a.clone()));

    let mut tasks = Vec::new();
    for i in 0..64 {
        let program = Arc::clone(&program);
        let (a, b) = (a.clone(), b.clone());
        tasks.push(tokio::spawn(async move {
            let (default, over) = plan(i, &a, &b);
            let trace = TraceSink::new();
            let mut ctx = CallContext::with_default_lm(default).with_trace(trace.clone());
            if let Some(over) = over {
                ctx = ctx.with_lm_override(over);
            }
            let question = format!("What is {i} + {}?", i * 3);
            let out = program
                .call(Example::new().with("question", question.clone()), &ctx)
                .await;
            (i, question, out, trace)
        }));
    }
    for task in tasks {
        let (i, question, out, trace) = task.await.expect("task");
        let out = out.unwrap_or_else(|e| panic!("call {i} failed: {e}"));
        assert!(out.get("answer").is_some(), "call {i}");
        check_trace(i, &question, &trace, (&url_a, &url_b));
    }
    // Each server saw only its own model.
    let models = |s: &hone_sim::SimHandle| {
        s.stats()
            .requests_by_model
            .keys()
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(models(&sim_a), ["sim-a"]);
    assert_eq!(models(&sim_b), ["sim-b"]);
    sim_a.shutdown().await;
    sim_b.shutdown().await;
}

#[test]
fn eight_threads_blocking_api_two_lms() {
    let sim_a = SimServer::start_blocking(SimConfig {
        seed: 3,
        ..Default::default()
    })
    .expect("sim a");
    let sim_b = SimServer::start_blocking(SimConfig {
        seed: 4,
        ..Default::default()
    })
    .expect("sim b");
    let (url_a, url_b) = (sim_a.base_url(), sim_b.base_url());
    let a = common::lm(&url_a, "sim-a");
    let b = common::lm(&url_b, "sim-b");
    let program = program(a.clone());
    let runner = Runner::new().expect("runner");

    std::thread::scope(|scope| {
        let mut handles = Vec::new();
        for t in 0..8 {
            let (program, runner, a, b) = (&program, &runner, &a, &b);
            let urls = (url_a.as_str(), url_b.as_str());
            handles.push(scope.spawn(move || {
                for k in 0..4 {
                    let i = t * 4 + k;
                    let (default, over) = plan(i, a, b);
                    let trace = TraceSink::new();
                    let mut ctx = CallContext::with_default_lm(default).with_trace(trace.clone());
                    if let Some(over) = over {
                        ctx = ctx.with_lm_override(over);
                    }
                    let question = format!("What is {i} * 7?");
                    let out = runner
                        .call(
                            program,
                            Example::new().with("question", question.clone()),
                            &ctx,
                        )
                        .unwrap_or_else(|e| panic!("call {i} failed: {e}"));
                    assert!(out.get("answer").is_some());
                    check_trace(i, &question, &trace, urls);
                }
            }));
        }
        for h in handles {
            h.join().expect("thread");
        }
    });
    assert_eq!(
        sim_a.stats().requests_by_model.keys().collect::<Vec<_>>(),
        ["sim-a"]
    );
    assert_eq!(
        sim_b.stats().requests_by_model.keys().collect::<Vec<_>>(),
        ["sim-b"]
    );
    drop(runner);
    sim_a.shutdown();
    sim_b.shutdown();
}
