//! Transport faults are retried like any other: a 2xx whose body is not valid JSON, is empty or
//! has no `choices`, and a stream that breaks off. A valid completion is never retried, whatever
//! its text (a text the adapter cannot parse is the module's parse failure). Against a local
//! fault server that answers from a script, and against `hone sim`.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures_util::StreamExt;
use hone_lm::{
    CallOptions, ChatRequest, HttpLm, Layer, Lm, LmError, Message, RetryLayer, StreamAccumulator,
};
use hone_sim::Fault;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use common::{fast_retry, http, sim};

const COMPLETION: &str = r#"{"id":"c","object":"chat.completion","created":0,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"[[ ## answer ## ]]\n5"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}"#;

/// A server answering its N-th request with `script[N]` (the last one ever after) as a 200
/// JSON body; returns its base URL and the count of requests.
async fn script_server(script: Vec<&'static str>) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let n = seen.fetch_add(1, Ordering::SeqCst);
            let body = script[n.min(script.len() - 1)];
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                // Read the head, then the body by its content-length.
                loop {
                    let Ok(read) = socket.read(&mut buf).await else {
                        return;
                    };
                    if read == 0 {
                        return;
                    }
                    request.extend_from_slice(&buf[..read]);
                    let text = String::from_utf8_lossy(&request).to_lowercase();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let length = text
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        if request.len() >= end + 4 + length {
                            break;
                        }
                    }
                }
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    (url, count)
}

fn ask() -> ChatRequest {
    ChatRequest::new(vec![Message::user("What is 2 + 3?")])
}

async fn lm_for(script: Vec<&'static str>) -> (impl Lm, Arc<AtomicUsize>) {
    let (url, count) = script_server(script).await;
    let base = HttpLm::builder()
        .model("m")
        .base_url(url)
        .no_api_key()
        .build()
        .unwrap();
    (fast_retry().layer(base), count)
}

#[tokio::test]
async fn invalid_json_in_a_2xx_body_is_retried() {
    let (lm, count) = lm_for(vec!["{\"id\": \"c\", \"choi", COMPLETION]).await;
    let response = lm.chat(ask(), &CallOptions::default()).await.unwrap();
    assert_eq!(response.meta.attempts, 2);
    assert_eq!(count.load(Ordering::SeqCst), 2);
    assert_eq!(response.text().as_deref(), Some("[[ ## answer ## ]]\n5"));
}

#[tokio::test]
async fn an_empty_2xx_body_is_retried() {
    let (lm, count) = lm_for(vec!["", "  \n", COMPLETION]).await;
    let response = lm.chat(ask(), &CallOptions::default()).await.unwrap();
    assert_eq!(response.meta.attempts, 3);
    assert_eq!(count.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_response_without_choices_is_retried() {
    let (lm, count) = lm_for(vec![
        r#"{"id":"c","object":"chat.completion","model":"m"}"#,
        r#"{"id":"c","object":"chat.completion","model":"m","choices":[]}"#,
        COMPLETION,
    ])
    .await;
    let response = lm.chat(ask(), &CallOptions::default()).await.unwrap();
    assert_eq!(response.meta.attempts, 3);
    assert_eq!(count.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_body_that_stays_broken_fails_after_the_retry_budget_naming_the_fault() {
    let (lm, count) = lm_for(vec![r#"{"object":"chat.completion"}"#]).await;
    let err = lm.chat(ask(), &CallOptions::default()).await.unwrap_err();
    assert!(matches!(err, LmError::Decode { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("no `choices`"), "{text}");
    assert!(text.contains("4 attempts"), "{text}");
    assert_eq!(count.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn a_valid_completion_is_never_retried_whatever_its_text() {
    const NONSENSE: &str = r#"{"id":"c","object":"chat.completion","created":0,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"no fields here at all"},"finish_reason":"stop"}]}"#;
    let (lm, count) = lm_for(vec![NONSENSE, COMPLETION]).await;
    let response = lm.chat(ask(), &CallOptions::default()).await.unwrap();
    assert_eq!(response.meta.attempts, 1);
    assert_eq!(count.load(Ordering::SeqCst), 1);
    assert_eq!(response.text().as_deref(), Some("no fields here at all"));
}

#[tokio::test]
async fn malformed_json_from_the_sim_is_retried() {
    let sim = sim().await;
    let lm = fast_retry().layer(http(&sim).build().unwrap());
    sim.push_faults([Fault::MalformedJson]);
    let response = lm.chat(ask(), &CallOptions::default()).await.unwrap();
    assert_eq!(response.meta.attempts, 2);
    assert_eq!(sim.stats().requests_total, 2);
    sim.shutdown().await;
}

async fn streamed_text(lm: &impl Lm, request: ChatRequest) -> Result<String, LmError> {
    let mut stream = lm.chat_stream(request, &CallOptions::default()).await?;
    let mut acc = StreamAccumulator::default();
    while let Some(chunk) = stream.next().await {
        acc.push(&chunk?);
    }
    Ok(acc.finish().text().unwrap_or_default())
}

#[tokio::test]
async fn a_truncated_stream_is_requested_again_and_continues_where_it_broke() {
    let sim = sim().await;
    let lm = fast_retry().layer(http(&sim).build().unwrap());
    let request =
        ChatRequest::new(vec![Message::user("Tell me a story about tests.")]).temperature(0.0);
    let clean = streamed_text(&lm, request.clone()).await.unwrap();
    let before = sim.stats().requests_total;
    sim.push_faults([Fault::TruncatedStream, Fault::TruncatedStream]);
    let recovered = streamed_text(&lm, request).await.unwrap();
    assert_eq!(recovered, clean, "the same text, no chunk twice or missing");
    assert_eq!(sim.stats().requests_total - before, 3);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_stream_that_keeps_breaking_ends_with_its_error() {
    let sim = sim().await;
    let lm = RetryLayer::new()
        .max_attempts(2)
        .backoff(hone_lm::Backoff {
            base: std::time::Duration::from_millis(1),
            factor: 1.0,
            max: std::time::Duration::from_millis(1),
            jitter: 0.0,
        })
        .layer(http(&sim).build().unwrap());
    sim.push_faults([Fault::TruncatedStream, Fault::TruncatedStream]);
    let err = streamed_text(
        &lm,
        ChatRequest::new(vec![Message::user("Tell me a story.")]),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, LmError::Stream { .. }), "{err:?}");
    assert!(err.to_string().contains("2 attempts"), "{err}");
    sim.shutdown().await;
}
