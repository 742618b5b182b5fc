//! [`HttpLm`]: the OpenAI-compatible HTTP client, and its builder.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures_util::StreamExt;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{ApiError, ErrorContext, LmError};
use crate::lm::{BoxFuture, CallOptions, ChatStream, Lm, LmInfo};
use crate::retry::retry_after::parse_retry_after;
use crate::secret::ApiKey;
use crate::sse::SseParser;
use crate::types::embeddings::{EmbeddingRequest, EmbeddingResponse};
use crate::types::request::{ChatRequest, StreamOptions};
use crate::types::response::ChatResponse;
use crate::types::stream::ChatChunk;
use hone_core::Sampling;

/// The default base URL: `https://api.openai.com/v1`.
pub const OPENAI_BASE_URL: &str = "https://api.openai.com/v1";

/// An OpenAI-compatible LM over HTTP (`POST {base_url}/chat/completions`, `/embeddings`).
///
/// One attempt per call, no retries, no cache: wrap it in layers for those (see
/// [`LmBuilder`](crate::LmBuilder)). `Debug` shows model, base URL and header names only.
///
/// ```no_run
/// # async fn run() -> Result<(), hone_lm::LmError> {
/// use hone_lm::{CallOptions, ChatRequest, HttpLm, Lm, Message};
/// let lm = HttpLm::builder()
///     .model("gpt-4o-mini")
///     .api_key_env("OPENAI_API_KEY")
///     .build()?;
/// let reply = lm
///     .chat(ChatRequest::new(vec![Message::user("2+2?")]), &CallOptions::default())
///     .await?;
/// println!("{:?}", reply.text());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct HttpLm {
    inner: Arc<Inner>,
}

struct Inner {
    client: reqwest::Client,
    chat_url: String,
    embeddings_url: String,
    api_key: Option<ApiKey>,
    headers: HeaderMap,
    timeout: Duration,
    info: LmInfo,
}

impl fmt::Debug for HttpLm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let header_names: Vec<&str> = self.inner.headers.keys().map(|k| k.as_str()).collect();
        f.debug_struct("HttpLm")
            .field("model", &self.inner.info.model)
            .field("base_url", &self.inner.info.base_url)
            .field(
                "api_key",
                &self.inner.api_key.as_ref().map(|_| "<redacted>"),
            )
            .field("headers", &header_names)
            .field("timeout", &self.inner.timeout)
            .finish()
    }
}

enum KeySource {
    None,
    Env(String),
    Value(ApiKey),
}

/// Builds an [`HttpLm`]. Nothing is read from the environment unless asked for
/// ([`api_key_env`](Self::api_key_env), [`HttpLm::from_env`]).
pub struct HttpLmBuilder {
    model: String,
    provider: String,
    base_url: String,
    key: KeySource,
    headers: Vec<(String, String)>,
    defaults: Sampling,
    timeout: Duration,
    connect_timeout: Duration,
}

impl fmt::Debug for HttpLmBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpLmBuilder")
            .field("model", &self.model)
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl HttpLm {
    /// A builder with OpenAI's base URL, no key, a 10 minute request timeout and a 10 second
    /// connect timeout.
    pub fn builder() -> HttpLmBuilder {
        HttpLmBuilder {
            model: String::new(),
            provider: "openai".to_owned(),
            base_url: OPENAI_BASE_URL.to_owned(),
            key: KeySource::None,
            headers: Vec::new(),
            defaults: Sampling::default(),
            timeout: Duration::from_secs(600),
            connect_timeout: Duration::from_secs(10),
        }
    }

    /// A builder configured from the environment as OpenAI's SDKs do: base URL from
    /// `OPENAI_BASE_URL` (default [`OPENAI_BASE_URL`]) and key from `OPENAI_API_KEY`.
    /// The key is read by [`HttpLmBuilder::build`].
    pub fn from_env(model: impl Into<String>) -> HttpLmBuilder {
        let base_url = std::env::var("OPENAI_BASE_URL")
            .ok()
            .filter(|url| !url.trim().is_empty())
            .unwrap_or_else(|| OPENAI_BASE_URL.to_owned());
        Self::builder()
            .model(model)
            .base_url(base_url)
            .api_key_env("OPENAI_API_KEY")
    }
}

impl HttpLmBuilder {
    /// The default model for requests that leave `model` empty.
    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.model = model.into();
        self
    }

    /// Provider name for telemetry (`gen_ai.provider.name`), default `openai`.
    pub fn provider(mut self, provider: impl Into<String>) -> Self {
        self.provider = provider.into();
        self
    }

    /// Base URL up to and including the version, e.g. `http://localhost:8000/v1`.
    pub fn base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into();
        self
    }

    /// Reads the API key from the environment variable `var` when building.
    pub fn api_key_env(mut self, var: impl Into<String>) -> Self {
        self.key = KeySource::Env(var.into());
        self
    }

    /// Uses this API key.
    pub fn api_key(mut self, key: ApiKey) -> Self {
        self.key = KeySource::Value(key);
        self
    }

    /// Sends no `Authorization` header (local servers).
    pub fn no_api_key(mut self) -> Self {
        self.key = KeySource::None;
        self
    }

    /// Adds a header to every request (e.g. `OpenAI-Organization`). Values are marked
    /// sensitive and never logged.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Default `temperature`.
    pub fn temperature(mut self, temperature: f64) -> Self {
        self.defaults.temperature = Some(temperature);
        self
    }

    /// Default `top_p`.
    pub fn top_p(mut self, top_p: f64) -> Self {
        self.defaults.top_p = Some(top_p);
        self
    }

    /// Default `max_tokens`.
    pub fn max_tokens(mut self, max_tokens: u32) -> Self {
        self.defaults.max_tokens = Some(max_tokens);
        self
    }

    /// Default `seed`.
    pub fn seed(mut self, seed: i64) -> Self {
        self.defaults.seed = Some(seed);
        self
    }

    /// All request defaults at once (replacing any set before).
    pub fn defaults(mut self, defaults: Sampling) -> Self {
        self.defaults = defaults;
        self
    }

    /// A provider-specific top-level parameter added to requests that lack it.
    pub fn default_param(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.defaults.extra.insert(key.into(), value.into());
        self
    }

    /// Time limit for one HTTP attempt; for streams, the longest silence between chunks.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Time limit for opening a connection.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Builds the client. Fails on a missing key variable, a bad URL or header.
    pub fn build(self) -> Result<HttpLm, LmError> {
        let trimmed = self.base_url.trim().trim_end_matches('/').to_owned();
        let url = reqwest::Url::parse(&trimmed).map_err(|e| {
            LmError::Config(format!(
                "base URL {:?} is not a valid URL ({e}); expected e.g. https://api.openai.com/v1",
                crate::url::redact_url(&trimmed)
            ))
        })?;
        if url.scheme() != "http" && url.scheme() != "https" {
            return Err(LmError::Config(format!(
                "base URL scheme {:?} is not http or https",
                url.scheme()
            )));
        }
        let host = url.host_str().unwrap_or_default().to_owned();
        let port = url.port_or_known_default().unwrap_or(443);
        // Credentials in a URL (userinfo, a key in the query) are secrets: keep them out of
        // LmInfo, logs and errors.
        let mut plain = url.clone();
        let _ = plain.set_username("");
        let _ = plain.set_password(None);
        let shown = crate::url::redact_url(plain.as_str().trim_end_matches('/'));

        let api_key = match self.key {
            KeySource::None => None,
            KeySource::Env(var) => Some(ApiKey::from_env(&var)?),
            KeySource::Value(key) => Some(key),
        };

        let mut headers = HeaderMap::new();
        for (name, value) in &self.headers {
            let header_name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                LmError::Config(format!(
                    "header name {name:?} is not a valid HTTP header name"
                ))
            })?;
            let mut header_value = HeaderValue::from_str(value).map_err(|_| {
                LmError::Config(format!(
                    "the value of header {name:?} has characters not allowed in HTTP headers"
                ))
            })?;
            header_value.set_sensitive(true);
            headers.insert(header_name, header_value);
        }

        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls_config()?)
            .connect_timeout(self.connect_timeout)
            .read_timeout(self.timeout)
            .user_agent(concat!("hone-lm/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| LmError::Config(format!("HTTP client setup failed: {e}")))?;

        Ok(HttpLm {
            inner: Arc::new(Inner {
                client,
                chat_url: crate::url::endpoint(&url, "chat/completions").to_string(),
                embeddings_url: crate::url::endpoint(&url, "embeddings").to_string(),
                api_key,
                headers,
                timeout: self.timeout,
                info: LmInfo {
                    model: self.model,
                    provider: self.provider,
                    base_url: shown,
                    host,
                    port,
                    defaults: self.defaults,
                },
            }),
        })
    }
}

pub(crate) fn tls_config() -> Result<rustls::ClientConfig, LmError> {
    use rustls_platform_verifier::BuilderVerifierExt;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| LmError::Config(format!("TLS setup failed: {e}")))?
        .with_platform_verifier()
        .map_err(|e| LmError::Config(format!("TLS root certificates unavailable: {e}")))
        .map(|b| b.with_no_client_auth())
}

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

fn snippet(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    text.chars().take(200).collect()
}

impl Inner {
    fn ctx(&self, model: &str) -> ErrorContext {
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

    fn redact(&self, text: String) -> String {
        match &self.api_key {
            Some(key) => key.redact(text),
            None => text,
        }
    }

    fn transport_error(
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
    async fn post<B: Serialize>(
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

    fn api_error(
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

    async fn post_json<B: Serialize, R: DeserializeOwned>(
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

impl Lm for HttpLm {
    fn chat<'a>(
        &'a self,
        request: ChatRequest,
        options: &'a CallOptions,
    ) -> BoxFuture<'a, Result<ChatResponse, LmError>> {
        Box::pin(async move {
            let mut request = self.inner.info.resolve_chat(request);
            request.stream = None;
            request.stream_options = None;
            let ctx = self.inner.ctx(&request.model);
            let mut response: ChatResponse = self
                .inner
                .post_json(&self.inner.chat_url, &request, &ctx, options, "chat")
                .await?;
            if response.choices.is_empty() {
                return Err(LmError::Decode {
                    what: "chat",
                    message: "the response has no `choices`".to_owned(),
                    snippet: String::new(),
                    ctx,
                });
            }
            response.meta.attempts = 1;
            Ok(response)
        })
    }

    fn chat_stream<'a>(
        &'a self,
        request: ChatRequest,
        options: &'a CallOptions,
    ) -> BoxFuture<'a, Result<ChatStream, LmError>> {
        Box::pin(async move {
            let mut request = self.inner.info.resolve_chat(request);
            request.stream = Some(true);
            let mut stream_options = request.stream_options.take().unwrap_or(StreamOptions {
                include_usage: None,
                extra: Default::default(),
            });
            stream_options.include_usage.get_or_insert(true);
            request.stream_options = Some(stream_options);
            let ctx = self.inner.ctx(&request.model);
            let (response, timeout) = self
                .inner
                .post(&self.inner.chat_url, &request, &ctx, options, false)
                .await?;
            Ok(sse_chunks(self.inner.clone(), response, ctx, timeout))
        })
    }

    fn embed<'a>(
        &'a self,
        request: EmbeddingRequest,
        options: &'a CallOptions,
    ) -> BoxFuture<'a, Result<EmbeddingResponse, LmError>> {
        Box::pin(async move {
            let request = self.inner.info.resolve_embed(request);
            let ctx = self.inner.ctx(&request.model);
            let mut response: EmbeddingResponse = self
                .inner
                .post_json(
                    &self.inner.embeddings_url,
                    &request,
                    &ctx,
                    options,
                    "embeddings",
                )
                .await?;
            response.meta.attempts = 1;
            Ok(response)
        })
    }

    fn describe(&self) -> LmInfo {
        self.inner.info.clone()
    }
}

/// Turns the SSE body into a stream of chunks; errors if the body ends before `[DONE]`.
fn sse_chunks(
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

fn sse_stream<S, B>(inner: Arc<Inner>, bytes: S, ctx: ErrorContext, timeout: Duration) -> ChatStream
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
