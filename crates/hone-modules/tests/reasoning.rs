//! `ChainOfThought` and a reasoning model's `reasoning_content`, as DSPy 3.4 treats a
//! `dspy.Reasoning` rationale field.

use std::sync::{Arc, Mutex};

use hone_core::Example;
use hone_lm::{
    BoxFuture, CallOptions, ChatRequest, ChatResponse, ChatStream, EmbeddingRequest,
    EmbeddingResponse, Lm, LmError, LmHandle, LmInfo,
};
use hone_modules::{CallContext, ChainOfThought, Module, Sampling};
use serde_json::{Value, json};

/// An in-process model answering `content` with `reasoning_content` beside it, keeping the
/// requests it receives.
#[derive(Clone)]
struct ReasoningLm {
    content: String,
    reasoning: Option<String>,
    native: bool,
    seen: Arc<Mutex<Vec<ChatRequest>>>,
}

impl ReasoningLm {
    fn new(content: &str, reasoning: Option<&str>, native: bool) -> Self {
        ReasoningLm {
            content: content.to_owned(),
            reasoning: reasoning.map(str::to_owned),
            native,
            seen: Arc::default(),
        }
    }

    fn last_request(&self) -> ChatRequest {
        self.seen
            .lock()
            .expect("lock")
            .last()
            .cloned()
            .expect("a request was sent")
    }
}

impl Lm for ReasoningLm {
    fn chat<'a>(
        &'a self,
        request: ChatRequest,
        _options: &'a CallOptions,
    ) -> BoxFuture<'a, Result<ChatResponse, LmError>> {
        self.seen.lock().expect("lock").push(request);
        let mut message = json!({"role": "assistant", "content": self.content});
        if let Some(r) = &self.reasoning {
            message["reasoning_content"] = json!(r);
        }
        let body = json!({
            "id": "r", "object": "chat.completion", "created": 0, "model": "reasoner",
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        });
        Box::pin(
            async move { serde_json::from_value(body).map_err(|e| LmError::Config(e.to_string())) },
        )
    }

    fn chat_stream<'a>(
        &'a self,
        _request: ChatRequest,
        _options: &'a CallOptions,
    ) -> BoxFuture<'a, Result<ChatStream, LmError>> {
        Box::pin(async { Err(LmError::Config("no streaming".into())) })
    }

    fn embed<'a>(
        &'a self,
        _request: EmbeddingRequest,
        _options: &'a CallOptions,
    ) -> BoxFuture<'a, Result<EmbeddingResponse, LmError>> {
        Box::pin(async { Err(LmError::Config("no embeddings".into())) })
    }

    fn describe(&self) -> LmInfo {
        let mut info = LmInfo::default();
        info.model = "reasoner".into();
        info.supports_reasoning = self.native;
        info
    }
}

fn question() -> Example {
    Example::from_json(json!({"question": "What is 6 times 7?"})).expect("inputs")
}

fn system_prompt(request: &ChatRequest) -> String {
    request.messages[0].text().unwrap_or_default()
}

const ANSWER_ONLY: &str = "[[ ## answer ## ]]\n42\n\n[[ ## completed ## ]]";
const WITH_REASONING: &str =
    "[[ ## reasoning ## ]]\nin the text\n\n[[ ## answer ## ]]\n42\n\n[[ ## completed ## ]]";

#[tokio::test]
async fn a_native_reasoner_fills_reasoning_from_reasoning_content() {
    let lm = ReasoningLm::new(ANSWER_ONLY, Some("six sevens are 42"), true);
    let ctx = CallContext::with_default_lm(LmHandle::new(lm.clone()));
    let cot = ChainOfThought::with_native_reasoning("question -> answer").expect("cot");
    let out = cot.forward(question(), &ctx).await.expect("a prediction");
    assert_eq!(out.get("reasoning"), Some(&json!("six sevens are 42")));
    assert_eq!(out.get("answer"), Some(&json!("42")));
    let request = lm.last_request();
    // The field left the prompt; native reasoning was asked for at DSPy's default effort.
    assert!(!system_prompt(&request).contains("`reasoning`"));
    assert_eq!(request.extra.get("reasoning_effort"), Some(&json!("low")));
}

#[tokio::test]
async fn a_native_reasoner_without_reasoning_content_gives_none() {
    let lm = ReasoningLm::new(ANSWER_ONLY, None, true);
    let ctx = CallContext::with_default_lm(LmHandle::new(lm.clone()));
    let cot = ChainOfThought::with_native_reasoning("question -> answer").expect("cot");
    let out = cot.forward(question(), &ctx).await.expect("a prediction");
    assert_eq!(out.get("reasoning"), Some(&Value::Null));
    assert_eq!(out.get("answer"), Some(&json!("42")));
}

#[tokio::test]
async fn reasoning_effort_set_to_none_keeps_the_field_in_the_prompt() {
    let lm = ReasoningLm::new(WITH_REASONING, None, true);
    let mut config = Sampling::default();
    config.extra.insert("reasoning_effort".into(), Value::Null);
    let ctx = CallContext::with_default_lm(LmHandle::new(lm.clone())).with_config(config);
    let cot = ChainOfThought::with_native_reasoning("question -> answer").expect("cot");
    let out = cot.forward(question(), &ctx).await.expect("a prediction");
    assert_eq!(out.get("reasoning"), Some(&json!("in the text")));
    assert!(system_prompt(&lm.last_request()).contains("`reasoning`"));
}

#[tokio::test]
async fn a_model_without_native_reasoning_is_overridden_by_reasoning_content_it_sends() {
    let lm = ReasoningLm::new(WITH_REASONING, Some("the server's reasoning"), false);
    let ctx = CallContext::with_default_lm(LmHandle::new(lm.clone()));
    let cot = ChainOfThought::with_native_reasoning("question -> answer").expect("cot");
    let out = cot.forward(question(), &ctx).await.expect("a prediction");
    assert_eq!(out.get("reasoning"), Some(&json!("the server's reasoning")));
    let request = lm.last_request();
    assert!(system_prompt(&request).contains("`reasoning`"));
    assert_eq!(request.extra.get("reasoning_effort"), None);
}

#[tokio::test]
async fn the_default_str_reasoning_is_always_parsed_from_the_answer() {
    let lm = ReasoningLm::new(WITH_REASONING, Some("hidden reasoning"), true);
    let ctx = CallContext::with_default_lm(LmHandle::new(lm.clone()));
    let cot = ChainOfThought::new("question -> answer").expect("cot");
    let out = cot.forward(question(), &ctx).await.expect("a prediction");
    assert_eq!(out.get("reasoning"), Some(&json!("in the text")));
    assert_eq!(lm.last_request().extra.get("reasoning_effort"), None);
}
