//! API keys never appear in logs (even at TRACE), errors, `Debug` output or cache files; a
//! successful call logs nothing at INFO or above.
//!
//! The checks run in a child process (this test binary re-run with an environment flag) so
//! the key can be put in a uniquely named environment variable, and a process-wide
//! subscriber plus the `log` bridge can capture everything the process emits.

#![allow(clippy::unwrap_used)]

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use hone_lm::{
    CallOptions, ChatRequest, EmbeddingRequest, HttpLm, Lm, LmBuilder, Message, SqliteCache,
    UsageTracker,
};
use hone_sim::{Fault, RetryAfter};

use common::{fast_retry, sim, temp_db};

const CHILD_FLAG: &str = "HONE_LM_SECRETS_CHILD";

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Buffer {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn run_child(test: &str, extra_env: &[(String, String)]) -> String {
    let exe = std::env::current_exe().unwrap();
    let mut command = std::process::Command::new(exe);
    command
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(CHILD_FLAG, "1");
    for (k, v) in extra_env {
        command.env(k, v);
    }
    let output = command.output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "child failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("CHILD OK"), "child did not run:\n{stdout}");
    stdout + &stderr
}

#[test]
fn keys_never_leak() {
    let var = format!("HONE_LM_TEST_KEY_{}", std::process::id());
    let key = format!("sk-proj-HoneSecret{}Xy9Qz", std::process::id());
    let output = run_child(
        "child_keys_never_leak",
        &[
            ("HONE_LM_TEST_KEY_VAR".into(), var.clone()),
            (var, key.clone()),
        ],
    );
    assert!(
        !output.contains(&key),
        "the child's own output leaked the key"
    );
}

#[test]
fn url_credentials_never_leak() {
    run_child("child_url_credentials_never_leak", &[]);
}

#[tokio::test]
async fn child_url_credentials_never_leak() {
    if std::env::var(CHILD_FLAG).is_err() {
        return;
    }
    let buffer = Buffer::default();
    let writer = buffer.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::FULL)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();
    let sim = sim().await;
    let db = temp_db("url-secrets");
    let user_marker = "UserinfoMarker7Qz";
    let query_marker = "QueryMarker9Xy";
    // The sim's base URL with a password in the userinfo and keys in the query; the
    // request must still reach `/v1/chat/completions` (the path is joined before the query).
    let base = sim
        .base_url()
        .replacen("http://", &format!("http://user:{user_marker}@"), 1)
        + &format!("?api-key={query_marker}&api-version=2024-06-01&sig={query_marker}");
    let http = HttpLm::builder()
        .model("sim-1")
        .base_url(base)
        .no_api_key()
        .timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    let mut seen = vec![format!("{http:?}"), format!("{:?}", http.describe())];
    assert!(
        http.describe().base_url.contains("api-version=2024-06-01"),
        "{}",
        http.describe().base_url
    );
    let lm = LmBuilder::new(http)
        .retry(fast_retry())
        .cache(SqliteCache::open(&db, 10 << 20).unwrap())
        .usage(UsageTracker::new())
        .build();
    let ask = |q: &str| ChatRequest::new(vec![Message::user(q.to_owned())]);
    let ok = lm
        .chat(ask("What is 1 + 1?"), &CallOptions::default())
        .await
        .unwrap();
    seen.push(format!("{ok:?}"));
    let mut stream = lm
        .chat_stream(ask("Tell me about URLs."), &CallOptions::default())
        .await
        .unwrap();
    while let Some(chunk) = stream.next().await {
        seen.push(format!("{:?}", chunk.unwrap()));
    }
    seen.push(format!(
        "{:?}",
        lm.embed(EmbeddingRequest::new("x"), &CallOptions::default())
            .await
            .map(|e| e.data.len())
    ));
    sim.push_faults([Fault::status(401)]);
    let err = lm
        .chat(ask("What is 3 + 3?"), &CallOptions::default())
        .await
        .unwrap_err();
    seen.push(format!("{err:?}"));
    seen.push(err.to_string());
    assert!(
        sim.stats().requests_total >= 4,
        "the requests reached the sim"
    );
    sim.shutdown().await;

    let mut cache_bytes = Vec::new();
    for suffix in ["", "-wal", "-shm"] {
        if let Ok(bytes) = std::fs::read(format!("{}{suffix}", db.display())) {
            cache_bytes.extend(bytes);
        }
    }
    let logs = buffer.text();
    assert!(logs.contains("request body"), "TRACE bodies were captured");
    assert!(logs.contains("REDACTED"), "the URL is logged, redacted");
    for needle in [user_marker, query_marker] {
        assert!(!logs.contains(needle), "logs leak {needle}:\n{logs}");
        for text in &seen {
            assert!(!text.contains(needle), "leak in {text}");
        }
        assert!(
            !cache_bytes
                .windows(needle.len())
                .any(|w| w == needle.as_bytes()),
            "the cache file leaks {needle}"
        );
    }
    let _ = std::fs::remove_dir_all(db.parent().unwrap());
    println!("CHILD OK");
}

#[test]
fn successful_calls_are_quiet() {
    run_child("child_successful_calls_are_quiet", &[]);
}

#[tokio::test]
async fn child_keys_never_leak() {
    if std::env::var(CHILD_FLAG).is_err() {
        return;
    }
    let var = std::env::var("HONE_LM_TEST_KEY_VAR").unwrap();
    let key = std::env::var(&var).unwrap();
    let buffer = Buffer::default();
    let writer = buffer.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::FULL)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();

    let sim = sim().await;
    let db = temp_db("secrets");
    let http = HttpLm::builder()
        .model("sim-1")
        .base_url(sim.base_url())
        .api_key_env(&var)
        .header("OpenAI-Organization", "org-test")
        .timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    let http_debug = format!("{http:?}");
    let lm = LmBuilder::new(http)
        .retry(fast_retry())
        .cache(SqliteCache::open(&db, 10 << 20).unwrap())
        .usage(UsageTracker::new())
        .build();
    let mut seen = vec![
        http_debug,
        format!("{lm:?}"),
        format!("{:?}", lm.describe()),
    ];
    let ask = |q: &str| ChatRequest::new(vec![Message::user(q.to_owned())]);

    // Successful calls: plain, cached, streamed, embeddings.
    let ok = lm
        .chat(ask("What is 1 + 1?"), &CallOptions::default())
        .await
        .unwrap();
    seen.push(format!("{ok:?}"));
    let hit = lm
        .chat(ask("What is 1 + 1?"), &CallOptions::default())
        .await
        .unwrap();
    assert!(hit.meta.cached);
    let mut stream = lm
        .chat_stream(ask("Tell me about keys."), &CallOptions::default())
        .await
        .unwrap();
    while let Some(chunk) = stream.next().await {
        seen.push(format!("{:?}", chunk.unwrap()));
    }
    seen.push(format!(
        "{:?}",
        lm.embed(EmbeddingRequest::new("x"), &CallOptions::default())
            .await
    ));

    // Retries, then success.
    sim.push_faults([
        Fault::status(503),
        Fault::Status {
            code: 429,
            retry_after: Some(RetryAfter::Millis(10)),
            error_type: None,
            message: Some(format!("slow down, {key}")),
        },
        Fault::ConnectionReset,
    ]);
    let retried = lm
        .chat(ask("What is 2 + 2?"), &CallOptions::default())
        .await;
    assert!(
        retried.as_ref().is_ok_and(|r| r.meta.attempts == 4),
        "{retried:?}"
    );
    seen.push(format!("{retried:?}"));

    // A 401 whose body echoes the key, as some servers do.
    sim.push_faults([Fault::Status {
        code: 401,
        retry_after: None,
        error_type: Some("invalid_request_error".into()),
        message: Some(format!(
            "Incorrect API key provided: {key}. Header: Bearer {key}"
        )),
    }]);
    let err = lm
        .chat(ask("What is 3 + 3?"), &CallOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(401));
    assert!(
        err.to_string().contains("Incorrect API key provided"),
        "{err}"
    );
    seen.push(format!("{err:?}"));
    seen.push(err.to_string());

    // A failing stream and a decode error.
    sim.push_faults([Fault::MalformedJson]);
    seen.push(format!(
        "{:?}",
        lm.chat(ask("x"), &CallOptions::default().no_cache()).await
    ));
    sim.shutdown().await;

    let mut cache_bytes = Vec::new();
    for suffix in ["", "-wal", "-shm"] {
        let path = format!("{}{suffix}", db.display());
        if let Ok(bytes) = std::fs::read(&path) {
            cache_bytes.extend(bytes);
        }
    }
    assert!(!cache_bytes.is_empty(), "the cache file was written");
    let logs = buffer.text();
    assert!(logs.contains("gen_ai.request.model"), "spans were captured");
    assert!(logs.contains("request body"), "TRACE bodies were captured");
    assert!(logs.contains("retrying"), "retries were logged");

    let needles = [key.clone(), format!("Bearer {key}")];
    for needle in &needles {
        assert!(!logs.contains(needle.as_str()), "logs leak the key");
        for text in &seen {
            assert!(!text.contains(needle.as_str()), "leak in {text}");
        }
        let found = cache_bytes
            .windows(needle.len())
            .any(|w| w == needle.as_bytes());
        assert!(!found, "the cache file leaks the key");
    }
    assert!(!logs.contains("org-test"), "header values are not logged");
    let _ = std::fs::remove_dir_all(db.parent().unwrap());
    println!("CHILD OK");
}

#[tokio::test]
async fn child_successful_calls_are_quiet() {
    if std::env::var(CHILD_FLAG).is_err() {
        return;
    }
    let buffer = Buffer::default();
    let writer = buffer.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();
    let sim = sim().await;
    let lm = LmBuilder::new(
        HttpLm::builder()
            .model("sim-1")
            .base_url(sim.base_url())
            .no_api_key()
            .build()
            .unwrap(),
    )
    .retry(fast_retry())
    .usage(UsageTracker::new())
    .build();
    let request = ChatRequest::new(vec![Message::user("What is 4 + 4?")]);
    lm.chat(request, &CallOptions::default()).await.unwrap();
    sim.shutdown().await;
    let logs = buffer.text();
    assert!(
        logs.is_empty(),
        "a successful call logged at INFO or above:\n{logs}"
    );
    println!("CHILD OK");
}
