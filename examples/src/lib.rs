//! Helpers for hone's examples: an LM from the environment, or an in-process simulated server
//! when `OPENAI_BASE_URL` is unset, so every example runs anywhere.
//!
//! Run one with `cargo run -p hone-examples --example tokio_tasks`. Set `OPENAI_BASE_URL`,
//! `OPENAI_API_KEY` and `HONE_MODEL` to run them against a real OpenAI-compatible server.

use hone::lm::{HttpLm, LmHandle};
use hone_sim::{BlockingSimHandle, SimConfig, SimHandle, SimServer};

/// What an example's `main` returns.
pub type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// The model to ask for: `HONE_MODEL`, or `sim-1`.
pub fn model() -> String {
    std::env::var("HONE_MODEL").unwrap_or_else(|_| "sim-1".to_owned())
}

/// Whether a real server is configured.
fn configured() -> bool {
    std::env::var("OPENAI_BASE_URL").is_ok_and(|u| !u.trim().is_empty())
}

/// An LM named `model` on the configured server.
fn env_lm(model: &str) -> Result<LmHandle> {
    let mut builder = HttpLm::from_env(model);
    if std::env::var("OPENAI_API_KEY").is_err() {
        builder = builder.no_api_key();
    }
    Ok(LmHandle::new(builder.build()?))
}

/// An LM on the server a simulated or real backend offers.
pub fn lm_at(base_url: &str, model: &str) -> Result<LmHandle> {
    Ok(LmHandle::new(
        HttpLm::builder()
            .model(model)
            .base_url(base_url)
            .no_api_key()
            .build()?,
    ))
}

/// A backend for async examples: the configured server, or a simulated one on this runtime.
pub struct Backend {
    /// The simulated server, when no real one is configured.
    pub sim: Option<SimHandle>,
}

impl Backend {
    /// Starts a simulated server unless `OPENAI_BASE_URL` is set.
    pub async fn start() -> Result<Self> {
        if configured() {
            return Ok(Backend { sim: None });
        }
        Ok(Backend {
            sim: Some(SimServer::start(SimConfig::default()).await?),
        })
    }

    /// An LM named `model`.
    pub fn lm(&self, model: &str) -> Result<LmHandle> {
        match &self.sim {
            Some(sim) => lm_at(&sim.base_url(), model),
            None => env_lm(model),
        }
    }

    /// Stops the simulated server, if any.
    pub async fn stop(self) {
        if let Some(sim) = self.sim {
            sim.shutdown().await;
        }
    }
}

/// A backend for blocking examples: the configured server, or a simulated one on its own
/// runtime.
pub struct BlockingBackend {
    /// The simulated server, when no real one is configured.
    pub sim: Option<BlockingSimHandle>,
}

impl BlockingBackend {
    /// Starts a simulated server unless `OPENAI_BASE_URL` is set.
    pub fn start() -> Result<Self> {
        if configured() {
            return Ok(BlockingBackend { sim: None });
        }
        Ok(BlockingBackend {
            sim: Some(SimServer::start_blocking(SimConfig::default())?),
        })
    }

    /// An LM named `model`.
    pub fn lm(&self, model: &str) -> Result<LmHandle> {
        match &self.sim {
            Some(sim) => lm_at(&sim.base_url(), model),
            None => env_lm(model),
        }
    }
}
