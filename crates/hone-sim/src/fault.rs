//! Injected faults: what they are, how they travel as JSON, and the queue
//! that hands them out one per request.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

/// A misbehaviour served instead of (or before) a normal answer.
///
/// Faults are queued with [`crate::SimHandle::push_faults`] or
/// `POST /sim/faults`; each `/v1` request takes the oldest queued fault, if
/// any. A retrying client therefore sees the fault once and then a normal
/// answer.
///
/// On the wire a fault is an object tagged by `kind`:
///
/// ```json
/// {"kind": "status", "code": 429, "retry_after": {"seconds": 1}}
/// {"kind": "status", "code": 503, "error_type": "server_error", "message": "overloaded"}
/// {"kind": "connection_reset"}
/// {"kind": "hang", "ms": 5000}
/// {"kind": "malformed_json"}
/// {"kind": "truncated_stream"}
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "FaultWire", into = "FaultWire")]
pub enum Fault {
    /// Answer with this HTTP status and an OpenAI error body
    /// `{"error": {"message", "type", "param", "code"}}`.
    Status {
        /// The HTTP status code.
        code: u16,
        /// An optional `retry-after` (or `retry-after-ms`) header.
        retry_after: Option<RetryAfter>,
        /// The error `type`; defaults by status (429 → `rate_limit_error`, 5xx → `server_error`, ...).
        error_type: Option<String>,
        /// The error message; defaults to a sentence naming the status.
        message: Option<String>,
    },
    /// Close the TCP connection without sending a response.
    ConnectionReset,
    /// Wait this long, then answer normally (for client timeout tests).
    Hang(Duration),
    /// Answer 200 with a body that is not valid JSON.
    MalformedJson,
    /// Send the response head and part of the body, then cut the connection
    /// (for `stream: true`, some chunks and never `[DONE]`).
    TruncatedStream,
}

impl Fault {
    /// A short snake_case name of the fault kind, as used in statistics.
    pub fn kind(&self) -> &'static str {
        match self {
            Fault::Status { .. } => "status",
            Fault::ConnectionReset => "connection_reset",
            Fault::Hang(_) => "hang",
            Fault::MalformedJson => "malformed_json",
            Fault::TruncatedStream => "truncated_stream",
        }
    }

    /// A plain status fault with no `retry-after` and default type and message.
    pub fn status(code: u16) -> Self {
        Fault::Status {
            code,
            retry_after: None,
            error_type: None,
            message: None,
        }
    }

    /// A 429 with `retry-after: seconds`.
    pub fn rate_limited(seconds: u64) -> Self {
        Fault::Status {
            code: 429,
            retry_after: Some(RetryAfter::Seconds(seconds)),
            error_type: None,
            message: None,
        }
    }
}

/// The value of a `retry-after` hint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetryAfter {
    /// `retry-after: N` (delay in seconds).
    Seconds(u64),
    /// `retry-after: <HTTP-date>`.
    HttpDate(SystemTime),
    /// `retry-after-ms: N` (the header OpenAI sends).
    Millis(u64),
}

impl RetryAfter {
    /// The header name and value this hint is sent as.
    pub fn header(&self) -> (&'static str, String) {
        match self {
            RetryAfter::Seconds(s) => ("retry-after", s.to_string()),
            RetryAfter::HttpDate(t) => ("retry-after", httpdate::fmt_http_date(*t)),
            RetryAfter::Millis(ms) => ("retry-after-ms", ms.to_string()),
        }
    }
}

/// The error `type` OpenAI uses for a status code.
pub fn default_error_type(code: u16) -> &'static str {
    match code {
        400 | 404 | 409 | 413 | 422 => "invalid_request_error",
        401 => "authentication_error",
        403 => "permission_error",
        408 => "timeout_error",
        429 => "rate_limit_error",
        500..=599 => "server_error",
        _ => "api_error",
    }
}

/// The error `code` OpenAI uses for a status code, if any.
pub fn default_error_code(code: u16) -> Option<&'static str> {
    match code {
        401 => Some("invalid_api_key"),
        404 => Some("model_not_found"),
        429 => Some("rate_limit_exceeded"),
        500..=599 => Some("server_error"),
        _ => None,
    }
}

/// The OpenAI error body `{"error": {"message", "type", "param", "code"}}`.
pub fn error_body(
    code: u16,
    error_type: Option<&str>,
    message: Option<&str>,
    error_code: Option<&str>,
) -> serde_json::Value {
    let message = message
        .map(str::to_owned)
        .unwrap_or_else(|| format!("simulated error: HTTP {code}"));
    serde_json::json!({
        "error": {
            "message": message,
            "type": error_type.unwrap_or(default_error_type(code)),
            "param": null,
            "code": error_code.or(default_error_code(code)),
        }
    })
}

/// A FIFO of faults shared by all requests of one server.
#[derive(Debug, Default)]
pub struct FaultQueue {
    queue: Mutex<VecDeque<Fault>>,
}

impl FaultQueue {
    /// Appends faults at the back.
    pub fn push(&self, faults: impl IntoIterator<Item = Fault>) {
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        q.extend(faults);
    }

    /// Takes the oldest fault.
    pub fn pop(&self) -> Option<Fault> {
        self.queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop_front()
    }

    /// How many faults are waiting.
    pub fn len(&self) -> usize {
        self.queue.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Whether no fault is waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops every waiting fault.
    pub fn clear(&self) {
        self.queue.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum FaultWire {
    Status {
        code: u16,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after: Option<RetryAfterWire>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error_type: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
    ConnectionReset,
    Hang {
        ms: u64,
    },
    MalformedJson,
    TruncatedStream,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum RetryAfterWire {
    Seconds(u64),
    Millis(u64),
    /// An HTTP-date string.
    HttpDate(String),
    /// An HTTP-date this many seconds after the fault is received.
    HttpDateIn(u64),
}

impl From<FaultWire> for Fault {
    fn from(w: FaultWire) -> Self {
        match w {
            FaultWire::Status {
                code,
                retry_after,
                error_type,
                message,
            } => Fault::Status {
                code,
                retry_after: retry_after.map(|r| match r {
                    RetryAfterWire::Seconds(s) => RetryAfter::Seconds(s),
                    RetryAfterWire::Millis(ms) => RetryAfter::Millis(ms),
                    RetryAfterWire::HttpDate(d) => match httpdate::parse_http_date(&d) {
                        Ok(t) => RetryAfter::HttpDate(t),
                        Err(_) => RetryAfter::Seconds(1),
                    },
                    RetryAfterWire::HttpDateIn(s) => {
                        RetryAfter::HttpDate(SystemTime::now() + Duration::from_secs(s))
                    }
                }),
                error_type,
                message,
            },
            FaultWire::ConnectionReset => Fault::ConnectionReset,
            FaultWire::Hang { ms } => Fault::Hang(Duration::from_millis(ms)),
            FaultWire::MalformedJson => Fault::MalformedJson,
            FaultWire::TruncatedStream => Fault::TruncatedStream,
        }
    }
}

impl From<Fault> for FaultWire {
    fn from(f: Fault) -> Self {
        match f {
            Fault::Status {
                code,
                retry_after,
                error_type,
                message,
            } => FaultWire::Status {
                code,
                retry_after: retry_after.map(|r| match r {
                    RetryAfter::Seconds(s) => RetryAfterWire::Seconds(s),
                    RetryAfter::Millis(ms) => RetryAfterWire::Millis(ms),
                    RetryAfter::HttpDate(t) => RetryAfterWire::HttpDate(httpdate::fmt_http_date(t)),
                }),
                error_type,
                message,
            },
            Fault::ConnectionReset => FaultWire::ConnectionReset,
            Fault::Hang(d) => FaultWire::Hang {
                ms: u64::try_from(d.as_millis()).unwrap_or(u64::MAX),
            },
            Fault::MalformedJson => FaultWire::MalformedJson,
            Fault::TruncatedStream => FaultWire::TruncatedStream,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_round_trip_through_json() {
        let faults = vec![
            Fault::rate_limited(2),
            Fault::Status {
                code: 503,
                retry_after: Some(RetryAfter::Millis(250)),
                error_type: Some("overloaded".into()),
                message: Some("busy".into()),
            },
            Fault::ConnectionReset,
            Fault::Hang(Duration::from_millis(1500)),
            Fault::MalformedJson,
            Fault::TruncatedStream,
        ];
        let text = serde_json::to_string(&faults).unwrap_or_default();
        let back: Vec<Fault> = serde_json::from_str(&text).unwrap_or_default();
        assert_eq!(back, faults);
        let parsed: Vec<Fault> = serde_json::from_str(
            r#"[{"kind":"status","code":429,"retry_after":{"http_date_in":5}},{"kind":"hang","ms":10}]"#,
        )
        .unwrap_or_default();
        assert_eq!(parsed.len(), 2);
        assert!(matches!(
            parsed[0],
            Fault::Status {
                code: 429,
                retry_after: Some(RetryAfter::HttpDate(_)),
                ..
            }
        ));
    }

    #[test]
    fn queue_is_fifo() {
        let q = FaultQueue::default();
        q.push([Fault::MalformedJson, Fault::ConnectionReset]);
        assert_eq!(q.len(), 2);
        assert_eq!(q.pop(), Some(Fault::MalformedJson));
        assert_eq!(q.pop(), Some(Fault::ConnectionReset));
        assert_eq!(q.pop(), None);
    }

    #[test]
    fn error_body_has_openai_shape() {
        let b = error_body(429, None, None, None);
        assert_eq!(b["error"]["type"], "rate_limit_error");
        assert_eq!(b["error"]["code"], "rate_limit_exceeded");
        assert!(b["error"]["message"].is_string());
    }
}
