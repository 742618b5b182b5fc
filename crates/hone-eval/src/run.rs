//! Running a program on one example and scoring it: the step `Evaluate` and the executor share.

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

/// What running and scoring one example gave.
#[derive(Debug, Clone)]
pub(crate) struct ExampleRun {
    pub prediction: Option<Prediction>,
    pub score: Option<f64>,
    pub feedback: Option<String>,
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
                }
                Err(e) => run.error = Some(e.to_string()),
            }
            run.prediction = Some(prediction);
        }
    }
    run
}
