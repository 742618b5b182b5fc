//! Errors of evaluation and of the driver.

use std::path::PathBuf;

use hone_optimize::OptimizerError;

/// A failed evaluation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EvalError {
    /// The dataset has no examples.
    #[error("the devset is empty; pass at least one example to evaluate on")]
    EmptyDevset,
    /// Too many examples failed; the evaluation stopped (DSPy's `max_errors`).
    #[error(
        "evaluation stopped: {errors} example(s) failed, reaching max_errors = {max_errors} \
         ({completed} of {total} done). The first failure, example #{first_index}: \
         {first_error}. Fix the program, the data or the metric, or raise max_errors"
    )]
    TooManyErrors {
        /// Failed examples.
        errors: usize,
        /// The limit.
        max_errors: usize,
        /// Examples finished when it stopped.
        completed: usize,
        /// Examples in the dataset.
        total: usize,
        /// Index of the first failed example (lowest index among those failed).
        first_index: usize,
        /// Its error.
        first_error: String,
    },
}

/// A failed optimizer run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DriverError {
    /// The optimizer failed (too many errors, a bad configuration...).
    #[error(transparent)]
    Optimizer(#[from] OptimizerError),
    /// The optimizer is not done but hands out no job and waits for none: a bug in it.
    #[error(
        "{optimizer} is not done but has no job to run and none running; the run cannot \
         continue (its state was checkpointed, if a checkpoint path is set)"
    )]
    Stalled {
        /// The optimizer.
        optimizer: String,
    },
    /// `max_errors` examples or jobs in a row failed: the setup is broken (an LM that is down,
    /// a metric that crashes, a missing label), not one candidate bad. See
    /// [`FailureWatch`](crate::FailureWatch).
    #[error(
        "{optimizer} stopped: {streak} in a row of {failures} failure(s) reached max_errors = \
         {max_errors}; the first: {first_error}; the last: {last_error}. Fix the cause (the LM, \
         the metric, the data) and continue with the checkpoint, or raise max_errors"
    )]
    TooManyErrors {
        /// The optimizer.
        optimizer: String,
        /// Failures in a row when it stopped.
        streak: usize,
        /// Failures over the run.
        failures: u64,
        /// The limit.
        max_errors: usize,
        /// The run's first failure.
        first_error: String,
        /// The failure that reached the limit.
        last_error: String,
    },
    /// A checkpoint could not be written.
    #[error("could not write the checkpoint {}: {source}", path.display())]
    CheckpointWrite {
        /// The file.
        path: PathBuf,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },
    /// A checkpoint could not be read.
    #[error("could not read the checkpoint {}: {message}", path.display())]
    CheckpointRead {
        /// The file.
        path: PathBuf,
        /// What failed.
        message: String,
    },
    /// A job's task panicked or was lost.
    #[error("a job of {optimizer} could not run: {message}")]
    Job {
        /// The optimizer.
        optimizer: String,
        /// What happened.
        message: String,
    },
}
