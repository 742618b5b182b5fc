//! The built-in modules (`Predict`, `ChainOfThought`, `ReAct`, `MultiChainComparison`,
//! `BestOfN`, `Refine`) as one Python-visible type, [`PyNative`], and [`NativeModule`], the
//! module a Python object stands for (a user's Python module through
//! [`PyProgram`](crate::bridge::PyProgram)).

use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use hone_core::state::ProgramState;
use hone_core::{Example, Prediction, Signature};
use hone_lm::BoxFuture;
use hone_modules::{
    BestOfN, CallContext, ChainOfThought, Module, ModuleError, MultiChainComparison, Predict,
    ReAct, Refine,
};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::bridge::{PyProgram, reward_fn, tools_from};
use crate::convert::{prediction_to_python, to_example, to_python, to_value};
use crate::ctx::{PyCtx, lm_config};
use crate::error::Error;
use crate::lm::PyLm;
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
