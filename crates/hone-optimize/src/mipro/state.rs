//! The serialized state of a MIPROv2 run besides its settings: demo sets, the dataset-summary
//! chain, instruction proposals, trials, where each step's results go, the evaluations in
//! flight and the [`Phase`] the run is in.

use serde::{Deserialize, Serialize};

use crate::bootstrap::BootstrapRun;
use crate::program::StoredProgram;
use crate::protocol::JobId;
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct DemoSet {
    pub(super) seed: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) run: Option<BootstrapRun>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) program: Option<StoredProgram>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum Summary {
    Off,
    /// Observe every batch at once (the default).
    Observe,
    /// Observation calls issued; their results fill `parts`.
    Observing,
    First,
    Prior,
    Summarize,
    Done,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct SummaryChain {
    pub(super) stage: Summary,
    pub(super) observations: String,
    pub(super) next_b: usize,
    pub(super) calls: usize,
    pub(super) skips: usize,
    /// Observations of each batch, in batch order (parallel observation).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) parts: Vec<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) summary: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct Proposal {
    pub(super) predictor: usize,
    pub(super) set: usize,
    pub(super) tip: String,
    pub(super) rollout: u64,
    pub(super) task_demos: String,
    pub(super) program_aware: bool,
    #[serde(default)]
    pub(super) program_description: String,
    #[serde(default)]
    pub(super) module_description: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct Trial {
    pub(super) params: Vec<usize>,
    pub(super) examples: Vec<usize>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "route", rename_all = "snake_case")]
pub(super) enum Route {
    Boot { set: usize, local: JobId },
    Summary,
    Observe { batch: usize },
    Describe { proposal: usize },
    Module { proposal: usize },
    Generate { proposal: usize },
}

/// A trial or full evaluation in flight, in the order it is committed (see
/// [`MiproV2::commit_in_order`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct InFlight {
    /// The job book's background group of its job; `None` while it waits for the instruction
    /// candidates it uses.
    pub(super) group: Option<u64>,
    /// What it scores.
    pub(super) kind: InFlightKind,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(super) enum InFlightKind {
    /// The student on the whole valset: the search's first point.
    Default,
    /// A minibatch (or full, without minibatches) trial.
    Trial(Trial),
    /// A full evaluation of a combination chosen by its minibatch scores.
    Full { params: Vec<usize> },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum Phase {
    Setup,
    Describe,
    DescribeModule,
    Generate,
    Trials,
    Done,
}
