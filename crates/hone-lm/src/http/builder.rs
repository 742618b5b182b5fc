//! [`HttpLmBuilder`]: configures an [`HttpLm`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;

use super::{HttpLm, Inner, OPENAI_BASE_URL};
use crate::error::LmError;
use crate::lm::LmInfo;
use crate::secret::ApiKey;
use hone_core::Sampling;

enum KeySource {
    None,
    Env(String),
    Value(ApiKey),
}

/// Builds an [`HttpLm`]. Nothing is read from the environment unless asked for
/// ([`api_key_env`](Self::api_key_env), [`HttpLm::from_env`]).
pub struct HttpLmBuilder {
    model: String,
    provider: String,
    base_url: String,
    key: KeySource,
    headers: Vec<(String, String)>,
    defaults: Sampling,
    supports_reasoning: bool,
    timeout: Duration,
    connect_timeout: Duration,
}

impl fmt::Debug for HttpLmBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpLmBuilder")
            .field("model", &self.model)
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl HttpLm {
    /// A builder with OpenAI's base URL, no key, a 10 minute request timeout and a 10 second
    /// connect timeout.
    pub fn builder() -> HttpLmBuilder {
        HttpLmBuilder {
            model: String::new(),
            provider: "openai".to_owned(),
            base_url: OPENAI_BASE_URL.to_owned(),
            key: KeySource::None,
            headers: Vec::new(),
            defaults: Sampling::default(),
            supports_reasoning: false,
            timeout: Duration::from_secs(600),
            connect_timeout: Duration::from_secs(10),
        }
    }

    /// A builder configured from the environment as OpenAI's SDKs do: base URL from
    /// `OPENAI_BASE_URL` (default [`OPENAI_BASE_URL`]) and key from `OPENAI_API_KEY`.
    /// The key is read by [`HttpLmBuilder::build`].
    pub fn from_env(model: impl Into<String>) -> HttpLmBuilder {
        let base_url = std::env::var("OPENAI_BASE_URL")
            .ok()
            .filter(|url| !url.trim().is_empty())
            .unwrap_or_else(|| OPENAI_BASE_URL.to_owned());
        Self::builder()
            .model(model)
            .base_url(base_url)
            .api_key_env("OPENAI_API_KEY")
    }
}

impl HttpLmBuilder {
    /// The default model for requests that leave `model` empty.
    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.model = model.into();
        self
    }

    /// Provider name for telemetry (`gen_ai.provider.name`), default `openai`.
    pub fn provider(mut self, provider: impl Into<String>) -> Self {
        self.provider = provider.into();
        self
    }

    /// Base URL up to and including the version, e.g. `http://localhost:8000/v1`.
    pub fn base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into();
        self
    }

    /// Reads the API key from the environment variable `var` when building.
    pub fn api_key_env(mut self, var: impl Into<String>) -> Self {
        self.key = KeySource::Env(var.into());
        self
    }

    /// Uses this API key.
    pub fn api_key(mut self, key: ApiKey) -> Self {
        self.key = KeySource::Value(key);
        self
    }

    /// Sends no `Authorization` header (local servers).
    pub fn no_api_key(mut self) -> Self {
        self.key = KeySource::None;
        self
    }

    /// Adds a header to every request (e.g. `OpenAI-Organization`). Values are marked
    /// sensitive and never logged.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Default `temperature`.
    pub fn temperature(mut self, temperature: f64) -> Self {
        self.defaults.temperature = Some(temperature);
        self
    }

    /// Default `top_p`.
    pub fn top_p(mut self, top_p: f64) -> Self {
        self.defaults.top_p = Some(top_p);
        self
    }

    /// Default `max_tokens`.
    pub fn max_tokens(mut self, max_tokens: u32) -> Self {
        self.defaults.max_tokens = Some(max_tokens);
        self
    }

    /// Default `seed`.
    pub fn seed(mut self, seed: i64) -> Self {
        self.defaults.seed = Some(seed);
        self
    }

    /// Declares that the model reasons natively ([`LmInfo::supports_reasoning`]; default
    /// `false`).
    pub fn supports_reasoning(mut self, yes: bool) -> Self {
        self.supports_reasoning = yes;
        self
    }

    /// All request defaults at once (replacing any set before).
    pub fn defaults(mut self, defaults: Sampling) -> Self {
        self.defaults = defaults;
        self
    }

    /// A provider-specific top-level parameter added to requests that lack it.
    pub fn default_param(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.defaults.extra.insert(key.into(), value.into());
        self
    }

    /// Time limit for one HTTP attempt; for streams, the longest silence between chunks.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Time limit for opening a connection.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Builds the client. Fails on a missing key variable, a bad URL or header.
    pub fn build(self) -> Result<HttpLm, LmError> {
        let trimmed = self.base_url.trim().trim_end_matches('/').to_owned();
        let url = reqwest::Url::parse(&trimmed).map_err(|e| {
            LmError::Config(format!(
                "base URL {:?} is not a valid URL ({e}); expected e.g. https://api.openai.com/v1",
                crate::url::redact_url(&trimmed)
            ))
        })?;
        if url.scheme() != "http" && url.scheme() != "https" {
            return Err(LmError::Config(format!(
                "base URL scheme {:?} is not http or https",
                url.scheme()
            )));
        }
        let host = url.host_str().unwrap_or_default().to_owned();
        let port = url.port_or_known_default().unwrap_or(443);
        // Credentials in a URL (userinfo, a key in the query) are secrets: keep them out of
        // LmInfo, logs and errors.
        let mut plain = url.clone();
        let _ = plain.set_username("");
        let _ = plain.set_password(None);
        let shown = crate::url::redact_url(plain.as_str().trim_end_matches('/'));

        let api_key = match self.key {
            KeySource::None => None,
            KeySource::Env(var) => Some(ApiKey::from_env(&var)?),
            KeySource::Value(key) => Some(key),
        };

        let mut headers = HeaderMap::new();
        for (name, value) in &self.headers {
            let header_name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                LmError::Config(format!(
                    "header name {name:?} is not a valid HTTP header name"
                ))
            })?;
            let mut header_value = HeaderValue::from_str(value).map_err(|_| {
                LmError::Config(format!(
                    "the value of header {name:?} has characters not allowed in HTTP headers"
                ))
            })?;
            header_value.set_sensitive(true);
            headers.insert(header_name, header_value);
        }

        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls_config()?)
            .connect_timeout(self.connect_timeout)
            .read_timeout(self.timeout)
            .user_agent(concat!("hone-lm/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| LmError::Config(format!("HTTP client setup failed: {e}")))?;

        Ok(HttpLm {
            inner: Arc::new(Inner {
                client,
                chat_url: crate::url::endpoint(&url, "chat/completions").to_string(),
                embeddings_url: crate::url::endpoint(&url, "embeddings").to_string(),
                api_key,
                headers,
                timeout: self.timeout,
                info: LmInfo {
                    model: self.model,
                    provider: self.provider,
                    base_url: shown,
                    host,
                    port,
                    defaults: self.defaults,
                    supports_reasoning: self.supports_reasoning,
                },
            }),
        })
    }
}

pub(crate) fn tls_config() -> Result<rustls::ClientConfig, LmError> {
    use rustls_platform_verifier::BuilderVerifierExt;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| LmError::Config(format!("TLS setup failed: {e}")))?
        .with_platform_verifier()
        .map_err(|e| LmError::Config(format!("TLS root certificates unavailable: {e}")))
        .map(|b| b.with_no_client_auth())
}
