//! Sans-IO prompt optimizers for hone.
//!
//! Optimizers are state machines: [`Optimizer::ask`] hands out [`Job`]s (run this candidate
//! program on these examples; call this proposer), [`Optimizer::tell`] takes their results, and
//! [`Optimizer::state`] serializes everything so a run can checkpoint and resume. The caller's
//! executor runs the jobs — in-process with bounded concurrency, or on workers elsewhere.
//!
//! The few-shot family follows DSPy 3.x: [`LabeledFewShot`], [`BootstrapFewShot`],
//! [`BootstrapFewShotWithRandomSearch`] and [`BootstrapFewShotWithOptuna`], with DSPy's
//! parameters, defaults and (thanks to [`PyRandom`], Python's own generator) DSPy's demo
//! choices. The instruction optimizers are [`MiproV2`], [`Copro`], [`Gepa`], [`Simba`] and
//! [`InferRules`]. [`knn`] holds the vector search behind
//! `KNNFewShot`; [`stats`] the evaluation math.
//!
//! The [`Catalogue`] registers every optimizer once — name, aliases, description, documented
//! parameters, typed config with unknown keys rejected, start and restore functions — and is
//! what the CLI, the checkpoint [`Registry`] and other front ends read.
//!
//! Architecture invariant: this crate does no IO. It knows nothing about LMs, HTTP, async
//! runtimes, files or the clock; randomness comes from seeds stored in the state.

pub mod book;
pub mod bootstrap;
pub mod catalogue;
pub mod copro;
pub mod ensemble;
pub mod eval_run;
pub mod gepa;
pub mod infer_rules;
pub mod knn;
pub mod labeled;
pub mod log;
pub mod mipro;
pub mod optuna;
pub mod program;
pub mod protocol;
pub mod pyrandom;
pub mod random_search;
pub mod restore;
pub mod rng;
#[cfg(test)]
mod scripted;
pub mod simba;
pub mod stats;
mod steps;

pub use book::JobBook;
pub use bootstrap::{BootstrapConfig, BootstrapFewShot, DEFAULT_MAX_ERRORS, Teacher};
pub use catalogue::{CallTimeModule, Catalogue, ConfigError, Form, Inputs, OptimizerKind, Param};
pub use copro::{Copro, CoproConfig};
pub use ensemble::EnsembleConfig;
pub use eval_run::{EvalRun, EvalScore};
pub use gepa::{
    AutoLevel, BestOutput, CandidateSelection, ComponentSelection, FrontierType, Gepa, GepaBudget,
    GepaConfig, GepaStopReason,
};
pub use infer_rules::{InferRules, InferRulesConfig};
pub use knn::KnnFewShotConfig;
pub use labeled::{LabeledFewShot, LabeledFewShotConfig, labeled_few_shot};
pub use log::{LogEvent, RunLog};
pub use mipro::{MiproConfig, MiproV2};
pub use optuna::{BootstrapFewShotWithOptuna, OptunaConfig, OptunaTrial};
pub use protocol::{
    CallSettings, ExampleOutcome, Job, JobExample, JobId, JobOutput, JobResult, JobSpec, LmRole,
    Optimizer, OptimizerError, RunSignals, Split, Told, TraceStep,
};
pub use pyrandom::PyRandom;
pub use random_search::{BootstrapFewShotWithRandomSearch, CandidateProgram, RandomSearchConfig};
pub use restore::{Registry, Restore, RestoreFn};
pub use rng::OptRng;
pub use simba::{Simba, SimbaConfig};
pub use stats::ScoreSummary;
