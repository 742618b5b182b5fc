//! hone against a real local LM (llama.cpp's llama-server with Gemma 3 270M in CI).
//!
//! Runs only when `HONE_REAL_LM_URL` is set (`scripts/local-lm start` prints the URL;
//! `scripts/test` sets it); otherwise each test prints why it skipped and passes.
//!
//! The model is tiny: the tests assert that calls complete, parse and are reproducible, and
//! report the scores without asserting a level the model cannot reach.

use hone_core::adapter::{Adapter, JsonAdapter};
use hone_e2e::{RealLm, SKIP_MESSAGE, URL_ENV, call_adapter, sentiment};
use serde_json::Value;

/// The real LM, or `None` (after printing why) when the tests should skip.
fn real_lm() -> Option<RealLm> {
    match RealLm::from_env() {
        Ok(Some(real)) => Some(real),
        Ok(None) => {
            eprintln!("{SKIP_MESSAGE}");
            None
        }
        Err(e) => panic!("{URL_ENV} does not name a usable server: {e}"),
    }
}

/// The label of a parsed sentiment prediction, checked to be one of the task's labels.
fn label(prediction: &hone_core::Prediction) -> &str {
    let value = prediction.get("sentiment");
    match value {
        Some(Value::String(s)) if sentiment::LABELS.contains(&s.as_str()) => s,
        other => panic!("sentiment is not a label: {other:?}"),
    }
}

/// JSONAdapter with a JSON-schema `response_format`, zero-shot, on every dev example: every
/// completion parses into a valid label. Prints the accuracy and latency.
#[tokio::test]
async fn json_adapter_structured_output_zero_shot() {
    let Some(real) = real_lm() else { return };
    let signature = sentiment::signature();
    let adapter = JsonAdapter::new();
    assert!(
        adapter.response_format(&signature).is_some(),
        "JSONAdapter sends a response_format for this signature"
    );
    let dev = sentiment::dev().expect("dev split");
    let mut correct = 0;
    let mut latencies = Vec::new();
    for example in &dev {
        let call = call_adapter(&real, &adapter, &signature, &[], &example.inputs())
            .await
            .expect("LM call");
        assert!(
            call.request.response_format.is_some(),
            "request carries the json_schema"
        );
        let prediction = call.prediction.unwrap_or_else(|e| {
            panic!(
                "completion {:?} does not parse: {e}",
                call.completion.as_str()
            )
        });
        let predicted = label(&prediction);
        let expected = example.get("sentiment").and_then(Value::as_str);
        if Some(predicted) == expected {
            correct += 1;
        }
        latencies.push(call.latency);
    }
    latencies.sort();
    println!(
        "real LM {} ({}): JSONAdapter zero-shot accuracy {correct}/{} on sentiment dev; \
         latency per call median {:.2}s, max {:.2}s",
        real.model,
        real.base_url,
        dev.len(),
        latencies[latencies.len() / 2].as_secs_f64(),
        latencies[latencies.len() - 1].as_secs_f64(),
    );
}

/// At temperature 0 the same request gives the same answer.
#[tokio::test]
async fn same_request_same_answer() {
    let Some(real) = real_lm() else { return };
    let signature = sentiment::signature();
    let adapter = JsonAdapter::new();
    let dev = sentiment::dev().expect("dev split");
    for example in dev.iter().take(3) {
        let inputs = example.inputs();
        let first = call_adapter(&real, &adapter, &signature, &[], &inputs)
            .await
            .expect("first call");
        let second = call_adapter(&real, &adapter, &signature, &[], &inputs)
            .await
            .expect("second call");
        assert_eq!(first.request, second.request, "the same request was sent");
        assert_eq!(
            first.completion, second.completion,
            "same request, same completion at temperature 0"
        );
    }
}
