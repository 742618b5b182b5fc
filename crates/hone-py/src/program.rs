//! A Python program's state as one file: the states of the hone modules inside it, each
//! under its attribute path, in DSPy's format or hone's; and `Parallel` over a batch of calls.

use hone_core::Example;
use hone_core::state::{ProgramState, ProgramStructure, ROOT_PREDICTOR};
use hone_lm::BoxFuture;
use hone_modules::{CallContext, Module, ModuleError, Parallel, ParallelOutput};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::convert::{prediction_to_python, to_example};
use crate::ctx::PyCtx;
use crate::error::Error;
use crate::module::{NativeModule, PyNative, module_of};
use crate::pending::{IntoPython, Pending};

/// A predictor's full name: the module's path joined with its name inside the module.
fn full_name(path: &str, name: &str) -> String {
    match (path.is_empty(), name == ROOT_PREDICTOR) {
        (true, _) => name.to_owned(),
        (false, true) => path.to_owned(),
        (false, false) => format!("{path}.{name}"),
    }
}

/// The state of a program made of `parts` (each module's state under its attribute path).
pub fn program_state(parts: &[(String, PyRef<'_, PyNative>)]) -> ProgramState {
    let mut state = ProgramState::default();
    for (path, native) in parts {
        let module = native.module();
        for (name, p) in module.named_predictors() {
            state
                .predictors
                .insert(full_name(path, &name), p.dump_state());
        }
    }
    state
}

/// `dump_program([(path, native), ...], dspy)`: the program's state as JSON text, laid out as
/// DSPy lays out its files (DSPy's format with `dspy=True`, hone's otherwise).
#[pyfunction]
pub fn dump_program(parts: Vec<(String, PyRef<'_, PyNative>)>, dspy: bool) -> String {
    let state = program_state(&parts);
    if dspy {
        state.to_dspy_json_string_pretty()
    } else {
        state.to_json_string_pretty()
    }
}

/// `load_program([(path, native), ...], text)`: loads a saved state (hone's or DSPy's) onto
/// the program's modules. Every predictor must be in the file and the file may name no other;
/// nothing changes when it does not fit.
#[pyfunction]
pub fn load_program(parts: Vec<(String, PyRef<'_, PyNative>)>, text: &str) -> PyResult<()> {
    let mut ours = Vec::new();
    let mut structure = ProgramStructure::new();
    for (path, native) in &parts {
        for (name, p) in native.module().named_predictors() {
            let full = full_name(path, &name);
            structure.insert(full.clone(), p.signature().clone());
            ours.push((full, path.clone(), name));
        }
    }
    // Name every misfit at once, before the file's own checks (which stop at the first).
    if let Ok(serde_json::Value::Object(top)) = serde_json::from_str::<serde_json::Value>(text) {
        let in_file: Vec<&str> = top
            .keys()
            .map(String::as_str)
            .filter(|k| *k != "metadata")
            .collect();
        let missing: Vec<&str> = ours
            .iter()
            .map(|(full, _, _)| full.as_str())
            .filter(|full| !in_file.contains(full))
            .collect();
        let extra: Vec<&str> = in_file
            .iter()
            .copied()
            .filter(|k| !ours.iter().any(|(full, _, _)| full == k))
            .collect();
        if !missing.is_empty() || !extra.is_empty() {
            let mut message = String::from("the saved state does not fit this program:");
            if !missing.is_empty() {
                message.push_str(&format!(" it has no predictor [{}];", missing.join(", ")));
            }
            if !extra.is_empty() {
                message.push_str(&format!(
                    " it names [{}], which the program does not have;",
                    extra.join(", ")
                ));
            }
            message.push_str(&format!(
                " the program's predictors are [{}] (named as `named_predictors()` names them)",
                ours.iter()
                    .map(|(f, _, _)| f.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            return Err(crate::error::StateError::new_err(message));
        }
    }
    let state = ProgramState::from_json_str_with(text, &structure).map_err(Error::from)?;
    // Check every part first, then apply, so a misfit changes nothing.
    let mut subs = Vec::new();
    for (path, native) in &parts {
        let mut sub = ProgramState::default();
        for (full, p, name) in &ours {
            if p == path
                && let Some(saved) = state.predictor(full)
            {
                sub.predictors.insert(name.clone(), saved.clone());
            }
        }
        let mut trial = NativeModule::clone(&native.module());
        trial.load_state(&sub).map_err(Error::from)?;
        subs.push(trial);
    }
    for ((_, native), loaded) in parts.iter().zip(subs) {
        native.replace(loaded);
    }
    Ok(())
}

fn run_batch<'a>(
    runner: Parallel,
    calls: &'a [(NativeModule, Example)],
    ctx: &'a CallContext,
) -> BoxFuture<'a, Result<ParallelOutput, ModuleError>> {
    let batch: Vec<(&'a dyn Module, Example)> = calls
        .iter()
        .map(|(m, e)| {
            let keys: Vec<String> = e.fields().keys().cloned().collect();
            (m as &dyn Module, e.clone().with_inputs(keys))
        })
        .collect();
    Box::pin(async move { runner.run(batch, ctx).await })
}

struct ParallelOut(Vec<Option<hone_core::Prediction>>);

impl IntoPython for ParallelOut {
    fn into_python(self: Box<Self>, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let items = self
            .0
            .iter()
            .map(|p| match p {
                Some(p) => prediction_to_python(py, p),
                None => Ok(py.None()),
            })
            .collect::<PyResult<Vec<_>>>()?;
        Ok(pyo3::types::PyList::new(py, items)?.into_any().unbind())
    }
}

/// `parallel([(module, inputs), ...], ctx, num_threads, max_errors)`: runs the calls at once
/// with bounded concurrency; the `Pending` resolves to a list of prediction dicts (`None` for
/// a failed call).
#[pyfunction]
#[pyo3(signature = (pairs, ctx, *, num_threads=8, max_errors=Some(10)))]
pub fn parallel(
    pairs: Vec<(Bound<'_, PyAny>, Bound<'_, PyDict>)>,
    ctx: &PyCtx,
    num_threads: usize,
    max_errors: Option<usize>,
) -> PyResult<Pending> {
    if num_threads == 0 {
        return Err(Error::Value("num_threads must be at least 1".into()).into());
    }
    let mut calls = Vec::with_capacity(pairs.len());
    for (module, inputs) in &pairs {
        calls.push((module_of(module), to_example(inputs, None)?));
    }
    let runner = Parallel::new()
        .with_concurrency(num_threads)
        .with_max_errors(max_errors);
    let ctx = ctx.inner.clone();
    Ok(Pending::spawn(async move {
        let out = run_batch(runner, &calls, &ctx).await.map_err(Error::from)?;
        let results = out.results.into_iter().map(Result::ok).collect();
        Ok(Box::new(ParallelOut(results)) as Box<dyn IntoPython>)
    })?)
}
