//! One request on the wire: posting a body, mapping transport and API errors, reading the
//! answer.

use std::time::{Duration, SystemTime};

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::Inner;
use crate::error::{ApiError, ErrorContext, LmError};
use crate::lm::CallOptions;
use crate::retry::retry_after::parse_retry_after;

/// The transport's message for `err`: its chain of causes, without the URL.
fn describe_reqwest(err: reqwest::Error) -> String {
    let err = err.without_url();
    let mut text = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

pub(super) fn snippet(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    text.chars().take(200).collect()
}

impl Inner {
    pub(super) fn ctx(&self, model: &str) -> ErrorContext {
        ErrorContext {
            model: model.to_owned(),
            host: if self.info.port == 443 || self.info.port == 80 {
                self.info.host.clone()
            } else {
                format!("{}:{}", self.info.host, self.info.port)
            },
            attempts: 1,
        }
    }

    pub(super) fn redact(&self, text: String) -> String {
        match &self.api_key {
            Some(key) => key.redact(text),
            None => text,
        }
    }

    pub(super) fn transport_error(
        &self,
        err: reqwest::Error,
        ctx: ErrorContext,
        timeout: Duration,
    ) -> LmError {
        if err.is_timeout() {
            return LmError::Timeout { timeout, ctx };
        }
        let is_body = err.is_body() || err.is_decode();
        let is_connect = err.is_connect();
        let message = self.redact(describe_reqwest(err));
        if is_body {
            LmError::Body { message, ctx }
        } else if is_connect {
            LmError::Unreachable { message, ctx }
        } else {
            LmError::Connect { message, ctx }
        }
    }

    /// Sends one POST and returns the successful response, or the error it maps to.
    pub(super) async fn post<B: Serialize>(
        &self,
        url: &str,
        body: &B,
        ctx: &ErrorContext,
        options: &CallOptions,
        whole_body_timeout: bool,
    ) -> Result<(reqwest::Response, Duration), LmError> {
        let timeout = match options.deadline {
            Some(deadline) => deadline.min(self.timeout),
            None => self.timeout,
        };
        if tracing::enabled!(tracing::Level::TRACE)
            && let Ok(json) = serde_json::to_string(body)
        {
            tracing::trace!(url = %crate::url::redact_url(url), body = %json, "request body");
        }
        let mut request = self
            .client
            .post(url)
            .headers(self.headers.clone())
            .json(body);
        if let Some(key) = &self.api_key {
            request = request.bearer_auth(key.expose_secret());
        }
        if whole_body_timeout {
            request = request.timeout(timeout);
        }
        let response = request
            .send()
            .await
            .map_err(|e| self.transport_error(e, ctx.clone(), timeout))?;
        let status = response.status();
        if status.is_success() {
            return Ok((response, timeout));
        }
        let headers = response.headers().clone();
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let retry_after = parse_retry_after(
            header("retry-after-ms"),
            header("retry-after"),
            SystemTime::now(),
        );
        let bytes = response
            .bytes()
            .await
            .map_err(|e| self.transport_error(e, ctx.clone(), timeout))?;
        if tracing::enabled!(tracing::Level::TRACE) {
            tracing::trace!(status = status.as_u16(), body = %self.redact(snippet(&bytes)), "error body");
        }
        Err(self.api_error(status.as_u16(), &bytes, retry_after, ctx.clone()))
    }

    pub(super) fn api_error(
        &self,
        status: u16,
        body: &[u8],
        retry_after: Option<Duration>,
        ctx: ErrorContext,
    ) -> LmError {
        let parsed: Option<Value> = serde_json::from_slice(body).ok();
        let error = parsed.as_ref().and_then(|v| v.get("error")).cloned();
        let text = |v: Option<&Value>| -> Option<String> {
            match v? {
                Value::String(s) => Some(s.clone()),
                Value::Null => None,
                other => Some(other.to_string()),
            }
        };
        let (error_type, code, param, message) = match &error {
            Some(Value::Object(e)) => (
                text(e.get("type")),
                text(e.get("code")),
                text(e.get("param")),
                text(e.get("message")),
            ),
            Some(Value::String(message)) => (None, None, None, Some(message.clone())),
            _ => (
                None,
                None,
                None,
                parsed
                    .as_ref()
                    .and_then(|v| text(v.get("message").or_else(|| v.get("detail")))),
            ),
        };
        let message = message.unwrap_or_else(|| {
            let body = snippet(body);
            if body.trim().is_empty() {
                "(empty body)".to_owned()
            } else {
                body
            }
        });
        LmError::Api(Box::new(ApiError {
            status,
            error_type: error_type.map(|t| self.redact(t)),
            code: code.map(|c| self.redact(c)),
            param,
            message: self.redact(message),
            retry_after,
            ctx,
        }))
    }

    pub(super) async fn post_json<B: Serialize, R: DeserializeOwned>(
        &self,
        url: &str,
        body: &B,
        ctx: &ErrorContext,
        options: &CallOptions,
        what: &'static str,
    ) -> Result<R, LmError> {
        let (response, timeout) = self.post(url, body, ctx, options, true).await?;
        let bytes = response
            .bytes()
            .await
            .map_err(|e| self.transport_error(e, ctx.clone(), timeout))?;
        if tracing::enabled!(tracing::Level::TRACE) {
            tracing::trace!(body = %String::from_utf8_lossy(&bytes), "response body");
        }
        let message = |m: String| LmError::Decode {
            what,
            message: m,
            snippet: self.redact(snippet(&bytes)),
            ctx: ctx.clone(),
        };
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(message("the body is empty".to_owned()));
        }
        serde_json::from_slice(&bytes).map_err(|e| message(e.to_string()))
    }
}
