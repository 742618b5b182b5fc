//! A circuit breaker as a layer: [`BreakerLayer`] / [`Breaker`].
//!
//! A run against a server that is down should fail in seconds, not after spending its whole
//! budget on calls that cannot succeed. The breaker watches the outcome of every call (after
//! the retry layer's attempts) and opens:
//!
//! - at once when a call finds the server [unreachable](LmError::Unreachable) (connection
//!   refused, a host name that does not resolve) and no call through this breaker has ever
//!   succeeded: the base URL is wrong or the server is not started;
//! - after `threshold` failed calls in a row otherwise: a server that keeps failing.
//!
//! While open, calls fail at once with [`LmError::CircuitOpen`], which names the error that
//! opened it. After `cooldown` one call is let through as a probe; its success closes the
//! breaker. Errors that belong to one request (HTTP 400, 404, 413, 422: a prompt too long, a
//! parameter the provider rejects) do not count.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use crate::error::{ErrorContext, LmError};
use crate::lm::{BoxFuture, CallOptions, ChatStream, Layer, Lm, LmInfo};
use crate::types::embeddings::{EmbeddingRequest, EmbeddingResponse};
use crate::types::request::ChatRequest;
use crate::types::response::ChatResponse;

/// Configuration of the circuit breaker; [`Layer::layer`] wraps an LM in a [`Breaker`].
///
/// ```
/// use std::time::Duration;
/// use hone_lm::BreakerLayer;
/// let breaker = BreakerLayer::new().threshold(5).cooldown(Duration::from_secs(10));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct BreakerLayer {
    threshold: u32,
    cooldown: Duration,
}

impl Default for BreakerLayer {
    /// Opens after 10 failed calls in a row (or the first unreachable server); probes after 30 s.
    fn default() -> Self {
        BreakerLayer {
            threshold: 10,
            cooldown: Duration::from_secs(30),
        }
    }
}

impl BreakerLayer {
    /// The defaults (see [`Default`]).
    pub fn new() -> Self {
        Self::default()
    }

    /// Failed calls in a row that open the breaker (at least 1).
    pub fn threshold(mut self, failures: u32) -> Self {
        self.threshold = failures.max(1);
        self
    }

    /// How long the breaker stays open before it lets one probe call through.
    pub fn cooldown(mut self, cooldown: Duration) -> Self {
        self.cooldown = cooldown;
        self
    }
}

impl<L: Lm> Layer<L> for BreakerLayer {
    type Lm = Breaker<L>;
    fn layer(&self, inner: L) -> Breaker<L> {
        Breaker {
            info: inner.describe(),
            inner,
            config: *self,
            state: Arc::new(Mutex::new(State::default())),
        }
    }
}

#[derive(Debug, Default)]
struct State {
    /// Failed calls since the last success.
    failures: u32,
    /// Whether any call ever succeeded.
    reached: bool,
    /// When open: since when, and the error that opened it.
    open: Option<(Instant, LmError)>,
    /// A probe call is on its way (half-open).
    probing: bool,
}

/// An LM that stops calling a server that is down. Built by [`BreakerLayer`].
#[derive(Debug)]
pub struct Breaker<L> {
    inner: L,
    info: LmInfo,
    config: BreakerLayer,
    state: Arc<Mutex<State>>,
}

/// Whether an error says something about the server rather than about one request.
fn counts(err: &LmError) -> bool {
    match err {
        LmError::Api(api) => !matches!(api.status, 400 | 404 | 413 | 422),
        LmError::Config(_) | LmError::Cache(_) | LmError::CircuitOpen { .. } => false,
        _ => true,
    }
}

fn is_unreachable(err: &LmError) -> bool {
    match err {
        LmError::Unreachable { .. } => true,
        LmError::DeadlineExceeded {
            last: Some(last), ..
        } => is_unreachable(last),
        _ => false,
    }
}

impl<L: Lm> Breaker<L> {
    fn with_state<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        match self.state.lock() {
            Ok(mut guard) => f(&mut guard),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }

    /// Refuses the call while open (letting one probe through after the cooldown).
    fn admit(&self, model: &str) -> Result<(), LmError> {
        let cooldown = self.config.cooldown;
        self.with_state(|s| match &s.open {
            None => Ok(()),
            Some((since, _)) if since.elapsed() >= cooldown && !s.probing => {
                s.probing = true;
                Ok(())
            }
            Some((_, last)) => Err(LmError::CircuitOpen {
                failures: s.failures,
                last: Box::new(last.clone()),
                ctx: self.ctx(model),
            }),
        })
    }

    fn record<T>(&self, result: &Result<T, LmError>) {
        let threshold = self.config.threshold;
        self.with_state(|s| {
            s.probing = false;
            match result {
                Ok(_) => {
                    s.failures = 0;
                    s.reached = true;
                    s.open = None;
                }
                Err(err) if counts(err) => {
                    s.failures = s.failures.saturating_add(1);
                    let never_reached = !s.reached && is_unreachable(err);
                    if s.failures >= threshold || never_reached || s.open.is_some() {
                        if s.open.is_none() {
                            tracing::warn!(
                                failures = s.failures,
                                error = %err,
                                "the LM is treated as down; calls fail at once"
                            );
                        }
                        s.open = Some((Instant::now(), err.clone()));
                    }
                }
                Err(_) => {}
            }
        });
    }

    fn ctx(&self, model: &str) -> ErrorContext {
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
            attempts: 0,
        }
    }
}

impl<L: Lm> Lm for Breaker<L> {
    fn chat<'a>(
        &'a self,
        request: ChatRequest,
        options: &'a CallOptions,
    ) -> BoxFuture<'a, Result<ChatResponse, LmError>> {
        Box::pin(async move {
            self.admit(&request.model)?;
            let result = self.inner.chat(request, options).await;
            self.record(&result);
            result
        })
    }

    fn chat_stream<'a>(
        &'a self,
        request: ChatRequest,
        options: &'a CallOptions,
    ) -> BoxFuture<'a, Result<ChatStream, LmError>> {
        Box::pin(async move {
            self.admit(&request.model)?;
            let result = self.inner.chat_stream(request, options).await;
            self.record(&result);
            result
        })
    }

    fn embed<'a>(
        &'a self,
        request: EmbeddingRequest,
        options: &'a CallOptions,
    ) -> BoxFuture<'a, Result<EmbeddingResponse, LmError>> {
        Box::pin(async move {
            self.admit(&request.model)?;
            let result = self.inner.embed(request, options).await;
            self.record(&result);
            result
        })
    }

    fn describe(&self) -> LmInfo {
        self.inner.describe()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    /// Fails with `error` while `failing` is set, counting the calls that reach it.
    #[derive(Debug)]
    struct Flaky {
        error: LmError,
        failing: std::sync::atomic::AtomicBool,
        calls: AtomicU32,
    }

    impl Flaky {
        fn new(error: LmError) -> Self {
            Flaky {
                error,
                failing: true.into(),
                calls: AtomicU32::new(0),
            }
        }
    }

    impl Lm for Flaky {
        fn chat<'a>(
            &'a self,
            _request: ChatRequest,
            _options: &'a CallOptions,
        ) -> BoxFuture<'a, Result<ChatResponse, LmError>> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let result = if self.failing.load(Ordering::SeqCst) {
                Err(self.error.clone())
            } else {
                serde_json::from_value(serde_json::json!({
                    "id": "x", "object": "chat.completion", "created": 0, "model": "m",
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"},
                                 "finish_reason": "stop"}]
                }))
                .map_err(|e| LmError::Config(e.to_string()))
            };
            Box::pin(async move { result })
        }
        fn chat_stream<'a>(
            &'a self,
            _request: ChatRequest,
            _options: &'a CallOptions,
        ) -> BoxFuture<'a, Result<ChatStream, LmError>> {
            Box::pin(async { Err(LmError::Config("no streams".into())) })
        }
        fn embed<'a>(
            &'a self,
            _request: EmbeddingRequest,
            _options: &'a CallOptions,
        ) -> BoxFuture<'a, Result<EmbeddingResponse, LmError>> {
            Box::pin(async { Err(LmError::Config("no embeddings".into())) })
        }
        fn describe(&self) -> LmInfo {
            LmInfo::default()
        }
    }

    fn request() -> ChatRequest {
        serde_json::from_value(serde_json::json!({"model": "m", "messages": []})).unwrap()
    }

    #[tokio::test]
    async fn an_unreachable_server_opens_at_once() {
        let lm = BreakerLayer::new().layer(Flaky::new(LmError::Unreachable {
            message: "connection refused".into(),
            ctx: ErrorContext::default(),
        }));
        let options = CallOptions::default();
        assert!(matches!(
            lm.chat(request(), &options).await,
            Err(LmError::Unreachable { .. })
        ));
        for _ in 0..5 {
            let err = lm.chat(request(), &options).await.unwrap_err();
            assert!(matches!(err, LmError::CircuitOpen { .. }), "{err:?}");
            assert!(err.to_string().contains("connection refused"), "{err}");
        }
        assert_eq!(lm.inner.calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_failing_server_opens_after_the_threshold_and_a_probe_closes_it() {
        let cooldown = Duration::from_millis(50);
        let lm = BreakerLayer::new()
            .threshold(3)
            .cooldown(cooldown)
            .layer(Flaky::new(LmError::Timeout {
                timeout: Duration::from_secs(1),
                ctx: ErrorContext::default(),
            }));
        let options = CallOptions::default();
        for _ in 0..6 {
            let _ = lm.chat(request(), &options).await;
        }
        assert_eq!(lm.inner.calls.load(Ordering::SeqCst), 3);
        tokio::time::sleep(cooldown).await;
        lm.inner.failing.store(false, Ordering::SeqCst);
        assert!(lm.chat(request(), &options).await.is_ok());
        assert!(lm.chat(request(), &options).await.is_ok());
        assert_eq!(lm.inner.calls.load(Ordering::SeqCst), 5);
    }

    #[tokio::test]
    async fn request_errors_do_not_count() {
        let lm = BreakerLayer::new()
            .threshold(2)
            .layer(Flaky::new(LmError::Api(Box::new(crate::ApiError {
                status: 400,
                error_type: None,
                code: None,
                param: None,
                message: "too long".into(),
                retry_after: None,
                ctx: ErrorContext::default(),
            }))));
        let options = CallOptions::default();
        for _ in 0..5 {
            let err = lm.chat(request(), &options).await.unwrap_err();
            assert_eq!(err.status(), Some(400));
        }
        assert_eq!(lm.inner.calls.load(Ordering::SeqCst), 5);
    }

    #[tokio::test]
    async fn a_server_that_answered_once_is_not_cut_off_by_one_refusal() {
        let lm = BreakerLayer::new().layer(Flaky::new(LmError::Unreachable {
            message: "connection refused".into(),
            ctx: ErrorContext::default(),
        }));
        lm.inner.failing.store(false, Ordering::SeqCst);
        let options = CallOptions::default();
        assert!(lm.chat(request(), &options).await.is_ok());
        lm.inner.failing.store(true, Ordering::SeqCst);
        for _ in 0..3 {
            let err = lm.chat(request(), &options).await.unwrap_err();
            assert!(matches!(err, LmError::Unreachable { .. }), "{err:?}");
        }
    }
}
