//! The built-in modules (`Predict`, `ChainOfThought`, `ReAct`, `MultiChainComparison`,
//! `BestOfN`, `Refine`) as one Python-visible type, [`PyNative`], plus the call context
//! ([`PyCtx`]) and the bridges that let Rust modules run Python code: a module whose
//! `forward` is Python ([`PyProgram`]), tools and reward functions.

use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use hone_core::adapter::AdapterKind;
use hone_core::state::ProgramState;
use hone_core::{Example, Prediction, Signature};
use hone_lm::BoxFuture;
use hone_modules::{
    BestOfN, CallContext, ChainOfThought, LmConfig, Module, ModuleError, MultiChainComparison,
    Predict, ReAct, Refine, Tool, ToolError, TraceEntry, TraceSink,
};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use serde_json::{Map, Value};

use crate::convert::{prediction_to_python, to_example, to_python, to_value};
use crate::error::Error;
use crate::lm::{PyLm, describe};
use crate::pending::{IntoPython, Pending};

/// A module of hone's, or the user's Python module wrapped for hone.
#[derive(Clone)]
#[allow(
    clippy::large_enum_variant,
    reason = "modules live behind an `Arc` and are cloned only when edited"
)]
pub enum NativeModule {
    /// `Predict`.
    Predict(Predict),
    /// `ChainOfThought`.
    ChainOfThought(ChainOfThought),
    /// `ReAct`.
    ReAct(ReAct),
    /// `MultiChainComparison`.
    MultiChain(MultiChainComparison),
    /// `BestOfN` over another module.
    BestOfN(Box<BestOfN<Box<NativeModule>>>),
    /// `Refine` over another module.
    Refine(Box<Refine<Box<NativeModule>>>),
    /// A Python module (`hone.Module` with its own `forward`).
    Python(PyProgram),
}

macro_rules! each {
    ($self:expr, $m:ident => $body:expr) => {
        match $self {
            NativeModule::Predict($m) => $body,
            NativeModule::ChainOfThought($m) => $body,
            NativeModule::ReAct($m) => $body,
            NativeModule::MultiChain($m) => $body,
            NativeModule::BestOfN($m) => $body,
            NativeModule::Refine($m) => $body,
            NativeModule::Python($m) => $body,
        }
    };
}

impl Module for NativeModule {
    fn forward<'a>(
        &'a self,
        inputs: Example,
        ctx: &'a CallContext,
    ) -> BoxFuture<'a, Result<Prediction, ModuleError>> {
        each!(self, m => m.forward(inputs, ctx))
    }

    fn named_predictors(&self) -> Vec<(String, &Predict)> {
        each!(self, m => m.named_predictors())
    }

    fn named_predictors_mut(&mut self) -> Vec<(String, &mut Predict)> {
        each!(self, m => m.named_predictors_mut())
    }

    fn module_name(&self) -> &'static str {
        match self {
            NativeModule::Predict(_) => "Predict",
            NativeModule::ChainOfThought(_) => "ChainOfThought",
            NativeModule::ReAct(_) => "ReAct",
            NativeModule::MultiChain(_) => "MultiChainComparison",
            NativeModule::BestOfN(_) => "BestOfN",
            NativeModule::Refine(_) => "Refine",
            NativeModule::Python(p) => p.module_name(),
        }
    }
}

/// The user's Python module as a hone [`Module`]: `forward` runs the Python object's
/// `_hone_forward(inputs, ctx)` on a blocking thread (Python code may wait on other calls
/// there), with the call's context.
#[derive(Clone)]
pub struct PyProgram {
    object: Arc<Py<PyAny>>,
    /// `ClassName.forward`, for errors.
    forward_name: Arc<str>,
}

impl PyProgram {
    /// Wraps a Python module object.
    pub fn new(object: &Bound<'_, PyAny>) -> Self {
        let class = object
            .get_type()
            .name()
            .map(|n| n.to_string())
            .unwrap_or_else(|_| "Module".into());
        PyProgram {
            object: Arc::new(object.clone().unbind()),
            forward_name: format!("{class}.forward").into(),
        }
    }
}

impl Module for PyProgram {
    fn forward<'a>(
        &'a self,
        inputs: Example,
        ctx: &'a CallContext,
    ) -> BoxFuture<'a, Result<Prediction, ModuleError>> {
        let object = self.object.clone();
        let forward_name = self.forward_name.to_string();
        let ctx = ctx.clone();
        Box::pin(async move {
            let run = tokio::task::spawn_blocking(move || {
                crate::runtime::with_python(|py| -> Result<Prediction, String> {
                    let inputs = to_python(py, &Value::Object(inputs.into_fields()))
                        .map_err(|e| describe(py, &e))?;
                    let ctx = Py::new(py, PyCtx { inner: ctx }).map_err(|e| describe(py, &e))?;
                    let out = object
                        .call_method1(py, "_hone_forward", (inputs, ctx))
                        .map_err(|e| describe(py, &e))?;
                    match to_value(out.bind(py)).map_err(|e| e.to_string())? {
                        Value::Object(fields) => Ok(Prediction::new(fields)),
                        other => Err(format!("forward must return a Prediction, not {other}")),
                    }
                })
            });
            match run.await {
                Ok(Ok(prediction)) => Ok(prediction),
                Ok(Err(message)) => Err(ModuleError::InvalidInput {
                    module: forward_name,
                    message,
                }),
                Err(e) => Err(ModuleError::InvalidInput {
                    module: forward_name,
                    message: format!("the call did not finish: {e}"),
                }),
            }
        })
    }

    fn named_predictors(&self) -> Vec<(String, &Predict)> {
        Vec::new()
    }

    fn named_predictors_mut(&mut self) -> Vec<(String, &mut Predict)> {
        Vec::new()
    }

    fn module_name(&self) -> &'static str {
        "Module"
    }
}

/// A Python callable as a ReAct tool.
struct PyTool {
    name: String,
    description: String,
    parameters: Value,
    function: Arc<Py<PyAny>>,
}

impl Tool for PyTool {
    fn name(&self) -> &str {
        &self.name
    }

    fn description(&self) -> &str {
        &self.description
    }

    fn parameters(&self) -> Value {
        self.parameters.clone()
    }

    fn call<'a>(&'a self, args: Map<String, Value>) -> BoxFuture<'a, Result<Value, ToolError>> {
        let function = self.function.clone();
        Box::pin(async move {
            let run = tokio::task::spawn_blocking(move || {
                crate::runtime::with_python(|py| -> Result<Value, String> {
                    let kwargs =
                        to_python(py, &Value::Object(args)).map_err(|e| describe(py, &e))?;
                    let kwargs = kwargs
                        .bind(py)
                        .cast::<PyDict>()
                        .map_err(|e| e.to_string())?
                        .clone();
                    let mut out = function
                        .call(py, (), Some(&kwargs))
                        .map_err(|e| describe(py, &e))?;
                    let inspect = py.import("inspect").map_err(|e| describe(py, &e))?;
                    if inspect
                        .call_method1("isawaitable", (out.bind(py),))
                        .and_then(|b| b.extract::<bool>())
                        .unwrap_or(false)
                    {
                        out = py
                            .import("asyncio")
                            .and_then(|a| a.call_method1("run", (out,)))
                            .map_err(|e| describe(py, &e))?
                            .unbind();
                    }
                    match to_value(out.bind(py)) {
                        Ok(v) => Ok(v),
                        Err(_) => Ok(Value::String(
                            out.bind(py)
                                .str()
                                .map(|s| s.to_string())
                                .unwrap_or_default(),
                        )),
                    }
                })
            });
            match run.await {
                Ok(result) => result.map_err(ToolError::new),
                Err(e) => Err(ToolError::new(format!("the tool did not finish: {e}"))),
            }
        })
    }
}

/// A Python reward function `reward(inputs: dict, prediction: dict) -> float`. An exception or
/// a value that is not a number scores the attempt as the worst possible.
/// A Python `reward_fn(args, pred)` as a reward; its exceptions and non-finite scores are
/// failed attempts with the reason.
fn reward_fn(
    function: Py<PyAny>,
) -> impl Fn(&Example, &Prediction) -> Result<f64, String> + Send + Sync {
    let function = Arc::new(function);
    move |example: &Example, prediction: &Prediction| {
        crate::runtime::with_python(|py| {
            let call = || -> PyResult<f64> {
                let inputs = to_python(py, &Value::Object(example.fields().clone()))?;
                let pred = prediction_to_python(py, prediction)?;
                function.call1(py, (inputs, pred))?.extract::<f64>(py)
            };
            match call() {
                Ok(score) if score.is_finite() => Ok(score),
                Ok(score) => Err(format!("it returned {score}; return a finite number")),
                Err(e) => Err(describe(py, &e)),
            }
        })
    }
}

/// The context of one call: its LM, adapter, cache policy and sampling settings. Child
/// contexts name the predictors they reach.
#[pyclass(module = "hone._hone", name = "Ctx", frozen)]
#[derive(Clone)]
pub struct PyCtx {
    pub(crate) inner: CallContext,
}

/// An adapter named as the Python layer names it: `chat`, `json` or `xml`.
pub fn adapter_kind(name: &str) -> Result<AdapterKind, Error> {
    name.parse::<AdapterKind>().map_err(Error::Value)
}

fn adapter_named(name: &str) -> Result<Arc<dyn hone_core::adapter::Adapter>, Error> {
    Ok(Arc::from(adapter_kind(name)?.adapter()))
}

/// Sampling settings from a dict (temperature, top_p, max_tokens, n, rollout_id; others are
/// sent as request parameters).
pub fn lm_config(config: Option<&Bound<'_, PyDict>>) -> Result<LmConfig, Error> {
    let mut out = LmConfig::new();
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
            "rollout_id" => out.rollout_id(value.as_i64().ok_or_else(bad)?),
            _ => out.param(key.clone(), value.clone()),
        };
    }
    Ok(out)
}

#[pymethods]
impl PyCtx {
    /// A call context: `lm` for every predictor the call reaches (before their own), an
    /// adapter by name (`chat`, `json`, `xml`), the response cache on or off, sampling settings.
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
        if config != LmConfig::new() {
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

/// What a module call returns to Python: the prediction's fields.
struct PredictionOut(Prediction);

impl IntoPython for PredictionOut {
    fn into_python(self: Box<Self>, py: Python<'_>) -> PyResult<Py<PyAny>> {
        prediction_to_python(py, &self.0)
    }
}

/// One of hone's modules, callable from Python. The module is shared by every call in flight;
/// changing it (`set_lm`, `load_state`) takes effect for calls that start afterwards.
#[pyclass(module = "hone._hone", name = "Native", frozen)]
pub struct PyNative {
    module: RwLock<Arc<NativeModule>>,
}

impl PyNative {
    fn current(&self) -> Arc<NativeModule> {
        self.module
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn update(
        &self,
        change: impl FnOnce(&mut NativeModule) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let mut slot = self.module.write().unwrap_or_else(PoisonError::into_inner);
        let mut next = NativeModule::clone(&slot);
        change(&mut next)?;
        *slot = Arc::new(next);
        Ok(())
    }

    /// The module inside, for other modules and evaluations.
    pub fn module(&self) -> Arc<NativeModule> {
        self.current()
    }

    /// Replaces the module (calls in flight keep the one they started with).
    pub fn replace(&self, module: NativeModule) {
        *self.module.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(module);
    }
}

/// A Python object as a module of hone's core: a `Native` (or a Python module holding one
/// in `_native`) is that module; anything else is a Python module run through its `forward`.
/// The inner module of `BestOfN` / `Refine`, the program of an evaluation.
pub fn module_of(object: &Bound<'_, PyAny>) -> NativeModule {
    if let Ok(native) = object.cast::<PyNative>() {
        return NativeModule::clone(&native.get().current());
    }
    if let Ok(native) = object.getattr("_native")
        && let Ok(native) = native.cast::<PyNative>()
    {
        return NativeModule::clone(&native.get().current());
    }
    NativeModule::Python(PyProgram::new(object))
}

fn tools_from(list: Option<&Bound<'_, PyList>>) -> PyResult<Vec<Arc<dyn Tool>>> {
    let mut tools: Vec<Arc<dyn Tool>> = Vec::new();
    for item in list.into_iter().flatten() {
        let name: String = item.getattr("name")?.extract()?;
        let description: String = item.getattr("desc")?.extract()?;
        let parameters = to_value(&item.getattr("parameters")?)?;
        let function = item.getattr("func")?.unbind();
        tools.push(Arc::new(PyTool {
            name,
            description,
            parameters,
            function: Arc::new(function),
        }));
    }
    Ok(tools)
}

#[pymethods]
impl PyNative {
    /// Builds a module: `kind` is `predict`, `chain_of_thought`, `react`,
    /// `multi_chain_comparison`, `best_of_n` or `refine`.
    #[new]
    #[pyo3(signature = (kind, signature=None, *, config=None, tools=None, max_iters=None,
        tool_timeout=None, m=None, inner=None, n=None, reward=None, threshold=None,
        fail_count=None, program_code=None, reward_code=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        kind: &str,
        signature: Option<&Bound<'_, PyAny>>,
        config: Option<&Bound<'_, PyDict>>,
        tools: Option<&Bound<'_, PyList>>,
        max_iters: Option<usize>,
        tool_timeout: Option<f64>,
        m: Option<usize>,
        inner: Option<&Bound<'_, PyAny>>,
        n: Option<usize>,
        reward: Option<Py<PyAny>>,
        threshold: Option<f64>,
        fail_count: Option<usize>,
        program_code: Option<String>,
        reward_code: Option<String>,
    ) -> PyResult<Self> {
        let signature = || -> PyResult<Signature> {
            match signature {
                Some(s) => Ok(crate::signature::signature_from(s)?),
                None => Err(Error::Value(format!("`{kind}` needs a signature")).into()),
            }
        };
        let config = lm_config(config)?;
        let module = match kind {
            "predict" => {
                NativeModule::Predict(Predict::from_signature(signature()?).with_config(config))
            }
            "chain_of_thought" => NativeModule::ChainOfThought(
                ChainOfThought::new(signature()?)
                    .map_err(Error::from)?
                    .with_config(config),
            ),
            "react" => {
                let mut react =
                    ReAct::new(signature()?, tools_from(tools)?).map_err(Error::from)?;
                if let Some(n) = max_iters {
                    react = react.with_max_iters(n);
                }
                if let Some(t) = tool_timeout.filter(|t| t.is_finite() && *t > 0.0) {
                    react = react.with_tool_timeout(Duration::from_secs_f64(t));
                }
                NativeModule::ReAct(react)
            }
            "multi_chain_comparison" => NativeModule::MultiChain(
                MultiChainComparison::new(signature()?, m.unwrap_or(3)).map_err(Error::from)?,
            ),
            "best_of_n" | "refine" => {
                let Some(inner) = inner else {
                    return Err(Error::Value(format!("`{kind}` needs a module")).into());
                };
                let Some(reward) = reward else {
                    return Err(Error::Value(format!("`{kind}` needs a reward_fn")).into());
                };
                let inner = Box::new(module_of(inner));
                let n = n.unwrap_or(3);
                let threshold = threshold.unwrap_or(1.0);
                if kind == "best_of_n" {
                    let mut b = BestOfN::new(inner, n, |_, _| 0.0, threshold)
                        .with_fallible_reward(reward_fn(reward));
                    if let Some(f) = fail_count {
                        b = b.with_fail_count(f);
                    }
                    NativeModule::BestOfN(Box::new(b))
                } else {
                    let mut r = Refine::new(inner, n, |_, _| 0.0, threshold)
                        .with_fallible_reward(reward_fn(reward));
                    if let Some(f) = fail_count {
                        r = r.with_fail_count(f);
                    }
                    if let Some(code) = program_code {
                        r = r.with_program_code(code);
                    }
                    if let Some(code) = reward_code {
                        r = r.with_reward_code(code);
                    }
                    NativeModule::Refine(Box::new(r))
                }
            }
            other => {
                return Err(Error::Value(format!(
                    "unknown module kind `{other}`; use predict, chain_of_thought, react, \
                     multi_chain_comparison, best_of_n or refine"
                ))
                .into());
            }
        };
        Ok(PyNative {
            module: RwLock::new(Arc::new(module)),
        })
    }

    /// Starts a call on hone's runtime and returns at once; wait on the `Pending`'s `fd`.
    fn submit(&self, inputs: &Bound<'_, PyDict>, ctx: &PyCtx) -> PyResult<Pending> {
        let example = to_example(inputs, None)?;
        let module = self.current();
        let ctx = ctx.inner.clone();
        Ok(Pending::spawn(async move {
            module
                .call(example, &ctx)
                .await
                .map(|p| Box::new(PredictionOut(p)) as Box<dyn IntoPython>)
                .map_err(Error::from)
        })?)
    }

    /// The predictor names, as DSPy's `named_predictors()` names them inside this module.
    fn predictor_names(&self) -> Vec<String> {
        self.current()
            .named_predictors()
            .into_iter()
            .map(|(name, _)| name)
            .collect()
    }

    /// The signature of the predictor called `name`, as a dict.
    fn signature(&self, py: Python<'_>, name: &str) -> PyResult<Py<PyAny>> {
        let module = self.current();
        let Some((_, p)) = module
            .named_predictors()
            .into_iter()
            .find(|(n, _)| n == name)
        else {
            return Err(Error::Value(format!("no predictor `{name}` in this module")).into());
        };
        let value = serde_json::to_value(p.signature()).map_err(|e| Error::Value(e.to_string()))?;
        to_python(py, &value)
    }

    /// The state (instructions, fields, demos per predictor) in hone's saved form.
    fn dump_state(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        to_python(py, &self.current().state().to_value())
    }

    /// Loads a state (hone's or DSPy's saved form) for every predictor of this module.
    fn load_state(&self, state: &Bound<'_, PyAny>) -> PyResult<()> {
        let value = to_value(state)?;
        let state = ProgramState::from_value(&value).map_err(Error::from)?;
        self.update(|m| m.load_state(&state).map_err(Error::from))?;
        Ok(())
    }

    /// Sets (or with `None` clears) the LM of every predictor of this module.
    #[pyo3(signature = (lm))]
    fn set_lm(&self, lm: Option<&PyLm>) -> PyResult<()> {
        let handle = match lm {
            Some(lm) => Some(lm.handle()?),
            None => None,
        };
        self.update(|m| {
            for (_, p) in m.named_predictors_mut() {
                p.set_lm(handle.clone());
            }
            Ok(())
        })?;
        Ok(())
    }

    /// Sets the demos of the predictor called `name` (a list of dicts).
    fn set_demos(&self, name: &str, demos: &Bound<'_, PyList>) -> PyResult<()> {
        let mut examples = Vec::new();
        for d in demos.iter() {
            let d = d
                .cast::<PyDict>()
                .map_err(|_| Error::Value("each demo must be a dict".into()))?;
            examples.push(to_example(d, None)?);
        }
        self.update(|m| {
            let Some((_, p)) = m
                .named_predictors_mut()
                .into_iter()
                .find(|(n, _)| n == name)
            else {
                return Err(Error::Value(format!(
                    "no predictor `{name}` in this module"
                )));
            };
            p.set_demos(examples);
            Ok(())
        })?;
        Ok(())
    }

    /// An independent copy (its own demos, instructions and LMs).
    fn copy(&self) -> PyNative {
        PyNative {
            module: RwLock::new(Arc::new(NativeModule::clone(&self.current()))),
        }
    }

    /// The module's type name.
    #[getter]
    fn module_name(&self) -> &'static str {
        self.current().module_name()
    }
}

impl From<Arc<NativeModule>> for PyNative {
    fn from(module: Arc<NativeModule>) -> Self {
        PyNative {
            module: RwLock::new(module),
        }
    }
}
