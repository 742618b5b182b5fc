//! Requests-per-minute and tokens-per-minute limits.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::bucket::TokenBucket;
use crate::error::LmError;
use crate::lm::{BoxFuture, CallOptions, ChatStream, Layer, Lm, LmInfo};
use crate::types::embeddings::{EmbeddingInput, EmbeddingRequest, EmbeddingResponse};
use crate::types::request::ChatRequest;
use crate::types::response::ChatResponse;

/// Spaces requests to stay under requests-per-minute and tokens-per-minute budgets.
///
/// Tokens are estimated before a call (request JSON bytes / 4 plus the output-token limit)
/// and corrected with the reported usage afterwards. Each wrapped LM gets its own buckets.
///
/// ```
/// use hone_lm::RateLimitLayer;
/// let limits = RateLimitLayer::new().requests_per_minute(500).tokens_per_minute(200_000);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct RateLimitLayer {
    rpm: Option<u32>,
    tpm: Option<u32>,
    burst: Option<u32>,
}

impl RateLimitLayer {
    /// No limits yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// At most `rpm` requests per minute.
    pub fn requests_per_minute(mut self, rpm: u32) -> Self {
        self.rpm = Some(rpm.max(1));
        self
    }

    /// At most `tpm` tokens (input + output) per minute.
    pub fn tokens_per_minute(mut self, tpm: u32) -> Self {
        self.tpm = Some(tpm.max(1));
        self
    }

    /// Requests allowed back to back before spacing starts (default: the whole minute's
    /// worth). `1` spaces every request evenly.
    pub fn burst(mut self, burst: u32) -> Self {
        self.burst = Some(burst.max(1));
        self
    }
}

impl<L: Lm> Layer<L> for RateLimitLayer {
    type Lm = RateLimit<L>;
    fn layer(&self, inner: L) -> RateLimit<L> {
        let now = Instant::now();
        RateLimit {
            inner,
            requests: self.rpm.map(|rpm| {
                let capacity = self.burst.unwrap_or(rpm).min(rpm);
                Mutex::new(TokenBucket::new(capacity as f64, rpm as f64 / 60.0, now))
            }),
            tokens: self
                .tpm
                .map(|tpm| Mutex::new(TokenBucket::new(tpm as f64, tpm as f64 / 60.0, now))),
        }
    }
}

/// An LM whose requests are spaced by rate limits. Built by [`RateLimitLayer`].
#[derive(Debug)]
pub struct RateLimit<L> {
    inner: L,
    requests: Option<Mutex<TokenBucket>>,
    tokens: Option<Mutex<TokenBucket>>,
}

fn with_bucket<T>(bucket: &Mutex<TokenBucket>, f: impl FnOnce(&mut TokenBucket) -> T) -> T {
    match bucket.lock() {
        Ok(mut guard) => f(&mut guard),
        Err(poisoned) => f(&mut poisoned.into_inner()),
    }
}

/// Rough token estimate of a chat request: JSON bytes / 4 plus the output limit.
pub fn estimate_chat_tokens(request: &ChatRequest) -> u64 {
    let bytes = serde_json::to_vec(&request.messages).map_or(0, |v| v.len()) as u64;
    bytes / 4 + u64::from(request.output_token_limit().unwrap_or(0))
}

fn estimate_embed_tokens(request: &EmbeddingRequest) -> u64 {
    match &request.input {
        EmbeddingInput::One(text) => text.len() as u64 / 4,
        EmbeddingInput::Many(texts) => texts.iter().map(|t| t.len() as u64 / 4).sum(),
        EmbeddingInput::Tokens(tokens) => tokens.len() as u64,
        EmbeddingInput::TokenBatches(batches) => batches.iter().map(|b| b.len() as u64).sum(),
    }
}

impl<L> RateLimit<L> {
    async fn admit(&self, estimate: u64) {
        let now = Instant::now();
        let mut wait = Duration::ZERO;
        if let Some(bucket) = &self.requests {
            wait = wait.max(with_bucket(bucket, |b| b.reserve(1.0, now)));
        }
        if let Some(bucket) = &self.tokens {
            wait = wait.max(with_bucket(bucket, |b| b.reserve(estimate as f64, now)));
        }
        if !wait.is_zero() {
            tracing::debug!(wait_ms = wait.as_millis() as u64, "rate limit wait");
            tokio::time::sleep(wait).await;
        }
    }

    fn correct(&self, estimate: u64, actual: Option<u64>) {
        if let (Some(bucket), Some(actual)) = (&self.tokens, actual) {
            let delta = actual as f64 - estimate as f64;
            with_bucket(bucket, |b| b.adjust(delta, Instant::now()));
        }
    }
}

impl<L: Lm> Lm for RateLimit<L> {
    fn chat<'a>(
        &'a self,
        request: ChatRequest,
        options: &'a CallOptions,
    ) -> BoxFuture<'a, Result<ChatResponse, LmError>> {
        Box::pin(async move {
            let estimate = estimate_chat_tokens(&request);
            self.admit(estimate).await;
            let result = self.inner.chat(request, options).await;
            if let Ok(response) = &result {
                self.correct(estimate, response.usage.as_ref().map(|u| u.total_tokens));
            }
            result
        })
    }

    fn chat_stream<'a>(
        &'a self,
        request: ChatRequest,
        options: &'a CallOptions,
    ) -> BoxFuture<'a, Result<ChatStream, LmError>> {
        Box::pin(async move {
            let estimate = estimate_chat_tokens(&request);
            self.admit(estimate).await;
            self.inner.chat_stream(request, options).await
        })
    }

    fn embed<'a>(
        &'a self,
        request: EmbeddingRequest,
        options: &'a CallOptions,
    ) -> BoxFuture<'a, Result<EmbeddingResponse, LmError>> {
        Box::pin(async move {
            let estimate = estimate_embed_tokens(&request);
            self.admit(estimate).await;
            let result = self.inner.embed(request, options).await;
            if let Ok(response) = &result {
                self.correct(estimate, response.usage.as_ref().map(|u| u.total_tokens));
            }
            result
        })
    }

    fn describe(&self) -> LmInfo {
        self.inner.describe()
    }
}
