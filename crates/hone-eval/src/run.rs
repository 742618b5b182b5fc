//! Running a program on one example and scoring it: the step `Evaluate` and the executor share.

use std::collections::BTreeMap;

use hone_core::{Example, Prediction};
use hone_lm::Usage;
use hone_modules::{CallContext, Module, TraceEntry, TraceSink};
use serde::{Deserialize, Serialize};

use crate::metric::{Metric, check_range};

/// Token usage and LM calls of one example's run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunUsage {
    /// LM calls made (cache hits included).
    pub lm_calls: u64,
    /// Calls answered from the cache.
    pub cached_calls: u64,
    /// Input tokens reported.
    pub prompt_tokens: u64,
    /// Output tokens reported.
    pub completion_tokens: u64,
}

impl RunUsage {
    fn from_trace(trace: &[TraceEntry]) -> Self {
        let mut usage = RunUsage::default();
        for entry in trace {
            usage.lm_calls += 1;
            usage.cached_calls += u64::from(entry.cached);
            if let Some(Usage {
                prompt_tokens,
                completion_tokens,
                ..
            }) = &entry.usage
            {
                usage.prompt_tokens += prompt_tokens;
                usage.completion_tokens += completion_tokens;
            }
        }
        usage
    }

    /// Adds another run's usage.
    pub fn add(&mut self, other: &RunUsage) {
        self.lm_calls += other.lm_calls;
        self.cached_calls += other.cached_calls;
        self.prompt_tokens += other.prompt_tokens;
        self.completion_tokens += other.completion_tokens;
    }
}

/// The usage of one job's LM calls, by model: what a worker reports beside a job's result so
/// that the run that told the result can count (and price) the calls it paid for.
///
/// ```
/// use hone_eval::{JobUsage, RunUsage};
/// let mut total = JobUsage::default();
/// let mut job = JobUsage::default();
/// job.add_model("gpt-4o-mini", &RunUsage { lm_calls: 2, prompt_tokens: 90, ..Default::default() });
/// total.add(&job);
/// total.add(&job);
/// assert_eq!(total.total().lm_calls, 4);
/// assert_eq!(total.total().prompt_tokens, 180);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JobUsage(pub BTreeMap<String, RunUsage>);

impl JobUsage {
    /// No calls.
    pub fn is_empty(&self) -> bool {
        self.0.values().all(|u| u.lm_calls == 0)
    }

    /// Adds the calls of a trace. A cached call counts as a call, its tokens do not (nothing
    /// was spent on them), as the usage layer counts.
    pub fn add_trace(&mut self, trace: &[TraceEntry]) {
        for entry in trace {
            let usage = self.0.entry(entry.lm_model.clone()).or_default();
            usage.lm_calls += 1;
            if entry.cached {
                usage.cached_calls += 1;
            } else if let Some(u) = &entry.usage {
                usage.prompt_tokens += u.prompt_tokens;
                usage.completion_tokens += u.completion_tokens;
            }
        }
    }

    /// Adds `usage` for `model`.
    pub fn add_model(&mut self, model: &str, usage: &RunUsage) {
        self.0.entry(model.to_owned()).or_default().add(usage);
    }

    /// Adds another job's (or run's) usage.
    pub fn add(&mut self, other: &JobUsage) {
        for (model, usage) in &other.0 {
            self.add_model(model, usage);
        }
    }

    /// The usage over every model.
    pub fn total(&self) -> RunUsage {
        let mut total = RunUsage::default();
        for usage in self.0.values() {
            total.add(usage);
        }
        total
    }
}

/// What running and scoring one example gave.
#[derive(Debug, Clone)]
pub(crate) struct ExampleRun {
    pub prediction: Option<Prediction>,
    pub score: Option<f64>,
    pub feedback: Option<String>,
    pub objectives: std::collections::BTreeMap<String, f64>,
    pub error: Option<String>,
    pub trace: Vec<TraceEntry>,
    pub usage: RunUsage,
}

/// Runs `program` on the example's inputs with a fresh trace sink, then scores it. The metric
/// sees the trace when `trace_to_metric` (bootstrapping), as DSPy passes `trace` then.
pub(crate) async fn run_example(
    program: &dyn Module,
    example: &Example,
    ctx: &CallContext,
    metric: &dyn Metric,
    trace_to_metric: bool,
) -> ExampleRun {
    let sink = TraceSink::new();
    let ctx = ctx.clone().with_trace(sink.clone());
    let result = program.call(example.inputs(), &ctx).await;
    let trace = sink.take();
    let usage = RunUsage::from_trace(&trace);
    let mut run = ExampleRun {
        prediction: None,
        score: None,
        feedback: None,
        objectives: std::collections::BTreeMap::new(),
        error: None,
        trace,
        usage,
    };
    match result {
        Err(e) => run.error = Some(e.to_string()),
        Ok(prediction) => {
            let trace_arg = trace_to_metric.then_some(run.trace.as_slice());
            match metric
                .score(example, &prediction, trace_arg)
                .await
                .and_then(|v| check_range(metric.name(), v))
            {
                Ok(value) => {
                    run.score = Some(value.score);
                    run.feedback = value.feedback;
                    run.objectives = value.objectives;
                }
                Err(e) => run.error = Some(e.to_string()),
            }
            run.prediction = Some(prediction);
        }
    }
    run
}
