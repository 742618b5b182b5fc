//! SIMBA's settings: [`SimbaConfig`] with DSPy's defaults.

use serde::{Deserialize, Serialize};

use crate::protocol::LmRole;
/// Settings of [`Simba`](super::Simba): DSPy's parameters and defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimbaConfig {
    /// Minibatch size (default 32; at most the trainset size).
    pub bsize: usize,
    /// Trajectories per example, and new candidates per step minus one (default 6).
    pub num_candidates: usize,
    /// Steps (default 8).
    pub max_steps: usize,
    /// Demos a predictor holds before some are dropped (default 4; 0 disables `append_a_demo`).
    pub max_demos: usize,
    /// Characters kept of an input field in a new demo (default 100,000).
    pub demo_input_field_maxlen: usize,
    /// Softmax temperature for choosing the programs that sample trajectories (default 0.2).
    pub temperature_for_sampling: f64,
    /// Softmax temperature for choosing the source program of a new candidate (default 0.2).
    pub temperature_for_candidates: f64,
    /// Run the first trajectory sample of each example with this LM (DSPy's
    /// `teacher_settings`); all samples use the task LM when `None` (default).
    pub teacher_lm: Option<LmRole>,
    /// Seed (default 0).
    pub seed: u64,
}

impl Default for SimbaConfig {
    fn default() -> Self {
        SimbaConfig {
            bsize: 32,
            num_candidates: 6,
            max_steps: 8,
            max_demos: 4,
            demo_input_field_maxlen: 100_000,
            temperature_for_sampling: 0.2,
            temperature_for_candidates: 0.2,
            teacher_lm: None,
            seed: 0,
        }
    }
}
