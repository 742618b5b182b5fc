//! The optimizer protocol: `ask` hands out jobs, `tell` takes their results.
//!
//! An optimizer decides *what* to try; the caller's executor decides *how* to run it. Jobs and
//! results are plain, serializable data, so the executor can be an in-process loop with bounded
//! concurrency, a pool of workers on other machines, or a task queue in another language.
//!
//! The contract every [`Optimizer`] keeps:
//!
//! * **Idempotent results.** A result for a job that already has one is ignored
//!   ([`Told::Duplicate`]); a result for a job the optimizer never issued is ignored too
//!   ([`Told::Unknown`]).
//! * **Any arrival order.** Results may arrive late and out of order; an optimizer only acts
//!   once every job of a step is in and then reads them in job-id order, so the outcome does not
//!   depend on the executor's concurrency.
//! * **Lost results are re-asked.** [`Optimizer::pending`] lists the jobs still waiting for a
//!   result (after a restart, for example); the executor may run them again.
//! * **Serializable state.** [`Optimizer::state`] captures everything, including the random
//!   generator, so a run restored from a checkpoint continues exactly as the original would.

use hone_core::state::ProgramState;
use hone_core::{Example, Prediction, Sampling, Signature};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::log::RunLog;

/// Identifies a job within one optimization run. Ids increase in the order jobs are created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JobId(pub u64);

impl std::fmt::Display for JobId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "job-{}", self.0)
    }
}

/// Which of the run's LMs a job uses. The executor maps roles to LM values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum LmRole {
    /// The LM the optimized program runs on.
    #[default]
    Task,
    /// A stronger LM used to bootstrap demos (DSPy's `teacher`).
    Teacher,
    /// The LM that proposes or rewrites instructions (MIPROv2's `prompt_model`, GEPA's
    /// `reflection_lm`).
    Proposer,
}

/// Which dataset an example comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Split {
    /// The training set (demos are bootstrapped from it).
    Train,
    /// The validation set (candidates are scored on it).
    Val,
}

/// One example a job runs on, carried whole so any worker can run the job.
///
/// Serialized, it also carries the example's input marks (`"inputs": ["question"]`), which an
/// [`Example`] alone does not serialize, so a worker knows which fields to pass to the program
/// and which are labels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "JobExampleRepr", into = "JobExampleRepr")]
pub struct JobExample {
    /// The split the example comes from.
    pub split: Split,
    /// Its index in that split.
    pub index: usize,
    /// The example itself (inputs and labels), with its input marks.
    pub example: Example,
}

impl JobExample {
    /// An example of `split` at `index`.
    pub fn new(split: Split, index: usize, example: Example) -> Self {
        JobExample {
            split,
            index,
            example,
        }
    }

    /// Wraps a whole dataset, indexing its examples in order.
    pub fn dataset(split: Split, examples: impl IntoIterator<Item = Example>) -> Vec<JobExample> {
        examples
            .into_iter()
            .enumerate()
            .map(|(index, example)| JobExample::new(split, index, example))
            .collect()
    }
}

#[derive(Serialize, Deserialize)]
struct JobExampleRepr {
    split: Split,
    index: usize,
    example: Example,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    inputs: Option<Vec<String>>,
}

impl From<JobExampleRepr> for JobExample {
    fn from(r: JobExampleRepr) -> Self {
        let example = match r.inputs {
            Some(keys) => r.example.with_inputs(keys),
            None => r.example,
        };
        JobExample::new(r.split, r.index, example)
    }
}

impl From<JobExample> for JobExampleRepr {
    fn from(e: JobExample) -> Self {
        JobExampleRepr {
            split: e.split,
            index: e.index,
            inputs: e.example.input_keys().map(<[String]>::to_vec),
            example: e.example,
        }
    }
}

/// What a job asks the executor to apply to every LM call it makes: sampling settings
/// (hone-core's [`Sampling`], flattened: `{"temperature": 1.0, "rollout_id": 2}`) and the
/// cache policy.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CallSettings {
    /// Sampling overrides; a rollout id makes otherwise identical requests distinct (and
    /// distinctly cached), as DSPy's `rollout_id` does.
    #[serde(flatten)]
    pub sampling: Sampling,
    /// Skip the response cache.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_cache: bool,
}

impl From<Sampling> for CallSettings {
    fn from(sampling: Sampling) -> Self {
        CallSettings {
            sampling,
            no_cache: false,
        }
    }
}

/// What a job asks the executor to do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
// Jobs are plain data built once and moved a few times; boxing the signature would only make
// them harder to construct and match on.
#[allow(clippy::large_enum_variant)]
pub enum JobSpec {
    /// Run a candidate program on examples and score each output with the run's metric.
    Evaluate {
        /// The candidate: the program's predictors with their instructions and demos.
        #[serde(with = "program_state_serde")]
        program: Box<ProgramState>,
        /// The examples to run, in order.
        examples: Vec<JobExample>,
        /// Which LM runs the program.
        #[serde(default)]
        lm: LmRole,
        /// Record each predictor's inputs and outputs (needed for bootstrapping demos).
        #[serde(default)]
        capture_traces: bool,
        /// Sampling settings.
        #[serde(default)]
        settings: CallSettings,
    },
    /// Call one predictor once, outside any program (instruction proposals, reflections).
    Predict {
        /// What the call is for, for logs (`propose_instruction`, `reflect`).
        purpose: String,
        /// The signature to call.
        signature: Signature,
        /// Demos to include.
        #[serde(default)]
        demos: Vec<Example>,
        /// The inputs.
        inputs: Example,
        /// Which LM answers.
        #[serde(default = "proposer")]
        lm: LmRole,
        /// How many completions to ask for.
        #[serde(default = "one")]
        n: u32,
        /// Sampling settings.
        #[serde(default)]
        settings: CallSettings,
    },
}

fn proposer() -> LmRole {
    LmRole::Proposer
}

fn one() -> u32 {
    1
}

/// A unit of work handed out by [`Optimizer::ask`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    /// Unique within the run.
    pub id: JobId,
    /// What to do.
    pub spec: JobSpec,
    /// Off the optimizer's critical path (GEPA's valset scoring of accepted candidates):
    /// executors with a concurrency limit start it after waiting jobs that are not.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deferred: bool,
}

impl Job {
    /// The number of LM calls the job makes at least (one per example, or one per predict
    /// call); programs with several predictors make more.
    pub fn min_lm_calls(&self) -> usize {
        match &self.spec {
            JobSpec::Evaluate { examples, .. } => examples.len(),
            JobSpec::Predict { .. } => 1,
        }
    }
}

/// One predictor call recorded while running a program (what bootstrapping turns into demos).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceStep {
    /// The predictor's name in the program (`answer.predict`).
    pub predictor: String,
    /// The inputs it was called with.
    pub inputs: Example,
    /// The outputs it produced.
    pub outputs: Prediction,
}

/// The outcome of running a program on one example.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExampleOutcome {
    /// The example's split and index, as in the job.
    pub split: Split,
    /// The example's index in its split.
    pub index: usize,
    /// The program's outputs, if it produced any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prediction: Option<Prediction>,
    /// The metric's score in `[0, 1]`; `None` when the program or the metric failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    /// The metric's textual feedback (GEPA reflects on it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feedback: Option<String>,
    /// The metric's named scores of several objectives, when it gives any (GEPA's
    /// `frontier_type` keeps Pareto fronts over them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub objectives: Option<std::collections::BTreeMap<String, f64>>,
    /// What failed, if anything (the program or the metric).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The predictor calls made, when the job asked for traces.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trace: Vec<TraceStep>,
}

/// What a job produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum JobOutput {
    /// The result of [`JobSpec::Evaluate`]: one outcome per example, in the job's order.
    Evaluated {
        /// The outcomes.
        outcomes: Vec<ExampleOutcome>,
    },
    /// The result of [`JobSpec::Predict`]: one prediction per completion.
    Predicted {
        /// The predictions.
        predictions: Vec<Prediction>,
    },
    /// The job failed as a whole (the LM was unreachable, the program could not be built).
    Failed {
        /// What failed.
        error: String,
    },
}

/// A job's result, handed back with [`Optimizer::tell`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobResult {
    /// The job it answers.
    pub id: JobId,
    /// What the job produced.
    pub output: JobOutput,
    /// LM calls the job made (cache hits included), for budgets and reports.
    #[serde(default)]
    pub lm_calls: u64,
}

impl JobResult {
    /// Checks that the result fits `job`: an `Evaluated` result for an evaluate job with one
    /// outcome per example, in the job's order; a `Predicted` result for a predict job. A
    /// `Failed` result fits any job. Returns what does not fit.
    pub fn check_against(&self, job: &Job) -> Result<(), String> {
        match (&job.spec, &self.output) {
            (_, JobOutput::Failed { .. }) => Ok(()),
            (JobSpec::Evaluate { examples, .. }, JobOutput::Evaluated { outcomes }) => {
                if outcomes.len() != examples.len() {
                    return Err(format!(
                        "the job has {} example(s) but the result has {} outcome(s)",
                        examples.len(),
                        outcomes.len()
                    ));
                }
                for (i, (ex, out)) in examples.iter().zip(outcomes).enumerate() {
                    if ex.split != out.split || ex.index != out.index {
                        return Err(format!(
                            "outcome #{i} is for {:?} example {} but the job's example #{i} is {:?} example {}",
                            out.split, out.index, ex.split, ex.index
                        ));
                    }
                }
                Ok(())
            }
            (JobSpec::Predict { .. }, JobOutput::Predicted { .. }) => Ok(()),
            (JobSpec::Evaluate { .. }, _) => {
                Err("an evaluate job needs an `evaluated` (or `failed`) result".into())
            }
            (JobSpec::Predict { .. }, _) => {
                Err("a predict job needs a `predicted` (or `failed`) result".into())
            }
        }
    }
}

/// What [`Optimizer::tell`] did with a result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Told {
    /// The result was recorded.
    Accepted,
    /// The job already had a result; this one was ignored.
    Duplicate,
    /// The optimizer never issued this job; the result was ignored.
    Unknown,
    /// The job was issued, but the optimizer no longer needs its result (the run ended early,
    /// or the candidate it belonged to was dropped); the result was ignored.
    Stale,
}

/// A failure inside an optimizer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OptimizerError {
    /// The configuration cannot work (empty trainset, zero candidates, ...).
    #[error("invalid {optimizer} configuration: {message}")]
    Config {
        /// The optimizer.
        optimizer: &'static str,
        /// What is wrong and what to do.
        message: String,
    },
    /// A checkpoint could not be restored.
    #[error("cannot restore {optimizer} from its checkpoint: {message}")]
    Restore {
        /// The optimizer.
        optimizer: &'static str,
        /// What is wrong.
        message: String,
    },
    /// A job result does not fit the job (wrong kind, wrong number of outcomes).
    #[error("{optimizer}: result for {job} does not match the job: {message}")]
    BadResult {
        /// The optimizer.
        optimizer: &'static str,
        /// The job.
        job: JobId,
        /// What does not match.
        message: String,
    },
    /// A checkpoint names an optimizer the registry does not know.
    #[error(
        "unknown optimizer `{name}`; known optimizers: {}. Register it in the driver's registry",
        .known.join(", ")
    )]
    UnknownOptimizer {
        /// The name found.
        name: String,
        /// The names the registry knows.
        known: Vec<String>,
    },
    /// The run cannot continue (every candidate failed, too many errors).
    #[error("{optimizer} stopped: {message}")]
    Failed {
        /// The optimizer.
        optimizer: &'static str,
        /// Why.
        message: String,
    },
}

impl OptimizerError {
    /// A configuration of `optimizer` that cannot work, saying what is wrong and what to do.
    pub fn config(optimizer: &'static str, message: impl Into<String>) -> Self {
        OptimizerError::Config {
            optimizer,
            message: message.into(),
        }
    }
}

/// What a driver observed outside the jobs, handed to [`Optimizer::observe`]: optimizers do no
/// IO and have no clock, so stop conditions on wall time or on an outside request read these.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct RunSignals {
    /// Wall-clock seconds the run has taken so far by the driver's clock, earlier sessions of
    /// a resumed run included.
    #[serde(default)]
    pub elapsed_secs: f64,
    /// Whether a stop was requested from outside (the driver found the optimizer's
    /// [`stop_file`](Optimizer::stop_file)).
    #[serde(default)]
    pub stop_requested: bool,
}

/// A sans-IO optimizer: a state machine fed job results and asked for jobs.
///
/// A driver loop looks like this (the driver owns all IO and concurrency):
///
/// ```text
/// while !opt.is_done() {
///     for job in opt.ask() { executor.submit(job) }
///     let result = executor.next_result().await;   // any order, any worker
///     opt.tell(result)?;
///     checkpoint(opt.state()?);
/// }
/// let best = opt.best();
/// ```
///
/// To resume from a checkpoint, optimizers also implement
/// [`Restore`](crate::restore::Restore), and a driver rebuilds one by name through a
/// [`Registry`](crate::restore::Registry).
pub trait Optimizer: Send {
    /// The optimizer's name, e.g. `bootstrap_few_shot`.
    fn name(&self) -> &'static str;

    /// Jobs that can run now. Each job is returned once; an empty list while not done means
    /// "waiting for results".
    fn ask(&mut self) -> Vec<Job>;

    /// Records a job's result. Idempotent; see the [module documentation](self).
    ///
    /// A result that does not fit its job ([`OptimizerError::BadResult`]) is not recorded: the
    /// job stays [`pending`](Self::pending). Any other error ends the run
    /// ([`is_done`](Self::is_done) turns true).
    fn tell(&mut self, result: JobResult) -> Result<Told, OptimizerError>;

    /// Jobs handed out by [`ask`](Self::ask) that have no result yet.
    fn pending(&self) -> Vec<Job>;

    /// Whether the run is over.
    fn is_done(&self) -> bool;

    /// The best program found so far (the final answer once [`is_done`](Self::is_done)).
    fn best(&self) -> Option<ProgramState>;

    /// Everything needed to continue the run later, as JSON.
    fn state(&self) -> Result<Value, OptimizerError>;

    /// The record of trials and proposals, for reports and diffs.
    fn log(&self) -> &RunLog;

    /// Hands the optimizer what the driver observed (the run's wall time, a stop request).
    /// Drivers call it before each [`tell`](Self::tell); the optimizer reads the latest signals
    /// where its stop conditions are checked. Optimizers without such conditions ignore them
    /// (the default).
    fn observe(&mut self, signals: RunSignals) {
        let _ = signals;
    }

    /// A file whose existence requests a stop: the driver checks for it and reports it as
    /// [`RunSignals::stop_requested`]. `None` (the default) when the optimizer has none.
    fn stop_file(&self) -> Option<&std::path::Path> {
        None
    }
}

/// Serializes a [`ProgramState`] in hone's own program format.
pub mod program_state_serde {
    use hone_core::state::ProgramState;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use serde_json::Value;

    /// Writes the state as hone's program JSON.
    pub fn serialize<S: Serializer>(state: &ProgramState, s: S) -> Result<S::Ok, S::Error> {
        state.to_value().serialize(s)
    }

    /// Reads hone's program JSON.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Box<ProgramState>, D::Error> {
        let value = Value::deserialize(d)?;
        ProgramState::from_value(&value)
            .map(Box::new)
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_settings_read_and_write_the_job_json_of_before() {
        let text = r#"{"temperature":1.0,"rollout_id":2,"no_cache":true}"#;
        let settings: CallSettings = serde_json::from_str(text).expect("reads");
        assert_eq!(settings.sampling.temperature, Some(1.0));
        assert_eq!(settings.sampling.rollout_id, Some(2));
        assert!(settings.no_cache);
        assert_eq!(serde_json::to_string(&settings).expect("writes"), text);
        assert_eq!(
            serde_json::to_string(&CallSettings::default()).expect("writes"),
            "{}"
        );
    }
}
