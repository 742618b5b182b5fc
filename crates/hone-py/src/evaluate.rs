//! `hone.Evaluate`: hone-eval's evaluation (bounded concurrency, `max_errors`, per-example
//! results, a confidence interval) over a module of hone's or a Python module, scored by a
//! Python metric.

use std::collections::BTreeMap;
use std::sync::Arc;

use hone_core::{Example, Prediction};
use hone_eval::metric::{Metric, MetricError, MetricValue};
use hone_eval::{Evaluate, EvaluationResult};
use hone_lm::BoxFuture;
use hone_modules::{Module, TraceEntry};
use pyo3::prelude::*;
use pyo3::types::PyList;
use serde_json::Value;

use crate::convert::{examples, prediction_to_python, to_python};
use crate::ctx::PyCtx;
use crate::error::Error;
use crate::lm::describe;
use crate::module::module_of;
use crate::pending::{IntoPython, Pending};

/// A Python metric: `function(example: dict, prediction: dict) -> (score, feedback,
/// objectives)` (or `(score, feedback)`), the Python layer's wrapper around the user's
/// `metric(example, pred, trace=None)`.
pub struct PyMetric {
    name: String,
    function: Arc<Py<PyAny>>,
}

impl PyMetric {
    /// The Python layer's wrapped metric, with the user's metric's name.
    pub fn new(name: String, function: Py<PyAny>) -> Self {
        PyMetric {
            name,
            function: Arc::new(function),
        }
    }
}

impl Metric for PyMetric {
    fn name(&self) -> &str {
        &self.name
    }

    fn score<'a>(
        &'a self,
        example: &'a Example,
        prediction: &'a Prediction,
        _trace: Option<&'a [TraceEntry]>,
    ) -> BoxFuture<'a, Result<MetricValue, MetricError>> {
        let function = self.function.clone();
        let name = self.name.clone();
        let example = Value::Object(example.fields().clone());
        let prediction = prediction.clone();
        Box::pin(async move {
            let run = tokio::task::spawn_blocking(move || {
                crate::runtime::with_python(|py| -> Result<MetricValue, String> {
                    let example = to_python(py, &example).map_err(|e| describe(py, &e))?;
                    let pred =
                        prediction_to_python(py, &prediction).map_err(|e| describe(py, &e))?;
                    let out = function
                        .call1(py, (example, pred))
                        .map_err(|e| describe(py, &e))?;
                    type Scored = (f64, Option<String>, Option<BTreeMap<String, f64>>);
                    let (score, feedback, objectives): Scored = match out.extract(py) {
                        Ok(scored) => scored,
                        Err(_) => {
                            let (score, feedback): (f64, Option<String>) =
                                out.extract(py).map_err(|e| describe(py, &e))?;
                            (score, feedback, None)
                        }
                    };
                    let mut value = MetricValue::new(score);
                    if let Some(f) = feedback {
                        value = value.with_feedback(f);
                    }
                    for (name, score) in objectives.unwrap_or_default() {
                        value = value.with_objective(name, score);
                    }
                    Ok(value)
                })
            });
            let message = match run.await {
                Ok(Ok(value)) => return Ok(value),
                Ok(Err(message)) => message,
                Err(e) => format!("the metric did not finish: {e}"),
            };
            Err(MetricError::Type {
                metric: name,
                field: "score".into(),
                message,
            })
        })
    }
}

struct EvaluationOut(EvaluationResult);

impl IntoPython for EvaluationOut {
    fn into_python(self: Box<Self>, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let r = self.0;
        let results: Vec<Value> = r
            .results
            .iter()
            .map(|e| {
                serde_json::json!({
                    "index": e.index,
                    "inputs": Value::Object(e.inputs.fields().clone()),
                    "labels": Value::Object(e.labels.fields().clone()),
                    "prediction": e.prediction.as_ref().map(|p| Value::Object(p.fields().clone())),
                    "score": e.score,
                    "feedback": e.feedback,
                    "error": e.error,
                })
            })
            .collect();
        let value = serde_json::json!({
            "metric": r.metric,
            "score": hone_eval_round(r.summary.mean),
            "mean": r.summary.mean,
            "n": r.summary.n,
            "std_err": r.summary.std_err,
            "ci_low": r.summary.ci_low,
            "ci_high": r.summary.ci_high,
            "errors": r.errors,
            "results": results,
        });
        to_python(py, &value)
    }
}

fn hone_eval_round(mean: f64) -> f64 {
    (mean * 10_000.0).round() / 100.0
}

/// Starts an evaluation of `program` over `devset` (dicts, with the names of their input
/// fields) scored by `metric`; the `Pending` resolves to a dict of results.
#[pyfunction]
#[pyo3(signature = (program, devset, input_keys, metric, metric_name, ctx, *, num_threads=8,
    max_errors=None, failure_score=0.0))]
#[allow(clippy::too_many_arguments)]
pub fn evaluate(
    program: &Bound<'_, PyAny>,
    devset: &Bound<'_, PyList>,
    input_keys: Vec<Vec<String>>,
    metric: Py<PyAny>,
    metric_name: String,
    ctx: &PyCtx,
    num_threads: usize,
    max_errors: Option<usize>,
    failure_score: f64,
) -> PyResult<Pending> {
    let examples = examples(devset, input_keys, "devset")?;
    if num_threads == 0 {
        return Err(Error::Value("num_threads must be at least 1".into()).into());
    }
    let module = module_of(program);
    let mut eval = Evaluate::with_metric(
        examples,
        Arc::new(PyMetric {
            name: metric_name,
            function: Arc::new(metric),
        }),
    )
    .concurrency(num_threads)
    .failure_score(failure_score);
    if let Some(m) = max_errors {
        eval = eval.max_errors(m);
    }
    let ctx = ctx.inner.clone();
    Ok(Pending::spawn(async move {
        eval.run(&module as &dyn Module, &ctx)
            .await
            .map(|r| Box::new(EvaluationOut(r)) as Box<dyn IntoPython>)
            .map_err(Error::from)
    })?)
}
