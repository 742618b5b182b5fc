//! Streaming output fields as the LM writes them (DSPy's `streamify`).
//!
//! `cargo run -p hone-examples --example streaming`

use std::io::Write;

use futures_util::StreamExt;
use hone::core::Example;
use hone::modules::{CallContext, ChainOfThought, StreamEvent};
use hone_examples::{Backend, Result, model};

/// Runs the example.
#[tokio::main]
pub async fn main() -> Result {
    let backend = Backend::start().await?;
    let ctx = CallContext::with_default_lm(backend.lm(&model())?);
    let program = ChainOfThought::new("question -> answer")?;
    let mut events = program
        .predict()
        .stream(Example::new().with("question", "What is 6 * 7?"), &ctx);
    let mut got_prediction = false;
    while let Some(event) = events.next().await {
        match event? {
            StreamEvent::FieldDelta { field, text } => {
                print!("[{field}] {text}");
                std::io::stdout().flush()?;
            }
            StreamEvent::FieldDone { field } => println!("\n-- {field} done"),
            StreamEvent::Prediction(p) => {
                println!("prediction: {}", serde_json::to_string(&p)?);
                got_prediction = true;
            }
        }
    }
    drop(events);
    backend.stop().await;
    if !got_prediction {
        return Err("the stream ended without a prediction".into());
    }
    Ok(())
}
