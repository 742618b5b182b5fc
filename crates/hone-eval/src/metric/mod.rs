//! Metrics: how good a prediction is for an example, as a score in `[0, 1]` with optional
//! textual feedback (what GEPA-style optimizers reflect on).
//!
//! * [`Metric`] — the trait, async so a metric may call an LM ([`LlmJudge`]).
//! * Built-ins over one field: [`ExactMatch`] (DSPy's normalisation and `answer_exact_match`),
//!   [`TokenF1`], [`Contains`], [`NumericTolerance`], and [`JsonFieldMatch`] over several
//!   (nested) fields.
//! * [`metric_fn`] — a closure as a metric.

mod builtin;
mod json_field;
mod judge;
mod text;

pub use builtin::{Contains, ExactMatch, NumericTolerance, TokenF1};
pub use json_field::JsonFieldMatch;
pub use judge::LlmJudge;
pub use text::{exact_match_score, normalize_text, token_f1_score};

use std::collections::BTreeMap;

use hone_core::{Example, Prediction};
use hone_lm::BoxFuture;
use hone_modules::{ModuleError, TraceEntry};
use serde_json::Value;

/// A metric's verdict on one prediction.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricValue {
    /// The score, in `[0, 1]`.
    pub score: f64,
    /// Why, in words (optional; reflective optimizers read it).
    pub feedback: Option<String>,
    /// Named scores of several objectives, beside the score (optional; GEPA's
    /// `frontier_type` keeps Pareto fronts over them).
    pub objectives: BTreeMap<String, f64>,
}

impl MetricValue {
    /// A score without feedback.
    pub fn new(score: f64) -> Self {
        MetricValue {
            score,
            feedback: None,
            objectives: BTreeMap::new(),
        }
    }

    /// Adds the score of objective `name`.
    pub fn with_objective(mut self, name: impl Into<String>, score: f64) -> Self {
        self.objectives.insert(name.into(), score);
        self
    }

    /// Adds feedback.
    pub fn with_feedback(mut self, feedback: impl Into<String>) -> Self {
        self.feedback = Some(feedback.into());
        self
    }
}

impl From<bool> for MetricValue {
    fn from(ok: bool) -> Self {
        MetricValue::new(if ok { 1.0 } else { 0.0 })
    }
}

impl From<f64> for MetricValue {
    fn from(score: f64) -> Self {
        MetricValue::new(score)
    }
}

/// Why a metric could not score a prediction. An evaluation counts it as a failed example.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MetricError {
    /// The example (the label side) lacks a field the metric reads.
    #[error(
        "metric `{metric}`: the example has no field `{field}`; its fields are [{available}]. \
         Add the label to the dataset or point the metric at another field"
    )]
    MissingLabel {
        /// The metric.
        metric: String,
        /// The field.
        field: String,
        /// The example's fields.
        available: String,
    },
    /// The prediction lacks a field the metric reads.
    #[error(
        "metric `{metric}`: the prediction has no field `{field}`; it holds [{available}]. Check \
         the program's output fields"
    )]
    MissingOutput {
        /// The metric.
        metric: String,
        /// The field.
        field: String,
        /// The prediction's fields.
        available: String,
    },
    /// A value has a type the metric cannot compare.
    #[error("metric `{metric}`: field `{field}`: {message}")]
    Type {
        /// The metric.
        metric: String,
        /// The field.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// A score outside `[0, 1]` (or NaN).
    #[error("metric `{metric}` returned {score}, outside [0, 1]; scale the score into [0, 1]")]
    OutOfRange {
        /// The metric.
        metric: String,
        /// The score.
        score: f64,
    },
    /// An LM-judge metric's call failed.
    #[error("metric `{metric}`: the judge call failed: {source}")]
    Judge {
        /// The metric.
        metric: String,
        /// The module error.
        #[source]
        source: Box<ModuleError>,
    },
    /// Anything else (closures report their own failures here).
    #[error("metric `{metric}`: {message}")]
    Other {
        /// The metric.
        metric: String,
        /// What failed.
        message: String,
    },
}

/// Scores a prediction for an example.
///
/// `trace` holds the predictor calls of the run when the caller recorded them (bootstrapping
/// does, as DSPy passes `trace` to the metric then); `None` in plain evaluation.
pub trait Metric: Send + Sync {
    /// The metric's name, for reports and errors.
    fn name(&self) -> &str;

    /// Scores one prediction.
    fn score<'a>(
        &'a self,
        example: &'a Example,
        prediction: &'a Prediction,
        trace: Option<&'a [TraceEntry]>,
    ) -> BoxFuture<'a, Result<MetricValue, MetricError>>;
}

impl<M: Metric + ?Sized> Metric for std::sync::Arc<M> {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn score<'a>(
        &'a self,
        example: &'a Example,
        prediction: &'a Prediction,
        trace: Option<&'a [TraceEntry]>,
    ) -> BoxFuture<'a, Result<MetricValue, MetricError>> {
        (**self).score(example, prediction, trace)
    }
}

/// A synchronous closure as a [`Metric`]; see [`metric_fn`].
pub struct FnMetric<F> {
    name: String,
    f: F,
}

impl<F> std::fmt::Debug for FnMetric<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FnMetric")
            .field("name", &self.name)
            .finish()
    }
}

impl<F> FnMetric<F> {
    /// Renames the metric (default `metric_fn`).
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }
}

/// A closure as a metric. It returns anything convertible to a [`MetricValue`] (`bool`, `f64`,
/// a `MetricValue` with feedback), or an error message.
///
/// ```
/// use hone_eval::metric::{metric_fn, Metric};
/// let m = metric_fn(|ex, pred| Ok(ex.get("answer") == pred.get("answer"))).named("same_answer");
/// assert_eq!(m.name(), "same_answer");
/// ```
pub fn metric_fn<F, V>(f: F) -> FnMetric<F>
where
    F: Fn(&Example, &Prediction) -> Result<V, String> + Send + Sync,
    V: Into<MetricValue>,
{
    FnMetric {
        name: "metric_fn".into(),
        f,
    }
}

impl<F, V> Metric for FnMetric<F>
where
    F: Fn(&Example, &Prediction) -> Result<V, String> + Send + Sync,
    V: Into<MetricValue>,
{
    fn name(&self) -> &str {
        &self.name
    }

    fn score<'a>(
        &'a self,
        example: &'a Example,
        prediction: &'a Prediction,
        _trace: Option<&'a [TraceEntry]>,
    ) -> BoxFuture<'a, Result<MetricValue, MetricError>> {
        let result = (self.f)(example, prediction)
            .map(Into::into)
            .map_err(|message| MetricError::Other {
                metric: self.name.clone(),
                message,
            });
        Box::pin(async move { result })
    }
}

/// Checks a score is in `[0, 1]`.
pub fn check_range(metric: &str, value: MetricValue) -> Result<MetricValue, MetricError> {
    if (0.0..=1.0).contains(&value.score) {
        Ok(value)
    } else {
        Err(MetricError::OutOfRange {
            metric: metric.to_owned(),
            score: value.score,
        })
    }
}

/// The [`Metric`] implementation of metrics whose score is computed at once by their
/// `compute(&self, example, prediction)` method, under the name in their `name` field.
macro_rules! computed_metric {
    ($($ty:ty),*) => {$(
        impl $crate::metric::Metric for $ty {
            fn name(&self) -> &str {
                &self.name
            }
            fn score<'a>(
                &'a self,
                example: &'a hone_core::Example,
                prediction: &'a hone_core::Prediction,
                _trace: Option<&'a [hone_modules::TraceEntry]>,
            ) -> hone_lm::BoxFuture<'a, Result<$crate::metric::MetricValue, $crate::metric::MetricError>> {
                let result = self.compute(example, prediction);
                Box::pin(async move { result })
            }
        }
    )*};
}
pub(crate) use computed_metric;

/// The label value of `field`, or a [`MetricError::MissingLabel`].
pub(crate) fn label<'a>(
    metric: &str,
    example: &'a Example,
    field: &str,
) -> Result<&'a Value, MetricError> {
    example
        .get(field)
        .ok_or_else(|| missing_label(metric, field, example))
}

/// The error for a label `field` that `example` lacks, naming the fields it has.
pub(crate) fn missing_label(metric: &str, field: &str, example: &Example) -> MetricError {
    MetricError::MissingLabel {
        metric: metric.to_owned(),
        field: field.to_owned(),
        available: example
            .fields()
            .keys()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// The predicted value of `field`, or a [`MetricError::MissingOutput`].
pub(crate) fn output<'a>(
    metric: &str,
    prediction: &'a Prediction,
    field: &str,
) -> Result<&'a Value, MetricError> {
    prediction
        .get(field)
        .ok_or_else(|| MetricError::MissingOutput {
            metric: metric.to_owned(),
            field: field.to_owned(),
            available: prediction
                .fields()
                .keys()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// A value as text for string comparisons: strings as they are, anything else as JSON.
pub(crate) fn as_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
