//! `Ctx`, the context of one call as Python holds it ([`PyCtx`]): its LM, adapter, cache policy,
//! sampling settings and trace, plus the adapter names and sampling dicts of the Python layer.

use std::sync::Arc;

use hone_core::adapter::AdapterKind;
use hone_modules::{CallContext, Sampling, TraceEntry, TraceSink};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use serde_json::Value;

use crate::convert::{to_python, to_value};
use crate::error::Error;
use crate::lm::PyLm;

/// The context of one call: its LM, adapter, cache policy and sampling settings. Child
/// contexts name the predictors they reach.
#[pyclass(module = "hone._hone", name = "Ctx", frozen)]
#[derive(Clone)]
pub struct PyCtx {
    pub(crate) inner: CallContext,
}

/// An adapter named as the Python layer names it: `chat`, `json`, `xml` or `baml`.
pub fn adapter_kind(name: &str) -> Result<AdapterKind, Error> {
    name.parse::<AdapterKind>().map_err(Error::Value)
}

fn adapter_named(name: &str) -> Result<Arc<dyn hone_core::adapter::Adapter>, Error> {
    Ok(Arc::from(adapter_kind(name)?.adapter()))
}

/// Sampling settings from a dict (temperature, top_p, max_tokens, n, rollout_id; others are
/// sent as request parameters).
pub fn lm_config(config: Option<&Bound<'_, PyDict>>) -> Result<Sampling, Error> {
    let mut out = Sampling::new();
    let Some(config) = config else {
        return Ok(out);
    };
    let Value::Object(map) = to_value(config.as_any())? else {
        return Ok(out);
    };
    for (key, value) in map {
        let bad = || Error::Value(format!("`{key}` must be a number, not {value}"));
        out = match key.as_str() {
            "temperature" => out.temperature(value.as_f64().ok_or_else(bad)?),
            "top_p" => out.top_p(value.as_f64().ok_or_else(bad)?),
            "max_tokens" => out.max_tokens(
                value
                    .as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or_else(bad)?,
            ),
            "n" => out.n(value
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(bad)?),
            "rollout_id" => out.rollout_id(value.as_u64().ok_or_else(bad)?),
            _ => out.param(key.clone(), value.clone()),
        };
    }
    Ok(out)
}

#[pymethods]
impl PyCtx {
    /// A call context: `lm` for every predictor the call reaches (before their own), an
    /// adapter by name (`chat`, `json`, `xml`, `baml`), the response cache on or off, sampling settings.
    #[new]
    #[pyo3(signature = (*, lm=None, adapter=None, cache=true, config=None, trace=false))]
    fn new(
        lm: Option<&PyLm>,
        adapter: Option<&str>,
        cache: bool,
        config: Option<&Bound<'_, PyDict>>,
        trace: bool,
    ) -> PyResult<Self> {
        let mut inner = CallContext::new();
        if let Some(lm) = lm {
            inner = inner.with_lm_override(lm.handle()?);
        }
        if let Some(adapter) = adapter {
            inner = inner.with_adapter_arc(adapter_named(adapter)?);
        }
        if !cache {
            inner = inner.no_cache();
        }
        let config = lm_config(config)?;
        if config != Sampling::new() {
            inner = inner.with_config(config);
        }
        if trace {
            inner = inner.with_trace(TraceSink::new());
        }
        Ok(PyCtx { inner })
    }

    /// The context of a sub-module or predictor called `name`.
    fn child(&self, name: &str) -> PyCtx {
        PyCtx {
            inner: self.inner.child(name),
        }
    }

    /// This context with `lm` for every predictor it reaches.
    fn with_lm(&self, lm: &PyLm) -> PyResult<PyCtx> {
        Ok(PyCtx {
            inner: self.inner.clone().with_lm_override(lm.handle()?),
        })
    }

    /// The LM this call runs with (the call's own, else the context's), or `None`.
    fn lm(&self) -> Option<PyLm> {
        self.inner
            .lm_override()
            .or(self.inner.lm())
            .cloned()
            .map(PyLm::from_handle)
    }

    /// This context without its trace: for work a call starts on its own behalf (KNNFewShot's
    /// bootstrapping), whose predictor calls are not the call's.
    fn without_trace(&self) -> PyCtx {
        PyCtx {
            inner: self.inner.clone().without_trace(),
        }
    }

    /// Whether an LM is set for the whole call.
    fn has_lm(&self) -> bool {
        self.inner.lm_override().is_some() || self.inner.lm().is_some()
    }

    /// The predictor path this context names (`""` at the top).
    #[getter]
    fn path(&self) -> String {
        self.inner.path().to_owned()
    }

    /// The predictor calls recorded so far (when the context traces): a list of
    /// `{"predictor", "inputs", "outputs"}` dicts.
    fn trace(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let entries: Vec<Value> = self
            .inner
            .trace()
            .map(|t| t.entries())
            .unwrap_or_default()
            .into_iter()
            .map(|e| {
                serde_json::json!({
                    "predictor": e.predictor,
                    "inputs": Value::Object(e.inputs.fields().clone()),
                    "outputs": Value::Object(e.outputs.fields().clone()),
                })
            })
            .collect();
        to_python(py, &Value::Array(entries))
    }

    /// The LM usage of the predictor calls recorded so far (when the context traces), per
    /// model: `{model: {prompt_tokens, completion_tokens, total_tokens, calls, cached_calls}}`.
    fn usage(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let entries = self.inner.trace().map(|t| t.entries()).unwrap_or_default();
        to_python(py, &usage_by_model(&entries))
    }
}

/// LM usage of the predictor calls in `entries`, per model, in DSPy's `get_lm_usage()` shape.
fn usage_by_model(entries: &[TraceEntry]) -> Value {
    let mut by_model = serde_json::Map::new();
    for e in entries {
        let slot = by_model.entry(e.lm_model.clone()).or_insert_with(|| {
            serde_json::json!({
                "prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0,
                "calls": 0, "cached_calls": 0,
            })
        });
        let add = |slot: &mut Value, key: &str, n: u64| {
            if let Some(v) = slot.get_mut(key) {
                *v = Value::from(v.as_u64().unwrap_or(0) + n);
            }
        };
        add(slot, "calls", 1);
        add(slot, "cached_calls", u64::from(e.cached));
        if let Some(u) = &e.usage {
            add(slot, "prompt_tokens", u.prompt_tokens);
            add(slot, "completion_tokens", u.completion_tokens);
            add(slot, "total_tokens", u.prompt_tokens + u.completion_tokens);
        }
    }
    Value::Object(by_model)
}
