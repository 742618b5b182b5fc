//! [`FailureWatch`]: counts the failures in a run's job results and says when the run must
//! stop. The driver core ([`DriverCore`](crate::DriverCore)) keeps one per run, for the
//! in-process driver and the Redis coordinator alike.
//!
//! A candidate that scores badly is the optimizer's business; a setup that cannot work (an LM
//! that is down, a metric command that crashes, a label column that is missing) is not, and
//! must not be turned into a run of zero scores. The sign of the latter is a streak: when
//! `max_errors` examples or jobs in a row failed, with no example scored in between, the
//! run stops with [`DriverError::TooManyErrors`]. An optimizer's own `max_errors` (DSPy's
//! per-evaluation rule, in the few-shot family and MIPROv2) applies as before.

use hone_optimize::{JobOutput, JobResult};

use crate::error::DriverError;

/// Counts failed examples and jobs over a run.
#[derive(Debug, Clone, Default)]
pub struct FailureWatch {
    max_errors: Option<usize>,
    streak: usize,
    /// Failed examples and jobs so far.
    pub failures: u64,
    /// Scored examples and finished predict jobs so far.
    pub successes: u64,
    first_error: Option<String>,
}

impl FailureWatch {
    /// A watch that stops after `max_errors` failures in a row (never with `None`).
    pub fn new(max_errors: Option<usize>) -> Self {
        FailureWatch {
            max_errors,
            ..FailureWatch::default()
        }
    }

    /// The first failure seen.
    pub fn first_error(&self) -> Option<&str> {
        self.first_error.as_deref()
    }

    fn failed(&mut self, error: &str) {
        self.failures += 1;
        self.streak += 1;
        if self.first_error.is_none() {
            self.first_error = Some(error.to_owned());
        }
    }

    /// The outcome of each example of `result` (each its error, `None` when it scored), or
    /// of the job as a whole: what [`observe_errors`](Self::observe_errors) counts, taken
    /// before the result is handed to the optimizer.
    pub fn errors_of(result: &JobResult) -> Vec<Option<String>> {
        match &result.output {
            JobOutput::Evaluated { outcomes } => outcomes.iter().map(|o| o.error.clone()).collect(),
            JobOutput::Predicted { .. } => vec![None],
            JobOutput::Failed { error } => vec![Some(error.clone())],
        }
    }

    /// Counts `result`'s failures; an error when the streak reached `max_errors`.
    pub fn observe(&mut self, optimizer: &str, result: &JobResult) -> Result<(), DriverError> {
        self.observe_errors(optimizer, Self::errors_of(result))
    }

    /// Counts outcomes as [`errors_of`](Self::errors_of) lists them; an error when the streak
    /// reached `max_errors`.
    pub fn observe_errors(
        &mut self,
        optimizer: &str,
        errors: Vec<Option<String>>,
    ) -> Result<(), DriverError> {
        let mut last = None;
        for error in errors {
            match error {
                Some(e) => {
                    self.failed(&e);
                    last = Some(e);
                }
                None => {
                    self.successes += 1;
                    self.streak = 0;
                }
            }
        }
        match (self.max_errors, last) {
            (Some(max), Some(last)) if max > 0 && self.streak >= max => {
                Err(DriverError::TooManyErrors {
                    optimizer: optimizer.to_owned(),
                    streak: self.streak,
                    failures: self.failures,
                    max_errors: max,
                    first_error: self.first_error.clone().unwrap_or_default(),
                    last_error: last,
                })
            }
            _ => Ok(()),
        }
    }
}

/// A job result scoring one example per entry of `errors` (failed where it holds an error),
/// for the tests of the run's rules.
#[cfg(test)]
pub(crate) fn scored_result(id: u64, errors: &[Option<&str>], lm_calls: u64) -> JobResult {
    use hone_optimize::{ExampleOutcome, JobId, Split};
    JobResult {
        id: JobId(id),
        output: JobOutput::Evaluated {
            outcomes: errors
                .iter()
                .enumerate()
                .map(|(index, e)| ExampleOutcome {
                    split: Split::Train,
                    index,
                    prediction: None,
                    score: e.is_none().then_some(1.0),
                    feedback: None,
                    objectives: None,
                    error: e.map(str::to_owned),
                    trace: Vec::new(),
                })
                .collect(),
        },
        lm_calls,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use hone_optimize::JobId;

    fn evaluated(errors: &[Option<&str>]) -> JobResult {
        scored_result(0, errors, 0)
    }

    #[test]
    fn a_streak_of_failures_stops_the_run_and_names_the_first_and_last() {
        let mut watch = FailureWatch::new(Some(4));
        watch
            .observe("gepa", &evaluated(&[Some("a"), None]))
            .unwrap();
        watch
            .observe("gepa", &evaluated(&[Some("b"), Some("c"), Some("d")]))
            .unwrap();
        let err = watch
            .observe(
                "gepa",
                &JobResult {
                    id: JobId(1),
                    output: JobOutput::Failed { error: "e".into() },
                    lm_calls: 0,
                },
            )
            .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("4 in a row"), "{text}");
        assert!(text.contains("5 failure(s)"), "{text}");
        assert!(text.contains("first: a"), "{text}");
        assert!(text.contains("last: e"), "{text}");
    }

    #[test]
    fn scattered_failures_never_stop_it() {
        let mut watch = FailureWatch::new(Some(2));
        for _ in 0..50 {
            watch
                .observe("copro", &evaluated(&[Some("x"), None, Some("y"), None]))
                .unwrap();
        }
        assert_eq!(watch.failures, 100);
        assert_eq!(watch.successes, 100);
        let mut unlimited = FailureWatch::new(None);
        unlimited
            .observe("copro", &evaluated(&[Some("x"); 100]))
            .unwrap();
    }
}
