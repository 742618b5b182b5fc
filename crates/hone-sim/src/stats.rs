//! Request counters: totals, per path and model, concurrency and faults.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// A snapshot of what a server has seen since start or the last reset.
///
/// Only `/v1/...` requests are counted; the admin routes (`/health`,
/// `/stats`, `/sim/faults`) are not, so polling them changes nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimStats {
    /// All counted requests, including those answered with a fault or a 4xx.
    pub requests_total: u64,
    /// Requests per path, e.g. `"/v1/chat/completions"`.
    pub requests_by_path: BTreeMap<String, u64>,
    /// Requests per `model` named in the body (chat and embeddings).
    pub requests_by_model: BTreeMap<String, u64>,
    /// Requests being handled right now.
    pub in_flight: u64,
    /// The largest `in_flight` seen.
    pub peak_concurrency: u64,
    /// Faults taken from the queue and served.
    pub faults_served: u64,
    /// Faults served per kind (`status`, `connection_reset`, `hang`, ...).
    pub faults_by_kind: BTreeMap<String, u64>,
    /// Faults still waiting in the queue.
    pub faults_pending: u64,
    /// Requests rejected with a 4xx because the body was invalid.
    pub bad_requests: u64,
    /// Streaming chat requests.
    pub stream_requests: u64,
    /// Sum of `usage.prompt_tokens` of the answers sent.
    pub prompt_tokens: u64,
    /// Sum of `usage.completion_tokens` of the answers sent.
    pub completion_tokens: u64,
}

/// The live counters of one server.
#[derive(Debug, Default)]
pub struct StatsRecorder {
    inner: Mutex<SimStats>,
}

impl StatsRecorder {
    fn with<R>(&self, f: impl FnOnce(&mut SimStats) -> R) -> R {
        let mut guard = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut guard)
    }

    /// Counts a request on `path` and marks it in flight until the returned
    /// guard is dropped.
    pub fn begin(&self, path: &str) -> InFlight<'_> {
        self.with(|s| {
            s.requests_total += 1;
            *s.requests_by_path.entry(path.to_owned()).or_default() += 1;
            s.in_flight += 1;
            s.peak_concurrency = s.peak_concurrency.max(s.in_flight);
        });
        InFlight { stats: self }
    }

    /// Counts a request for `model`.
    pub fn model(&self, model: &str) {
        self.with(|s| *s.requests_by_model.entry(model.to_owned()).or_default() += 1);
    }

    /// Counts a served fault.
    pub fn fault(&self, kind: &str) {
        self.with(|s| {
            s.faults_served += 1;
            *s.faults_by_kind.entry(kind.to_owned()).or_default() += 1;
        });
    }

    /// Counts a rejected request.
    pub fn bad_request(&self) {
        self.with(|s| s.bad_requests += 1);
    }

    /// Counts a streaming request.
    pub fn stream(&self) {
        self.with(|s| s.stream_requests += 1);
    }

    /// Adds token usage.
    pub fn tokens(&self, prompt: u64, completion: u64) {
        self.with(|s| {
            s.prompt_tokens += prompt;
            s.completion_tokens += completion;
        });
    }

    /// A copy of the counters; `faults_pending` is filled in by the caller.
    pub fn snapshot(&self) -> SimStats {
        self.with(|s| s.clone())
    }

    /// Zeroes every counter except `in_flight` (requests still running stay
    /// counted as in flight and as the new peak).
    pub fn reset(&self) {
        self.with(|s| {
            let in_flight = s.in_flight;
            *s = SimStats {
                in_flight,
                peak_concurrency: in_flight,
                ..SimStats::default()
            };
        });
    }
}

/// Marks one request in flight; dropping it ends the request.
#[derive(Debug)]
pub struct InFlight<'a> {
    stats: &'a StatsRecorder,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.stats
            .with(|s| s.in_flight = s.in_flight.saturating_sub(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracks_peak_concurrency() {
        let r = StatsRecorder::default();
        let a = r.begin("/v1/x");
        let b = r.begin("/v1/x");
        drop(a);
        let c = r.begin("/v1/y");
        let s = r.snapshot();
        assert_eq!(s.in_flight, 2);
        assert_eq!(s.peak_concurrency, 2);
        assert_eq!(s.requests_total, 3);
        assert_eq!(s.requests_by_path.get("/v1/x"), Some(&2));
        drop((b, c));
        assert_eq!(r.snapshot().in_flight, 0);
        r.reset();
        assert_eq!(r.snapshot(), SimStats::default());
    }
}
