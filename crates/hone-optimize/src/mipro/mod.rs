//! `MIPROv2`: instructions and demos optimized together — DSPy's `dspy.MIPROv2`, with its
//! parameters, defaults and `auto` presets.
//!
//! 1. **Demo sets.** `num_fewshot_candidates` candidate demo sets per predictor, built as
//!    DSPy's `create_n_fewshot_demo_sets` does: zero-shot, labeled only, a bootstrap over the
//!    trainset in order, and bootstraps over shuffled trainsets with random sizes (hone's
//!    [`BootstrapFewShot`](crate::BootstrapFewShot) machinery).
//! 2. **Grounded instruction proposal.** A dataset summary (DSPy's observation chain), a
//!    description of the program and of each module, a random prompting tip and demos from a
//!    demo set ground each of `num_instruct_candidates` proposals per predictor; the first
//!    candidate is always the original instruction.
//! 3. **Bayesian search.** A TPE sampler ([`tpe`]) picks an instruction and a demo set per
//!    predictor; each trial scores the program on a minibatch of the valset (`minibatch_size`),
//!    and every `minibatch_full_eval_steps` trials the combination with the best mean minibatch
//!    score is scored on the whole valset. The best fully evaluated program wins (the student
//!    itself is the first).
//!
//! `auto = light | medium | heavy` sets the number of candidates (6, 12, 18), the trial count
//! (DSPy's `max(2·vars·log2 N, 1.5·N)`) and the valset size (100, 300, 1000 sampled). With
//! `max_bootstrapped_demos = max_labeled_demos = 0` the run is zero-shot: demo sets (of three
//! bootstrapped demos) only ground the proposer and every candidate keeps the student's demos.
//!
//! # Concurrency
//!
//! Every demo set's bootstrap and the dataset observations (one call per batch of
//! `view_data_batch_size` examples, all at once) run together; the summarizer call runs
//! alongside the program descriptions, then the module descriptions, then all instruction
//! proposals together. The search starts with the proposals: the search space is fixed then
//! (one candidate per proposal), the student's full evaluation is issued, and so are the first
//! trials — those that use only original instructions run beside the proposals, the others
//! start when the proposals are in. Up to `trial_batch_size` trials are in flight at a time
//! (all of TPE's uniform startup draws at once): finished trials are committed in the order
//! they were suggested, and each commit suggests the next trial (counting those in flight as
//! the worst scores, see [`tpe`]), so the executor never waits for the slowest trial of a
//! batch. The full evaluation a commit triggers chooses the combination from the trials
//! committed so far, as DSPy does; it runs beside the trials and its score joins the TPE
//! history at its own place in the commit order. Nothing depends on the order results arrive
//! in.
//!
//! # Deviations
//!
//! * Optuna's TPE is replaced by [`tpe::Tpe`] (same defaults, batched with a constant liar).
//! * The proposer sees a pseudo-code listing of the program (hone has no Python source).
//! * The proposal for demo set 0, which DSPy makes and then overwrites with the original
//!   instruction, is not requested.
//! * Random draws come from a seeded generator stored in the state, not Python's `random`.
//! * The dataset is observed in parallel batches, each with DSPy's first observation prompt, and
//!   the observations are summarized together; `sequential_data_summary = true` runs DSPy's
//!   chain (each call sees the observations so far, `COMPLETE` ends it early).
//! * Up to `trial_batch_size` trials are suggested before the earlier ones are scored, and a
//!   full evaluation's score reaches the TPE history after the trials issued beside it
//!   (DSPy scores one trial at a time). The first `n_startup_trials + trial_batch_size − 2`
//!   trials are uniform draws (DSPy's sequential TPE: the first `n_startup_trials − 1`).
//! * A failed instruction proposal leaves the original instruction in its place (the search
//!   space is fixed before the proposals are in).

mod advance;
mod config;
mod propose;
pub mod proposer;
mod search;
mod setup;
mod state;
#[cfg(test)]
mod tests;
pub mod tpe;

use std::collections::BTreeMap;

use hone_core::Example;
use hone_core::state::ProgramState;
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::book::JobBook;
use crate::bootstrap::BootstrapConfig;
use crate::gepa::AutoLevel;
use crate::labeled::no_predictors;
use crate::log::{LogEvent, RunLog};
use crate::program::StoredProgram;
use crate::protocol::{CallSettings, JobExample, JobResult, OptimizerError, Split};
use crate::rng::OptRng;
use crate::steps::StepMachine;
use state::{DemoSet, InFlight, Phase, Proposal, Route, Summary, SummaryChain};
use tpe::Tpe;

pub use config::{MiproConfig, num_trials_for};

const NAME: &str = "mipro_v2";

/// DSPy's `BOOTSTRAPPED_FEWSHOT_EXAMPLES_IN_CONTEXT`: demos bootstrapped for the proposer in
/// zero-shot runs, and demos shown to it.
const DEMOS_IN_CONTEXT: usize = 3;
/// DSPy's `MIN_MINIBATCH_SIZE`: `auto` runs use minibatches above this valset size.
const MIN_MINIBATCH_SIZE: usize = 50;

/// DSPy's `MIPROv2` as a sans-IO [`Optimizer`](crate::Optimizer).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MiproV2 {
    optimizer: String,
    config: MiproConfig,
    boot: BootstrapConfig,
    student: StoredProgram,
    trainset: Vec<JobExample>,
    valset: Vec<JobExample>,
    zeroshot: bool,
    minibatch: bool,
    num_trials: usize,
    num_instruct: usize,
    rng: OptRng,
    book: JobBook,
    routes: Vec<Route>,
    phase: Phase,
    demo_sets: Vec<DemoSet>,
    summary: SummaryChain,
    /// Whether the search began (it begins with the proposals: trials that use only the
    /// original instructions run beside them).
    #[serde(default)]
    search_started: bool,
    proposals: Vec<Proposal>,
    /// Per predictor, the instruction candidates (the original first).
    instructions: Vec<Vec<String>>,
    tpe: Tpe,
    trials_done: usize,
    /// Trials suggested so far.
    #[serde(default)]
    trials_issued: usize,
    /// Trials and full evaluations in flight, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    in_flight: Vec<InFlight>,
    /// The next background group id.
    #[serde(default)]
    next_group: u64,
    /// Minibatch scores per parameter combination, in first-seen order.
    combo_scores: IndexMap<String, (Vec<usize>, Vec<f64>)>,
    fully_evaluated: BTreeMap<String, f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    best: Option<(f64, StoredProgram)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    failure: Option<String>,
    log: RunLog,
}

impl MiproV2 {
    /// Starts optimizing `student` with demos from `trainset`, scored on `valset` (without one,
    /// the last 80% of the trainset, as in DSPy).
    pub fn new(
        student: &ProgramState,
        trainset: &[Example],
        valset: Option<&[Example]>,
        config: MiproConfig,
    ) -> Result<Self, OptimizerError> {
        if trainset.is_empty() {
            return Err(OptimizerError::config(NAME, "the trainset is empty"));
        }
        if student.predictors.is_empty() {
            return Err(no_predictors(NAME));
        }
        let (train, val): (Vec<Example>, Vec<Example>) = match valset {
            Some([]) => {
                return Err(OptimizerError::config(
                    NAME,
                    "the valset must have at least one example",
                ));
            }
            Some(v) => (trainset.to_vec(), v.to_vec()),
            None => {
                if trainset.len() < 2 {
                    return Err(OptimizerError::config(
                        NAME,
                        "the trainset needs at least 2 examples when no valset is given",
                    ));
                }
                let size = (trainset.len() * 4 / 5).clamp(1, 1000);
                let cut = trainset.len() - size;
                (trainset[..cut].to_vec(), trainset[cut..].to_vec())
            }
        };
        let zeroshot = config.max_bootstrapped_demos == 0 && config.max_labeled_demos == 0;
        let predictors = student.predictors.len();
        let mut rng = OptRng::new(config.seed);
        // `auto` left out: light, unless the counts are given (DSPy's `auto=None`).
        let auto = config.auto.or_else(|| {
            (config.num_candidates.is_none() && config.num_trials.is_none())
                .then_some(AutoLevel::Light)
        });
        let (num_trials, num_instruct, num_fewshot, val, minibatch) = match auto {
            Some(level) => {
                if config.num_candidates.is_some() || config.num_trials.is_some() {
                    return Err(OptimizerError::config(
                        NAME,
                        "with `auto`, num_candidates and num_trials cannot be set; set auto to \
                         None or leave them unset",
                    ));
                }
                let n = level.candidates();
                let size = match level {
                    AutoLevel::Light => 100,
                    AutoLevel::Medium => 300,
                    AutoLevel::Heavy => 1000,
                };
                let picked: Vec<Example> = rng
                    .sample_indices(val.len(), size)
                    .into_iter()
                    .map(|i| val[i].clone())
                    .collect();
                let minibatch = picked.len() > MIN_MINIBATCH_SIZE;
                let instruct = if zeroshot { n } else { n / 2 };
                (
                    num_trials_for(predictors, zeroshot, n),
                    instruct,
                    n,
                    picked,
                    minibatch,
                )
            }
            None => {
                let (Some(n), Some(trials)) = (config.num_candidates, config.num_trials) else {
                    return Err(OptimizerError::config(
                        NAME,
                        format!(
                            "without `auto`, set both num_candidates and num_trials (for {} \
                         candidates, about {} trials)",
                            config.num_candidates.unwrap_or(6),
                            num_trials_for(
                                predictors,
                                zeroshot,
                                config.num_candidates.unwrap_or(6)
                            )
                        ),
                    ));
                };
                (trials, n, n, val, config.minibatch)
            }
        };
        if minibatch && config.minibatch_size > val.len() {
            return Err(OptimizerError::config(
                NAME,
                format!(
                    "minibatch_size {} exceeds the valset size {}; lower it or set minibatch = false",
                    config.minibatch_size,
                    val.len()
                ),
            ));
        }
        let boot = BootstrapConfig {
            metric_threshold: config.metric_threshold,
            teacher: None,
            teacher_lm: config.teacher_lm,
            teacher_settings: CallSettings::default(),
            max_bootstrapped_demos: if zeroshot {
                DEMOS_IN_CONTEXT
            } else {
                config.max_bootstrapped_demos
            },
            max_labeled_demos: if zeroshot {
                0
            } else {
                config.max_labeled_demos
            },
            max_rounds: 1,
            max_errors: config.max_errors,
            wave_size: None,
            seed: 0,
        };
        let trainset = JobExample::dataset(Split::Train, train);
        let valset = JobExample::dataset(Split::Val, val);
        let summary_stage = if !config.data_aware_proposer {
            Summary::Off
        } else if config.sequential_data_summary {
            Summary::First
        } else {
            Summary::Observe
        };
        let mut mipro = MiproV2 {
            optimizer: NAME.into(),
            boot,
            student: StoredProgram(student.clone()),
            trainset,
            valset,
            zeroshot,
            minibatch,
            num_trials,
            num_instruct,
            rng,
            book: JobBook::new(),
            routes: Vec::new(),
            phase: Phase::Setup,
            demo_sets: Vec::new(),
            summary: SummaryChain {
                stage: summary_stage,
                observations: String::new(),
                next_b: 0,
                calls: 0,
                skips: 0,
                parts: Vec::new(),
                summary: None,
            },
            search_started: false,
            proposals: Vec::new(),
            instructions: Vec::new(),
            tpe: Tpe::new(Vec::new()),
            trials_done: 0,
            trials_issued: 0,
            in_flight: Vec::new(),
            next_group: 0,
            combo_scores: IndexMap::new(),
            fully_evaluated: BTreeMap::new(),
            best: None,
            failure: None,
            log: RunLog::new(),
            config,
        };
        mipro.log.push(LogEvent::Note {
            message: format!(
                "MIPROv2: {num_trials} trial(s), minibatch {minibatch}, {num_fewshot} demo set(s), \
                 {num_instruct} instruction candidate(s) per predictor, valset of {}",
                mipro.valset.len()
            ),
        });
        mipro.start_demo_sets(num_fewshot)?;
        mipro.setup_step();
        Ok(mipro)
    }

    /// The settings.
    pub fn config(&self) -> &MiproConfig {
        &self.config
    }

    /// The instruction candidates per predictor (the original first), once proposed.
    pub fn instruction_candidates(&self) -> IndexMap<String, Vec<String>> {
        self.student
            .0
            .predictors
            .keys()
            .cloned()
            .zip(self.instructions.iter().cloned())
            .collect()
    }

    /// The number of search trials.
    pub fn num_trials(&self) -> usize {
        self.num_trials
    }
}

impl StepMachine for MiproV2 {
    const NAME: &'static str = NAME;

    crate::steps::step_fields!();

    fn at_end(&self) -> bool {
        self.phase == Phase::Done
    }

    fn advance(&mut self, results: Vec<JobResult>) -> Result<(), OptimizerError> {
        self.advance_step(results)
    }

    fn after_result(&mut self) {
        if self.search_started {
            self.commit_in_order();
        }
    }

    fn best_program(&self) -> Option<ProgramState> {
        self.best.as_ref().map(|(_, p)| p.0.clone())
    }
}
