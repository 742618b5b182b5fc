//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use hone_lm::{
    BoxFuture, CallOptions, ChatRequest, ChatResponse, ChatStream, EmbeddingRequest,
    EmbeddingResponse, HttpLm, Lm, LmError, LmHandle, LmInfo,
};
use hone_sim::{SimConfig, SimHandle, SimServer};
use serde_json::json;

/// A simulated server with no latency.
pub async fn sim(seed: u64) -> SimHandle {
    SimServer::start(SimConfig {
        seed,
        ..Default::default()
    })
    .await
    .expect("the simulated server starts")
}

/// An LM for `model` on the server at `base_url`.
pub fn lm(base_url: &str, model: &str) -> LmHandle {
    LmHandle::new(
        HttpLm::builder()
            .model(model)
            .base_url(base_url)
            .no_api_key()
            .timeout(Duration::from_secs(20))
            .build()
            .expect("the LM builds"),
    )
}

/// The text of every message of a request, joined.
pub fn prompt_text(request: &ChatRequest) -> String {
    request
        .messages
        .iter()
        .filter_map(|m| m.text())
        .collect::<Vec<_>>()
        .join("\n")
}

type Script = dyn Fn(&ChatRequest) -> String + Send + Sync;

/// An in-process LM answering from a script, counting its calls.
#[derive(Clone)]
pub struct ScriptedLm {
    script: Arc<Script>,
    pub calls: Arc<AtomicUsize>,
    finish_reason: &'static str,
}

impl ScriptedLm {
    pub fn new(script: impl Fn(&ChatRequest) -> String + Send + Sync + 'static) -> Self {
        ScriptedLm {
            script: Arc::new(script),
            calls: Arc::new(AtomicUsize::new(0)),
            finish_reason: "stop",
        }
    }

    /// Answers with this `finish_reason` (default `stop`).
    pub fn with_finish_reason(mut self, reason: &'static str) -> Self {
        self.finish_reason = reason;
        self
    }

    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

impl Lm for ScriptedLm {
    fn chat<'a>(
        &'a self,
        request: ChatRequest,
        _options: &'a CallOptions,
    ) -> BoxFuture<'a, Result<ChatResponse, LmError>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let text = (self.script)(&request);
        let finish_reason = self.finish_reason;
        Box::pin(async move {
            let value = json!({
                "id": "scripted",
                "object": "chat.completion",
                "created": 0,
                "model": "scripted",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish_reason}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
            });
            serde_json::from_value(value).map_err(|e| LmError::Config(e.to_string()))
        })
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
        info.model = "scripted".into();
        info.provider = "test".into();
        info.base_url = "memory://scripted".into();
        info
    }
}
