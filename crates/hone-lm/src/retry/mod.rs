//! Retries as a layer: [`RetryLayer`] / [`Retry`].
//!
//! Retries statuses 408, 409, 429, 500, 502, 503, 504 (configurable), connection failures,
//! timeouts and broken bodies, with exponential backoff and jitter. A server's
//! `retry-after-ms` / `Retry-After` replaces the backoff wait, capped by
//! [`RetryLayer::max_retry_after`]. An overall deadline bounds the whole call: when the next
//! wait would pass it, the call fails at once with [`LmError::DeadlineExceeded`].

pub mod backoff;
pub mod retry_after;

use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::error::{ErrorContext, LmError, RETRYABLE_STATUSES};
use crate::lm::{BoxFuture, CallOptions, ChatStream, Layer, Lm, LmInfo};
use crate::types::embeddings::{EmbeddingRequest, EmbeddingResponse};
use crate::types::request::ChatRequest;
use crate::types::response::ChatResponse;
use backoff::{Backoff, Jitter};

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
            | LmError::Body { .. } => true,
            _ => false,
        }
    }
}

impl<L: Lm> Layer<L> for RetryLayer {
    type Lm = Retry<L>;
    fn layer(&self, inner: L) -> Retry<L> {
        let jitter = match self.seed {
            Some(seed) => Jitter::seeded(seed),
            None => Jitter::new(),
        };
        Retry {
            info: inner.describe(),
            inner,
            config: self.clone(),
            jitter: Mutex::new(jitter),
        }
    }
}

/// An LM that retries transient failures of its inner LM. Built by [`RetryLayer`].
#[derive(Debug)]
pub struct Retry<L> {
    inner: L,
    info: LmInfo,
    config: RetryLayer,
    jitter: Mutex<Jitter>,
}

impl<L: Lm> Retry<L> {
    fn random(&self) -> f64 {
        match self.jitter.lock() {
            Ok(mut jitter) => jitter.next_f64(),
            Err(poisoned) => poisoned.into_inner().next_f64(),
        }
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

impl<L: Lm> Lm for Retry<L> {
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
            let (stream, _) = self
                .run(&model, options, || {
                    self.inner.chat_stream(request.clone(), options)
                })
                .await?;
            Ok(stream)
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
