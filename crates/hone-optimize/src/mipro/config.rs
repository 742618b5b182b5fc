//! MIPROv2's settings: [`MiproConfig`] with DSPy's defaults, and DSPy's trial count for a
//! number of candidates.

use serde::{Deserialize, Serialize};

use crate::gepa::AutoLevel;
use crate::protocol::LmRole;
/// Settings of [`MiproV2`](super::MiproV2): DSPy's constructor and `compile` parameters with their defaults,
/// plus hone's batch sizes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MiproConfig {
    /// Preset. `None` is light, unless `num_candidates` or `num_trials` is set: then the run
    /// has no preset (DSPy's `auto=None`; TOML cannot write `None`, so a table leaves it out).
    pub auto: Option<AutoLevel>,
    /// Instruction and demo-set candidates per predictor (only without `auto`).
    pub num_candidates: Option<usize>,
    /// Search trials (only without `auto`).
    pub num_trials: Option<usize>,
    /// Bootstrapped demos per demo set (default 4).
    pub max_bootstrapped_demos: usize,
    /// Labeled demos per demo set (default 4).
    pub max_labeled_demos: usize,
    /// Seed (default 9).
    pub seed: u64,
    /// Temperature of proposer calls (default 1.0).
    pub init_temperature: f64,
    /// Bootstrap acceptance threshold (DSPy's `metric_threshold`).
    pub metric_threshold: Option<f64>,
    /// Errors allowed while bootstrapping (DSPy's default 10 when `None`).
    pub max_errors: Option<usize>,
    /// The LM that runs the teacher while bootstrapping (DSPy's `teacher_settings`).
    pub teacher_lm: LmRole,
    /// Score trials on minibatches (default true; `auto` decides by valset size).
    pub minibatch: bool,
    /// Minibatch size (default 35).
    pub minibatch_size: usize,
    /// Minibatch trials between full evaluations (default 5).
    pub minibatch_full_eval_steps: usize,
    /// Describe the program and module to the proposer (default true).
    pub program_aware_proposer: bool,
    /// Summarize the dataset for the proposer (default true).
    pub data_aware_proposer: bool,
    /// Examples per dataset-summary call (default 10).
    pub view_data_batch_size: usize,
    /// Summarize the dataset as DSPy does, one observation call at a time, each seeing the
    /// observations so far (up to 10 calls in a row). The default observes the batches of
    /// `view_data_batch_size` examples all at once (DSPy's first-call prompt for each, at
    /// most 10 batches) and summarizes the observations together: the same calls, one LM
    /// latency instead of ten.
    pub sequential_data_summary: bool,
    /// Give the proposer a random tip (default true).
    pub tip_aware_proposer: bool,
    /// Show the proposer bootstrapped demos (default true).
    pub fewshot_aware_proposer: bool,
    /// Trials in flight at once (default 5): a new trial is suggested as each one is committed.
    /// Independent of the executor, so a run's result does not depend on its concurrency.
    pub trial_batch_size: usize,
}

impl Default for MiproConfig {
    fn default() -> Self {
        MiproConfig {
            auto: None,
            num_candidates: None,
            num_trials: None,
            max_bootstrapped_demos: 4,
            max_labeled_demos: 4,
            seed: 9,
            init_temperature: 1.0,
            metric_threshold: None,
            max_errors: None,
            teacher_lm: LmRole::Task,
            minibatch: true,
            minibatch_size: 35,
            minibatch_full_eval_steps: 5,
            program_aware_proposer: true,
            data_aware_proposer: true,
            view_data_batch_size: 10,
            sequential_data_summary: false,
            tip_aware_proposer: true,
            fewshot_aware_proposer: true,
            trial_batch_size: 5,
        }
    }
}

/// DSPy's `_set_num_trials_from_num_candidates`.
pub fn num_trials_for(num_predictors: usize, zeroshot: bool, num_candidates: usize) -> usize {
    let vars = num_predictors * if zeroshot { 1 } else { 2 };
    let n = num_candidates.max(1) as f64;
    (2.0 * vars as f64 * n.log2()).max(1.5 * n) as usize
}
