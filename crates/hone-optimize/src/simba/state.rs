//! The serialized state of a SIMBA run besides its pool: trajectories, sampling jobs,
//! candidates being built, a step's ranked hard examples and the [`Phase`] the run is in.

use hone_core::Prediction;
use serde::{Deserialize, Serialize};

use crate::program::StoredProgram;
use crate::protocol::TraceStep;
/// A program of the pool with its minibatch scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct Pooled {
    pub(super) program: StoredProgram,
    pub(super) scores: Vec<f64>,
}

/// One trajectory: a program run on an example under one LM setting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct Trajectory {
    /// The score; `None` stands for DSPy's `"N/A"` (a trajectory blanked for the advice).
    pub(super) score: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) prediction: Option<Prediction>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) trace: Vec<TraceStep>,
}

impl Trajectory {
    pub(super) fn value(&self) -> f64 {
        self.score.unwrap_or(0.0)
    }
}

/// An evaluation job of the sampling phase: one LM setting, one program, some examples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct SampleJob {
    pub(super) model: usize,
    pub(super) positions: Vec<usize>,
}

/// A candidate being built.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct Planned {
    pub(super) program: StoredProgram,
    pub(super) source: usize,
    pub(super) strategy: String,
    /// Whether it waits for an advice call of the current round.
    pub(super) awaiting_advice: bool,
}

/// What the hard examples of a step are, for building candidates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct Buckets {
    /// Per example of the batch (in ranked order), its trajectories sorted best first.
    pub(super) ranked: Vec<(usize, Vec<Trajectory>)>,
    pub(super) p10: f64,
    pub(super) p90: f64,
    /// The next ranked example to build a candidate from.
    pub(super) next: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
pub(super) enum Phase {
    /// Trajectories on the batch.
    Sample {
        jobs: Vec<SampleJob>,
    },
    /// Advice calls for the candidates awaiting one.
    Advice {
        buckets: Buckets,
        planned: Vec<Planned>,
    },
    /// The candidates on the batch.
    Evaluate {
        candidates: Vec<Planned>,
    },
    /// The final winners on the whole trainset: their pool indices.
    Final {
        programs: Vec<usize>,
    },
    Done,
}
