//! HTTP routes: the OpenAI-compatible `/v1` API and the admin endpoints.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde_json::{Value, json};

use super::SharedState;
use super::conn::KillSwitch;
use super::respond;
use crate::embeddings;
use crate::engine;
use crate::fault::{Fault, error_body};
use crate::hash::{Draw, StableHasher};
use crate::openai::{ChatRequest, InvalidRequest};

/// Header that overrides the latency of one request, in milliseconds.
pub const LATENCY_HEADER: &str = "x-sim-latency-ms";

/// The router of one server.
pub fn router(state: SharedState) -> Router {
    Router::new()
        .route("/v1/chat/completions", post(chat))
        .route("/v1/embeddings", post(embeddings_route))
        .route("/v1/models", get(models))
        .route("/health", get(health))
        .route("/stats", get(stats))
        .route("/stats/reset", post(reset_stats))
        .route("/sim/faults", post(push_faults).delete(clear_faults))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(64 * 1024 * 1024))
        .with_state(state)
}

fn error_response(code: u16, message: &str, param: Option<&str>) -> Response {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut body = error_body(code, None, Some(message), None);
    body["error"]["param"] = json!(param);
    (status, Json(body)).into_response()
}

fn invalid(state: &SharedState, e: &InvalidRequest) -> Response {
    state.stats.bad_request();
    error_response(400, &e.message, e.param.as_deref())
}

async fn not_found() -> Response {
    error_response(
        404,
        "unknown route; this simulator serves /v1/chat/completions, /v1/embeddings and /v1/models",
        None,
    )
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The delay before answering: the header override, or latency ± jitter
/// drawn from the seed and the body.
/// Waits out a simulated latency. A zero latency does not touch the timer, whose smallest wait
/// is its next 1 ms tick.
async fn wait(latency: Duration) {
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
}

fn delay(state: &SharedState, headers: &HeaderMap, body: &[u8]) -> Duration {
    if let Some(ms) = headers
        .get(LATENCY_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
    {
        return Duration::from_millis(ms);
    }
    let cfg = &state.config;
    if cfg.jitter.is_zero() {
        return cfg.latency;
    }
    let mut h = StableHasher::new();
    h.u64(cfg.seed).str("latency").bytes(body);
    let offset = (Draw::from_hasher(&h).unit() * 2.0 - 1.0) * cfg.jitter.as_secs_f64();
    Duration::from_secs_f64((cfg.latency.as_secs_f64() + offset).max(0.0))
}

/// What a queued fault turned into.
enum FaultAction {
    /// Answer with this response instead.
    Respond(Response),
    /// Drop the connection.
    Reset,
    /// Serve normally, but break the body.
    Malformed,
    /// Serve normally, but cut the body.
    Truncate,
    /// No fault.
    None,
}

async fn take_fault(state: &SharedState) -> FaultAction {
    let Some(fault) = state.faults.pop() else {
        return FaultAction::None;
    };
    state.stats.fault(fault.kind());
    match fault {
        Fault::Status {
            code,
            retry_after,
            error_type,
            message,
        } => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let body = error_body(code, error_type.as_deref(), message.as_deref(), None);
            let mut resp = (status, Json(body)).into_response();
            if let Some(r) = retry_after {
                let (name, value) = r.header();
                if let Ok(v) = HeaderValue::from_str(&value) {
                    resp.headers_mut().insert(name, v);
                }
            }
            FaultAction::Respond(resp)
        }
        Fault::ConnectionReset => FaultAction::Reset,
        Fault::Hang(d) => {
            tokio::time::sleep(d).await;
            FaultAction::None
        }
        Fault::MalformedJson => FaultAction::Malformed,
        Fault::TruncatedStream => FaultAction::Truncate,
    }
}

/// Waits for the kill switch to take the connection down.
async fn reset(kill: &KillSwitch) -> Response {
    kill.pull();
    std::future::pending::<()>().await;
    StatusCode::INTERNAL_SERVER_ERROR.into_response()
}

fn json_body(value: &Value, action: &FaultAction) -> Response {
    let text = value.to_string();
    match action {
        FaultAction::Malformed => {
            let cut = text.len() / 2;
            let broken = format!(
                "{}, \"choices\": [{{\"index\": 0,,",
                text.get(..cut).unwrap_or("")
            );
            ([(header::CONTENT_TYPE, "application/json")], broken).into_response()
        }
        FaultAction::Truncate => {
            let half = text.get(..text.len() / 2).unwrap_or("").to_owned();
            let mut resp = Response::new(cut_body(vec![Bytes::from(half)]));
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            resp
        }
        _ => ([(header::CONTENT_TYPE, "application/json")], text).into_response(),
    }
}

/// A body that sends `chunks`, gives the client time to read them, then
/// fails so the connection is cut mid-body.
fn cut_body(chunks: Vec<Bytes>) -> Body {
    use futures_util::StreamExt;
    let head = futures_util::stream::iter(chunks.into_iter().map(Ok::<Bytes, std::io::Error>));
    let tail = futures_util::stream::once(async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "truncated",
        ))
    });
    Body::from_stream(head.chain(tail))
}

fn sse_body(events: Vec<String>, action: &FaultAction) -> Response {
    let mut items: Vec<Result<Bytes, std::io::Error>> = Vec::new();
    match action {
        FaultAction::Truncate => {
            let keep = (events.len() / 2).clamp(1, 3);
            let mut resp = Response::new(cut_body(
                events.into_iter().take(keep).map(Bytes::from).collect(),
            ));
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/event-stream"),
            );
            return resp;
        }
        FaultAction::Malformed => {
            let n = events.len();
            for (i, e) in events.into_iter().enumerate() {
                if i == 1 || (n < 3 && i == 0) {
                    items.push(Ok(Bytes::from_static(
                        b"data: {\"id\": \"chatcmpl-broken\", \"choices\": [\n\n",
                    )));
                } else {
                    items.push(Ok(Bytes::from(e)));
                }
            }
        }
        _ => items.extend(events.into_iter().map(|e| Ok(Bytes::from(e)))),
    }
    let mut resp = Response::new(Body::from_stream(futures_util::stream::iter(items)));
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    resp
}

async fn chat(
    State(state): State<SharedState>,
    Extension(kill): Extension<KillSwitch>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let _in_flight = state.stats.begin("/v1/chat/completions");
    let action = take_fault(&state).await;
    wait(delay(&state, &headers, &body)).await;
    let action = match action {
        FaultAction::Respond(r) => return r,
        FaultAction::Reset => return reset(&kill).await,
        other => other,
    };
    let req = match ChatRequest::from_json(&body) {
        Ok(r) => r,
        Err(e) => return invalid(&state, &e),
    };
    state.stats.model(req.model_name());
    let cfg = Arc::clone(&state.config);
    let req = Arc::new(req);
    let req2 = Arc::clone(&req);
    let sample = if req.temperature() > 0.0 && req.seed.is_none() {
        state.next_sample(StableHasher::new().bytes(&body).finish())
    } else {
        0
    };
    let completion = match tokio::spawn(async move { engine::complete_sample(&cfg, &req2, sample) })
        .await
    {
        Ok(c) => c,
        Err(_) => return error_response(500, "the simulated model failed on this request", None),
    };
    state
        .stats
        .tokens(completion.prompt_tokens, completion.completion_tokens);
    let n = state.request_counter.fetch_add(1, Ordering::Relaxed);
    let id = format!(
        "chatcmpl-sim{:08x}{n:06}",
        StableHasher::new().bytes(&body).finish() as u32
    );
    let created = now_secs();
    let model = req.model_name();
    let with_logprobs = req.logprobs.unwrap_or(false);
    let mut resp = if req.streaming() {
        state.stats.stream();
        let events = respond::stream_events(
            &completion,
            &id,
            created,
            model,
            req.include_usage(),
            with_logprobs,
        );
        sse_body(events, &action)
    } else {
        let v = respond::completion_json(&completion, &id, created, model, with_logprobs);
        json_body(&v, &action)
    };
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&completion.kind) {
        h.insert("x-sim-task", v);
    }
    if let Some(p) = completion.accuracy
        && let Ok(v) = HeaderValue::from_str(&format!("{p:.3}"))
    {
        h.insert("x-sim-accuracy", v);
    }
    resp
}

async fn embeddings_route(
    State(state): State<SharedState>,
    Extension(kill): Extension<KillSwitch>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let _in_flight = state.stats.begin("/v1/embeddings");
    let action = take_fault(&state).await;
    wait(delay(&state, &headers, &body)).await;
    let action = match action {
        FaultAction::Respond(r) => return r,
        FaultAction::Reset => return reset(&kill).await,
        other => other,
    };
    let req: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return invalid(
                &state,
                &InvalidRequest {
                    message: format!("request body is not valid JSON: {e}"),
                    param: None,
                },
            );
        }
    };
    let inputs: Vec<String> = match req.get("input") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) if !a.is_empty() => {
            let mut out = Vec::new();
            for item in a {
                match item {
                    Value::String(s) => out.push(s.clone()),
                    // Token arrays are embedded by their ids' text.
                    Value::Array(toks) => out.push(
                        toks.iter()
                            .map(Value::to_string)
                            .collect::<Vec<_>>()
                            .join(" "),
                    ),
                    Value::Number(n) => out.push(n.to_string()),
                    _ => {
                        return invalid(
                            &state,
                            &InvalidRequest::new("input", "`input` items must be strings"),
                        );
                    }
                }
            }
            out
        }
        _ => {
            return invalid(
                &state,
                &InvalidRequest::new(
                    "input",
                    "`input` must be a string or a non-empty array of strings",
                ),
            );
        }
    };
    let model = req
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or("sim-embed-1")
        .to_owned();
    state.stats.model(&model);
    let dims = match req.get("dimensions") {
        None | Some(Value::Null) => state.config.embedding_dims,
        Some(v) => match v.as_u64() {
            Some(d) if (1..=4096).contains(&d) => d as usize,
            _ => {
                return invalid(
                    &state,
                    &InvalidRequest::new(
                        "dimensions",
                        "`dimensions` must be an integer between 1 and 4096",
                    ),
                );
            }
        },
    };
    let base64 = req.get("encoding_format").and_then(Value::as_str) == Some("base64");
    let mut total_tokens = 0;
    let data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .map(|(i, text)| {
            total_tokens += engine::tokens(text);
            let v = embeddings::embed(text, dims, state.config.seed);
            let embedding = if base64 {
                json!(embeddings::to_base64(&v))
            } else {
                json!(v)
            };
            json!({"object": "embedding", "index": i, "embedding": embedding})
        })
        .collect();
    state.stats.tokens(total_tokens, 0);
    let body = json!({
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": total_tokens, "total_tokens": total_tokens},
    });
    json_body(&body, &action)
}

async fn models(
    State(state): State<SharedState>,
    Extension(kill): Extension<KillSwitch>,
    headers: HeaderMap,
) -> Response {
    let _in_flight = state.stats.begin("/v1/models");
    let action = take_fault(&state).await;
    wait(delay(&state, &headers, b"models")).await;
    let action = match action {
        FaultAction::Respond(r) => return r,
        FaultAction::Reset => return reset(&kill).await,
        other => other,
    };
    let data: Vec<Value> = state
        .config
        .models
        .iter()
        .map(|m| json!({"id": m, "object": "model", "created": 1_700_000_000u64, "owned_by": "hone-sim"}))
        .collect();
    json_body(&json!({"object": "list", "data": data}), &action)
}

async fn health() -> Response {
    Json(json!({"status": "ok"})).into_response()
}

async fn stats(State(state): State<SharedState>) -> Response {
    Json(state.snapshot()).into_response()
}

async fn reset_stats(State(state): State<SharedState>) -> Response {
    state.stats.reset();
    Json(json!({"reset": true})).into_response()
}

async fn push_faults(State(state): State<SharedState>, body: Bytes) -> Response {
    let parsed: Result<Vec<Fault>, _> = serde_json::from_slice::<Vec<Fault>>(&body)
        .or_else(|_| serde_json::from_slice::<Fault>(&body).map(|f| vec![f]));
    match parsed {
        Ok(faults) => {
            let n = faults.len();
            state.faults.push(faults);
            Json(json!({"queued": n, "pending": state.faults.len()})).into_response()
        }
        Err(e) => error_response(
            400,
            &format!(
                "expected a fault or a list of faults like [{{\"kind\": \"status\", \"code\": 429}}]: {e}"
            ),
            None,
        ),
    }
}

async fn clear_faults(State(state): State<SharedState>) -> Response {
    state.faults.clear();
    Json(json!({"pending": 0})).into_response()
}
