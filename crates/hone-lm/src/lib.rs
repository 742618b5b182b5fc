//! A thin, quiet, retrying OpenAI-compatible LM client.
//!
//! The core is one small, object-safe trait, [`Lm`]. [`HttpLm`] implements it over HTTP;
//! retries, limits, a response cache, usage accounting and tracing are layers that wrap any
//! `Lm` and are `Lm`s themselves. [`LmBuilder`] stacks them in a sensible order and returns a
//! cheap-to-clone [`LmHandle`]; [`LmSpec`] is an LM as plain data (what a config file or a
//! binding holds), built into that stack by [`LmSpec::build`].
//!
//! Nothing here is global: an LM, its limits, cache and usage tracker are values you pass to
//! each call site. Nothing is logged at INFO or above for a call; API keys never appear in
//! logs, errors, caches or `Debug` output.

pub mod breaker;
pub mod builder;
pub mod cache;
pub mod error;
pub mod http;
pub mod limit;
pub mod lm;
pub mod price;
pub mod retry;
pub mod secret;
pub mod spec;
pub mod sse;
pub mod telemetry;
pub mod types;
pub mod url;
pub mod usage;

pub use breaker::{Breaker, BreakerLayer};
pub use builder::LmBuilder;
pub use cache::memory::MemoryCache;
#[cfg(feature = "sqlite")]
pub use cache::sqlite::SqliteCache;
pub use cache::{CacheKey, CacheLayer, CacheStore, Cached};
pub use error::{ApiError, ErrorContext, LmError, RETRYABLE_STATUSES};
pub use hone_core::Sampling;
pub use http::{HttpLm, HttpLmBuilder, OPENAI_BASE_URL};
pub use limit::concurrency::{ConcurrencyLimit, ConcurrencyLimitLayer};
pub use limit::rate::{RateLimit, RateLimitLayer};
pub use lm::{BoxFuture, CallOptions, ChatStream, Layer, Lm, LmHandle, LmInfo};
pub use price::{Price, PriceTable};
pub use retry::backoff::Backoff;
pub use retry::{Retry, RetryLayer};
pub use secret::ApiKey;
pub use spec::{CacheSpec, Env, LmContext, LmSpec};
#[cfg(feature = "otlp")]
pub use telemetry::otlp;
pub use telemetry::{TraceLayer, Traced};
pub use types::embeddings::{
    Embedding, EmbeddingInput, EmbeddingRequest, EmbeddingResponse, EmbeddingUsage, EmbeddingVector,
};
pub use types::message::{Content, ContentPart, FunctionCall, ImageUrl, Message, Role, ToolCall};
pub use types::request::{
    ChatRequest, FunctionDefinition, JsonSchemaFormat, NamedFunction, NamedToolChoice,
    ResponseFormat, Stop, StreamOptions, Tool, ToolChoice,
};
pub use types::response::{
    ChatResponse, Choice, ChoiceLogprobs, CompletionTokensDetails, FinishReason,
    PromptTokensDetails, ResponseMeta, TokenLogprob, TopLogprob, Usage,
};
pub use types::stream::{
    ChatChunk, ChunkChoice, Delta, FunctionCallDelta, StreamAccumulator, ToolCallDelta,
};
pub use url::{endpoint, redact_url};
pub use usage::{Metered, UsageLayer, UsageReport, UsageTracker};
