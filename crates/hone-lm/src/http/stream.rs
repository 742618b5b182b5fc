//! Streamed answers: the SSE body of a chat completion as a stream of chunks.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::Value;

use super::Inner;
use super::request::snippet;
use crate::error::{ErrorContext, LmError};
use crate::lm::ChatStream;
use crate::sse::SseParser;
use crate::types::stream::ChatChunk;

/// Turns the SSE body into a stream of chunks; errors if the body ends before `[DONE]`.
pub(super) fn sse_chunks(
    inner: Arc<Inner>,
    response: reqwest::Response,
    ctx: ErrorContext,
    timeout: Duration,
) -> ChatStream {
    sse_stream(inner, response.bytes_stream(), ctx, timeout)
}

struct SseState<S> {
    inner: Arc<Inner>,
    bytes: std::pin::Pin<Box<S>>,
    parser: SseParser,
    pending: std::collections::VecDeque<Result<ChatChunk, LmError>>,
    ctx: ErrorContext,
    timeout: Duration,
    done: bool,
}

pub(super) fn sse_stream<S, B>(
    inner: Arc<Inner>,
    bytes: S,
    ctx: ErrorContext,
    timeout: Duration,
) -> ChatStream
where
    S: futures_core::Stream<Item = reqwest::Result<B>> + Send + 'static,
    B: AsRef<[u8]>,
{
    let state = SseState {
        inner,
        bytes: Box::pin(bytes),
        parser: SseParser::new(),
        pending: Default::default(),
        ctx,
        timeout,
        done: false,
    };
    Box::pin(futures_util::stream::unfold(
        state,
        |mut state| async move {
            loop {
                if let Some(item) = state.pending.pop_front() {
                    if item.is_err() {
                        state.done = true;
                        state.pending.clear();
                    }
                    return Some((item, state));
                }
                if state.done {
                    return None;
                }
                match state.bytes.next().await {
                    Some(Ok(bytes)) => {
                        for event in state.parser.push(bytes.as_ref()) {
                            state.event(event.data);
                        }
                    }
                    Some(Err(err)) => {
                        let err =
                            state
                                .inner
                                .transport_error(err, state.ctx.clone(), state.timeout);
                        state.done = true;
                        return Some((
                            Err(LmError::Stream {
                                message: format!("the stream broke off before [DONE]: {err}"),
                                ctx: state.ctx.clone(),
                            }),
                            state,
                        ));
                    }
                    None => {
                        if let Some(event) = state.parser.finish() {
                            state.event(event.data);
                        }
                        if !state.done {
                            state.done = true;
                            state.pending.push_back(Err(LmError::Stream {
                                message: "the stream ended before [DONE]; the answer is incomplete"
                                    .to_owned(),
                                ctx: state.ctx.clone(),
                            }));
                        }
                    }
                }
            }
        },
    ))
}

impl<S> SseState<S> {
    fn event(&mut self, data: String) {
        if self.done {
            return;
        }
        if data.trim() == "[DONE]" {
            self.done = true;
            return;
        }
        if tracing::enabled!(tracing::Level::TRACE) {
            tracing::trace!(data = %data, "stream event");
        }
        let item = match serde_json::from_str::<Value>(&data) {
            Ok(value) if value.get("error").is_some_and(|e| !e.is_null()) => {
                let message = value["error"]
                    .get("message")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .unwrap_or_else(|| value["error"].to_string());
                Err(LmError::Stream {
                    message: format!(
                        "the server sent an error event: {}",
                        self.inner.redact(message)
                    ),
                    ctx: self.ctx.clone(),
                })
            }
            Ok(value) => serde_json::from_value::<ChatChunk>(value).map_err(|e| LmError::Decode {
                what: "stream chunk",
                message: e.to_string(),
                snippet: snippet(data.as_bytes()),
                ctx: self.ctx.clone(),
            }),
            Err(e) => Err(LmError::Decode {
                what: "stream chunk",
                message: e.to_string(),
                snippet: snippet(data.as_bytes()),
                ctx: self.ctx.clone(),
            }),
        };
        self.pending.push_back(item);
    }
}
