//! `hone.LM`: an LM as a value — the HTTP client with its layers, or the user's own Python
//! callable that speaks `chat.completions` — plus its usage.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use hone_lm::{
    ApiKey, BoxFuture, CallOptions, ChatRequest, ChatResponse, ChatStream, EmbeddingRequest,
    EmbeddingResponse, EmbeddingVector, HttpLm, Lm, LmBuilder, LmError, LmHandle, LmInfo,
    MemoryCache, RetryLayer, SqliteCache, UsageTracker,
};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use serde_json::{Map, Value};

use crate::convert::{to_python, to_value};
use crate::error::Error;
use crate::pending::{IntoPython, Json, Pending};

/// Everything `hone.LM(...)` accepts for an HTTP LM.
#[derive(Debug, Clone, Default)]
pub struct HttpSpec {
    model: String,
    base_url: Option<String>,
    api_key_env: Option<String>,
    api_key: Option<String>,
    cache: CacheChoice,
    max_in_flight: Option<usize>,
    timeout: Option<f64>,
    connect_timeout: Option<f64>,
    num_retries: Option<u32>,
    headers: BTreeMap<String, String>,
    defaults: Map<String, Value>,
}

#[derive(Debug, Clone, Default)]
enum CacheChoice {
    #[default]
    Memory,
    Off,
    Disk(String),
}

impl HttpSpec {
    fn build(&self, usage: &UsageTracker) -> Result<LmHandle, Error> {
        let mut http = HttpLm::builder().model(&self.model);
        if let Some(url) = &self.base_url {
            http = http.base_url(url);
        }
        match (&self.api_key, &self.api_key_env) {
            (Some(key), _) => http = http.api_key(ApiKey::new(key.clone())),
            (None, Some(var)) => http = http.api_key_env(var),
            (None, None) => http = http.no_api_key(),
        }
        for (name, value) in &self.headers {
            http = http.header(name, value);
        }
        for (key, value) in &self.defaults {
            http = match (key.as_str(), value) {
                ("temperature", Value::Number(n)) if n.as_f64().is_some() => {
                    http.temperature(n.as_f64().unwrap_or_default())
                }
                ("top_p", Value::Number(n)) if n.as_f64().is_some() => {
                    http.top_p(n.as_f64().unwrap_or_default())
                }
                ("max_tokens", Value::Number(n)) if n.as_u64().is_some() => {
                    let n = n.as_u64().unwrap_or_default();
                    http.max_tokens(u32::try_from(n).map_err(|_| {
                        Error::Value(format!("LM `{}`: max_tokens {n} is too large", self.model))
                    })?)
                }
                ("seed", Value::Number(n)) if n.as_i64().is_some() => {
                    http.seed(n.as_i64().unwrap_or_default())
                }
                ("temperature" | "top_p" | "max_tokens" | "seed", other) => {
                    return Err(Error::Value(format!(
                        "LM `{}`: `{key}` must be a number, not {other}",
                        self.model
                    )));
                }
                _ => http.default_param(key, value.clone()),
            };
        }
        if let Some(t) = self.timeout {
            http = http.timeout(seconds("timeout", t, &self.model)?);
        }
        if let Some(t) = self.connect_timeout {
            http = http.connect_timeout(seconds("connect_timeout", t, &self.model)?);
        }
        let mut builder = LmBuilder::new(http.build()?).usage(usage.clone());
        if let Some(n) = self.num_retries {
            builder = if n == 0 {
                builder.no_retry()
            } else {
                builder.retry(RetryLayer::new().max_attempts(n + 1))
            };
        }
        if let Some(n) = self.max_in_flight {
            if n == 0 {
                return Err(Error::Value(format!(
                    "LM `{}`: max_in_flight must be at least 1",
                    self.model
                )));
            }
            builder = builder.max_in_flight(n);
        }
        builder = match &self.cache {
            CacheChoice::Off => builder,
            CacheChoice::Memory => builder.cache(MemoryCache::new(10_000)),
            CacheChoice::Disk(path) => builder.cache(SqliteCache::open(path, 1 << 30)?),
        };
        Ok(builder.build())
    }
}

fn seconds(name: &str, value: f64, model: &str) -> Result<Duration, Error> {
    if value.is_finite() && value > 0.0 {
        Ok(Duration::from_secs_f64(value))
    } else {
        Err(Error::Value(format!(
            "LM `{model}`: `{name}` must be a positive number of seconds, not {value}"
        )))
    }
}

enum Source {
    Http(Box<HttpSpec>),
    Callable,
    /// The LM a call context carries, handed back to Python (`Ctx.lm()`).
    Context,
}

struct Built {
    pid: u32,
    handle: LmHandle,
}

/// An LM: a value passed to a call, a module or a predictor. Cheap to share between threads,
/// tasks and greenlets; rebuilt (new connections) in a child process after `fork`.
#[pyclass(module = "hone._hone", name = "Lm", frozen)]
pub struct PyLm {
    source: Source,
    model: String,
    usage: UsageTracker,
    built: Mutex<Option<Built>>,
}

impl PyLm {
    /// The layered LM of this process (rebuilt after a fork, so no connection is shared with
    /// the parent).
    pub fn handle(&self) -> Result<LmHandle, Error> {
        let pid = std::process::id();
        let mut built = self.built.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(b) = built.as_ref()
            && b.pid == pid
        {
            return Ok(b.handle.clone());
        }
        let handle = match &self.source {
            Source::Http(spec) => spec.build(&self.usage)?,
            Source::Callable | Source::Context => match built.as_ref() {
                Some(b) => b.handle.clone(),
                None => return Err(Error::Runtime("the callable LM was not set up".into())),
            },
        };
        *built = Some(Built {
            pid,
            handle: handle.clone(),
        });
        Ok(handle)
    }
}

impl PyLm {
    /// The LM behind `handle` (a call context's), as a Python value. Its `usage()` counts only
    /// what is called through this value; the LM's own owner keeps the full count.
    pub fn from_handle(handle: LmHandle) -> PyLm {
        PyLm {
            source: Source::Context,
            model: handle.describe().model,
            usage: UsageTracker::new(),
            built: Mutex::new(Some(Built {
                pid: std::process::id(),
                handle,
            })),
        }
    }
}

#[pymethods]
impl PyLm {
    /// An OpenAI-compatible HTTP LM.
    #[staticmethod]
    #[pyo3(signature = (model, *, base_url=None, api_key_env=None, api_key=None, cache=None,
        max_in_flight=None, timeout=None, connect_timeout=None, num_retries=None, headers=None,
        defaults=None))]
    #[allow(clippy::too_many_arguments)]
    fn http(
        model: String,
        base_url: Option<String>,
        api_key_env: Option<String>,
        api_key: Option<String>,
        cache: Option<&Bound<'_, PyAny>>,
        max_in_flight: Option<usize>,
        timeout: Option<f64>,
        connect_timeout: Option<f64>,
        num_retries: Option<u32>,
        headers: Option<BTreeMap<String, String>>,
        defaults: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let cache = match cache {
            None => CacheChoice::Memory,
            Some(c) if c.is_none() => CacheChoice::Memory,
            Some(c) => {
                if let Ok(b) = c.extract::<bool>() {
                    if b {
                        CacheChoice::Memory
                    } else {
                        CacheChoice::Off
                    }
                } else if let Ok(path) = c.extract::<std::path::PathBuf>() {
                    CacheChoice::Disk(path.to_string_lossy().into_owned())
                } else {
                    return Err(Error::Value(format!(
                        "LM `{model}`: `cache` must be True, False or a file path"
                    ))
                    .into());
                }
            }
        };
        let defaults = match defaults {
            Some(d) => match to_value(d.as_any())? {
                Value::Object(m) => m,
                _ => Map::new(),
            },
            None => Map::new(),
        };
        let spec = HttpSpec {
            model: model.clone(),
            base_url,
            api_key_env,
            api_key,
            cache,
            max_in_flight,
            timeout,
            connect_timeout,
            num_retries,
            headers: headers.unwrap_or_default(),
            defaults,
        };
        let lm = PyLm {
            source: Source::Http(Box::new(spec)),
            model,
            usage: UsageTracker::new(),
            built: Mutex::new(None),
        };
        // Build once now so that a bad setting is an error here, not at the first call.
        lm.handle()?;
        Ok(lm)
    }

    /// An LM that calls `function(request: dict) -> dict` (the `chat.completions` request and
    /// response bodies). The function runs on one of hone's worker threads.
    #[staticmethod]
    #[pyo3(signature = (function, *, model, cache=true, max_in_flight=None))]
    fn from_callable(
        function: Py<PyAny>,
        model: String,
        cache: bool,
        max_in_flight: Option<usize>,
    ) -> PyResult<Self> {
        let usage = UsageTracker::new();
        let base = CallableLm {
            function: Arc::new(function),
            model: model.clone(),
        };
        let mut builder = LmBuilder::new(base).no_retry().usage(usage.clone());
        if let Some(n) = max_in_flight.filter(|n| *n > 0) {
            builder = builder.max_in_flight(n);
        }
        if cache {
            builder = builder.cache(MemoryCache::new(10_000));
        }
        let handle = builder.build();
        Ok(PyLm {
            source: Source::Callable,
            model,
            usage,
            built: Mutex::new(Some(Built {
                pid: std::process::id(),
                handle,
            })),
        })
    }

    /// The model name.
    #[getter]
    fn model(&self) -> &str {
        &self.model
    }

    /// Usage so far: calls, cached and failed calls, tokens, cost.
    fn usage(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let report = serde_json::to_value(self.usage.report()).unwrap_or(Value::Null);
        to_python(py, &report)
    }

    /// Starts an embeddings call (`/v1/embeddings`) for `texts`, with `model` instead of the
    /// LM's own when given; the result is one list of floats per text, in order.
    #[pyo3(signature = (texts, model=None))]
    fn embed(&self, texts: Vec<String>, model: Option<String>) -> PyResult<Pending> {
        let handle = self.handle()?;
        let expected = texts.len();
        let mut request = EmbeddingRequest::new(texts);
        if let Some(model) = model {
            request = request.model(model);
        }
        Ok(Pending::spawn(async move {
            let response = handle.embed(request, &CallOptions::default()).await?;
            let mut data = response.data;
            data.sort_by_key(|e| e.index);
            let mut vectors = Vec::with_capacity(data.len());
            for e in data {
                match e.embedding {
                    EmbeddingVector::Float(v) => vectors.push(Value::from(v)),
                    EmbeddingVector::Base64(_) => {
                        return Err(Error::Value(
                            "the embeddings came back base64-encoded; this LM's server must \
                             return float vectors"
                                .into(),
                        ));
                    }
                }
            }
            if vectors.len() != expected {
                return Err(Error::Value(format!(
                    "asked for {expected} embedding(s), the server returned {}",
                    vectors.len()
                )));
            }
            Ok(Box::new(Json(Value::Array(vectors))) as Box<dyn IntoPython>)
        })?)
    }

    /// Sets the usage counters back to zero.
    fn reset_usage(&self) {
        self.usage.reset();
    }

    fn __repr__(&self) -> String {
        match &self.source {
            Source::Http(spec) => match &spec.base_url {
                Some(url) => format!("LM({:?}, base_url={:?})", self.model, redact(url)),
                None => format!("LM({:?})", self.model),
            },
            Source::Callable => format!("LM({:?}, callable)", self.model),
            Source::Context => format!("LM({:?})", self.model),
        }
    }
}

fn redact(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => match rest.split_once('@') {
            Some((_, host)) => format!("{scheme}://***@{host}"),
            None => url.split('?').next().unwrap_or(url).to_owned(),
        },
        None => url.to_owned(),
    }
}

/// The user's Python function as an [`Lm`].
struct CallableLm {
    function: Arc<Py<PyAny>>,
    model: String,
}

impl Lm for CallableLm {
    fn chat<'a>(
        &'a self,
        mut request: ChatRequest,
        _options: &'a CallOptions,
    ) -> BoxFuture<'a, Result<ChatResponse, LmError>> {
        if request.model.is_empty() {
            request.model = self.model.clone();
        }
        let function = self.function.clone();
        Box::pin(async move {
            let body = serde_json::to_value(&request)
                .map_err(|e| LmError::Config(format!("could not encode the request: {e}")))?;
            let answer = tokio::task::spawn_blocking(move || {
                crate::runtime::with_python(|py| -> Result<Value, String> {
                    let arg = to_python(py, &body).map_err(|e| e.to_string())?;
                    let mut out = function.call1(py, (arg,)).map_err(|e| describe(py, &e))?;
                    let inspect = py.import("inspect").map_err(|e| e.to_string())?;
                    if inspect
                        .call_method1("isawaitable", (out.bind(py),))
                        .and_then(|b| b.extract::<bool>())
                        .unwrap_or(false)
                    {
                        let asyncio = py.import("asyncio").map_err(|e| e.to_string())?;
                        out = asyncio
                            .call_method1("run", (out,))
                            .map_err(|e| describe(py, &e))?
                            .unbind();
                    }
                    let out = out.bind(py);
                    // An `openai` response object: its `model_dump()` is the body.
                    let out = if out.hasattr("model_dump").unwrap_or(false) {
                        out.call_method0("model_dump")
                            .map_err(|e| describe(py, &e))?
                    } else {
                        out.clone()
                    };
                    to_value(&out).map_err(|e| e.to_string())
                })
            })
            .await
            .map_err(|e| LmError::Config(format!("the LM callable did not finish: {e}")))?
            .map_err(|message| LmError::Config(format!("the LM callable raised: {message}")))?;
            serde_json::from_value::<ChatResponse>(answer).map_err(|e| {
                LmError::Config(format!(
                    "the LM callable returned something that is not a chat.completions \
                     response: {e}"
                ))
            })
        })
    }

    fn chat_stream<'a>(
        &'a self,
        _request: ChatRequest,
        _options: &'a CallOptions,
    ) -> BoxFuture<'a, Result<ChatStream, LmError>> {
        Box::pin(async {
            Err(LmError::Config(
                "an LM made from a Python callable does not stream".into(),
            ))
        })
    }

    fn embed<'a>(
        &'a self,
        _request: EmbeddingRequest,
        _options: &'a CallOptions,
    ) -> BoxFuture<'a, Result<EmbeddingResponse, LmError>> {
        Box::pin(async {
            Err(LmError::Config(
                "an LM made from a Python callable does not embed".into(),
            ))
        })
    }

    fn describe(&self) -> LmInfo {
        let mut info = LmInfo::default();
        info.model = self.model.clone();
        info.provider = "python".into();
        info.base_url = "python:callable".into();
        info.host = "python".into();
        info
    }
}

/// `TypeError: message`, as Python prints an exception.
pub fn describe(py: Python<'_>, err: &PyErr) -> String {
    let name = err
        .get_type(py)
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "Exception".into());
    format!("{name}: {}", err.value(py))
}
