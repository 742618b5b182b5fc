//! The [`Lm`] trait, per-call [`CallOptions`], [`LmInfo`] and the shared [`LmHandle`].

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures_core::Stream;
use hone_core::Sampling;

use crate::error::LmError;
use crate::types::embeddings::{EmbeddingRequest, EmbeddingResponse};
use crate::types::request::ChatRequest;
use crate::types::response::ChatResponse;
use crate::types::stream::ChatChunk;

/// A boxed, `Send` future borrowing from `'a`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A stream of chat chunks. It ends after the server's `[DONE]`; a stream that breaks off
/// before `[DONE]` yields an [`LmError::Stream`] as its last item.
pub type ChatStream = Pin<Box<dyn Stream<Item = Result<ChatChunk, LmError>> + Send + 'static>>;

/// A language model: one small, object-safe trait.
///
/// [`HttpLm`](crate::HttpLm) implements it over HTTP; retry, limits, cache, usage and tracing
/// are layers that wrap any `Lm` and are `Lm`s themselves. Use `Arc<dyn Lm>` or the
/// cheap-to-clone [`LmHandle`] to share one.
///
/// An LM is a value passed to each call site; nothing in this crate is global.
pub trait Lm: Send + Sync {
    /// One `chat.completions` call.
    fn chat<'a>(
        &'a self,
        request: ChatRequest,
        options: &'a CallOptions,
    ) -> BoxFuture<'a, Result<ChatResponse, LmError>>;

    /// A streaming `chat.completions` call. Resolves once the response headers arrived;
    /// retries (when layered) cover only that part, never a stream already started.
    fn chat_stream<'a>(
        &'a self,
        request: ChatRequest,
        options: &'a CallOptions,
    ) -> BoxFuture<'a, Result<ChatStream, LmError>>;

    /// One `embeddings` call.
    fn embed<'a>(
        &'a self,
        request: EmbeddingRequest,
        options: &'a CallOptions,
    ) -> BoxFuture<'a, Result<EmbeddingResponse, LmError>>;

    /// Model, provider and server of this LM; never secrets.
    fn describe(&self) -> LmInfo;
}

impl<T: Lm + ?Sized> Lm for Arc<T> {
    fn chat<'a>(
        &'a self,
        request: ChatRequest,
        options: &'a CallOptions,
    ) -> BoxFuture<'a, Result<ChatResponse, LmError>> {
        (**self).chat(request, options)
    }
    fn chat_stream<'a>(
        &'a self,
        request: ChatRequest,
        options: &'a CallOptions,
    ) -> BoxFuture<'a, Result<ChatStream, LmError>> {
        (**self).chat_stream(request, options)
    }
    fn embed<'a>(
        &'a self,
        request: EmbeddingRequest,
        options: &'a CallOptions,
    ) -> BoxFuture<'a, Result<EmbeddingResponse, LmError>> {
        (**self).embed(request, options)
    }
    fn describe(&self) -> LmInfo {
        (**self).describe()
    }
}

/// Wraps an [`Lm`] in another; the tower `Layer` idea for LMs.
pub trait Layer<L> {
    /// The wrapped LM.
    type Lm: Lm;
    /// Wraps `inner`.
    fn layer(&self, inner: L) -> Self::Lm;
}

/// Per-call options; `CallOptions::default()` is right for most calls.
///
/// ```
/// use std::time::Duration;
/// use hone_lm::CallOptions;
/// let options = CallOptions::default()
///     .no_cache()
///     .deadline(Duration::from_secs(30))
///     .metadata("predictor", "qa");
/// assert!(options.skip_cache);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct CallOptions {
    /// Neither read nor write the response cache for this call.
    pub skip_cache: bool,
    /// Time budget for the whole call (all attempts and waits), counted from its start.
    /// Overrides the retry layer's deadline.
    pub deadline: Option<Duration>,
    /// Key/value pairs recorded on the call's span (field `hone.metadata`).
    pub metadata: Vec<(String, String)>,
}

impl CallOptions {
    /// Opts this call out of the response cache.
    pub fn no_cache(mut self) -> Self {
        self.skip_cache = true;
        self
    }

    /// Sets the time budget for the whole call.
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// Adds a key/value pair to the call's span.
    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.push((key.into(), value.into()));
        self
    }
}

/// What an LM is: model, provider, server and request defaults. Never secrets.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct LmInfo {
    /// Default model for requests with an empty `model`.
    pub model: String,
    /// Provider name for `gen_ai.provider.name` (e.g. `openai`).
    pub provider: String,
    /// Base URL, e.g. `https://api.openai.com/v1`.
    pub base_url: String,
    /// Host of the base URL.
    pub host: String,
    /// Port of the base URL (explicit or the scheme's default).
    pub port: u16,
    /// Sampling defaults applied to requests that leave them unset.
    pub defaults: Sampling,
    /// Whether the model reasons natively (sends `reasoning_content` and takes
    /// `reasoning_effort`): what DSPy's `lm.supports_reasoning` answers from LiteLLM's model
    /// list, declared here (`LmSpec::supports_reasoning`). A `dspy.Reasoning` output field
    /// (hone-modules' `ChainOfThought::with_native_reasoning`) then comes from the response's
    /// reasoning instead of the prompt.
    pub supports_reasoning: bool,
}

impl LmInfo {
    /// The request as it will be sent: model and defaults filled in where unset.
    /// Idempotent; layers use it so cache keys and span attributes see effective values.
    pub fn resolve_chat(&self, mut request: ChatRequest) -> ChatRequest {
        if request.model.is_empty() {
            request.model.clone_from(&self.model);
        }
        let d = &self.defaults;
        if request.temperature.is_none() {
            request.temperature = d.temperature;
        }
        if request.top_p.is_none() {
            request.top_p = d.top_p;
        }
        if request.max_tokens.is_none() && request.max_completion_tokens.is_none() {
            request.max_tokens = d.max_tokens;
        }
        if request.n.is_none() {
            request.n = d.n;
        }
        if request.seed.is_none() {
            request.seed = d.request_seed();
        }
        for (key, value) in &d.extra {
            if !request.extra.contains_key(key) {
                request.extra.insert(key.clone(), value.clone());
            }
        }
        request
    }

    /// The embeddings request as it will be sent (model filled in when empty).
    pub fn resolve_embed(&self, mut request: EmbeddingRequest) -> EmbeddingRequest {
        if request.model.is_empty() {
            request.model.clone_from(&self.model);
        }
        request
    }
}

/// A cheap-to-clone, type-erased [`Lm`]: `Arc<dyn Lm>`.
///
/// Its `Debug` shows [`LmInfo`] only, never headers or keys.
#[derive(Clone)]
pub struct LmHandle(Arc<dyn Lm>);

impl LmHandle {
    /// Wraps any LM.
    pub fn new(lm: impl Lm + 'static) -> Self {
        LmHandle(Arc::new(lm))
    }

    /// Wraps an existing `Arc<dyn Lm>`.
    pub fn from_arc(lm: Arc<dyn Lm>) -> Self {
        LmHandle(lm)
    }

    /// The shared LM.
    pub fn as_arc(&self) -> &Arc<dyn Lm> {
        &self.0
    }
}

impl fmt::Debug for LmHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let info = self.0.describe();
        f.debug_struct("LmHandle")
            .field("model", &info.model)
            .field("provider", &info.provider)
            .field("base_url", &info.base_url)
            .finish()
    }
}

impl Lm for LmHandle {
    fn chat<'a>(
        &'a self,
        request: ChatRequest,
        options: &'a CallOptions,
    ) -> BoxFuture<'a, Result<ChatResponse, LmError>> {
        self.0.chat(request, options)
    }
    fn chat_stream<'a>(
        &'a self,
        request: ChatRequest,
        options: &'a CallOptions,
    ) -> BoxFuture<'a, Result<ChatStream, LmError>> {
        self.0.chat_stream(request, options)
    }
    fn embed<'a>(
        &'a self,
        request: EmbeddingRequest,
        options: &'a CallOptions,
    ) -> BoxFuture<'a, Result<EmbeddingResponse, LmError>> {
        self.0.embed(request, options)
    }
    fn describe(&self) -> LmInfo {
        self.0.describe()
    }
}
