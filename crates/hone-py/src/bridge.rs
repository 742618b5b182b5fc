//! The bridges that let hone's Rust modules run Python code: a module whose `forward` is
//! Python ([`PyProgram`]), ReAct tools ([`tools_from`]) and reward functions ([`reward_fn`]).
//! Each runs its Python on a blocking thread, attached to the interpreter only while it runs.

use std::sync::Arc;

use hone_core::{Example, Prediction};
use hone_lm::BoxFuture;
use hone_modules::{CallContext, Module, ModuleError, Predict, Tool, ToolError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use serde_json::{Map, Value};

use crate::convert::{prediction_to_python, to_python, to_value};
use crate::ctx::PyCtx;
use crate::lm::describe;

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

/// A Python `reward_fn(args, pred)` as a reward; its exceptions and non-finite scores are
/// failed attempts with the reason.
pub fn reward_fn(
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
/// ReAct's tools from the Python layer's `hone.Tool` objects (`name`, `desc`, `parameters`,
/// `func`).
pub fn tools_from(list: Option<&Bound<'_, PyList>>) -> PyResult<Vec<Arc<dyn Tool>>> {
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
