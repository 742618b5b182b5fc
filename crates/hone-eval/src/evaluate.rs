//! [`Evaluate`]: a program over a dataset with bounded concurrency and a metric — DSPy's
//! `dspy.Evaluate`.
//!
//! At most `concurrency` examples run at once (one future per running example; nothing is
//! spawned). Each failed example (program or metric error) scores `failure_score` and counts
//! as an error; once errors reach `max_errors` the evaluation stops with
//! [`EvalError::TooManyErrors`], as DSPy's does. Results keep the dataset's order.

use std::sync::Arc;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use hone_core::{Example, Prediction};
use hone_modules::{CallContext, Module};
use hone_optimize::stats::{ScoreSummary, round_percent};
use serde::{Deserialize, Serialize};

use crate::error::EvalError;
use crate::metric::Metric;
use crate::run::{RunUsage, run_example};

/// DSPy's default `num_threads`.
pub const DEFAULT_CONCURRENCY: usize = 8;

/// Receives progress as examples finish. The library never draws on a terminal; a CLI
/// implements this with a progress bar (on a TTY only).
pub trait Progress: Send + Sync {
    /// The evaluation starts with `total` examples.
    fn start(&self, _total: usize) {}
    /// One more example finished: `done` of `total`, the running score sum and error count.
    fn advance(&self, _done: usize, _total: usize, _score_sum: f64, _errors: usize) {}
    /// The evaluation ended (also when stopped early).
    fn finish(&self) {}
}

/// The result for one example.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExampleResult {
    /// The example's index in the dataset.
    pub index: usize,
    /// The inputs the program received.
    pub inputs: Example,
    /// The labels (the example's other fields).
    pub labels: Example,
    /// The program's outputs, when it produced any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prediction: Option<Prediction>,
    /// The score (the failure score when the example failed).
    pub score: f64,
    /// The metric's feedback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feedback: Option<String>,
    /// The metric's named objective scores, when it gives any.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub objectives: std::collections::BTreeMap<String, f64>,
    /// What failed, if anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// LM calls and tokens.
    pub usage: RunUsage,
}

/// What an evaluation found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvaluationResult {
    /// The metric's name.
    pub metric: String,
    /// Per-example results, in dataset order.
    pub results: Vec<ExampleResult>,
    /// Mean, standard error and 95% confidence interval (see [`hone_optimize::stats`]).
    pub summary: ScoreSummary,
    /// Failed examples.
    pub errors: usize,
    /// Usage summed over all examples.
    pub usage: RunUsage,
}

impl EvaluationResult {
    /// DSPy's score: the mean as a percentage rounded to two decimals.
    pub fn score(&self) -> f64 {
        round_percent(self.summary.mean)
    }
}

/// Runs a program over a dataset and scores it.
///
/// ```no_run
/// # async fn demo(program: hone_modules::Predict, lm: hone_lm::LmHandle, devset: Vec<hone_core::Example>) -> Result<(), hone_eval::EvalError> {
/// use hone_eval::{Evaluate, metric::ExactMatch};
/// use hone_modules::CallContext;
/// let result = Evaluate::new(devset, ExactMatch::new("answer"))
///     .concurrency(16)
///     .max_errors(5)
///     .run(&program, &CallContext::with_default_lm(lm))
///     .await?;
/// println!("{:.1}% (95% CI {:.2}–{:.2})", result.score(), result.summary.ci_low, result.summary.ci_high);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Evaluate {
    devset: Arc<Vec<Example>>,
    metric: Arc<dyn Metric>,
    concurrency: usize,
    max_errors: Option<usize>,
    failure_score: f64,
    progress: Option<Arc<dyn Progress>>,
}

impl std::fmt::Debug for Evaluate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Evaluate")
            .field("examples", &self.devset.len())
            .field("metric", &self.metric.name())
            .field("concurrency", &self.concurrency)
            .field("max_errors", &self.max_errors)
            .field("failure_score", &self.failure_score)
            .finish()
    }
}

impl Evaluate {
    /// Evaluates on `devset` with `metric`; DSPy's defaults: concurrency 8, `max_errors` 10,
    /// failure score 0.
    pub fn new(devset: Vec<Example>, metric: impl Metric + 'static) -> Self {
        Evaluate::with_metric(devset, Arc::new(metric))
    }

    /// Like [`Evaluate::new`] with a shared metric.
    pub fn with_metric(devset: Vec<Example>, metric: Arc<dyn Metric>) -> Self {
        Evaluate {
            devset: Arc::new(devset),
            metric,
            concurrency: DEFAULT_CONCURRENCY,
            max_errors: None,
            failure_score: 0.0,
            progress: None,
        }
    }

    /// Examples run at once (at least 1).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// Stop once this many examples failed (DSPy's `max_errors`; default 10).
    pub fn max_errors(mut self, n: usize) -> Self {
        self.max_errors = Some(n);
        self
    }

    /// The score of a failed example (DSPy's `failure_score`, default 0).
    pub fn failure_score(mut self, score: f64) -> Self {
        self.failure_score = score;
        self
    }

    /// Reports progress to `progress`.
    pub fn progress(mut self, progress: Arc<dyn Progress>) -> Self {
        self.progress = Some(progress);
        self
    }

    /// Runs `program` on every example with `ctx` (its LM, adapter, callbacks).
    pub async fn run(
        &self,
        program: &dyn Module,
        ctx: &CallContext,
    ) -> Result<EvaluationResult, EvalError> {
        let total = self.devset.len();
        if total == 0 {
            return Err(EvalError::EmptyDevset);
        }
        let max_errors = self.max_errors.unwrap_or(hone_optimize::DEFAULT_MAX_ERRORS);
        if let Some(p) = &self.progress {
            p.start(total);
        }
        let metric: &dyn Metric = self.metric.as_ref();
        let mut next = 0usize;
        let mut running = FuturesUnordered::new();
        let mut slots: Vec<Option<ExampleResult>> = vec![None; total];
        let (mut done, mut errors, mut score_sum) = (0usize, 0usize, 0f64);
        let mut first_error: Option<(usize, String)> = None;
        loop {
            while running.len() < self.concurrency && next < total {
                let index = next;
                next += 1;
                let example = &self.devset[index];
                running.push(async move {
                    (
                        index,
                        run_example(program, example, ctx, metric, false).await,
                    )
                });
            }
            let Some((index, run)) = running.next().await else {
                break;
            };
            let example = &self.devset[index];
            let score = match (&run.error, run.score) {
                (None, Some(s)) => s,
                _ => self.failure_score,
            };
            if let Some(e) = &run.error {
                errors += 1;
                if first_error.as_ref().is_none_or(|(i, _)| index < *i) {
                    first_error = Some((index, e.clone()));
                }
            }
            done += 1;
            score_sum += score;
            slots[index] = Some(ExampleResult {
                index,
                inputs: example.inputs(),
                labels: example.labels(),
                prediction: run.prediction,
                score,
                feedback: run.feedback,
                objectives: run.objectives,
                error: run.error,
                usage: run.usage,
            });
            if let Some(p) = &self.progress {
                p.advance(done, total, score_sum, errors);
            }
            if errors > 0 && errors >= max_errors {
                if let Some(p) = &self.progress {
                    p.finish();
                }
                let (index, error) = first_error.unwrap_or((0, String::new()));
                return Err(EvalError::TooManyErrors {
                    errors,
                    max_errors,
                    completed: done,
                    total,
                    first_index: index,
                    first_error: error,
                });
            }
        }
        if let Some(p) = &self.progress {
            p.finish();
        }
        let results: Vec<ExampleResult> = slots.into_iter().flatten().collect();
        let scores: Vec<f64> = results.iter().map(|r| r.score).collect();
        let mut usage = RunUsage::default();
        for r in &results {
            usage.add(&r.usage);
        }
        Ok(EvaluationResult {
            metric: self.metric.name().to_owned(),
            summary: ScoreSummary::from_scores(&scores),
            results,
            errors,
            usage,
        })
    }
}
