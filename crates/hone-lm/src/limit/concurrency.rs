//! At most N requests in flight per LM value.

use std::sync::Arc;

use futures_util::StreamExt;
use tokio::sync::Semaphore;

use crate::error::LmError;
use crate::lm::{BoxFuture, CallOptions, ChatStream, Layer, Lm, LmInfo};
use crate::types::embeddings::{EmbeddingRequest, EmbeddingResponse};
use crate::types::request::ChatRequest;
use crate::types::response::ChatResponse;

/// Limits requests in flight to `max`; each wrapped LM gets its own limiter.
///
/// Placed inside the retry layer, a slot is held only while a request is on the wire (and
/// for a stream, until the stream is dropped), not during backoff waits.
#[derive(Debug, Clone, Copy)]
pub struct ConcurrencyLimitLayer {
    max: usize,
}

impl ConcurrencyLimitLayer {
    /// At most `max` (at least 1) requests in flight.
    pub fn new(max: usize) -> Self {
        ConcurrencyLimitLayer { max: max.max(1) }
    }
}

impl<L: Lm> Layer<L> for ConcurrencyLimitLayer {
    type Lm = ConcurrencyLimit<L>;
    fn layer(&self, inner: L) -> ConcurrencyLimit<L> {
        ConcurrencyLimit {
            inner,
            semaphore: Arc::new(Semaphore::new(self.max)),
        }
    }
}

/// An LM with a cap on requests in flight. Built by [`ConcurrencyLimitLayer`].
#[derive(Debug)]
pub struct ConcurrencyLimit<L> {
    inner: L,
    semaphore: Arc<Semaphore>,
}

impl<L> ConcurrencyLimit<L> {
    async fn permit(&self) -> Result<tokio::sync::OwnedSemaphorePermit, LmError> {
        self.semaphore
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| LmError::Config("the concurrency limiter was closed".to_owned()))
    }
}

impl<L: Lm> Lm for ConcurrencyLimit<L> {
    fn chat<'a>(
        &'a self,
        request: ChatRequest,
        options: &'a CallOptions,
    ) -> BoxFuture<'a, Result<ChatResponse, LmError>> {
        Box::pin(async move {
            let _permit = self.permit().await?;
            self.inner.chat(request, options).await
        })
    }

    fn chat_stream<'a>(
        &'a self,
        request: ChatRequest,
        options: &'a CallOptions,
    ) -> BoxFuture<'a, Result<ChatStream, LmError>> {
        Box::pin(async move {
            let permit = self.permit().await?;
            let stream = self.inner.chat_stream(request, options).await?;
            let held: ChatStream = Box::pin(stream.map(move |item| {
                let _ = &permit;
                item
            }));
            Ok(held)
        })
    }

    fn embed<'a>(
        &'a self,
        request: EmbeddingRequest,
        options: &'a CallOptions,
    ) -> BoxFuture<'a, Result<EmbeddingResponse, LmError>> {
        Box::pin(async move {
            let _permit = self.permit().await?;
            self.inner.embed(request, options).await
        })
    }

    fn describe(&self) -> LmInfo {
        self.inner.describe()
    }
}
