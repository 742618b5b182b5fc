//! Usage and cost accounting: [`UsageTracker`] and its layer [`UsageLayer`] / [`Metered`].

use std::sync::{Arc, Mutex};

use futures_util::StreamExt;
use serde::Serialize;

use crate::error::LmError;
use crate::lm::{BoxFuture, CallOptions, ChatStream, Layer, Lm, LmInfo};
use crate::price::PriceTable;
use crate::types::embeddings::{EmbeddingRequest, EmbeddingResponse};
use crate::types::request::ChatRequest;
use crate::types::response::{ChatResponse, Usage};

/// Totals over the calls a [`UsageTracker`] saw.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct UsageReport {
    /// Calls that returned a response (including cache hits).
    pub calls: u64,
    /// Of those, answered from the cache (no tokens, no cost).
    pub cached_calls: u64,
    /// Calls that failed.
    pub failed_calls: u64,
    /// Input tokens of uncached calls.
    pub prompt_tokens: u64,
    /// Output tokens of uncached calls.
    pub completion_tokens: u64,
    /// Cost in US dollars of calls whose model has a price.
    pub cost_usd: f64,
    /// Uncached calls whose model has no price in the table.
    pub unpriced_calls: u64,
}

/// A shared, cheap-to-clone usage counter for one run. Attach it with [`UsageLayer`];
/// several LMs may share one tracker.
///
/// ```
/// use hone_lm::UsageTracker;
/// let tracker = UsageTracker::new();
/// let report = tracker.report();
/// assert_eq!(report.calls, 0);
/// ```
#[derive(Debug, Clone, Default)]
pub struct UsageTracker {
    totals: Arc<Mutex<UsageReport>>,
}

impl UsageTracker {
    /// A tracker with zero totals.
    pub fn new() -> Self {
        Self::default()
    }

    /// The totals so far.
    pub fn report(&self) -> UsageReport {
        self.with(|t| t.clone())
    }

    /// Sets all totals back to zero.
    pub fn reset(&self) {
        self.with(|t| *t = UsageReport::default());
    }

    fn with<T>(&self, f: impl FnOnce(&mut UsageReport) -> T) -> T {
        match self.totals.lock() {
            Ok(mut guard) => f(&mut guard),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }

    /// Records one finished call.
    fn record(&self, cached: bool, usage: Option<&Usage>, cost: Option<f64>) {
        self.with(|t| {
            t.calls += 1;
            if cached {
                t.cached_calls += 1;
                return;
            }
            if let Some(usage) = usage {
                t.prompt_tokens += usage.prompt_tokens;
                t.completion_tokens += usage.completion_tokens;
            }
            match cost {
                Some(cost) => t.cost_usd += cost,
                None => t.unpriced_calls += 1,
            }
        });
    }

    fn failed(&self) {
        self.with(|t| t.failed_calls += 1);
    }
}

/// Counts calls, tokens and cost into a [`UsageTracker`], and sets
/// [`ResponseMeta::cost_usd`](crate::ResponseMeta::cost_usd) on responses.
#[derive(Debug, Clone)]
pub struct UsageLayer {
    tracker: UsageTracker,
    prices: Arc<PriceTable>,
}

impl UsageLayer {
    /// Counts into `tracker`, pricing with [`PriceTable::with_defaults`].
    pub fn new(tracker: UsageTracker) -> Self {
        UsageLayer {
            tracker,
            prices: Arc::new(PriceTable::with_defaults()),
        }
    }

    /// Prices with `prices` instead.
    pub fn prices(mut self, prices: PriceTable) -> Self {
        self.prices = Arc::new(prices);
        self
    }
}

impl<L: Lm> Layer<L> for UsageLayer {
    type Lm = Metered<L>;
    fn layer(&self, inner: L) -> Metered<L> {
        Metered {
            info: inner.describe(),
            inner,
            tracker: self.tracker.clone(),
            prices: self.prices.clone(),
        }
    }
}

/// An LM whose calls are counted. Built by [`UsageLayer`].
#[derive(Debug)]
pub struct Metered<L> {
    inner: L,
    info: LmInfo,
    tracker: UsageTracker,
    prices: Arc<PriceTable>,
}

impl<L: Lm> Lm for Metered<L> {
    fn chat<'a>(
        &'a self,
        request: ChatRequest,
        options: &'a CallOptions,
    ) -> BoxFuture<'a, Result<ChatResponse, LmError>> {
        Box::pin(async move {
            let requested = self.info.resolve_chat(request.clone()).model;
            match self.inner.chat(request, options).await {
                Ok(mut response) => {
                    let cost = if response.meta.cached {
                        Some(0.0)
                    } else {
                        let model = if response.model.is_empty() {
                            &requested
                        } else {
                            &response.model
                        };
                        let cost = response
                            .usage
                            .as_ref()
                            .and_then(|u| self.prices.cost(model, u));
                        cost.or_else(|| {
                            response
                                .usage
                                .as_ref()
                                .and_then(|u| self.prices.cost(&requested, u))
                        })
                    };
                    response.meta.cost_usd = cost;
                    self.tracker
                        .record(response.meta.cached, response.usage.as_ref(), cost);
                    Ok(response)
                }
                Err(err) => {
                    self.tracker.failed();
                    Err(err)
                }
            }
        })
    }

    fn chat_stream<'a>(
        &'a self,
        request: ChatRequest,
        options: &'a CallOptions,
    ) -> BoxFuture<'a, Result<ChatStream, LmError>> {
        Box::pin(async move {
            let model = self.info.resolve_chat(request.clone()).model;
            let stream = match self.inner.chat_stream(request, options).await {
                Ok(stream) => stream,
                Err(err) => {
                    self.tracker.failed();
                    return Err(err);
                }
            };
            let tracker = self.tracker.clone();
            let prices = self.prices.clone();
            let counted: ChatStream = Box::pin(stream.map(move |item| {
                match &item {
                    Ok(chunk) => {
                        if let Some(usage) = &chunk.usage {
                            tracker.record(false, Some(usage), prices.cost(&model, usage));
                        }
                    }
                    Err(_) => tracker.failed(),
                }
                item
            }));
            Ok(counted)
        })
    }

    fn embed<'a>(
        &'a self,
        request: EmbeddingRequest,
        options: &'a CallOptions,
    ) -> BoxFuture<'a, Result<EmbeddingResponse, LmError>> {
        Box::pin(async move {
            let model = self.info.resolve_embed(request.clone()).model;
            match self.inner.embed(request, options).await {
                Ok(mut response) => {
                    let usage = response.usage.as_ref().map(|u| Usage {
                        prompt_tokens: u.prompt_tokens,
                        total_tokens: u.total_tokens,
                        ..Default::default()
                    });
                    let cost = if response.meta.cached {
                        Some(0.0)
                    } else {
                        usage.as_ref().and_then(|u| self.prices.cost(&model, u))
                    };
                    response.meta.cost_usd = cost;
                    self.tracker
                        .record(response.meta.cached, usage.as_ref(), cost);
                    Ok(response)
                }
                Err(err) => {
                    self.tracker.failed();
                    Err(err)
                }
            }
        })
    }

    fn describe(&self) -> LmInfo {
        self.inner.describe()
    }
}
