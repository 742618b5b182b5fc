//! Limits as layers: requests in flight ([`ConcurrencyLimitLayer`]) and requests / tokens per
//! minute ([`RateLimitLayer`]). Each limiter lives inside the LM value it wraps.

pub mod bucket;
pub mod concurrency;
pub mod rate;
