//! A token bucket that hands out reservations (sans-IO: the caller passes the time).

use std::time::{Duration, Instant};

/// A token bucket refilled continuously at `per_second` up to `capacity`.
///
/// [`reserve`](Self::reserve) always succeeds and returns how long the caller must wait
/// before using what it reserved; the balance may go negative, which queues later callers
/// behind earlier ones.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    capacity: f64,
    per_second: f64,
    balance: f64,
    updated: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(capacity: f64, per_second: f64, now: Instant) -> Self {
        let capacity = capacity.max(1.0);
        TokenBucket {
            capacity,
            per_second: per_second.max(f64::MIN_POSITIVE),
            balance: capacity,
            updated: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.balance = (self.balance + elapsed * self.per_second).min(self.capacity);
        self.updated = self.updated.max(now);
    }

    /// Takes `amount` (at most the capacity) and returns the wait before it may be used.
    pub fn reserve(&mut self, amount: f64, now: Instant) -> Duration {
        self.refill(now);
        self.balance -= amount.clamp(0.0, self.capacity);
        if self.balance >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.balance / self.per_second)
        }
    }

    /// Corrects an earlier reservation by `delta` (positive takes more, negative gives back).
    pub fn adjust(&mut self, delta: f64, now: Instant) {
        self.refill(now);
        self.balance = (self.balance - delta).min(self.capacity);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_spaced() {
        let t0 = Instant::now();
        // 60 per minute with a burst of 2.
        let mut b = TokenBucket::new(2.0, 1.0, t0);
        assert_eq!(b.reserve(1.0, t0), Duration::ZERO);
        assert_eq!(b.reserve(1.0, t0), Duration::ZERO);
        assert_eq!(b.reserve(1.0, t0), Duration::from_secs(1));
        assert_eq!(b.reserve(1.0, t0), Duration::from_secs(2));
        // Three seconds later the debt of 2 is paid and one token is back.
        assert_eq!(b.reserve(1.0, t0 + Duration::from_secs(3)), Duration::ZERO);
    }

    #[test]
    fn oversized_requests_are_capped_and_adjust_corrects() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(100.0, 10.0, t0);
        assert_eq!(b.reserve(1_000.0, t0), Duration::ZERO);
        assert_eq!(b.reserve(10.0, t0), Duration::from_secs(1));
        b.adjust(-50.0, t0);
        assert_eq!(b.reserve(10.0, t0), Duration::ZERO);
        b.adjust(1_000.0, t0);
        assert!(b.reserve(1.0, t0) > Duration::from_secs(90));
    }
}
