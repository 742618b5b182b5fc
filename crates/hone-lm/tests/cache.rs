//! The response cache: hits, opt-out, across processes, concurrent writers.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use hone_lm::{
    CallOptions, ChatRequest, EmbeddingRequest, Lm, LmBuilder, MemoryCache, Message, SqliteCache,
    UsageTracker,
};

use common::{fast_retry, http, sim, temp_db};

const CHILD_DB: &str = "HONE_LM_TEST_CHILD_DB";
const CHILD_URL: &str = "HONE_LM_TEST_CHILD_URL";

fn question() -> ChatRequest {
    ChatRequest::new(vec![Message::user("What is 6 times 7?")]).temperature(0.0)
}

#[tokio::test]
async fn memory_cache_hit_is_marked_free_and_sends_nothing() {
    let sim = sim().await;
    let usage = UsageTracker::new();
    let lm = LmBuilder::new(http(&sim).build().unwrap())
        .retry(fast_retry())
        .cache(MemoryCache::new(100))
        .usage(usage.clone())
        .build();
    let first = lm.chat(question(), &CallOptions::default()).await.unwrap();
    assert!(!first.meta.cached);
    let second = lm.chat(question(), &CallOptions::default()).await.unwrap();
    assert!(second.meta.cached);
    assert_eq!(second.meta.cost_usd, Some(0.0));
    assert_eq!(second.meta.attempts, 0);
    assert_eq!(second.text(), first.text());
    assert_eq!(sim.stats().requests_total, 1);

    // Opting out sends a request; a different parameter is a different key.
    lm.chat(question(), &CallOptions::default().no_cache())
        .await
        .unwrap();
    lm.chat(question().temperature(0.5), &CallOptions::default())
        .await
        .unwrap();
    assert_eq!(sim.stats().requests_total, 3);

    let report = usage.report();
    assert_eq!(report.calls, 4);
    assert_eq!(report.cached_calls, 1);
    assert!(report.prompt_tokens > 0);
    sim.shutdown().await;
}

#[tokio::test]
async fn embeddings_are_cached_too() {
    let sim = sim().await;
    let lm = LmBuilder::new(http(&sim).model("sim-embed-1").build().unwrap())
        .cache(MemoryCache::new(10))
        .build();
    let a = lm
        .embed(EmbeddingRequest::new("x"), &CallOptions::default())
        .await
        .unwrap();
    let b = lm
        .embed(EmbeddingRequest::new("x"), &CallOptions::default())
        .await
        .unwrap();
    assert!(b.meta.cached && !a.meta.cached);
    assert_eq!(a.data, b.data);
    assert_eq!(sim.stats().requests_total, 1);
    sim.shutdown().await;
}

/// Runs in a child process when the parent sets the environment; a no-op otherwise.
#[tokio::test]
async fn child_process_call() {
    let (Ok(db), Ok(url)) = (std::env::var(CHILD_DB), std::env::var(CHILD_URL)) else {
        return;
    };
    let lm = LmBuilder::new(
        hone_lm::HttpLm::builder()
            .model("sim-1")
            .base_url(url)
            .no_api_key()
            .build()
            .unwrap(),
    )
    .cache(SqliteCache::open(&db, 10 << 20).unwrap())
    .build();
    let response = lm.chat(question(), &CallOptions::default()).await.unwrap();
    println!("CHILD cached={}", response.meta.cached);
}

fn run_child(db: &std::path::Path, url: &str) -> String {
    let exe = std::env::current_exe().unwrap();
    let output = std::process::Command::new(exe)
        .args([
            "--exact",
            "child_process_call",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DB, db)
        .env(CHILD_URL, url)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "child failed: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_cache_hits_across_processes() {
    let sim = sim().await;
    let db = temp_db("xproc");
    let url = sim.base_url();
    let first = {
        let (db, url) = (db.clone(), url.clone());
        tokio::task::spawn_blocking(move || run_child(&db, &url))
            .await
            .unwrap()
    };
    assert!(first.contains("CHILD cached=false"), "{first}");
    assert_eq!(sim.stats().requests_total, 1);
    let second = {
        let (db, url) = (db.clone(), url.clone());
        tokio::task::spawn_blocking(move || run_child(&db, &url))
            .await
            .unwrap()
    };
    assert!(second.contains("CHILD cached=true"), "{second}");
    assert_eq!(
        sim.stats().requests_total,
        1,
        "the second process sent no request"
    );
    sim.shutdown().await;
    let _ = std::fs::remove_dir_all(db.parent().unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_cache_survives_many_concurrent_writers() {
    let sim = sim().await;
    let db = temp_db("concurrent");
    // Two independent stores on one file behave like two processes.
    let stores = [
        SqliteCache::open(&db, 50 << 20).unwrap(),
        SqliteCache::open(&db, 50 << 20).unwrap(),
    ];
    let lms: Vec<_> = stores
        .iter()
        .map(|store| {
            Arc::new(
                LmBuilder::new(http(&sim).build().unwrap())
                    .cache(store.clone())
                    .build(),
            )
        })
        .collect();
    let mut tasks = Vec::new();
    for i in 0..64 {
        let lm = lms[i % 2].clone();
        tasks.push(tokio::spawn(async move {
            let request = ChatRequest::new(vec![Message::user(format!("What is {i} + 1?"))]);
            lm.chat(request, &CallOptions::default()).await
        }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(stores[0].stats().await.unwrap().0, 64);
    // Every answer is now a hit, from either store.
    for i in 0..64 {
        let request = ChatRequest::new(vec![Message::user(format!("What is {i} + 1?"))]);
        let response = lms[(i + 1) % 2]
            .chat(request, &CallOptions::default())
            .await
            .unwrap();
        assert!(response.meta.cached, "{i}");
    }
    assert_eq!(sim.stats().requests_total, 64);
    sim.shutdown().await;
    let _ = std::fs::remove_dir_all(db.parent().unwrap());
}
