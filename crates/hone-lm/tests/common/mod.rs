//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::time::Duration;

use hone_lm::{Backoff, HttpLm, HttpLmBuilder, RetryLayer};
use hone_sim::{SimConfig, SimHandle, SimServer};

/// A simulated server with no latency.
pub async fn sim() -> SimHandle {
    sim_with_latency(Duration::ZERO).await
}

/// A simulated server answering after `latency`.
pub async fn sim_with_latency(latency: Duration) -> SimHandle {
    SimServer::start(SimConfig {
        latency,
        seed: 7,
        port: 0,
        ..Default::default()
    })
    .await
    .expect("the simulated server starts")
}

/// An `HttpLm` builder pointed at the sim, without a key.
pub fn http(sim: &SimHandle) -> HttpLmBuilder {
    HttpLm::builder()
        .model("sim-1")
        .base_url(sim.base_url())
        .no_api_key()
        .timeout(Duration::from_secs(10))
}

/// Retries with tiny waits so tests run fast.
pub fn fast_retry() -> RetryLayer {
    RetryLayer::new()
        .max_attempts(4)
        .backoff(Backoff {
            base: Duration::from_millis(5),
            factor: 2.0,
            max: Duration::from_millis(50),
            jitter: 0.5,
        })
        .deadline(Some(Duration::from_secs(20)))
        .seed(1)
}

/// A fresh path for a SQLite file under the temp directory.
pub fn temp_db(name: &str) -> std::path::PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    std::env::temp_dir()
        .join(format!(
            "hone-lm-test-{name}-{}-{nanos}",
            std::process::id()
        ))
        .join("cache.sqlite")
}
