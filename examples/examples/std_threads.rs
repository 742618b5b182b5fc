//! Plain threads, no async runtime of your own: a `blocking::Runner` is a value you share.
//!
//! `cargo run -p hone-examples --example std_threads`

use hone::core::Example;
use hone::modules::blocking::Runner;
use hone::modules::{CallContext, ChainOfThought};
use hone_examples::{BlockingBackend, Result, model};

/// Runs the example.
pub fn main() -> Result {
    let backend = BlockingBackend::start()?;
    let lm = backend.lm(&model())?;
    let program = ChainOfThought::new("question -> answer: float")?;
    let runner = Runner::new()?;

    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|t| {
                let (program, runner, lm) = (&program, &runner, lm.clone());
                scope.spawn(move || {
                    let ctx = CallContext::with_default_lm(lm);
                    let question = format!("What is {t} + 40?");
                    let out = runner.call(
                        program,
                        Example::new().with("question", question.clone()),
                        &ctx,
                    )?;
                    println!(
                        "thread {t}: {question} -> {}",
                        out.get("answer").cloned().unwrap_or_default()
                    );
                    Ok::<_, hone::modules::ModuleError>(())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .map_err(|_| "a thread panicked")?
                    .map_err(Into::into)
            })
            .collect::<Result<Vec<()>>>()
    })?;
    Ok(())
}
