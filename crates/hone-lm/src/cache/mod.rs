//! Response cache as a layer: [`CacheLayer`] / [`Cached`] over a [`CacheStore`]
//! ([`MemoryCache`](memory::MemoryCache) or [`SqliteCache`](sqlite::SqliteCache)).
//!
//! Successful chat and embeddings responses are stored under a [`CacheKey`]. A hit returns
//! the stored response with `meta.cached = true`, zero cost and zero attempts, and sends
//! nothing. Streams are not cached. [`CallOptions::skip_cache`] bypasses the cache for a
//! call. A failing store never fails a call: it is logged at WARN and the call goes on.

pub mod key;
pub mod memory;
#[cfg(feature = "sqlite")]
pub mod sqlite;

use std::sync::Arc;

pub use key::CacheKey;

use crate::error::LmError;
use crate::lm::{BoxFuture, CallOptions, ChatStream, Layer, Lm, LmInfo};
use crate::types::embeddings::{EmbeddingRequest, EmbeddingResponse};
use crate::types::request::ChatRequest;
use crate::types::response::{ChatResponse, ResponseMeta};

/// Where cached responses live: bytes by key.
pub trait CacheStore: Send + Sync {
    /// The bytes stored under `key`, marking them recently used.
    fn get<'a>(&'a self, key: &'a CacheKey) -> BoxFuture<'a, Result<Option<Vec<u8>>, LmError>>;
    /// Stores `value` under `key`, evicting least-recently-used entries over the bound.
    fn put<'a>(&'a self, key: &'a CacheKey, value: Vec<u8>) -> BoxFuture<'a, Result<(), LmError>>;
}

/// Wraps an LM with a response cache over `store`.
#[derive(Clone)]
pub struct CacheLayer {
    store: Arc<dyn CacheStore>,
}

impl std::fmt::Debug for CacheLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CacheLayer").finish_non_exhaustive()
    }
}

impl CacheLayer {
    /// A cache layer over `store`.
    pub fn new(store: impl CacheStore + 'static) -> Self {
        CacheLayer {
            store: Arc::new(store),
        }
    }

    /// A cache layer over a shared store (several LMs may share one store; keys include the
    /// base URL and model).
    pub fn shared(store: Arc<dyn CacheStore>) -> Self {
        CacheLayer { store }
    }
}

impl<L: Lm> Layer<L> for CacheLayer {
    type Lm = Cached<L>;
    fn layer(&self, inner: L) -> Cached<L> {
        Cached {
            info: inner.describe(),
            inner,
            store: self.store.clone(),
        }
    }
}

/// An LM with a response cache. Built by [`CacheLayer`].
pub struct Cached<L> {
    inner: L,
    info: LmInfo,
    store: Arc<dyn CacheStore>,
}

impl<L> std::fmt::Debug for Cached<L> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cached")
            .field("model", &self.info.model)
            .finish_non_exhaustive()
    }
}

fn hit_meta() -> ResponseMeta {
    ResponseMeta {
        cached: true,
        cost_usd: Some(0.0),
        attempts: 0,
    }
}

impl<L> Cached<L> {
    async fn lookup<T: serde::de::DeserializeOwned>(&self, key: &CacheKey) -> Option<T> {
        match self.store.get(key).await {
            Ok(Some(bytes)) => match serde_json::from_slice(&bytes) {
                Ok(value) => Some(value),
                Err(err) => {
                    tracing::debug!(key = %key, error = %err, "ignoring unreadable cache entry");
                    None
                }
            },
            Ok(None) => None,
            Err(err) => {
                tracing::warn!(error = %err, "response cache read failed; calling the LM");
                None
            }
        }
    }

    async fn store<T: serde::Serialize>(&self, key: &CacheKey, value: &T) {
        let bytes = match serde_json::to_vec(value) {
            Ok(bytes) => bytes,
            Err(_) => return,
        };
        if let Err(err) = self.store.put(key, bytes).await {
            tracing::warn!(error = %err, "response cache write failed");
        }
    }
}

impl<L: Lm> Lm for Cached<L> {
    fn chat<'a>(
        &'a self,
        request: ChatRequest,
        options: &'a CallOptions,
    ) -> BoxFuture<'a, Result<ChatResponse, LmError>> {
        Box::pin(async move {
            if options.skip_cache {
                return self.inner.chat(request, options).await;
            }
            let request = self.info.resolve_chat(request);
            let key = CacheKey::chat(&self.info.base_url, &request);
            if let Some(mut response) = self.lookup::<ChatResponse>(&key).await {
                tracing::debug!(key = %key, "cache hit");
                response.meta = hit_meta();
                return Ok(response);
            }
            let response = self.inner.chat(request, options).await?;
            self.store(&key, &response).await;
            Ok(response)
        })
    }

    fn chat_stream<'a>(
        &'a self,
        request: ChatRequest,
        options: &'a CallOptions,
    ) -> BoxFuture<'a, Result<ChatStream, LmError>> {
        self.inner.chat_stream(request, options)
    }

    fn embed<'a>(
        &'a self,
        request: EmbeddingRequest,
        options: &'a CallOptions,
    ) -> BoxFuture<'a, Result<EmbeddingResponse, LmError>> {
        Box::pin(async move {
            if options.skip_cache {
                return self.inner.embed(request, options).await;
            }
            let request = self.info.resolve_embed(request);
            let key = CacheKey::embed(&self.info.base_url, &request);
            if let Some(mut response) = self.lookup::<EmbeddingResponse>(&key).await {
                response.meta = hit_meta();
                return Ok(response);
            }
            let response = self.inner.embed(request, options).await?;
            self.store(&key, &response).await;
            Ok(response)
        })
    }

    fn describe(&self) -> LmInfo {
        self.inner.describe()
    }
}
