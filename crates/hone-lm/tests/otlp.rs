//! OTLP export (cargo feature `otlp`): a traced call's `gen_ai.chat` span reaches a collector
//! over OTLP/HTTP, and nothing is installed process-wide.
#![cfg(feature = "otlp")]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::Duration;

use hone_lm::{CallOptions, ChatRequest, Layer, Lm, Message, TraceLayer};
use tracing_subscriber::layer::SubscriberExt;

/// A one-shot OTLP/HTTP collector: accepts requests on 127.0.0.1 and sends each
/// (path, body) to the channel, answering 200.
fn collector() -> (String, mpsc::Receiver<(String, Vec<u8>)>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            let path = request_line
                .split_whitespace()
                .nth(1)
                .unwrap_or_default()
                .to_owned();
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some((name, value)) = line.split_once(':')
                    && name.eq_ignore_ascii_case("content-length")
                {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_err() {
                continue;
            }
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
            if tx.send((path, body)).is_err() {
                return;
            }
        }
    });
    (format!("http://{addr}/v1/traces"), rx)
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_traced_call_is_exported_over_otlp_http() {
    let sim = common::sim().await;
    let lm = TraceLayer.layer(common::http(&sim).build().expect("lm"));
    let (endpoint, received) = collector();

    let (layer, provider) = hone_lm::otlp::otlp_layer(&endpoint, "hone-test").expect("layer");
    let subscriber = tracing_subscriber::registry().with(layer);
    {
        let _guard = tracing::subscriber::set_default(subscriber);
        let request = ChatRequest::new(vec![Message::user("What is 2 + 3?")]).model("sim-1");
        lm.chat(request, &CallOptions::default())
            .await
            .expect("the call succeeds");
    }
    tokio::task::spawn_blocking(move || provider.shutdown())
        .await
        .expect("joined")
        .expect("the spans are flushed");

    let (path, body) = received
        .recv_timeout(Duration::from_secs(10))
        .expect("the collector received an export");
    assert_eq!(path, "/v1/traces");
    for text in [
        "chat sim-1",
        "gen_ai.operation.name",
        "gen_ai.request.model",
        "sim-1",
        "gen_ai.usage.input_tokens",
        "hone-test",
    ] {
        assert!(contains(&body, text), "the export carries {text}");
    }
    // No secret or prompt text leaves the process through the spans.
    assert!(
        !contains(&body, "What is 2 + 3?"),
        "prompts are not exported"
    );
    sim.shutdown().await;
}
