//! [`LmError`]: what failed, where, and what to do next. Never contains an API key.

use std::fmt;
use std::time::Duration;

/// Where a call failed: model, server host and how many HTTP attempts were made.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErrorContext {
    /// The model of the request.
    pub model: String,
    /// `host[:port]` of the base URL (never the full URL with credentials).
    pub host: String,
    /// HTTP attempts made so far (1 without retries).
    pub attempts: u32,
}

impl fmt::Display for ErrorContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.attempts == 0 {
            return write!(f, "model `{}` at {}", self.model, self.host);
        }
        let plural = if self.attempts == 1 { "" } else { "s" };
        write!(
            f,
            "model `{}` at {} ({} attempt{plural})",
            self.model, self.host, self.attempts
        )
    }
}

/// Every way a call can fail.
///
/// The `Display` text says what failed, where ([`ErrorContext`]) and what to try next.
/// Use [`LmError::is_retryable`] and [`LmError::status`] rather than matching on text.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum LmError {
    /// The server answered with an error status (details boxed to keep `LmError` small).
    #[error("{0}")]
    Api(Box<ApiError>),
    /// The connection could not be made or was reset before a response arrived.
    #[error("{ctx}: connection failed: {message}; check the base URL and that the server is up")]
    Connect {
        /// What the transport reported.
        message: String,
        /// Where it failed.
        ctx: ErrorContext,
    },
    /// The server could not be reached at all: the connection was refused, or the host name
    /// did not resolve. Retried like a connection failure; a [`BreakerLayer`](crate::BreakerLayer)
    /// fails fast after it when the server never answered.
    #[error(
        "{ctx}: the server is unreachable: {message}; check the base URL and that the server is up"
    )]
    Unreachable {
        /// What the transport reported.
        message: String,
        /// Where it failed.
        ctx: ErrorContext,
    },
    /// The LM failed too often in a row, and its circuit breaker now fails calls at once
    /// instead of sending them (see [`BreakerLayer`](crate::BreakerLayer)).
    #[error(
        "{ctx}: not sent: the LM failed {failures} call(s) in a row and is treated as down \
         (the last error: {last}); fix the server or the base URL and run again"
    )]
    CircuitOpen {
        /// Consecutive failed calls that opened the breaker.
        failures: u32,
        /// The error that opened it.
        last: Box<LmError>,
        /// Where it failed.
        ctx: ErrorContext,
    },
    /// No complete response arrived within the per-request timeout.
    #[error("{ctx}: no response within {timeout:?}; raise the timeout or check the server")]
    Timeout {
        /// The timeout that elapsed.
        timeout: Duration,
        /// Where it failed.
        ctx: ErrorContext,
    },
    /// The response body broke off while it was read (reset, truncated).
    #[error("{ctx}: the response body broke off: {message}")]
    Body {
        /// What the transport reported.
        message: String,
        /// Where it failed.
        ctx: ErrorContext,
    },
    /// The response arrived but is not the JSON expected.
    #[error(
        "{ctx}: the {what} response is not a valid OpenAI response ({message}); body starts with {snippet:?}; \
         check that the base URL points at an OpenAI-compatible API"
    )]
    Decode {
        /// Which response (`chat`, `embeddings`, `stream chunk`).
        what: &'static str,
        /// The parser's message.
        message: String,
        /// The first bytes of the body.
        snippet: String,
        /// Where it failed.
        ctx: ErrorContext,
    },
    /// A stream ended early or carried an error event.
    #[error("{ctx}: stream failed: {message}")]
    Stream {
        /// What went wrong.
        message: String,
        /// Where it failed.
        ctx: ErrorContext,
    },
    /// The call's overall deadline passed, or the next retry wait would pass it.
    #[error(
        "{ctx}: deadline of {deadline:?} exceeded after {elapsed:?}{}; raise the deadline \
         (RetryLayer::deadline or CallOptions::deadline)",
        last.as_ref().map(|e| format!("; last error: {e}")).unwrap_or_default()
    )]
    DeadlineExceeded {
        /// The budget for the whole call.
        deadline: Duration,
        /// Time spent when giving up.
        elapsed: Duration,
        /// The error of the last attempt, if one failed.
        last: Option<Box<LmError>>,
        /// Where it failed.
        ctx: ErrorContext,
    },
    /// The LM could not be built as configured.
    #[error("invalid LM configuration: {0}")]
    Config(String),
    /// The response cache failed (only surfaced by direct store calls; the cache layer
    /// falls back to calling the LM).
    #[error("response cache failed: {0}")]
    Cache(String),
}

/// An error status from the server, with the provider's error details.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{ctx}: HTTP {status}{}: {message}; {}", provider_kind(error_type, code), status_hint(*status))]
#[non_exhaustive]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// The provider's `error.type` (e.g. `invalid_request_error`).
    pub error_type: Option<String>,
    /// The provider's `error.code` (e.g. `invalid_api_key`).
    pub code: Option<String>,
    /// The provider's `error.param`.
    pub param: Option<String>,
    /// The provider's `error.message`, or the start of the body when it is not JSON.
    pub message: String,
    /// The wait the server asked for (`retry-after-ms` or `Retry-After`).
    pub retry_after: Option<Duration>,
    /// Where it failed.
    pub ctx: ErrorContext,
}

fn provider_kind(error_type: &Option<String>, code: &Option<String>) -> String {
    match (error_type, code) {
        (Some(t), Some(c)) => format!(" ({t}, code {c})"),
        (Some(t), None) => format!(" ({t})"),
        (None, Some(c)) => format!(" (code {c})"),
        (None, None) => String::new(),
    }
}

fn status_hint(status: u16) -> &'static str {
    match status {
        400 | 422 => "the provider rejected the request; fix the parameters named in the message",
        401 => "check the API key (the environment variable given to HttpLmBuilder::api_key_env)",
        403 => "the key has no access to this model or endpoint",
        404 => "check the model name and the base URL (it usually ends in /v1)",
        408 | 409 | 500 | 502 | 503 | 504 => {
            "a transient server error; add or widen RetryLayer, or try later"
        }
        429 => "rate limited; lower the request rate (RateLimitLayer) or raise your quota",
        _ => "see the provider's message",
    }
}

/// HTTP statuses retried by default: 408, 409, 429, 500, 502, 503, 504.
pub const RETRYABLE_STATUSES: [u16; 7] = [408, 409, 429, 500, 502, 503, 504];

impl LmError {
    /// Whether a fresh attempt may succeed: the default retryable statuses, connection
    /// failures, timeouts, broken bodies and streams, and 2xx bodies that are not a completion.
    /// (A completion the adapter cannot parse is not an `LmError`: it is the module's parse
    /// failure, never retried here.)
    pub fn is_retryable(&self) -> bool {
        match self {
            LmError::Api(api) => RETRYABLE_STATUSES.contains(&api.status),
            LmError::Connect { .. }
            | LmError::Unreachable { .. }
            | LmError::Timeout { .. }
            | LmError::Body { .. }
            | LmError::Decode { .. }
            | LmError::Stream { .. } => true,
            _ => false,
        }
    }

    /// The HTTP status for [`LmError::Api`].
    pub fn status(&self) -> Option<u16> {
        match self {
            LmError::Api(api) => Some(api.status),
            _ => None,
        }
    }

    /// The wait the server asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            LmError::Api(api) => api.retry_after,
            _ => None,
        }
    }

    /// Where it failed, for errors tied to a call.
    pub fn context(&self) -> Option<&ErrorContext> {
        match self {
            LmError::Api(api) => Some(&api.ctx),
            LmError::Connect { ctx, .. }
            | LmError::Unreachable { ctx, .. }
            | LmError::CircuitOpen { ctx, .. }
            | LmError::Timeout { ctx, .. }
            | LmError::Body { ctx, .. }
            | LmError::Decode { ctx, .. }
            | LmError::Stream { ctx, .. }
            | LmError::DeadlineExceeded { ctx, .. } => Some(ctx),
            LmError::Config(_) | LmError::Cache(_) => None,
        }
    }

    /// Records how many attempts were made.
    pub(crate) fn with_attempts(mut self, attempts: u32) -> Self {
        match &mut self {
            LmError::Api(api) => api.ctx.attempts = attempts,
            LmError::Connect { ctx, .. }
            | LmError::Unreachable { ctx, .. }
            | LmError::CircuitOpen { ctx, .. }
            | LmError::Timeout { ctx, .. }
            | LmError::Body { ctx, .. }
            | LmError::Decode { ctx, .. }
            | LmError::Stream { ctx, .. }
            | LmError::DeadlineExceeded { ctx, .. } => ctx.attempts = attempts,
            LmError::Config(_) | LmError::Cache(_) => {}
        }
        self
    }

    /// A short, stable name for the `error.type` span attribute.
    pub fn kind_name(&self) -> String {
        match self {
            LmError::Api(api) => api.status.to_string(),
            LmError::Connect { .. } => "connect".to_owned(),
            LmError::Unreachable { .. } => "unreachable".to_owned(),
            LmError::CircuitOpen { .. } => "circuit_open".to_owned(),
            LmError::Timeout { .. } => "timeout".to_owned(),
            LmError::Body { .. } => "body".to_owned(),
            LmError::Decode { .. } => "decode".to_owned(),
            LmError::Stream { .. } => "stream".to_owned(),
            LmError::DeadlineExceeded { .. } => "deadline_exceeded".to_owned(),
            LmError::Config(_) => "config".to_owned(),
            LmError::Cache(_) => "cache".to_owned(),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn api_error_says_what_where_and_what_next() {
        let err = LmError::Api(Box::new(ApiError {
            status: 401,
            error_type: Some("invalid_request_error".into()),
            code: Some("invalid_api_key".into()),
            param: None,
            message: "Incorrect API key provided".into(),
            retry_after: None,
            ctx: ErrorContext {
                model: "gpt-4o".into(),
                host: "api.openai.com".into(),
                attempts: 1,
            },
        }));
        let text = err.to_string();
        assert!(text.contains("gpt-4o"), "{text}");
        assert!(text.contains("api.openai.com"), "{text}");
        assert!(text.contains("HTTP 401"), "{text}");
        assert!(text.contains("invalid_api_key"), "{text}");
        assert!(text.contains("Incorrect API key provided"), "{text}");
        assert!(text.contains("api_key_env"), "{text}");
        assert!(!err.is_retryable());
        let err = err.with_attempts(3);
        assert!(err.to_string().contains("3 attempts"));
    }

    #[test]
    fn retryable_classification() {
        let ctx = ErrorContext::default();
        for status in RETRYABLE_STATUSES {
            let err = LmError::Api(Box::new(ApiError {
                status,
                error_type: None,
                code: None,
                param: None,
                message: String::new(),
                retry_after: None,
                ctx: ctx.clone(),
            }));
            assert!(err.is_retryable(), "{status}");
        }
        assert!(
            LmError::Connect {
                message: "reset".into(),
                ctx: ctx.clone()
            }
            .is_retryable()
        );
        assert!(!LmError::Config("x".into()).is_retryable());
    }
}
