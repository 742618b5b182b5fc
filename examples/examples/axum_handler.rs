//! A hone program behind an axum handler: the program and the LM are plain values in the
//! router's state; each request is one `call` with its own context.
//!
//! `cargo run -p hone-examples --example axum_handler`

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use hone::core::Example;
use hone::lm::LmHandle;
use hone::modules::{CallContext, ChainOfThought, Module};
use hone_examples::{Backend, Result, model};
use serde_json::{Value, json};

/// A minimal HTTP/1.1 client for the demo: POSTs JSON to `/ask`, returns the status line and
/// the JSON body.
async fn post_json(addr: std::net::SocketAddr, body: &Value) -> Result<(String, Value)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let body = body.to_string();
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    let request = format!(
        "POST /ask HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await?;
    let (head, body) = response
        .split_once("\r\n\r\n")
        .ok_or("malformed response")?;
    let status = head.lines().next().unwrap_or_default().to_owned();
    Ok((status, serde_json::from_str(body)?))
}

#[derive(Clone)]
struct App {
    program: Arc<ChainOfThought>,
    lm: LmHandle,
}

async fn ask(State(app): State<App>, Json(body): Json<Value>) -> (StatusCode, Json<Value>) {
    let inputs = Example::new().with("question", body["question"].clone());
    let ctx = CallContext::with_default_lm(app.lm.clone());
    match app.program.call(inputs, &ctx).await {
        Ok(out) => (StatusCode::OK, Json(Value::Object(out.into_fields()))),
        // A missing or mistyped field is the client's fault; say which.
        Err(e) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({"error": e.to_string()})),
        ),
    }
}

/// Runs the example.
#[tokio::main]
pub async fn main() -> Result {
    let backend = Backend::start().await?;
    let app = App {
        program: Arc::new(ChainOfThought::new("question -> answer")?),
        lm: backend.lm(&model())?,
    };
    let router = Router::new().route("/ask", post(ask)).with_state(app);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(async move { axum::serve(listener, router).await });

    let (status, ok) = post_json(addr, &json!({"question": "What is 17 + 25?"})).await?;
    println!("{status}: answer {}", ok["answer"]);
    let (status, bad) = post_json(addr, &json!({})).await?;
    println!("without a question: {status} {bad}");

    server.abort();
    backend.stop().await;
    if ok.get("answer").is_none() {
        return Err("no answer".into());
    }
    Ok(())
}
