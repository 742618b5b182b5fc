//! Every retry path, against the simulated server.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant, SystemTime};

use hone_lm::{CallOptions, ChatRequest, Layer, Lm, LmError, Message, RETRYABLE_STATUSES};
use hone_sim::{Fault, RetryAfter};

use common::{fast_retry, http, sim};

fn ask() -> ChatRequest {
    ChatRequest::new(vec![Message::user("What is 2 + 3?")])
}

#[tokio::test]
async fn each_retryable_status_is_retried_once_then_succeeds() {
    let sim = sim().await;
    let lm = fast_retry().layer(http(&sim).build().unwrap());
    for code in RETRYABLE_STATUSES {
        let before = sim.stats().requests_total;
        sim.push_faults([Fault::status(code)]);
        let response = lm
            .chat(ask(), &CallOptions::default())
            .await
            .unwrap_or_else(|e| panic!("{code}: {e}"));
        assert_eq!(response.meta.attempts, 2, "status {code}");
        assert_eq!(sim.stats().requests_total - before, 2, "status {code}");
        assert!(response.text().is_some());
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn retry_after_seconds_is_honoured() {
    let sim = sim().await;
    let lm = fast_retry().layer(http(&sim).build().unwrap());
    sim.push_faults([Fault::rate_limited(1)]);
    let start = Instant::now();
    let response = lm.chat(ask(), &CallOptions::default()).await.unwrap();
    assert_eq!(response.meta.attempts, 2);
    assert!(
        start.elapsed() >= Duration::from_millis(950),
        "waited only {:?}",
        start.elapsed()
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn retry_after_http_date_is_honoured() {
    let sim = sim().await;
    let lm = fast_retry().layer(http(&sim).build().unwrap());
    sim.push_faults([Fault::Status {
        code: 503,
        retry_after: Some(RetryAfter::HttpDate(
            SystemTime::now() + Duration::from_secs(2),
        )),
        error_type: None,
        message: None,
    }]);
    let start = Instant::now();
    let response = lm.chat(ask(), &CallOptions::default()).await.unwrap();
    assert_eq!(response.meta.attempts, 2);
    // HTTP dates have one-second resolution: "now + 2 s" means at least one more second.
    assert!(
        start.elapsed() >= Duration::from_millis(900),
        "waited only {:?}",
        start.elapsed()
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn retry_after_ms_is_honoured() {
    let sim = sim().await;
    let lm = fast_retry().layer(http(&sim).build().unwrap());
    sim.push_faults([Fault::Status {
        code: 429,
        retry_after: Some(RetryAfter::Millis(300)),
        error_type: None,
        message: None,
    }]);
    let start = Instant::now();
    let response = lm.chat(ask(), &CallOptions::default()).await.unwrap();
    assert_eq!(response.meta.attempts, 2);
    assert!(start.elapsed() >= Duration::from_millis(300));
    sim.shutdown().await;
}

#[tokio::test]
async fn server_wait_is_capped_by_max_retry_after() {
    let sim = sim().await;
    // The server asks for 600 s; the cap is 50 ms, and the deadline of 5 s would fail the
    // call if the full wait were honoured.
    let lm = fast_retry()
        .max_retry_after(Duration::from_millis(50))
        .deadline(Some(Duration::from_secs(5)))
        .layer(http(&sim).build().unwrap());
    sim.push_faults([Fault::rate_limited(600)]);
    let response = lm.chat(ask(), &CallOptions::default()).await.unwrap();
    assert_eq!(response.meta.attempts, 2);
    sim.shutdown().await;
}

#[tokio::test]
async fn connection_reset_is_retried() {
    let sim = sim().await;
    let lm = fast_retry().layer(http(&sim).build().unwrap());
    sim.push_faults([Fault::ConnectionReset, Fault::ConnectionReset]);
    let response = lm.chat(ask(), &CallOptions::default()).await.unwrap();
    assert_eq!(response.meta.attempts, 3);
    assert_eq!(sim.stats().requests_total, 3);
    sim.shutdown().await;
}

#[tokio::test]
async fn connection_reset_without_retry_is_a_connect_error() {
    let sim = sim().await;
    let lm = http(&sim).build().unwrap();
    sim.push_faults([Fault::ConnectionReset]);
    let err = lm.chat(ask(), &CallOptions::default()).await.unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert!(
        matches!(err, LmError::Connect { .. } | LmError::Body { .. }),
        "{err:?}"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn hang_times_out_and_is_retried() {
    let sim = sim().await;
    let lm = fast_retry().layer(
        http(&sim)
            .timeout(Duration::from_millis(300))
            .build()
            .unwrap(),
    );
    sim.push_faults([Fault::Hang(Duration::from_secs(5))]);
    let response = lm.chat(ask(), &CallOptions::default()).await.unwrap();
    assert_eq!(response.meta.attempts, 2);
    sim.shutdown().await;
}

#[tokio::test]
async fn hang_without_retry_is_a_timeout_error() {
    let sim = sim().await;
    let lm = http(&sim)
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    sim.push_faults([Fault::Hang(Duration::from_secs(5))]);
    let err = lm.chat(ask(), &CallOptions::default()).await.unwrap_err();
    assert!(matches!(err, LmError::Timeout { .. }), "{err:?}");
    assert!(err.to_string().contains("raise the timeout"), "{err}");
    sim.shutdown().await;
}

#[tokio::test]
async fn wait_past_the_deadline_fails_at_once() {
    let sim = sim().await;
    let lm = fast_retry()
        .max_retry_after(Duration::from_secs(60))
        .layer(http(&sim).build().unwrap());
    sim.push_faults([Fault::rate_limited(30)]);
    let options = CallOptions::default().deadline(Duration::from_secs(2));
    let err = lm.chat(ask(), &options).await.unwrap_err();
    let LmError::DeadlineExceeded { last, ctx, .. } = &err else {
        panic!("expected DeadlineExceeded, got {err:?}")
    };
    assert_eq!(last.as_ref().and_then(|e| e.status()), Some(429));
    assert_eq!(ctx.model, "sim-1");
    assert_eq!(sim.stats().requests_total, 1);
    assert!(err.to_string().contains("deadline"), "{err}");
    sim.shutdown().await;
}

#[tokio::test]
async fn hang_past_the_deadline_is_cut_off() {
    let sim = sim().await;
    let lm = fast_retry().layer(http(&sim).build().unwrap());
    sim.push_faults([Fault::Hang(Duration::from_secs(10))]);
    let options = CallOptions::default().deadline(Duration::from_millis(400));
    let err = lm.chat(ask(), &options).await.unwrap_err();
    assert!(
        matches!(
            err,
            LmError::DeadlineExceeded { .. } | LmError::Timeout { .. }
        ),
        "{err:?}"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn attempt_cap_returns_the_last_error() {
    let sim = sim().await;
    let lm = fast_retry()
        .max_attempts(3)
        .layer(http(&sim).build().unwrap());
    sim.push_faults([
        Fault::status(503),
        Fault::status(502),
        Fault::Status {
            code: 500,
            retry_after: None,
            error_type: Some("server_error".into()),
            message: Some("the engine is overloaded".into()),
        },
    ]);
    let err = lm.chat(ask(), &CallOptions::default()).await.unwrap_err();
    assert_eq!(err.status(), Some(500));
    assert_eq!(err.context().map(|c| c.attempts), Some(3));
    assert!(
        err.to_string().contains("the engine is overloaded"),
        "{err}"
    );
    assert!(err.to_string().contains("3 attempts"), "{err}");
    assert_eq!(sim.stats().requests_total, 3);
    sim.shutdown().await;
}

#[tokio::test]
async fn non_retryable_statuses_surface_at_once_with_the_provider_message() {
    let sim = sim().await;
    let lm = fast_retry().layer(http(&sim).build().unwrap());
    for (code, error_type) in [
        (400, "invalid_request_error"),
        (401, "authentication_error"),
        (403, "permission_error"),
        (404, "invalid_request_error"),
        (422, "invalid_request_error"),
    ] {
        let before = sim.stats().requests_total;
        let message = format!("provider says no ({code})");
        sim.push_faults([Fault::Status {
            code,
            retry_after: None,
            error_type: Some(error_type.into()),
            message: Some(message.clone()),
        }]);
        let err = lm.chat(ask(), &CallOptions::default()).await.unwrap_err();
        assert_eq!(sim.stats().requests_total - before, 1, "status {code}");
        let LmError::Api(api) = &err else {
            panic!("expected Api error, got {err:?}")
        };
        assert_eq!(api.status, code);
        assert_eq!(api.error_type.as_deref(), Some(error_type));
        assert_eq!(api.message, message);
        assert_eq!(api.ctx.attempts, 1);
        assert!(api.ctx.host.starts_with("127.0.0.1:"), "{}", api.ctx.host);
        let text = err.to_string();
        assert!(text.contains(&message) && text.contains("sim-1"), "{text}");
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn malformed_json_without_retry_is_a_decode_error() {
    let sim = sim().await;
    let lm = http(&sim).build().unwrap();
    sim.push_faults([Fault::MalformedJson]);
    let err = lm.chat(ask(), &CallOptions::default()).await.unwrap_err();
    assert!(matches!(err, LmError::Decode { .. }), "{err:?}");
    assert!(err.is_retryable(), "{err}");
    assert_eq!(sim.stats().requests_total, 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn truncated_body_is_retried() {
    let sim = sim().await;
    let lm = fast_retry().layer(http(&sim).build().unwrap());
    sim.push_faults([Fault::TruncatedStream]);
    let response = lm.chat(ask(), &CallOptions::default()).await.unwrap();
    assert_eq!(response.meta.attempts, 2);
    sim.shutdown().await;
}
