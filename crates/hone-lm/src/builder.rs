//! [`LmBuilder`]: stacks the layers in a fixed, sensible order.

use std::sync::Arc;

use crate::breaker::BreakerLayer;
use crate::cache::{CacheLayer, CacheStore};
use crate::limit::concurrency::ConcurrencyLimitLayer;
use crate::limit::rate::RateLimitLayer;
use crate::lm::{Layer, Lm, LmHandle};
use crate::price::PriceTable;
use crate::retry::RetryLayer;
use crate::telemetry::TraceLayer;
use crate::usage::{UsageLayer, UsageTracker};

/// Builds an [`LmHandle`] from a base LM and optional layers.
///
/// Whatever order the methods are called in, the stack is, outermost first:
///
/// 1. tracing (one span per call; sees cache hits and the final outcome),
/// 2. usage (counts every call, cached or not, and prices it),
/// 3. cache (a hit skips everything below),
/// 4. circuit breaker, when set (sees each call's outcome after its retries),
/// 5. retry (each attempt goes through the limits again),
/// 6. rate limit (each attempt spends request and token budget),
/// 7. concurrency limit (a slot is held only while a request is on the wire),
/// 8. the base LM (usually [`HttpLm`](crate::HttpLm)).
///
/// Retry ([`RetryLayer::default`]) and tracing are on unless turned off; the breaker
/// ([`BreakerLayer`]) is off unless set.
///
/// ```no_run
/// # fn main() -> Result<(), hone_lm::LmError> {
/// use hone_lm::{HttpLm, LmBuilder, RateLimitLayer, SqliteCache, UsageTracker};
/// let usage = UsageTracker::new();
/// let lm = LmBuilder::new(
///         HttpLm::builder().model("gpt-4o-mini").api_key_env("OPENAI_API_KEY").build()?,
///     )
///     .max_in_flight(16)
///     .rate_limit(RateLimitLayer::new().requests_per_minute(500))
///     .cache(SqliteCache::open(".hone/cache.sqlite", 1 << 30)?)
///     .usage(usage.clone())
///     .build();
/// # Ok(()) }
/// ```
pub struct LmBuilder {
    base: LmHandle,
    retry: Option<RetryLayer>,
    breaker: Option<BreakerLayer>,
    max_in_flight: Option<usize>,
    rate_limit: Option<RateLimitLayer>,
    cache: Option<CacheLayer>,
    usage: Option<UsageTracker>,
    prices: Option<PriceTable>,
    tracing: bool,
}

impl std::fmt::Debug for LmBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LmBuilder")
            .field("base", &self.base)
            .field("retry", &self.retry)
            .field("breaker", &self.breaker)
            .field("max_in_flight", &self.max_in_flight)
            .field("rate_limit", &self.rate_limit)
            .field("cache", &self.cache.is_some())
            .field("usage", &self.usage.is_some())
            .field("tracing", &self.tracing)
            .finish()
    }
}

impl LmBuilder {
    /// Starts from `base`, with default retries and tracing.
    pub fn new(base: impl Lm + 'static) -> Self {
        LmBuilder {
            base: LmHandle::new(base),
            retry: Some(RetryLayer::default()),
            breaker: None,
            max_in_flight: None,
            rate_limit: None,
            cache: None,
            usage: None,
            prices: None,
            tracing: true,
        }
    }

    /// Uses this retry policy.
    pub fn retry(mut self, retry: RetryLayer) -> Self {
        self.retry = Some(retry);
        self
    }

    /// Stops calling a server that is down (see [`BreakerLayer`]).
    pub fn breaker(mut self, breaker: BreakerLayer) -> Self {
        self.breaker = Some(breaker);
        self
    }

    /// No retries.
    pub fn no_retry(mut self) -> Self {
        self.retry = None;
        self
    }

    /// At most `max` requests in flight.
    pub fn max_in_flight(mut self, max: usize) -> Self {
        self.max_in_flight = Some(max);
        self
    }

    /// Requests/tokens per minute.
    pub fn rate_limit(mut self, limits: RateLimitLayer) -> Self {
        self.rate_limit = Some(limits);
        self
    }

    /// Caches responses in `store`.
    pub fn cache(mut self, store: impl CacheStore + 'static) -> Self {
        self.cache = Some(CacheLayer::new(store));
        self
    }

    /// Caches responses in a store shared with other LMs.
    pub fn shared_cache(mut self, store: Arc<dyn CacheStore>) -> Self {
        self.cache = Some(CacheLayer::shared(store));
        self
    }

    /// Counts calls, tokens and cost into `tracker`.
    pub fn usage(mut self, tracker: UsageTracker) -> Self {
        self.usage = Some(tracker);
        self
    }

    /// Prices for the usage layer (default [`PriceTable::with_defaults`]).
    pub fn prices(mut self, prices: PriceTable) -> Self {
        self.prices = Some(prices);
        self
    }

    /// Turns the tracing span per call on or off.
    pub fn tracing(mut self, enabled: bool) -> Self {
        self.tracing = enabled;
        self
    }

    /// Stacks the layers (see the type docs for the order).
    pub fn build(self) -> LmHandle {
        let mut lm = self.base;
        if let Some(max) = self.max_in_flight {
            lm = LmHandle::new(ConcurrencyLimitLayer::new(max).layer(lm));
        }
        if let Some(limits) = self.rate_limit {
            lm = LmHandle::new(limits.layer(lm));
        }
        if let Some(retry) = self.retry {
            lm = LmHandle::new(retry.layer(lm));
        }
        if let Some(breaker) = self.breaker {
            lm = LmHandle::new(breaker.layer(lm));
        }
        if let Some(cache) = self.cache {
            lm = LmHandle::new(cache.layer(lm));
        }
        if let Some(tracker) = self.usage {
            let mut layer = UsageLayer::new(tracker);
            if let Some(prices) = self.prices {
                layer = layer.prices(prices);
            }
            lm = LmHandle::new(layer.layer(lm));
        }
        if self.tracing {
            lm = LmHandle::new(TraceLayer.layer(lm));
        }
        lm
    }
}
