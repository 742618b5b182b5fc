//! `Predict` with DSPy's `TwoStepAdapter`: the main LM answers a free-form prompt, then the
//! extraction LM turns that answer into the outputs with the ChatAdapter.

mod common;

use std::sync::{Arc, Mutex};

use common::ScriptedLm;
use hone_core::adapter::{Adapter, ChatAdapter, TwoStepAdapter};
use hone_core::{Example, Signature};
use hone_lm::{ChatRequest, LmHandle};
use hone_modules::{CallContext, ChainOfThought, Module, Predict, TraceSink};
use serde_json::json;

/// A scripted LM that keeps every request it receives.
fn recording(
    answer: impl Fn(&ChatRequest) -> String + Send + Sync + 'static,
) -> (ScriptedLm, Arc<Mutex<Vec<ChatRequest>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let kept = seen.clone();
    let lm = ScriptedLm::new(move |req| {
        kept.lock().expect("lock").push(req.clone());
        answer(req)
    });
    (lm, seen)
}

fn texts(req: &ChatRequest) -> Vec<String> {
    req.messages
        .iter()
        .map(|m| m.text().unwrap_or_default())
        .collect()
}

fn inputs() -> Example {
    Example::from_json(json!({"question": "What is 6 times 7?"})).expect("inputs")
}

#[tokio::test]
async fn predict_makes_the_main_call_then_the_extraction_call() {
    let sig = Signature::parse("question -> answer: int").expect("signature");
    let (main, main_seen) = recording(|_| "Six sevens are forty-two, so: 42.".to_owned());
    let (extractor, extractor_seen) =
        recording(|_| "[[ ## answer ## ]]\n42\n\n[[ ## completed ## ]]".to_owned());
    let trace = TraceSink::new();
    let ctx = CallContext::with_default_lm(LmHandle::new(main.clone()))
        .with_adapter(TwoStepAdapter::new())
        .with_extraction_lm(LmHandle::new(extractor.clone()))
        .with_trace(trace.clone());
    let out = Predict::new(sig.clone())
        .expect("predict")
        .forward(inputs(), &ctx)
        .await
        .expect("two-step call");
    assert_eq!(out.get("answer"), Some(&json!(42)));
    assert_eq!((main.calls(), extractor.calls()), (1, 1));

    let expected_main = TwoStepAdapter::new()
        .format(&sig, &[], &inputs())
        .expect("format");
    let main_req = main_seen.lock().expect("lock")[0].clone();
    assert_eq!(
        texts(&main_req),
        expected_main
            .iter()
            .map(|m| m.content.clone())
            .collect::<Vec<_>>()
    );
    let extraction = TwoStepAdapter::new()
        .extraction_signature(&sig)
        .expect("two-step");
    let text =
        Example::from_json(json!({"text": "Six sevens are forty-two, so: 42."})).expect("text");
    let expected_extraction = ChatAdapter::new()
        .format(&extraction, &[], &text)
        .expect("format");
    let extraction_req = extractor_seen.lock().expect("lock")[0].clone();
    assert_eq!(
        texts(&extraction_req),
        expected_extraction
            .iter()
            .map(|m| m.content.clone())
            .collect::<Vec<_>>()
    );

    let entries = trace.entries();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].adapter, "TwoStepAdapter");
    assert_eq!(entries[0].completion, "Six sevens are forty-two, so: 42.");
    // Both calls' usage: the scripted LM reports 2 tokens per call.
    assert_eq!(entries[0].usage.as_ref().map(|u| u.total_tokens), Some(4));
}

#[tokio::test]
async fn without_an_extraction_lm_the_main_lm_extracts() {
    let lm = ScriptedLm::new(|req| {
        let system = req.messages[0].text().unwrap_or_default();
        if system.starts_with("You are a helpful assistant") {
            "It is Paris.".to_owned()
        } else {
            "[[ ## answer ## ]]\nParis\n\n[[ ## completed ## ]]".to_owned()
        }
    });
    let ctx = CallContext::with_default_lm(LmHandle::new(lm.clone()));
    let p = Predict::new("question -> answer")
        .expect("predict")
        .with_adapter(TwoStepAdapter::new());
    let out = p.forward(inputs(), &ctx).await.expect("two-step call");
    assert_eq!(out.get("answer"), Some(&json!("Paris")));
    assert_eq!(lm.calls(), 2);
}

#[tokio::test]
async fn a_predictors_extraction_lm_beats_the_contexts() {
    let main = ScriptedLm::new(|_| "free text".to_owned());
    let answer = |who: &str| {
        format!(
            "[[ ## reasoning ## ]]\nread it\n\n[[ ## answer ## ]]\n{who}\n\n[[ ## completed ## ]]"
        )
    };
    let mine = ScriptedLm::new(move |_| answer("mine"));
    let theirs = ScriptedLm::new(move |_| answer("theirs"));
    let ctx = CallContext::with_default_lm(LmHandle::new(main))
        .with_adapter(TwoStepAdapter::new())
        .with_extraction_lm(LmHandle::new(theirs.clone()));
    let mut cot = ChainOfThought::new("question -> answer").expect("cot");
    for (_, p) in cot.named_predictors_mut() {
        p.set_extraction_lm(Some(LmHandle::new(mine.clone())));
    }
    let out = cot.forward(inputs(), &ctx).await.expect("two-step call");
    assert_eq!(out.get("answer"), Some(&json!("mine")));
    assert_eq!((mine.calls(), theirs.calls()), (1, 0));
}

#[tokio::test]
async fn an_unreadable_extraction_falls_back_to_json_then_fails_as_a_parse_error() {
    let main = ScriptedLm::new(|_| "free text".to_owned());
    let extractor = ScriptedLm::new(|_| "no fields here".to_owned());
    let ctx = CallContext::with_default_lm(LmHandle::new(main.clone()))
        .with_adapter(TwoStepAdapter::new())
        .with_extraction_lm(LmHandle::new(extractor.clone()));
    let e = Predict::new("question -> answer: int")
        .expect("predict")
        .forward(inputs(), &ctx)
        .await
        .expect_err("nothing to extract");
    assert!(e.is_parse_error(), "{e}");
    // The main LM once; the extraction LM with the ChatAdapter, then the JSON adapter.
    assert_eq!((main.calls(), extractor.calls()), (1, 2));
}
