//! [`HttpLm`]: the OpenAI-compatible HTTP client.
//!
//! `builder.rs` configures it, `request.rs` sends one request and reads its answer,
//! `stream.rs` turns a streamed answer into chunks.

mod builder;
mod request;
mod stream;

use stream::sse_chunks;

pub use builder::HttpLmBuilder;
#[cfg(feature = "otlp")]
pub(crate) use builder::tls_config;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::HeaderMap;

use crate::error::LmError;
use crate::lm::{BoxFuture, CallOptions, ChatStream, Lm, LmInfo};
use crate::secret::ApiKey;
use crate::types::embeddings::{EmbeddingRequest, EmbeddingResponse};
use crate::types::request::{ChatRequest, StreamOptions};
use crate::types::response::ChatResponse;

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
