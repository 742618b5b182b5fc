//! [`RealLm`]: the real LM named by the environment.

use std::time::Duration;

use hone_lm::{HttpLm, LmBuilder, LmError, LmHandle};

/// The output-token limit of every request: a sentiment label, or a short reasoning and a
/// label, fit well within it.
pub const MAX_TOKENS: u32 = 512;

/// Base URL of the real server, up to and including `/v1` (`http://127.0.0.1:8537/v1`).
pub const URL_ENV: &str = "HONE_REAL_LM_URL";

/// Model id to send (optional; llama-server serves one model whatever the name).
pub const MODEL_ENV: &str = "HONE_REAL_LM_MODEL";

/// What a real-LM test prints when [`URL_ENV`] is not set.
pub const SKIP_MESSAGE: &str = "skipped: set HONE_REAL_LM_URL (scripts/local-lm start)";

/// The model id used when [`MODEL_ENV`] is not set.
const DEFAULT_MODEL: &str = "local";

/// The real LM a test talks to: where it is and a client for it.
#[derive(Debug, Clone)]
pub struct RealLm {
    /// Base URL, as in [`URL_ENV`].
    pub base_url: String,
    /// Model id sent with each request.
    pub model: String,
    /// The client: `HttpLm` with temperature 0, no key, retries and tracing.
    pub lm: LmHandle,
}

impl RealLm {
    /// The LM named by [`URL_ENV`] (and [`MODEL_ENV`]); `Ok(None)` when [`URL_ENV`] is unset
    /// or empty, so the caller can skip. Fails when the URL is not a valid base URL.
    pub fn from_env() -> Result<Option<RealLm>, LmError> {
        let Some(base_url) = std::env::var(URL_ENV)
            .ok()
            .map(|url| url.trim().to_owned())
            .filter(|url| !url.is_empty())
        else {
            return Ok(None);
        };
        let model = std::env::var(MODEL_ENV)
            .ok()
            .map(|model| model.trim().to_owned())
            .filter(|model| !model.is_empty())
            .unwrap_or_else(|| DEFAULT_MODEL.to_owned());
        Self::new(base_url, model).map(Some)
    }

    /// A client for the server at `base_url`, requesting `model` at temperature 0 and at most
    /// [`MAX_TOKENS`] output tokens (a tiny model may repeat itself until the limit).
    ///
    /// At most two requests are in flight, matching the server's slots (`--parallel 2`).
    pub fn new(base_url: impl Into<String>, model: impl Into<String>) -> Result<RealLm, LmError> {
        let base_url = base_url.into();
        let model = model.into();
        let http = HttpLm::builder()
            .provider("llama.cpp")
            .base_url(base_url.clone())
            .model(model.clone())
            .no_api_key()
            .temperature(0.0)
            .max_tokens(MAX_TOKENS)
            .timeout(Duration::from_secs(120))
            .build()?;
        let lm = LmBuilder::new(http).max_in_flight(2).build();
        Ok(RealLm {
            base_url,
            model,
            lm,
        })
    }
}
