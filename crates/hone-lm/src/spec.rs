//! [`LmSpec`]: everything a user may set on an LM, as plain data, and the one place it becomes
//! a layered [`LmHandle`] ([`LmSpec::build`]), with one set of defaults.
//!
//! A program file's `[lm.NAME]` table, the `--lm` flag, a Redis worker's spec and the Python
//! package's `hone.LM(...)` are all this type. The environment is never read here: the caller
//! passes it in as an [`Env`].

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::breaker::BreakerLayer;
use crate::builder::LmBuilder;
use crate::cache::memory::MemoryCache;
use crate::error::LmError;
use crate::http::HttpLm;
use crate::limit::rate::RateLimitLayer;
use crate::lm::LmHandle;
use crate::retry::RetryLayer;
use crate::secret::ApiKey;
use crate::usage::UsageTracker;
use hone_core::Sampling;

/// The variable holding the API key when a spec names none (used only when set).
pub const DEFAULT_API_KEY_ENV: &str = "OPENAI_API_KEY";
/// The variable holding the base URL when a spec names none (else OpenAI's).
pub const DEFAULT_BASE_URL_ENV: &str = "OPENAI_BASE_URL";
/// The disk cache `cache = true` opens, under [`LmContext::dir`].
pub const DEFAULT_CACHE_FILE: &str = ".hone/cache.sqlite";
/// Entries of the in-memory cache `cache = true` makes when there is no directory.
pub const MEMORY_CACHE_ENTRIES: usize = 10_000;
/// The size bound of a disk cache, in bytes.
pub const DISK_CACHE_BYTES: u64 = 1 << 30;

/// One LM as a user describes it: model, server, key variable, headers, request defaults,
/// timeouts, retries, limits and cache. Every field but `model` is optional; unknown keys are
/// errors.
///
/// It serializes without secrets: the key is named by its environment variable
/// (`api_key_env`), never held.
///
/// ```
/// use hone_lm::{Env, LmContext, LmSpec, UsageTracker};
/// let spec: LmSpec = serde_json::from_str(
///     r#"{"model": "gpt-4o-mini", "base_url": "http://127.0.0.1:8000/v1", "temperature": 0.0}"#,
/// ).unwrap();
/// let usage = UsageTracker::new();
/// let lm = spec.build(&LmContext::new(&Env::empty(), &usage)).unwrap();
/// # let _ = lm;
/// assert!(serde_json::from_str::<LmSpec>(r#"{"model": "m", "temprature": 0.0}"#).is_err());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct LmSpec {
    /// The model id sent with each request.
    pub model: String,
    /// The OpenAI-compatible base URL (default: the `OPENAI_BASE_URL` variable, else OpenAI's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// The environment variable holding the API key. Without one, `OPENAI_API_KEY` is used
    /// when set; a named variable must be set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_env: Option<String>,
    /// Headers added to every request (values are never logged).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Sampling temperature of every call that sets none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Nucleus sampling of every call that sets none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// Maximum completion tokens of every call that sets none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    /// The request `seed` of every call that sets none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    /// Other top-level request parameters (provider specific), added when a request lacks them.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub params: Map<String, Value>,
    /// Time limit of one HTTP attempt in seconds (default 600); for streams, the longest
    /// silence between chunks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_secs: Option<f64>,
    /// Time limit for opening a connection in seconds (default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_timeout_secs: Option<f64>,
    /// Retries of a failed request (default: the retry layer's; 0 turns retrying off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub num_retries: Option<u32>,
    /// Stop calling a server that is down or keeps failing (default on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub breaker: Option<bool>,
    /// Requests in flight at once (default unlimited).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_in_flight: Option<usize>,
    /// Requests per minute (default unlimited).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_per_minute: Option<u32>,
    /// Tokens per minute (default unlimited).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens_per_minute: Option<u32>,
    /// The response cache (default off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache: Option<CacheSpec>,
    /// Whether the model reasons natively: it sends `reasoning_content` and takes
    /// `reasoning_effort` (default `false`; DSPy asks LiteLLM's model list, hone asks you).
    /// See [`LmInfo::supports_reasoning`](crate::LmInfo::supports_reasoning).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub supports_reasoning: bool,
}

/// `cache = true | false | "path"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum CacheSpec {
    /// On or off. On is SQLite's `.hone/cache.sqlite` under [`LmContext::dir`] when the context has a
    /// directory, else a cache in memory.
    On(bool),
    /// A SQLite cache file (relative paths are under [`LmContext::dir`]).
    Path(PathBuf),
}

/// The process environment as a value, passed in by the program that owns it.
///
/// `Debug` shows the variable names only.
#[derive(Clone, Default)]
pub struct Env(Arc<BTreeMap<String, String>>);

impl Env {
    /// No variables.
    pub fn empty() -> Self {
        Env::default()
    }

    /// A snapshot of this process's environment (variables whose names and values are UTF-8).
    pub fn from_process() -> Self {
        Env::from_pairs(
            std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))),
        )
    }

    /// These variables.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Env(Arc::new(
            pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        ))
    }

    /// The value of `name`, if set.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// The value of `name`, if set and not blank.
    pub fn non_empty(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|v| !v.trim().is_empty())
    }
}

impl fmt::Debug for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Env")
            .field(&self.0.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// What [`LmSpec::build`] needs besides the spec: the environment, the usage tracker the LM
/// counts into, the directory cache files live in, and optionally a key given as a value.
#[derive(Debug, Clone)]
pub struct LmContext<'a> {
    /// Where `api_key_env` and `OPENAI_BASE_URL` are looked up.
    pub env: &'a Env,
    /// Counts the LM's calls, tokens and cost.
    pub usage: &'a UsageTracker,
    /// The directory of relative cache paths and of `cache = true`'s file; without one,
    /// `cache = true` caches in memory.
    pub dir: Option<&'a Path>,
    /// An API key given directly (beats `api_key_env`); never serialized.
    pub api_key: Option<&'a ApiKey>,
}

impl<'a> LmContext<'a> {
    /// A context with no directory and no key value.
    pub fn new(env: &'a Env, usage: &'a UsageTracker) -> Self {
        LmContext {
            env,
            usage,
            dir: None,
            api_key: None,
        }
    }

    /// Cache files live in `dir`.
    pub fn dir(mut self, dir: &'a Path) -> Self {
        self.dir = Some(dir);
        self
    }

    /// Uses this key.
    pub fn api_key(mut self, key: Option<&'a ApiKey>) -> Self {
        self.api_key = key;
        self
    }
}

impl LmSpec {
    /// A spec for `model` with every other setting at its default.
    pub fn new(model: impl Into<String>) -> Self {
        LmSpec {
            model: model.into(),
            ..LmSpec::default()
        }
    }

    /// Sets the base URL.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// Sets the key variable.
    pub fn api_key_env(mut self, var: impl Into<String>) -> Self {
        self.api_key_env = Some(var.into());
        self
    }

    /// The request defaults this spec sets.
    pub fn defaults(&self) -> Sampling {
        let mut defaults = Sampling::new();
        defaults.temperature = self.temperature;
        defaults.top_p = self.top_p;
        defaults.max_tokens = self.max_tokens;
        defaults.seed = self.seed;
        defaults.extra.clone_from(&self.params);
        defaults
    }

    /// The base URL requests go to: the spec's, else `OPENAI_BASE_URL` from `env`, else
    /// OpenAI's.
    pub fn effective_base_url(&self, env: &Env) -> String {
        self.base_url
            .clone()
            .or_else(|| env.non_empty(DEFAULT_BASE_URL_ENV).map(str::to_owned))
            .unwrap_or_else(|| crate::http::OPENAI_BASE_URL.to_owned())
    }

    /// The cache file this spec opens, if any (`None` for no cache or one in memory).
    pub fn cache_file(&self, dir: Option<&Path>) -> Option<PathBuf> {
        match (&self.cache, dir) {
            (Some(CacheSpec::On(true)), Some(dir)) => Some(dir.join(DEFAULT_CACHE_FILE)),
            (Some(CacheSpec::Path(p)), Some(dir)) => Some(dir.join(p)),
            (Some(CacheSpec::Path(p)), None) => Some(p.clone()),
            _ => None,
        }
    }

    /// Builds the layered LM: [`HttpLm`] under retries, the breaker, limits, cache, usage and
    /// tracing (see [`LmBuilder`] for their order). Fails on a bad URL, header, number, a
    /// named key variable that is not set, or a cache that does not open.
    pub fn build(&self, cx: &LmContext<'_>) -> Result<LmHandle, LmError> {
        let model = &self.model;
        let mut http = HttpLm::builder()
            .model(model.clone())
            .base_url(self.effective_base_url(cx.env));
        let key = match (cx.api_key, &self.api_key_env) {
            (Some(key), _) => Some(key.clone()),
            (None, Some(var)) => Some(key_from(cx.env, var)?),
            (None, None) => cx
                .env
                .non_empty(DEFAULT_API_KEY_ENV)
                .map(|k| ApiKey::new(k.trim())),
        };
        if let Some(key) = key {
            http = http.api_key(key);
        }
        for (name, value) in &self.headers {
            http = http.header(name, value);
        }
        http = http
            .defaults(self.defaults())
            .supports_reasoning(self.supports_reasoning);
        if let Some(t) = self.timeout_secs {
            http = http.timeout(seconds("timeout_secs", t, model)?);
        }
        if let Some(t) = self.connect_timeout_secs {
            http = http.connect_timeout(seconds("connect_timeout_secs", t, model)?);
        }
        let mut builder = LmBuilder::new(http.build()?).usage(cx.usage.clone());
        match self.num_retries {
            Some(0) => builder = builder.no_retry(),
            Some(n) => builder = builder.retry(RetryLayer::new().max_attempts(n.saturating_add(1))),
            None => {}
        }
        if self.breaker != Some(false) {
            // A server that is down fails the work in seconds instead of spending its budget.
            builder = builder.breaker(BreakerLayer::new());
        }
        if let Some(n) = self.max_in_flight {
            if n == 0 {
                return Err(LmError::Config(format!(
                    "LM `{model}`: max_in_flight must be at least 1"
                )));
            }
            builder = builder.max_in_flight(n);
        }
        if self.requests_per_minute.is_some() || self.tokens_per_minute.is_some() {
            let mut rate = RateLimitLayer::new();
            if let Some(rpm) = self.requests_per_minute {
                rate = rate.requests_per_minute(rpm);
            }
            if let Some(tpm) = self.tokens_per_minute {
                rate = rate.tokens_per_minute(tpm);
            }
            builder = builder.rate_limit(rate);
        }
        builder = match (&self.cache, self.cache_file(cx.dir)) {
            (Some(CacheSpec::On(false)) | None, _) => builder,
            (Some(_), Some(path)) => builder.cache(open_disk_cache(&path)?),
            (Some(_), None) => builder.cache(MemoryCache::new(MEMORY_CACHE_ENTRIES)),
        };
        Ok(builder.build())
    }
}

fn key_from(env: &Env, var: &str) -> Result<ApiKey, LmError> {
    match env.get(var) {
        Some(key) if !key.trim().is_empty() => Ok(ApiKey::new(key.trim())),
        Some(_) => Err(LmError::Config(format!(
            "environment variable {var} is empty; set it to your API key, or name another \
             variable in api_key_env"
        ))),
        None => Err(LmError::Config(format!(
            "environment variable {var} is not set; set it to your API key, or name another \
             variable in api_key_env"
        ))),
    }
}

fn seconds(name: &str, value: f64, model: &str) -> Result<Duration, LmError> {
    if value.is_finite() && value > 0.0 {
        Ok(Duration::from_secs_f64(value))
    } else {
        Err(LmError::Config(format!(
            "LM `{model}`: `{name}` must be a positive number of seconds, not {value}"
        )))
    }
}

#[cfg(feature = "sqlite")]
fn open_disk_cache(path: &Path) -> Result<crate::cache::sqlite::SqliteCache, LmError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| {
            LmError::Cache(format!(
                "cannot create the LM cache directory {}: {e}",
                dir.display()
            ))
        })?;
    }
    crate::cache::sqlite::SqliteCache::open(path, DISK_CACHE_BYTES)
        .map_err(|e| LmError::Cache(format!("cannot open the LM cache {}: {e}", path.display())))
}

#[cfg(not(feature = "sqlite"))]
fn open_disk_cache(path: &Path) -> Result<MemoryCache, LmError> {
    Err(LmError::Config(format!(
        "the LM cache {} is on disk, and hone-lm was built without its `sqlite` feature",
        path.display()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lm::Lm;

    fn build(spec: &LmSpec, env: &Env) -> Result<LmHandle, LmError> {
        spec.build(&LmContext::new(env, &UsageTracker::new()))
    }

    #[test]
    fn unknown_keys_are_errors_naming_the_key() {
        let err = serde_json::from_str::<LmSpec>(r#"{"model": "m", "temprature": 0.5}"#)
            .expect_err("unknown key");
        let text = err.to_string();
        assert!(text.contains("unknown field `temprature`"), "{text}");
        assert!(text.contains("`temperature`"), "{text}");
    }

    #[test]
    fn round_trips_without_defaults_and_without_secrets() {
        let mut spec = LmSpec::new("m")
            .base_url("http://127.0.0.1:1/v1")
            .api_key_env("K");
        spec.temperature = Some(0.5);
        spec.cache = Some(CacheSpec::Path("c.sqlite".into()));
        let json = serde_json::to_value(&spec).expect("serializes");
        assert_eq!(
            json,
            serde_json::json!({"model": "m", "base_url": "http://127.0.0.1:1/v1",
                "api_key_env": "K", "temperature": 0.5, "cache": "c.sqlite"})
        );
        assert_eq!(serde_json::from_value::<LmSpec>(json).expect("reads"), spec);
    }

    #[test]
    fn base_url_comes_from_the_spec_then_the_environment() {
        let env = Env::from_pairs([(DEFAULT_BASE_URL_ENV, "http://127.0.0.1:9/v1")]);
        assert_eq!(
            LmSpec::new("m").effective_base_url(&env),
            "http://127.0.0.1:9/v1"
        );
        assert_eq!(
            LmSpec::new("m")
                .base_url("http://h:1/v1")
                .effective_base_url(&env),
            "http://h:1/v1"
        );
        assert_eq!(
            LmSpec::new("m").effective_base_url(&Env::empty()),
            crate::http::OPENAI_BASE_URL
        );
        let lm = build(&LmSpec::new("m"), &env).expect("builds");
        assert_eq!(lm.describe().base_url, "http://127.0.0.1:9/v1");
    }

    #[test]
    fn a_named_key_variable_must_be_set_and_the_default_only_when_set() {
        let spec = LmSpec::new("m").base_url("http://127.0.0.1:1/v1");
        build(&spec, &Env::empty()).expect("no key needed without api_key_env");
        let err = build(&spec.clone().api_key_env("MY_KEY"), &Env::empty()).expect_err("unset");
        assert!(err.to_string().contains("MY_KEY"), "{err}");
        let env = Env::from_pairs([("MY_KEY", "sk-marker")]);
        let lm = build(&spec.api_key_env("MY_KEY"), &env).expect("set");
        assert!(!format!("{lm:?} {env:?}").contains("sk-marker"));
    }

    #[test]
    fn defaults_reach_the_lm_info_and_bad_numbers_are_errors() {
        let mut spec = LmSpec::new("m").base_url("http://127.0.0.1:1/v1");
        spec.temperature = Some(0.25);
        spec.seed = Some(7);
        spec.params.insert("logprobs".into(), Value::Bool(true));
        let info = build(&spec, &Env::empty()).expect("builds").describe();
        assert_eq!(info.defaults, spec.defaults());
        assert_eq!(info.defaults.seed, Some(7));
        spec.timeout_secs = Some(0.0);
        let err = build(&spec, &Env::empty()).expect_err("zero timeout");
        assert!(err.to_string().contains("timeout_secs"), "{err}");
        spec.timeout_secs = None;
        spec.max_in_flight = Some(0);
        assert!(build(&spec, &Env::empty()).is_err());
    }

    #[test]
    fn cache_files_are_under_the_directory() {
        let dir = Path::new("/d");
        let mut spec = LmSpec::new("m");
        assert_eq!(spec.cache_file(Some(dir)), None);
        spec.cache = Some(CacheSpec::On(true));
        assert_eq!(
            spec.cache_file(Some(dir)),
            Some(dir.join(DEFAULT_CACHE_FILE))
        );
        assert_eq!(spec.cache_file(None), None);
        spec.cache = Some(CacheSpec::Path("x/c.sqlite".into()));
        assert_eq!(spec.cache_file(Some(dir)), Some(dir.join("x/c.sqlite")));
    }
}
