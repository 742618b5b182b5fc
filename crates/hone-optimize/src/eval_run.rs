//! Scoring one candidate program on a dataset: a small state machine that issues the
//! evaluation jobs (the dataset in batches, all at once) and aggregates their outcomes.
//!
//! Optimizers embed it for every full evaluation they need. Failed examples score the
//! failure score (0, DSPy's `failure_score`) and count as errors; when errors reach
//! `max_errors` the evaluation fails, as DSPy's `Evaluate` cancels its run.

use hone_core::state::ProgramState;
use serde::{Deserialize, Serialize};

use crate::book::JobBook;
use crate::protocol::{
    CallSettings, Job, JobExample, JobOutput, JobResult, JobSpec, LmRole, OptimizerError, Told,
};
use crate::stats::ScoreSummary;

/// The outcome of scoring a program on a dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalScore {
    /// Per-example scores in dataset order (failed examples count as 0).
    pub scores: Vec<f64>,
    /// Mean, standard error and 95% confidence interval of `scores`.
    pub summary: ScoreSummary,
    /// Examples whose program run or metric failed.
    pub errors: usize,
    /// The first error, in dataset order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_error: Option<String>,
}

impl EvalScore {
    /// The mean score in `[0, 1]`.
    pub fn mean(&self) -> f64 {
        self.summary.mean
    }
}

/// Evaluation of one program on a dataset, driven by job results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalRun {
    book: JobBook,
    examples: usize,
    batch_sizes: Vec<usize>,
    max_errors: usize,
    result: Option<EvalScore>,
}

impl EvalRun {
    /// Creates the evaluation jobs: `examples` in batches of `batch_size` (at least 1), run by
    /// the `lm` role with `settings`.
    pub fn start(
        program: &ProgramState,
        examples: &[JobExample],
        batch_size: usize,
        lm: LmRole,
        settings: &CallSettings,
        max_errors: usize,
    ) -> Self {
        let mut book = JobBook::new();
        let mut batch_sizes = Vec::new();
        for chunk in examples.chunks(batch_size.max(1)) {
            batch_sizes.push(chunk.len());
            book.create(JobSpec::Evaluate {
                program: Box::new(program.clone()),
                examples: chunk.to_vec(),
                lm,
                capture_traces: false,
                settings: settings.clone(),
            });
        }
        let mut run = EvalRun {
            book,
            examples: examples.len(),
            batch_sizes,
            max_errors,
            result: None,
        };
        if examples.is_empty() {
            run.result = Some(aggregate(Vec::new(), 0, None));
        }
        run
    }

    /// Jobs not handed out yet.
    pub fn ask(&mut self) -> Vec<Job> {
        self.book.drain()
    }

    /// Jobs handed out without a result.
    pub fn pending(&self) -> Vec<Job> {
        self.book.pending()
    }

    /// Records a result; aggregates once every batch is in.
    pub fn tell(
        &mut self,
        optimizer: &'static str,
        result: JobResult,
    ) -> Result<Told, OptimizerError> {
        let (told, step) = crate::steps::record(optimizer, &mut self.book, result)?;
        if let Some(results) = step {
            self.finish(optimizer, results)?;
        }
        Ok(told)
    }

    fn finish(
        &mut self,
        optimizer: &'static str,
        results: Vec<JobResult>,
    ) -> Result<(), OptimizerError> {
        let mut scores = Vec::with_capacity(self.examples);
        let mut errors = 0;
        let mut first_error = None;
        let mut note = |error: String, errors: &mut usize| {
            *errors += 1;
            if first_error.is_none() {
                first_error = Some(error);
            }
        };
        for (result, batch) in results.into_iter().zip(self.batch_sizes.iter().copied()) {
            match result.output {
                JobOutput::Evaluated { outcomes } => {
                    for outcome in outcomes {
                        match (outcome.error, outcome.score) {
                            (None, Some(score)) => scores.push(score.clamp(0.0, 1.0)),
                            (Some(error), _) => {
                                note(
                                    format!(
                                        "{:?} example {}: {error}",
                                        outcome.split, outcome.index
                                    ),
                                    &mut errors,
                                );
                                scores.push(0.0);
                            }
                            (None, None) => {
                                note(
                                    format!(
                                        "{:?} example {}: the metric returned no score",
                                        outcome.split, outcome.index
                                    ),
                                    &mut errors,
                                );
                                scores.push(0.0);
                            }
                        }
                    }
                }
                JobOutput::Failed { error } => {
                    // The whole batch failed: every example in it is an error.
                    for _ in 0..batch {
                        note(format!("evaluation job failed: {error}"), &mut errors);
                    }
                    scores.extend(std::iter::repeat_n(0.0, batch));
                }
                JobOutput::Predicted { .. } => {}
            }
        }
        let result = aggregate(scores, errors, first_error);
        // DSPy's rule: the run stops when the error count reaches `max_errors`.
        if result.errors > 0 && result.errors >= self.max_errors {
            let message = format!(
                "{} of {} example(s) failed during evaluation, reaching max_errors = {}; the first \
                 error: {}. Fix the program or the data, or raise max_errors",
                result.errors,
                self.examples,
                self.max_errors,
                result.first_error.as_deref().unwrap_or("(none recorded)")
            );
            self.result = Some(result);
            return Err(OptimizerError::Failed { optimizer, message });
        }
        self.result = Some(result);
        Ok(())
    }

    /// The score, once every batch is in.
    pub fn result(&self) -> Option<&EvalScore> {
        self.result.as_ref()
    }

    /// Whether the score is known.
    pub fn is_done(&self) -> bool {
        self.result.is_some()
    }
}

fn aggregate(scores: Vec<f64>, errors: usize, first_error: Option<String>) -> EvalScore {
    EvalScore {
        summary: ScoreSummary::from_scores(&scores),
        scores,
        errors,
        first_error,
    }
}
