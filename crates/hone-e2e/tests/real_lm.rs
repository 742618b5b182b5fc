//! hone against a real local LM (llama.cpp's llama-server with Gemma 3 270M in CI).
//!
//! Runs only when `HONE_REAL_LM_URL` is set (`scripts/local-lm start` prints the URL;
//! `scripts/test` sets it); otherwise each test prints why it skipped and passes.
//!
//! Adapter-level checks; `pipeline.rs` runs the modules, an optimizer and the export.

use hone_core::adapter::JsonAdapter;
use hone_e2e::{RealLm, SKIP_MESSAGE, URL_ENV, call_adapter, sentiment};

/// The real LM, or `None` (after printing why) when the tests should skip.
fn real_lm() -> Option<RealLm> {
    match RealLm::from_env() {
        Ok(Some(real)) => Some(real),
        Ok(None) => {
            eprintln!("{SKIP_MESSAGE}");
            None
        }
        Err(e) => panic!("{URL_ENV} does not name a usable server: {e}"),
    }
}

/// At temperature 0 the same request gives the same answer.
#[tokio::test]
async fn same_request_same_answer() {
    let Some(real) = real_lm() else { return };
    let signature = sentiment::signature();
    let adapter = JsonAdapter::new();
    let dev = sentiment::dev().expect("dev split");
    for example in dev.iter().take(3) {
        let inputs = example.inputs();
        let first = call_adapter(&real, &adapter, &signature, &[], &inputs)
            .await
            .expect("first call");
        let second = call_adapter(&real, &adapter, &signature, &[], &inputs)
            .await
            .expect("second call");
        assert_eq!(first.request, second.request, "the same request was sent");
        assert_eq!(
            first.completion, second.completion,
            "same request, same completion at temperature 0"
        );
    }
}
