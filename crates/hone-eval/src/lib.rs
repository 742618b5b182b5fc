//! Evaluation, metrics and the in-process optimizer driver for hone.
//!
//! * [`metric`] — the [`Metric`](metric::Metric) trait (score in `[0, 1]` plus optional
//!   feedback), DSPy's exact match and F1, contains, numeric tolerance, JSON-field match, an
//!   LM judge built from a signature, and closures.
//! * [`Evaluate`] — a program over a dataset with bounded concurrency, `max_errors`,
//!   per-example results, the mean with a 95% confidence interval, progress callbacks, JSONL and
//!   a text table.
//! * [`InProcessExecutor`] — runs the jobs of hone's sans-IO optimizers
//!   ([`hone_optimize`]) in this process.
//! * [`run_optimizer`] / [`resume`] — the driver: bounded concurrency across jobs, a checkpoint
//!   after each result, cancellation, resume from a checkpoint file.
//! * [`KnnFewShot`] and [`Ensemble`] — DSPy's module-level few-shot tools.
//!
//! ```no_run
//! # async fn demo(lm: hone_lm::LmHandle, trainset: Vec<hone_core::Example>) -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use hone_eval::{DriverConfig, InProcessExecutor, metric::ExactMatch, run_optimizer};
//! use hone_modules::{Module, Predict};
//! use hone_optimize::{BootstrapFewShotWithRandomSearch, RandomSearchConfig};
//!
//! let program = Predict::new("question -> answer: int")?;
//! let executor = InProcessExecutor::from_template(program.clone(), lm, Arc::new(ExactMatch::new("answer")));
//! let mut opt = BootstrapFewShotWithRandomSearch::new(&program.state(), &trainset, None, RandomSearchConfig::default())?;
//! let report = run_optimizer(&mut opt, &executor, &DriverConfig::with_concurrency(32).checkpoint("run.ckpt.json")).await?;
//! if let Some(best) = report.best {
//!     std::fs::write("program.json", best.to_json_string_pretty())?;
//! }
//! # Ok(()) }
//! ```
//!
//! Architecture invariant: the library never draws on a terminal or reads the environment;
//! progress goes to caller-supplied callbacks, files only to paths the caller gives.

pub mod checkpoint;
pub mod driver;
pub mod ensemble;
pub mod error;
pub mod evaluate;
pub mod executor;
pub mod failures;
pub mod knn;
pub mod metric;
pub mod report;
mod run;
pub mod slots;

pub use checkpoint::Checkpoint;
pub use driver::{
    Applied, DriverConfig, DriverCore, DriverProgress, Next, RunLimits, RunReport, StopReason,
    TellEvent, resume, run_optimizer, run_signals,
};
pub use ensemble::{Ensemble, ensemble_subset, majority, majority_index};
pub use error::{DriverError, EvalError};
pub use evaluate::{Evaluate, EvaluationResult, ExampleResult, Progress};
pub use executor::{Executor, InProcessExecutor, ProgramFactory, template_factory};
pub use failures::FailureWatch;
pub use knn::KnnFewShot;
pub use run::{JobUsage, RunUsage};
pub use slots::{CallSlots, JobSlots, SlotPermit, job_priority};
pub use tokio_util::sync::CancellationToken;
