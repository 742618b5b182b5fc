//! `hone.LM`: an LM as a value — the HTTP client with its layers, or the user's own Python
//! callable that speaks `chat.completions` — plus its usage.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use hone_lm::{
    ApiKey, BoxFuture, CacheSpec, CallOptions, ChatRequest, ChatResponse, ChatStream,
    EmbeddingRequest, EmbeddingResponse, EmbeddingVector, Env, Lm, LmBuilder, LmContext, LmError,
    LmHandle, LmInfo, LmSpec, MemoryCache, UsageTracker,
};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use serde_json::{Map, Value};

use crate::convert::{to_python, to_value};
use crate::error::Error;
use crate::pending::{IntoPython, Json, Pending};

/// Everything `hone.LM(...)` accepts for an HTTP LM: hone-lm's [`LmSpec`], and a key given
/// as a value (never part of the spec).
#[derive(Debug, Clone)]
pub struct HttpSpec {
    spec: LmSpec,
    api_key: Option<ApiKey>,
}

impl HttpSpec {
    /// Builds the LM in this process's environment.
    fn build(&self, usage: &UsageTracker) -> Result<LmHandle, Error> {
        let env = Env::from_process();
        let cx = LmContext::new(&env, usage).api_key(self.api_key.as_ref());
        Ok(self.spec.build(&cx)?)
    }
}

/// Sets the request defaults of `hone.LM(...)`'s keyword arguments on `spec`: the sampling
/// keys typed, any other as a request parameter.
fn set_defaults(spec: &mut LmSpec, defaults: Map<String, Value>) -> Result<(), Error> {
    let model = spec.model.clone();
    let number = |key: &str, value: &Value| {
        Error::Value(format!(
            "LM `{model}`: `{key}` must be a number, not {value}"
        ))
    };
    for (key, value) in defaults {
        match key.as_str() {
            "temperature" => {
                spec.temperature = Some(value.as_f64().ok_or_else(|| number(&key, &value))?)
            }
            "top_p" => spec.top_p = Some(value.as_f64().ok_or_else(|| number(&key, &value))?),
            "max_tokens" => {
                let n = value.as_u64().ok_or_else(|| number(&key, &value))?;
                spec.max_tokens = Some(u32::try_from(n).map_err(|_| {
                    Error::Value(format!("LM `{model}`: max_tokens {n} is too large"))
                })?);
            }
            "seed" => spec.seed = Some(value.as_i64().ok_or_else(|| number(&key, &value))?),
            _ => {
                spec.params.insert(key, value);
            }
        }
    }
    Ok(())
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
        // `cache=True` (the default) is a cache in memory: the spec is built with no directory.
        let cache = match cache {
            None => CacheSpec::On(true),
            Some(c) if c.is_none() => CacheSpec::On(true),
            Some(c) => {
                if let Ok(b) = c.extract::<bool>() {
                    CacheSpec::On(b)
                } else if let Ok(path) = c.extract::<std::path::PathBuf>() {
                    CacheSpec::Path(path)
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
        let mut lm_spec = LmSpec::new(model.clone());
        lm_spec.base_url = base_url;
        lm_spec.api_key_env = api_key_env;
        lm_spec.cache = Some(cache);
        lm_spec.max_in_flight = max_in_flight;
        lm_spec.timeout_secs = timeout;
        lm_spec.connect_timeout_secs = connect_timeout;
        lm_spec.num_retries = num_retries;
        lm_spec.headers = headers.unwrap_or_default();
        set_defaults(&mut lm_spec, defaults)?;
        let spec = HttpSpec {
            spec: lm_spec,
            api_key: api_key.map(ApiKey::new),
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
            Source::Http(spec) => match &spec.spec.base_url {
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
