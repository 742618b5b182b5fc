//! Exponential backoff with jitter.

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

/// Exponential backoff: attempt `n` (1-based, after the `n`-th failure) waits a random time in
/// `[(1 - jitter) * d, d]` with `d = min(base * factor^(n-1), max)`.
///
/// ```
/// use std::time::Duration;
/// use hone_lm::Backoff;
/// let b = Backoff::default();
/// let wait = b.delay(3, 0.5);
/// assert!(wait <= b.max);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// First wait (before jitter).
    pub base: Duration,
    /// Growth per attempt.
    pub factor: f64,
    /// Largest wait.
    pub max: Duration,
    /// Fraction of the wait that is random, 0 (none) to 1 ("full jitter").
    pub jitter: f64,
}

impl Default for Backoff {
    /// 500 ms, doubling, at most 30 s, half of it random.
    fn default() -> Self {
        Backoff {
            base: Duration::from_millis(500),
            factor: 2.0,
            max: Duration::from_secs(30),
            jitter: 0.5,
        }
    }
}

impl Backoff {
    /// The wait after failure number `attempt` (1-based), with `random` in `[0, 1)`.
    pub fn delay(&self, attempt: u32, random: f64) -> Duration {
        let exponent = attempt.saturating_sub(1).min(64) as i32;
        let ceiling = self.max.as_secs_f64();
        let raw = (self.base.as_secs_f64() * self.factor.max(1.0).powi(exponent)).min(ceiling);
        let jitter = self.jitter.clamp(0.0, 1.0);
        let random = random.clamp(0.0, 1.0);
        let secs = raw * (1.0 - jitter * random);
        Duration::from_secs_f64(secs.clamp(0.0, ceiling))
    }
}

/// A small per-value random source (splitmix64), seeded from the standard library's random
/// hasher keys. Not cryptographic; only spreads retries apart.
#[derive(Debug)]
pub(crate) struct Jitter(u64);

impl Jitter {
    pub(crate) fn new() -> Self {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u64(0x9e37_79b9_7f4a_7c15);
        Jitter(hasher.finish())
    }

    pub(crate) fn seeded(seed: u64) -> Self {
        Jitter(seed)
    }

    /// A number in `[0, 1)`.
    pub(crate) fn next_f64(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn grows_then_caps() {
        let b = Backoff {
            jitter: 0.0,
            ..Backoff::default()
        };
        assert_eq!(b.delay(1, 0.9), Duration::from_millis(500));
        assert_eq!(b.delay(2, 0.9), Duration::from_secs(1));
        assert_eq!(b.delay(3, 0.9), Duration::from_secs(2));
        assert_eq!(b.delay(20, 0.9), Duration::from_secs(30));
        assert_eq!(b.delay(u32::MAX, 0.9), Duration::from_secs(30));
    }

    #[test]
    fn jitter_source_is_in_range() {
        let mut j = Jitter::seeded(1);
        for _ in 0..10_000 {
            let x = j.next_f64();
            assert!((0.0..1.0).contains(&x));
        }
        let _ = Jitter::new().next_f64();
    }

    proptest! {
        #[test]
        fn delay_within_bounds(attempt in 0u32..200, random in 0.0f64..1.0, jitter in 0.0f64..=1.0,
                               base_ms in 0u64..5_000, max_ms in 0u64..60_000) {
            let b = Backoff { base: Duration::from_millis(base_ms), factor: 2.0,
                              max: Duration::from_millis(max_ms), jitter };
            let d = b.delay(attempt, random);
            let raw = (base_ms as f64 * 2f64.powi(attempt.saturating_sub(1).min(64) as i32)).min(max_ms as f64);
            prop_assert!(d <= b.max);
            prop_assert!(d.as_secs_f64() * 1000.0 <= raw + 1e-6);
            prop_assert!(d.as_secs_f64() * 1000.0 >= raw * (1.0 - jitter) - 1e-6);
        }
    }
}
