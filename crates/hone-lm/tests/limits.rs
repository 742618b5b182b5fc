//! Concurrency and rate limits against the simulated server.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use hone_lm::{CallOptions, ChatRequest, Lm, LmBuilder, Message, RateLimitLayer};

use common::{http, sim_with_latency};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peak_concurrency_never_exceeds_max_in_flight() {
    let sim = sim_with_latency(Duration::from_millis(30)).await;
    let lm = Arc::new(
        LmBuilder::new(http(&sim).build().unwrap())
            .max_in_flight(3)
            .build(),
    );
    let mut tasks = Vec::new();
    for i in 0..24 {
        let lm = lm.clone();
        tasks.push(tokio::spawn(async move {
            let request = ChatRequest::new(vec![Message::user(format!("What is {i} + 2?"))]);
            lm.chat(request, &CallOptions::default()).await
        }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let stats = sim.stats();
    assert_eq!(stats.requests_total, 24);
    assert!(
        stats.peak_concurrency <= 3,
        "peak {}",
        stats.peak_concurrency
    );
    assert!(stats.peak_concurrency >= 2, "the limit was exercised");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpm_limiter_spaces_requests() {
    let sim = sim_with_latency(Duration::ZERO).await;
    // 1200 per minute = one every 50 ms, no burst.
    let lm = Arc::new(
        LmBuilder::new(http(&sim).build().unwrap())
            .rate_limit(RateLimitLayer::new().requests_per_minute(1200).burst(1))
            .build(),
    );
    let start = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..6 {
        let lm = lm.clone();
        tasks.push(tokio::spawn(async move {
            let request = ChatRequest::new(vec![Message::user(format!("What is {i} + 3?"))]);
            lm.chat(request, &CallOptions::default()).await
        }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    // Six requests, the first free, then five gaps of 50 ms.
    assert!(
        start.elapsed() >= Duration::from_millis(245),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(sim.stats().requests_total, 6);
    sim.shutdown().await;
}
