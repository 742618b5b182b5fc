//! An external worker loop (a queue consumer, as in Celery or a job runner): jobs arrive on a
//! channel, each naming the model it wants; the worker switches LMs per job by passing a
//! different context — no global configuration to guard.
//!
//! `cargo run -p hone-examples --example worker_loop`

use std::collections::HashMap;
use std::sync::mpsc;

use hone::core::Example;
use hone::modules::blocking::Runner;
use hone::modules::{CallContext, Predict};
use hone_examples::{BlockingBackend, Result};

struct Job {
    id: usize,
    model: &'static str,
    question: String,
}

/// Runs the example.
pub fn main() -> Result {
    let backend = BlockingBackend::start()?;
    let mut lms = HashMap::new();
    for model in ["sim-fast", "sim-careful"] {
        lms.insert(model, backend.lm(model)?);
    }
    let (jobs, queue) = mpsc::channel::<Job>();
    let (results, done) = mpsc::channel();

    let worker = std::thread::spawn(move || -> Result {
        let runner = Runner::new()?;
        let program = Predict::new("question -> answer")?;
        for job in queue {
            let Some(lm) = lms.get(job.model) else {
                results.send((job.id, Err(format!("unknown model {}", job.model))))?;
                continue;
            };
            let ctx = CallContext::with_default_lm(lm.clone());
            let out = runner
                .call(
                    &program,
                    Example::new().with("question", job.question),
                    &ctx,
                )
                .map_err(|e| e.to_string());
            results.send((job.id, out))?;
        }
        Ok(())
    });

    for id in 0..6 {
        let model = if id % 2 == 0 {
            "sim-fast"
        } else {
            "sim-careful"
        };
        jobs.send(Job {
            id,
            model,
            question: format!("What is {id} + {id}?"),
        })?;
    }
    drop(jobs);
    for (id, out) in done {
        match out {
            Ok(p) => println!("job {id}: {}", p.get("answer").cloned().unwrap_or_default()),
            Err(e) => return Err(format!("job {id} failed: {e}").into()),
        }
    }
    worker.join().map_err(|_| "the worker panicked")??;
    Ok(())
}
