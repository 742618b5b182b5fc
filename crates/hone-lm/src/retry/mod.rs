//! Retries as a layer: [`RetryLayer`] / [`Retry`].
//!
//! Retries statuses 408, 409, 429, 500, 502, 503, 504 (configurable), connection failures,
//! timeouts, broken bodies and 2xx bodies that are not a completion (invalid JSON, empty, no
//! `choices`), with exponential backoff and jitter. A stream that breaks off is requested
//! again and continues where it broke, provided the new stream repeats the chunks already
//! delivered (otherwise the break is the stream's error). A server's
//! `retry-after-ms` / `Retry-After` replaces the backoff wait, capped by
//! [`RetryLayer::max_retry_after`]. An overall deadline bounds the whole call: when the next
//! wait would pass it, the call fails at once with [`LmError::DeadlineExceeded`].

pub mod backoff;
pub mod retry_after;

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use crate::error::{ErrorContext, LmError, RETRYABLE_STATUSES};
use crate::lm::{BoxFuture, CallOptions, ChatStream, Layer, Lm, LmInfo};
use crate::types::embeddings::{EmbeddingRequest, EmbeddingResponse};
use crate::types::request::ChatRequest;
use crate::types::response::ChatResponse;
use crate::types::stream::ChunkChoice;
use backoff::{Backoff, Jitter};
use futures_util::StreamExt;

/// Configuration of the retry layer; [`Layer::layer`] wraps an LM in a [`Retry`].
///
/// ```
/// use std::time::Duration;
/// use hone_lm::RetryLayer;
/// let retry = RetryLayer::new()
///     .max_attempts(5)
///     .deadline(Some(Duration::from_secs(60)))
///     .max_retry_after(Duration::from_secs(20));
/// ```
#[derive(Debug, Clone)]
pub struct RetryLayer {
    max_attempts: u32,
    backoff: Backoff,
    max_retry_after: Duration,
    deadline: Option<Duration>,
    statuses: Vec<u16>,
    seed: Option<u64>,
}

impl Default for RetryLayer {
    /// 4 attempts, [`Backoff::default`], server waits capped at 60 s, a 10 minute deadline.
    fn default() -> Self {
        RetryLayer {
            max_attempts: 4,
            backoff: Backoff::default(),
            max_retry_after: Duration::from_secs(60),
            deadline: Some(Duration::from_secs(600)),
            statuses: RETRYABLE_STATUSES.to_vec(),
            seed: None,
        }
    }
}

impl RetryLayer {
    /// The defaults (see [`Default`]).
    pub fn new() -> Self {
        Self::default()
    }

    /// Total attempts including the first (at least 1).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The backoff between attempts when the server names no wait.
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// The longest server-requested wait honoured; longer requests are cut to this.
    pub fn max_retry_after(mut self, max: Duration) -> Self {
        self.max_retry_after = max;
        self
    }

    /// Time budget for a whole call including waits; `None` for no limit.
    /// [`CallOptions::deadline`] overrides it per call.
    pub fn deadline(mut self, deadline: Option<Duration>) -> Self {
        self.deadline = deadline;
        self
    }

    /// The HTTP statuses to retry (default [`RETRYABLE_STATUSES`]).
    pub fn statuses(mut self, statuses: impl IntoIterator<Item = u16>) -> Self {
        self.statuses = statuses.into_iter().collect();
        self
    }

    /// Seeds the jitter, for reproducible waits.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    fn retryable(&self, err: &LmError) -> bool {
        match err {
            LmError::Api(api) => self.statuses.contains(&api.status),
            LmError::Connect { .. }
            | LmError::Unreachable { .. }
            | LmError::Timeout { .. }
            | LmError::Body { .. }
            | LmError::Decode { .. }
            | LmError::Stream { .. } => true,
            _ => false,
        }
    }
}

impl<L: Lm + 'static> Layer<L> for RetryLayer {
    type Lm = Retry<L>;
    fn layer(&self, inner: L) -> Retry<L> {
        let jitter = match self.seed {
            Some(seed) => Jitter::seeded(seed),
            None => Jitter::new(),
        };
        Retry {
            info: inner.describe(),
            inner: Arc::new(inner),
            config: self.clone(),
            jitter: Arc::new(Mutex::new(jitter)),
        }
    }
}

/// An LM that retries transient failures of its inner LM. Built by [`RetryLayer`].
#[derive(Debug)]
pub struct Retry<L> {
    inner: Arc<L>,
    info: LmInfo,
    config: RetryLayer,
    jitter: Arc<Mutex<Jitter>>,
}

fn random(jitter: &Mutex<Jitter>) -> f64 {
    match jitter.lock() {
        Ok(mut jitter) => jitter.next_f64(),
        Err(poisoned) => poisoned.into_inner().next_f64(),
    }
}

impl<L: Lm + 'static> Retry<L> {
    fn random(&self) -> f64 {
        random(&self.jitter)
    }

    fn ctx(&self, model: &str, attempts: u32) -> ErrorContext {
        let host = if self.info.port == 443 || self.info.port == 80 {
            self.info.host.clone()
        } else {
            format!("{}:{}", self.info.host, self.info.port)
        };
        ErrorContext {
            model: if model.is_empty() {
                self.info.model.clone()
            } else {
                model.to_owned()
            },
            host,
            attempts,
        }
    }

    /// Runs `attempt` until it succeeds, fails for good, or the budget runs out.
    /// Returns the value and the number of attempts made.
    async fn run<T, F, Fut>(
        &self,
        model: &str,
        options: &CallOptions,
        mut attempt: F,
    ) -> Result<(T, u32), LmError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, LmError>>,
    {
        let start = Instant::now();
        let budget = options.deadline.or(self.config.deadline);
        let mut attempts = 0;
        let mut last: Option<LmError> = None;
        loop {
            attempts += 1;
            let result = match budget {
                Some(budget) => match tokio::time::timeout_at(start + budget, attempt()).await {
                    Ok(result) => result,
                    Err(_) => {
                        return Err(LmError::DeadlineExceeded {
                            deadline: budget,
                            elapsed: start.elapsed(),
                            last: last.map(|e| Box::new(e.with_attempts(attempts - 1))),
                            ctx: self.ctx(model, attempts),
                        });
                    }
                },
                None => attempt().await,
            };
            let err = match result {
                Ok(value) => return Ok((value, attempts)),
                Err(err) => err,
            };
            if !self.config.retryable(&err) || attempts >= self.config.max_attempts {
                if attempts > 1 {
                    tracing::debug!(attempts, error = %err, "giving up");
                }
                return Err(err.with_attempts(attempts));
            }
            let wait = match err.retry_after() {
                Some(asked) => asked.min(self.config.max_retry_after),
                None => self.config.backoff.delay(attempts, self.random()),
            };
            if let Some(budget) = budget
                && start.elapsed() + wait > budget
            {
                return Err(LmError::DeadlineExceeded {
                    deadline: budget,
                    elapsed: start.elapsed(),
                    last: Some(Box::new(err.with_attempts(attempts))),
                    ctx: self.ctx(model, attempts),
                });
            }
            tracing::debug!(
                attempt = attempts,
                wait_ms = wait.as_millis() as u64,
                error = %err,
                "retrying"
            );
            tokio::time::sleep(wait).await;
            last = Some(err);
        }
    }
}

impl<L: Lm + 'static> Lm for Retry<L> {
    fn chat<'a>(
        &'a self,
        request: ChatRequest,
        options: &'a CallOptions,
    ) -> BoxFuture<'a, Result<ChatResponse, LmError>> {
        Box::pin(async move {
            let model = request.model.clone();
            let (mut response, attempts) = self
                .run(&model, options, || {
                    self.inner.chat(request.clone(), options)
                })
                .await?;
            response.meta.attempts = attempts;
            Ok(response)
        })
    }

    fn chat_stream<'a>(
        &'a self,
        request: ChatRequest,
        options: &'a CallOptions,
    ) -> BoxFuture<'a, Result<ChatStream, LmError>> {
        Box::pin(async move {
            let model = request.model.clone();
            let (stream, attempts) = self
                .run(&model, options, || {
                    self.inner.chat_stream(request.clone(), options)
                })
                .await?;
            Ok(Replay {
                inner: self.inner.clone(),
                request,
                options: options.clone(),
                config: self.config.clone(),
                jitter: self.jitter.clone(),
                attempts,
                stream: Some(stream),
                delivered: Vec::new(),
                replayed: None,
                broke: None,
            }
            .into_stream())
        })
    }

    fn embed<'a>(
        &'a self,
        request: EmbeddingRequest,
        options: &'a CallOptions,
    ) -> BoxFuture<'a, Result<EmbeddingResponse, LmError>> {
        Box::pin(async move {
            let model = request.model.clone();
            let (mut response, attempts) = self
                .run(&model, options, || {
                    self.inner.embed(request.clone(), options)
                })
                .await?;
            response.meta.attempts = attempts;
            Ok(response)
        })
    }

    fn describe(&self) -> LmInfo {
        self.inner.describe()
    }
}

/// A stream that, when it breaks off, is requested again and continues: the chunks already
/// delivered are read again from the new stream and dropped, provided they are the same.
struct Replay<L> {
    inner: Arc<L>,
    request: ChatRequest,
    options: CallOptions,
    config: RetryLayer,
    jitter: Arc<Mutex<Jitter>>,
    /// Requests made so far.
    attempts: u32,
    stream: Option<ChatStream>,
    /// The choices of each chunk delivered.
    delivered: Vec<Vec<ChunkChoice>>,
    /// While catching up after a new request: chunks of `delivered` seen again.
    replayed: Option<usize>,
    /// The break being recovered from.
    broke: Option<LmError>,
}

impl<L: Lm + 'static> Replay<L> {
    fn into_stream(self) -> ChatStream {
        Box::pin(futures_util::stream::unfold(self, |mut s| async move {
            let item = s.next().await?;
            Some((item, s))
        }))
    }

    /// The break as the stream's final error, after `attempts` requests.
    fn give_up(&mut self, err: LmError) -> Option<Result<crate::ChatChunk, LmError>> {
        self.stream = None;
        Some(Err(err.with_attempts(self.attempts)))
    }

    async fn next(&mut self) -> Option<Result<crate::ChatChunk, LmError>> {
        loop {
            let stream = self.stream.as_mut()?;
            match stream.next().await {
                Some(Ok(chunk)) => match self.replayed {
                    Some(seen) if seen < self.delivered.len() => {
                        if chunk.choices != self.delivered[seen] {
                            let err = self.broke.take()?;
                            tracing::debug!("the repeated stream differs; giving up");
                            return self.give_up(err);
                        }
                        self.replayed = Some(seen + 1);
                    }
                    _ => {
                        self.replayed = None;
                        self.broke = None;
                        self.delivered.push(chunk.choices.clone());
                        return Some(Ok(chunk));
                    }
                },
                None => {
                    if let Some(err) = self.broke.take() {
                        return self.give_up(err);
                    }
                    self.stream = None;
                    return None;
                }
                Some(Err(err)) => {
                    if !self.config.retryable(&err) || self.attempts >= self.config.max_attempts {
                        return self.give_up(err);
                    }
                    let wait = self
                        .config
                        .backoff
                        .delay(self.attempts, random(&self.jitter));
                    tracing::debug!(
                        attempt = self.attempts,
                        wait_ms = wait.as_millis() as u64,
                        error = %err,
                        "the stream broke off; requesting it again"
                    );
                    tokio::time::sleep(wait).await;
                    self.attempts += 1;
                    self.broke = Some(err);
                    self.replayed = Some(0);
                    match self
                        .inner
                        .chat_stream(self.request.clone(), &self.options)
                        .await
                    {
                        Ok(stream) => self.stream = Some(stream),
                        Err(next) => {
                            // A failed request counts as the break again: retried the same way.
                            let retry: ChatStream =
                                Box::pin(futures_util::stream::once(async move { Err(next) }));
                            self.stream = Some(retry);
                        }
                    }
                }
            }
        }
    }
}
