//! One program, many tokio tasks, a different LM per task: the LM travels with the call.
//!
//! `cargo run -p hone-examples --example tokio_tasks`

use std::sync::Arc;

use hone::core::Example;
use hone::modules::{CallContext, Module, Predict, TraceSink};
use hone_examples::{Backend, Result};

/// Runs the example.
#[tokio::main]
pub async fn main() -> Result {
    let backend = Backend::start().await?;
    let small = backend.lm(&hone_examples::model())?;
    let large = backend.lm("sim-large")?;
    let program = Arc::new(Predict::new("question -> answer: float")?);

    let mut tasks = Vec::new();
    for i in 0..16 {
        let program = Arc::clone(&program);
        let lm = if i % 2 == 0 {
            small.clone()
        } else {
            large.clone()
        };
        tasks.push(tokio::spawn(async move {
            let trace = TraceSink::new();
            let ctx = CallContext::with_default_lm(lm).with_trace(trace.clone());
            let out = program
                .call(
                    Example::new().with("question", format!("What is {i} * 3?")),
                    &ctx,
                )
                .await?;
            let model = trace.entries().first().map(|e| e.response_model.clone());
            Ok::<_, hone::modules::ModuleError>((i, out, model))
        }));
    }
    for task in tasks {
        let (i, out, model) = task.await??;
        println!(
            "{i} * 3 = {} (answered by {model:?})",
            out.get("answer").cloned().unwrap_or_default()
        );
    }
    backend.stop().await;
    Ok(())
}
