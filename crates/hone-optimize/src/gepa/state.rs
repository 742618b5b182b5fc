//! The serialized state of a GEPA run besides the pool's bookkeeping: the candidates, the
//! tasks and children of an iteration, background valset scorings, the pipeline's iterations
//! in flight and the [`Phase`] the run is in.

use std::collections::BTreeMap;

use hone_core::Prediction;
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::protocol::JobResult;
use crate::steps::mean;
/// One candidate of the pool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GepaCandidate {
    /// Component name → instruction text.
    pub texts: IndexMap<String, String>,
    /// Indices of the candidates it came from (none for the seed; two for a merge).
    pub parents: Vec<usize>,
    /// Per-validation-example scores.
    pub val_scores: Vec<f64>,
    /// Per-validation-example objective scores, when the metric gives them (empty maps for
    /// examples without; empty when none has).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub val_objectives: Vec<BTreeMap<String, f64>>,
    /// Metric calls spent when it was found.
    pub discovered_at: u64,
    pub(super) next_component: usize,
}

impl GepaCandidate {
    /// The mean validation score.
    pub fn score(&self) -> f64 {
        mean(&self.val_scores)
    }

    /// The mean of each objective over the validation examples that scored it (gepa's
    /// `_aggregate_objective_scores`).
    pub fn objective_scores(&self) -> BTreeMap<String, f64> {
        let mut totals: BTreeMap<String, (f64, usize)> = BTreeMap::new();
        for scores in &self.val_objectives {
            for (name, &score) in scores {
                let entry = totals.entry(name.clone()).or_insert((0.0, 0));
                entry.0 += score;
                entry.1 += 1;
            }
        }
        totals
            .into_iter()
            .map(|(name, (total, n))| (name, total / n as f64))
            .collect()
    }
}

/// A best output on one validation example (`track_best_outputs`, gepa's
/// `best_outputs_valset`): the candidate that produced it and what the program answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BestOutput {
    /// The candidate's index in the pool.
    pub candidate: usize,
    /// Its outputs on the example.
    pub prediction: Prediction,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct Task {
    pub(super) parent: usize,
    pub(super) minibatch: Vec<usize>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct Child {
    pub(super) parent: usize,
    pub(super) texts: IndexMap<String, String>,
    pub(super) minibatch: Vec<usize>,
    pub(super) before: Vec<f64>,
    #[serde(default)]
    pub(super) after: Vec<f64>,
    #[serde(default)]
    pub(super) merge: Option<(usize, usize, usize)>,
    /// The seed, scored in the background while the first iterations run.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(super) seed: bool,
}

/// Candidates scored on the valset in the background (`overlap_full_evals`): one group of
/// background jobs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct BackgroundEval {
    /// The job group in the book.
    pub(super) group: u64,
    pub(super) children: Vec<Child>,
    /// Jobs per candidate.
    pub(super) jobs: Vec<usize>,
    /// Iterations started beside it.
    pub(super) iterations_beside: usize,
}

/// What a reflective iteration waits for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "stage", rename_all = "snake_case")]
pub(super) enum Stage {
    /// Its parents on their minibatches, with traces.
    Parents { tasks: Vec<Task> },
    /// Its reflection calls: per job, the task and component.
    Reflect {
        tasks: Vec<Task>,
        before: Vec<Vec<f64>>,
        calls: Vec<(usize, String)>,
    },
    /// Its children on their parents' minibatches.
    Children { children: Vec<Child> },
}

/// An iteration in flight in the pipeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct Flight {
    /// Its iteration number.
    pub(super) iteration: i64,
    /// The ids of its current stage's jobs.
    pub(super) jobs: std::ops::Range<u64>,
    /// Metric calls it made so far (its parents' minibatches, once read).
    pub(super) spent: u64,
    pub(super) stage: Stage,
}

impl Flight {
    /// Metric calls of its current stage's jobs (issued, not read yet).
    pub(super) fn calls_issued(&self) -> u64 {
        match &self.stage {
            Stage::Parents { tasks } => minibatch_calls(tasks),
            Stage::Reflect { .. } => 0,
            Stage::Children { children } => children.iter().map(|c| c.minibatch.len() as u64).sum(),
        }
    }

    /// Metric calls it makes at most from now on if none of its children is accepted: the
    /// issued ones, and each task's children on its minibatch.
    pub(super) fn calls_to_come(&self) -> u64 {
        match &self.stage {
            Stage::Parents { tasks } | Stage::Reflect { tasks, .. } => {
                self.calls_issued() + minibatch_calls(tasks)
            }
            Stage::Children { .. } => self.calls_issued(),
        }
    }
}

/// Metric calls of evaluating `tasks`' minibatches.
fn minibatch_calls(tasks: &[Task]) -> u64 {
    tasks.iter().map(|t| t.minibatch.len() as u64).sum()
}

/// Iterations that run beside a background scoring before its candidates must join the pool
/// (a fixed number, so that a run does not depend on how fast the scoring is): the iterations
/// in flight when it starts, and one more.
pub(super) const ITERATIONS_BESIDE_BACKGROUND: usize = 3;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
pub(super) enum Phase {
    /// The seed candidate on the valset.
    SeedEval { jobs: usize },
    /// A merged candidate on its validation subsample.
    MergeEval {
        child: Child,
        parent_sums: (f64, f64),
    },
    /// A reflective iteration, one stage per step (DSPy's order).
    Iteration { stage: Stage },
    /// Iterations in flight, oldest first, one per stage (`overlap_full_evals`): each step
    /// holds the oldest one's children, the next one's reflections and the youngest one's
    /// parents.
    Pipeline {
        flights: Vec<Flight>,
        /// Results received, read once every flight's jobs have theirs.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        held: Vec<JobResult>,
        /// A new iteration waits for a background scoring due before it begins; results are
        /// held until it has begun.
        #[serde(default)]
        blocked: bool,
    },
    /// Accepted candidates on the valset: per candidate its number of jobs.
    FullEval {
        children: Vec<Child>,
        jobs: Vec<usize>,
    },
    /// Waiting for background valset scoring that must join the pool before going on.
    Waiting,
    /// Over.
    Done,
}
