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

pub mod proposer;
pub mod tpe;

use std::collections::BTreeMap;

use hone_core::Example;
use hone_core::state::ProgramState;
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::book::JobBook;
use crate::bootstrap::{BootstrapConfig, BootstrapRun, Ctx};
use crate::gepa::AutoLevel;
use crate::labeled::{LabeledFewShotConfig, labeled_few_shot, no_predictors};
use crate::log::{LogEvent, RunLog};
use crate::program::{StoredProgram, reset_copy};
use crate::protocol::{
    CallSettings, JobExample, JobId, JobOutput, JobResult, LmRole, OptimizerError, Split,
};
use crate::restore::{Restore, from_state};
use crate::rng::OptRng;
use crate::steps::StepMachine;
use crate::steps::{
    self, eval_spec, mean, predict_failure, predict_spec, predictions, program_code, strip_prefix,
    text_field,
};
use proposer::TIPS;
use tpe::Tpe;

const NAME: &str = "mipro_v2";

/// DSPy's `BOOTSTRAPPED_FEWSHOT_EXAMPLES_IN_CONTEXT`: demos bootstrapped for the proposer in
/// zero-shot runs, and demos shown to it.
const DEMOS_IN_CONTEXT: usize = 3;
/// DSPy's `MIN_MINIBATCH_SIZE`: `auto` runs use minibatches above this valset size.
const MIN_MINIBATCH_SIZE: usize = 50;

/// Settings of [`MiproV2`]: DSPy's constructor and `compile` parameters with their defaults,
/// plus hone's batch sizes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MiproConfig {
    /// Preset (default light); `None` requires `num_candidates` and `num_trials`.
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
            auto: Some(AutoLevel::Light),
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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct DemoSet {
    seed: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    run: Option<BootstrapRun>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    program: Option<StoredProgram>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Summary {
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
struct SummaryChain {
    stage: Summary,
    observations: String,
    next_b: usize,
    calls: usize,
    skips: usize,
    /// Observations of each batch, in batch order (parallel observation).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    parts: Vec<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    summary: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Proposal {
    predictor: usize,
    set: usize,
    tip: String,
    rollout: u64,
    task_demos: String,
    program_aware: bool,
    #[serde(default)]
    program_description: String,
    #[serde(default)]
    module_description: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Trial {
    params: Vec<usize>,
    examples: Vec<usize>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "route", rename_all = "snake_case")]
enum Route {
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
struct InFlight {
    /// The job book's background group of its job; `None` while it waits for the instruction
    /// candidates it uses.
    group: Option<u64>,
    /// What it scores.
    kind: InFlightKind,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum InFlightKind {
    /// The student on the whole valset: the search's first point.
    Default,
    /// A minibatch (or full, without minibatches) trial.
    Trial(Trial),
    /// A full evaluation of a combination chosen by its minibatch scores.
    Full { params: Vec<usize> },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Phase {
    Setup,
    Describe,
    DescribeModule,
    Generate,
    Trials,
    Done,
}

/// DSPy's `MIPROv2` as a sans-IO [`Optimizer`].
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

fn config_error(message: impl Into<String>) -> OptimizerError {
    OptimizerError::Config {
        optimizer: NAME,
        message: message.into(),
    }
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
            return Err(config_error("the trainset is empty"));
        }
        if student.predictors.is_empty() {
            return Err(no_predictors(NAME));
        }
        let (train, val): (Vec<Example>, Vec<Example>) = match valset {
            Some([]) => {
                return Err(config_error("the valset must have at least one example"));
            }
            Some(v) => (trainset.to_vec(), v.to_vec()),
            None => {
                if trainset.len() < 2 {
                    return Err(config_error(
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
        let (num_trials, num_instruct, num_fewshot, val, minibatch) = match config.auto {
            Some(level) => {
                if config.num_candidates.is_some() || config.num_trials.is_some() {
                    return Err(config_error(
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
                    return Err(config_error(format!(
                        "without `auto`, set both num_candidates and num_trials (for {} \
                         candidates, about {} trials)",
                        config.num_candidates.unwrap_or(6),
                        num_trials_for(predictors, zeroshot, config.num_candidates.unwrap_or(6))
                    )));
                };
                (trials, n, n, val, config.minibatch)
            }
        };
        if minibatch && config.minibatch_size > val.len() {
            return Err(config_error(format!(
                "minibatch_size {} exceeds the valset size {}; lower it or set minibatch = false",
                config.minibatch_size,
                val.len()
            )));
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

    fn start_demo_sets(&mut self, num_sets: usize) -> Result<(), OptimizerError> {
        let n = self.trainset.len();
        let examples: Vec<Example> = self.trainset.iter().map(|e| e.example.clone()).collect();
        let max_boot = self.boot.max_bootstrapped_demos;
        for seed in -3..(num_sets as i64 - 3) {
            let mut set = DemoSet {
                seed,
                run: None,
                program: None,
            };
            let ctx = Ctx {
                optimizer: NAME,
                trainset: &self.trainset,
                student: &self.student.0,
                config: &self.boot,
            };
            match seed {
                -3 => set.program = Some(StoredProgram(reset_copy(&self.student.0))),
                -2 if self.boot.max_labeled_demos > 0 => {
                    let labeled = LabeledFewShotConfig {
                        k: self.boot.max_labeled_demos,
                        sample: true,
                        seed: 0,
                    };
                    set.program = Some(StoredProgram(labeled_few_shot(
                        &self.student.0,
                        &examples,
                        &labeled,
                    )));
                }
                -1 => set.run = Some(BootstrapRun::start(&ctx, (0..n).collect(), max_boot)?),
                _ => {
                    let mut order: Vec<usize> = (0..n).collect();
                    self.rng.shuffle(&mut order);
                    let size = 1 + self.rng.below(max_boot.max(1));
                    set.run = Some(BootstrapRun::start(&ctx, order, size)?);
                }
            }
            self.demo_sets.push(set);
        }
        Ok(())
    }

    /// Creates the next setup step's jobs: bootstrap waves and the next summary call.
    fn setup_step(&mut self) {
        for (i, set) in self.demo_sets.iter_mut().enumerate() {
            if let Some(run) = &mut set.run {
                for job in run.ask() {
                    self.routes.push(Route::Boot {
                        set: i,
                        local: job.id,
                    });
                    self.book.create(job.spec);
                }
            }
        }
        if self.summary.stage == Summary::Observe {
            self.observe_batches();
        } else {
            if self.summary.stage == Summary::Observing {
                self.join_observations();
            }
            if let Some(spec) = self.summary_job() {
                self.routes.push(Route::Summary);
                self.book.create(spec);
            }
        }
    }

    /// The batches of `view_data_batch_size` training examples the summary observes (at
    /// most 10, as DSPy's chain makes at most 10 observation calls).
    fn summary_batches(&self) -> Vec<(usize, usize)> {
        let view = self.config.view_data_batch_size.max(1);
        let n = self.trainset.len();
        (0..n)
            .step_by(view)
            .take(10)
            .map(|a| (a, (a + view).min(n)))
            .collect()
    }

    /// Issues one observation call per batch, all at once.
    fn observe_batches(&mut self) {
        let batches = self.summary_batches();
        let hot = CallSettings {
            temperature: Some(1.0),
            ..Default::default()
        };
        for (batch, (a, b)) in batches.iter().copied().enumerate() {
            let slice: Vec<Example> = self.trainset[a..b]
                .iter()
                .map(|e| e.example.clone())
                .collect();
            self.routes.push(Route::Observe { batch });
            self.book.create(predict_spec(
                "dataset_summary",
                proposer::dataset_descriptor(),
                proposer::inputs(&[("examples", proposer::examples_repr(&slice))]),
                1,
                hot.clone(),
            ));
        }
        self.summary.parts = vec![None; batches.len()];
        self.summary.stage = if batches.is_empty() {
            Summary::Done
        } else {
            Summary::Observing
        };
    }

    /// Joins the batches' observations (in batch order) for the summarizer.
    fn join_observations(&mut self) {
        let parts: Vec<String> = self.summary.parts.iter().flatten().cloned().collect();
        if parts.is_empty() {
            self.summary.stage = Summary::Done;
            self.log.push(LogEvent::Note {
                message: "every dataset observation call failed; proposing without a data summary"
                    .into(),
            });
        } else {
            self.summary.observations = parts.join("\n\n");
            self.summary.stage = Summary::Summarize;
        }
    }

    fn summary_job(&mut self) -> Option<crate::protocol::JobSpec> {
        let view = self.config.view_data_batch_size.max(1);
        let n = self.trainset.len();
        let examples = |a: usize, b: usize| -> String {
            let slice: Vec<Example> = self.trainset[a..b.min(n)]
                .iter()
                .map(|e| e.example.clone())
                .collect();
            proposer::examples_repr(&slice)
        };
        let hot = CallSettings {
            temperature: Some(1.0),
            ..Default::default()
        };
        let chain = &mut self.summary;
        if chain.stage == Summary::Prior {
            chain.calls += 1;
            if chain.next_b >= n || chain.calls >= 10 {
                chain.stage = Summary::Summarize;
            }
        }
        match chain.stage {
            Summary::First => Some(predict_spec(
                "dataset_summary",
                proposer::dataset_descriptor(),
                proposer::inputs(&[("examples", examples(0, view))]),
                1,
                hot,
            )),
            Summary::Prior => {
                let b = chain.next_b;
                let prior = chain.observations.clone();
                Some(predict_spec(
                    "dataset_summary",
                    proposer::dataset_descriptor_with_prior(),
                    proposer::inputs(&[
                        ("examples", examples(b, b + view)),
                        ("prior_observations", prior),
                    ]),
                    1,
                    hot,
                ))
            }
            Summary::Summarize => Some(predict_spec(
                "dataset_summary",
                proposer::observation_summarizer(),
                proposer::inputs(&[("observations", chain.observations.clone())]),
                1,
                hot,
            )),
            Summary::Off | Summary::Observe | Summary::Observing | Summary::Done => None,
        }
    }

    fn summary_result(&mut self, output: &JobOutput) {
        let view = self.config.view_data_batch_size.max(1);
        let first = predictions(output).first();
        let chain = &mut self.summary;
        match chain.stage {
            Summary::First => match first.and_then(|p| text_field(p, "observations")) {
                Some(text) => {
                    chain.observations = text;
                    chain.next_b = view;
                    chain.stage = Summary::Prior;
                }
                None => {
                    chain.stage = Summary::Done;
                    let why = predict_failure(output);
                    self.log.push(LogEvent::Note {
                        message: format!(
                            "dataset summary failed ({why}); proposing without a data summary"
                        ),
                    });
                }
            },
            Summary::Prior => match first.and_then(|p| text_field(p, "observations")) {
                Some(text) if text.len() >= 8 && text[..8].eq_ignore_ascii_case("COMPLETE") => {
                    chain.skips += 1;
                    chain.next_b += view;
                    if chain.skips >= 5 {
                        chain.stage = Summary::Summarize;
                    }
                }
                Some(text) => {
                    chain.observations.push_str(&text);
                    chain.next_b += view;
                }
                None => chain.stage = Summary::Summarize,
            },
            Summary::Summarize => {
                chain.summary = first
                    .and_then(|p| text_field(p, "summary"))
                    .map(|s| strip_prefix(&s));
                chain.stage = Summary::Done;
                match &chain.summary {
                    Some(s) => {
                        let message = format!("dataset summary: {s}");
                        self.log.push(LogEvent::Note { message });
                    }
                    None => self.log.push(LogEvent::Note {
                        message: "dataset summary failed; proposing without a data summary".into(),
                    }),
                }
            }
            Summary::Off | Summary::Observe | Summary::Observing | Summary::Done => {}
        }
    }

    fn advance_step(&mut self, results: Vec<JobResult>) -> Result<(), OptimizerError> {
        let routes = std::mem::take(&mut self.routes);
        for (route, result) in routes.into_iter().zip(results) {
            match route {
                Route::Boot { set, local } => {
                    let ctx = Ctx {
                        optimizer: NAME,
                        trainset: &self.trainset,
                        student: &self.student.0,
                        config: &self.boot,
                    };
                    if let Some(run) = &mut self.demo_sets[set].run {
                        run.tell(
                            &ctx,
                            JobResult {
                                id: local,
                                ..result
                            },
                        )?;
                    }
                }
                Route::Summary => self.summary_result(&result.output),
                Route::Observe { batch } => {
                    let text = predictions(&result.output)
                        .first()
                        .and_then(|p| text_field(p, "observations"));
                    if text.is_none() {
                        let why = predict_failure(&result.output);
                        self.log.push(LogEvent::Note {
                            message: format!("dataset observation {batch} failed ({why}); skipped"),
                        });
                    }
                    if let Some(slot) = self.summary.parts.get_mut(batch) {
                        *slot = text;
                    }
                }
                Route::Describe { proposal } => {
                    let text = predictions(&result.output)
                        .first()
                        .and_then(|p| text_field(p, "program_description"))
                        .map(|s| strip_prefix(&s));
                    let p = &mut self.proposals[proposal];
                    match text {
                        Some(t) => p.program_description = t,
                        None => p.program_aware = false,
                    }
                }
                Route::Module { proposal } => {
                    let text = predictions(&result.output)
                        .first()
                        .and_then(|p| text_field(p, "module_description"));
                    let p = &mut self.proposals[proposal];
                    match text {
                        Some(t) => p.module_description = t,
                        None => p.program_aware = false,
                    }
                }
                Route::Generate { proposal } => {
                    let predictor = self.proposals[proposal].predictor;
                    let name = self
                        .student
                        .0
                        .predictors
                        .keys()
                        .nth(predictor)
                        .cloned()
                        .unwrap_or_default();
                    let text = predictions(&result.output)
                        .first()
                        .and_then(|p| text_field(p, "proposed_instruction"))
                        .map(|s| strip_prefix(&s))
                        .filter(|s| !s.trim().is_empty());
                    match text {
                        Some(t) => {
                            self.log.push(LogEvent::Proposal {
                                predictor: name,
                                text: t.clone(),
                                source: "grounded_proposer".into(),
                            });
                            self.instructions[predictor].push(t);
                        }
                        None => {
                            // The search space was fixed when the proposals started: the
                            // original instruction takes the failed candidate's place.
                            let why = predict_failure(&result.output);
                            self.log.push(LogEvent::Note {
                                message: format!(
                                    "instruction proposal for `{name}` failed ({why}); the \
                                     original instruction stands in for it"
                                ),
                            });
                            let original = self.instructions[predictor]
                                .first()
                                .cloned()
                                .unwrap_or_default();
                            self.instructions[predictor].push(original);
                        }
                    }
                }
            }
        }
        match self.phase {
            Phase::Setup => self.after_setup(),
            Phase::Describe => self.after_describe(),
            Phase::DescribeModule => self.start_generate(),
            Phase::Generate => self.instructions_ready(),
            // Trials run outside steps (see `commit_in_order`).
            Phase::Trials | Phase::Done => {}
        }
        Ok(())
    }

    fn after_setup(&mut self) {
        for set in &mut self.demo_sets {
            if let Some(program) = set.run.as_ref().and_then(|r| r.result()) {
                set.program = Some(StoredProgram(program.clone()));
                set.run = None;
            }
        }
        self.setup_step();
        if self.book.step_is_empty() {
            self.start_proposals();
            return;
        }
        // When only the summarizer call is left, the program and module descriptions (which
        // do not need the summary) run alongside it; the proposals that use it come after.
        let only_summarizer = self.demo_sets.iter().all(|s| s.run.is_none())
            && self.summary.stage == Summary::Summarize;
        if only_summarizer && self.config.program_aware_proposer {
            self.start_proposals();
        }
    }

    /// The demos of set `set` for predictor `predictor`.
    fn demos(&self, set: usize, predictor: usize) -> Vec<Example> {
        self.demo_sets
            .get(set)
            .and_then(|s| s.program.as_ref())
            .and_then(|p| p.0.predictors.values().nth(predictor))
            .map(|p| p.demos.clone())
            .unwrap_or_default()
    }

    fn start_proposals(&mut self) {
        let names: Vec<String> = self.student.0.predictors.keys().cloned().collect();
        let num_sets = self.demo_sets.len().max(1);
        let use_demos = self.config.fewshot_aware_proposer && !self.demo_sets.is_empty();
        self.instructions = self
            .student
            .0
            .predictors
            .values()
            .map(|p| vec![p.signature.instructions.clone()])
            .collect();
        for (pi, _) in names.iter().enumerate() {
            let Some(predictor) = self.student.0.predictors.values().nth(pi).cloned() else {
                continue;
            };
            for set in 0..self.num_instruct.min(num_sets) {
                let tip = if self.config.tip_aware_proposer {
                    TIPS[self.rng.below(TIPS.len())].1.to_owned()
                } else {
                    String::new()
                };
                let rollout = self.rng.below(1_000_000_001) as u64;
                if set == 0 {
                    // DSPy proposes here and then replaces the proposal with the original.
                    continue;
                }
                let mut strings = Vec::new();
                if use_demos {
                    let order = std::iter::once(set).chain(set + 1..num_sets).chain(0..set);
                    'sets: for s in order {
                        for demo in self.demos(s, pi) {
                            if demo.contains("augmented") {
                                strings.push(proposer::example_string(&predictor, &demo));
                                if strings.len() >= DEMOS_IN_CONTEXT {
                                    break 'sets;
                                }
                            }
                        }
                    }
                }
                let task_demos = if strings.is_empty() {
                    "No task demos provided.".to_owned()
                } else {
                    format!("{}\n\n", strings.join("\n\n"))
                };
                self.proposals.push(Proposal {
                    predictor: pi,
                    set,
                    tip,
                    rollout,
                    task_demos,
                    program_aware: self.config.program_aware_proposer,
                    program_description: "Not available".into(),
                    module_description: "Not provided".into(),
                });
            }
        }
        if self.config.program_aware_proposer {
            let code = program_code(&self.student.0);
            for (i, p) in self.proposals.iter().enumerate() {
                self.routes.push(Route::Describe { proposal: i });
                self.book.create(predict_spec(
                    "describe_program",
                    proposer::describe_program(),
                    proposer::inputs(&[
                        ("program_code", code.clone()),
                        ("program_example", p.task_demos.clone()),
                    ]),
                    1,
                    self.proposal_settings(p.rollout),
                ));
            }
            self.phase = Phase::Describe;
            self.start_search();
            if self.book.step_is_empty() {
                self.instructions_ready();
            }
        } else {
            // The search first, as above: `start_generate` moves on to the trials at once when
            // there is nothing to propose.
            self.start_search();
            self.start_generate();
        }
    }

    fn proposal_settings(&self, rollout: u64) -> CallSettings {
        CallSettings {
            temperature: Some(self.config.init_temperature),
            rollout_id: Some(rollout),
            no_cache: false,
        }
    }

    fn after_describe(&mut self) {
        let code = program_code(&self.student.0);
        for (i, p) in self.proposals.iter().enumerate() {
            if !p.program_aware {
                continue;
            }
            let Some(predictor) = self.student.0.predictors.values().nth(p.predictor) else {
                continue;
            };
            self.routes.push(Route::Module { proposal: i });
            self.book.create(predict_spec(
                "describe_module",
                proposer::describe_module(),
                proposer::inputs(&[
                    ("program_code", code.clone()),
                    ("program_example", p.task_demos.clone()),
                    ("program_description", p.program_description.clone()),
                    ("module", proposer::module_code(predictor)),
                ]),
                1,
                self.proposal_settings(p.rollout),
            ));
        }
        self.phase = Phase::DescribeModule;
        if self.book.step_is_empty() {
            self.start_generate();
        }
    }

    fn start_generate(&mut self) {
        let code = program_code(&self.student.0);
        let summary = self.summary.summary.clone();
        for (i, p) in self.proposals.iter().enumerate() {
            let Some(predictor) = self.student.0.predictors.values().nth(p.predictor) else {
                continue;
            };
            let mut pairs: Vec<(&str, String)> = Vec::new();
            if let Some(s) = &summary {
                pairs.push(("dataset_description", s.clone()));
            }
            if p.program_aware {
                pairs.push(("program_code", code.clone()));
                pairs.push(("program_description", p.program_description.clone()));
                pairs.push(("module", proposer::module_code(predictor)));
                pairs.push(("module_description", p.module_description.clone()));
            }
            pairs.push(("task_demos", p.task_demos.clone()));
            pairs.push((
                "basic_instruction",
                predictor.signature.instructions.clone(),
            ));
            if !p.tip.is_empty() {
                pairs.push(("tip", p.tip.clone()));
            }
            self.routes.push(Route::Generate { proposal: i });
            self.book.create(predict_spec(
                "propose_instruction",
                proposer::generate_instruction(
                    summary.is_some(),
                    p.program_aware,
                    !p.tip.is_empty(),
                ),
                proposer::inputs(&pairs),
                1,
                self.proposal_settings(p.rollout),
            ));
        }
        self.phase = Phase::Generate;
        if self.book.step_is_empty() {
            self.instructions_ready();
        }
    }

    /// The search space: per predictor, its instruction candidates (the original and one per
    /// proposal) and, unless zero-shot, its demo sets.
    fn choices(&self) -> Vec<usize> {
        let mut choices = Vec::new();
        for pi in 0..self.instructions.len() {
            let proposals = self.proposals.iter().filter(|p| p.predictor == pi).count();
            choices.push(1 + proposals);
            if !self.zeroshot {
                choices.push(self.demo_sets.len().max(1));
            }
        }
        choices
    }

    fn program_for(&self, params: &[usize]) -> ProgramState {
        let mut program = self.student.0.clone();
        let stride = if self.zeroshot { 1 } else { 2 };
        let names: Vec<String> = program.predictors.keys().cloned().collect();
        for (pi, name) in names.iter().enumerate() {
            let Some(&instr) = params.get(pi * stride) else {
                continue;
            };
            let text = self.instructions[pi]
                .get(instr)
                .cloned()
                .unwrap_or_default();
            steps::set_instructions(&mut program, name, &text);
            if !self.zeroshot
                && let Some(&set) = params.get(pi * stride + 1)
            {
                let demos = self.demos(set, pi);
                if let Some(p) = program.predictors.get_mut(name) {
                    p.demos = demos;
                }
            }
        }
        program
    }

    fn key(params: &[usize]) -> String {
        params
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Begins the search beside the instruction proposals: the student's full evaluation
    /// comes first, then the first trials — those that use only original instructions run at
    /// once, the others when the proposals are in.
    fn start_search(&mut self) {
        self.search_started = true;
        self.tpe = Tpe::new(self.choices());
        let student = self.student.0.clone();
        let valset = self.valset.clone();
        self.issue(InFlightKind::Default, &student, valset);
        self.fill_window();
    }

    /// The proposals are in: the trials waiting for them start.
    fn instructions_ready(&mut self) {
        self.phase = Phase::Trials;
        for i in 0..self.in_flight.len() {
            if self.in_flight[i].group.is_some() {
                continue;
            }
            let InFlightKind::Trial(trial) = &self.in_flight[i].kind else {
                continue;
            };
            let program = self.program_for(&trial.params);
            let examples = self.examples_at(&trial.examples);
            self.in_flight[i].group = Some(self.submit(&program, examples));
        }
        self.commit_in_order();
    }

    /// Whether every instruction a parameter combination uses exists yet.
    fn instructions_exist(&self, params: &[usize]) -> bool {
        let stride = if self.zeroshot { 1 } else { 2 };
        self.instructions
            .iter()
            .enumerate()
            .all(|(pi, list)| params.get(pi * stride).is_none_or(|&i| i < list.len()))
    }

    fn examples_at(&self, indices: &[usize]) -> Vec<JobExample> {
        indices
            .iter()
            .filter_map(|&i| self.valset.get(i).cloned())
            .collect()
    }

    /// Suggests and issues trials until `trial_batch_size` are in flight or every trial was
    /// issued. A suggestion counts the trials in flight as scored with the worst value (the
    /// constant liar of [`tpe`]). A suggestion made when the window opens sees the student and
    /// the trials `trial_batch_size` back, so the first `n_startup_trials + trial_batch_size −
    /// 2` trials are uniform draws (TPE's startup) whenever they are made: they depend on no
    /// score and are all suggested at once.
    fn fill_window(&mut self) {
        let window = self.config.trial_batch_size.max(1);
        loop {
            let pending: Vec<Vec<usize>> = self
                .in_flight
                .iter()
                .filter_map(|f| match &f.kind {
                    InFlightKind::Trial(t) => Some(t.params.clone()),
                    InFlightKind::Full { .. } | InFlightKind::Default => None,
                })
                .collect();
            let startup = self.trials_issued + 2 < self.tpe.n_startup_trials + window;
            if (pending.len() >= window && !startup) || self.trials_issued >= self.num_trials {
                return;
            }
            let params = self.tpe.suggest(&pending, &mut self.rng);
            let examples: Vec<usize> = if self.minibatch {
                self.rng
                    .sample_indices(self.valset.len(), self.config.minibatch_size)
            } else {
                (0..self.valset.len()).collect()
            };
            self.trials_issued += 1;
            if self.instructions_exist(&params) {
                let program = self.program_for(&params);
                let job_examples = self.examples_at(&examples);
                self.issue(
                    InFlightKind::Trial(Trial { params, examples }),
                    &program,
                    job_examples,
                );
            } else {
                self.in_flight.push(InFlight {
                    group: None,
                    kind: InFlightKind::Trial(Trial { params, examples }),
                });
            }
        }
    }

    /// Issues one evaluation job in its own background group, committed in issue order.
    fn issue(&mut self, kind: InFlightKind, program: &ProgramState, examples: Vec<JobExample>) {
        let group = self.submit(program, examples);
        self.in_flight.push(InFlight {
            group: Some(group),
            kind,
        });
    }

    /// Creates the evaluation job of `program` on `examples` in a new background group.
    fn submit(&mut self, program: &ProgramState, examples: Vec<JobExample>) -> u64 {
        let group = self.next_group;
        self.next_group += 1;
        self.book.create_background(
            group,
            eval_spec(program, examples, false, CallSettings::default()),
        );
        group
    }

    /// Applies finished trials and full evaluations strictly in the order they were issued,
    /// refilling the window after each: every decision (the next suggestion, which
    /// combination to evaluate fully, the best program) happens at the same point of that
    /// order whatever order results arrive in, so a run does not depend on the executor —
    /// while the executor always has the window's jobs to run.
    fn commit_in_order(&mut self) {
        while let Some(head) = self.in_flight.first() {
            let Some(group) = head.group else {
                return;
            };
            if !self.book.background_complete(group) {
                return;
            }
            let kind = self.in_flight.remove(0).kind;
            let results = self.book.take_background(group);
            let Some(result) = results.into_iter().next() else {
                continue;
            };
            let trial_examples;
            let examples: &[JobExample] = match &kind {
                InFlightKind::Trial(trial) => {
                    trial_examples = self.examples_at(&trial.examples);
                    &trial_examples
                }
                InFlightKind::Default | InFlightKind::Full { .. } => &self.valset,
            };
            let scores: Vec<f64> = steps::outcomes(result.output, examples)
                .iter()
                .map(|o| o.score)
                .collect();
            match kind {
                InFlightKind::Default => self.commit_default(mean(&scores)),
                InFlightKind::Trial(trial) => self.commit_trial(trial, &scores),
                InFlightKind::Full { params } => self.record_full(params, mean(&scores)),
            }
            self.fill_window();
        }
        if self.trials_done >= self.num_trials && self.phase == Phase::Trials {
            self.finish();
        }
    }

    /// The student's full score: the search's first point and first best.
    fn commit_default(&mut self, score: f64) {
        let params = vec![0; self.tpe.choices().len()];
        self.tpe.tell(params.clone(), score);
        self.fully_evaluated.insert(Self::key(&params), score);
        self.best = Some((score, StoredProgram(self.student.0.clone())));
        self.log.push(LogEvent::Trial {
            trial: self.log.next_trial(),
            candidate: 0,
            score,
            examples: self.valset.len(),
            full: true,
            detail: json!({"params": params, "default": true}),
        });
        self.log.push(LogEvent::NewBest {
            candidate: 0,
            score,
        });
    }

    /// A trial's parameters for the run log: the raw point, and per predictor the
    /// instruction candidate and demo set it picks.
    fn params_detail(&self, params: &[usize]) -> Value {
        let stride = if self.zeroshot { 1 } else { 2 };
        let instruction: Vec<usize> = params.iter().step_by(stride).copied().collect();
        let demo_sets: Vec<usize> = if self.zeroshot {
            Vec::new()
        } else {
            params.iter().skip(1).step_by(2).copied().collect()
        };
        json!({"params": params, "instruction": instruction, "demo_set": demo_sets})
    }

    fn record_full(&mut self, params: Vec<usize>, score: f64) {
        let key = Self::key(&params);
        self.fully_evaluated.insert(key.clone(), score);
        let candidate = self.combo_scores.get_index_of(&key).map_or(0, |i| i + 1) as u64;
        self.log.push(LogEvent::Trial {
            trial: self.log.next_trial(),
            candidate,
            score,
            examples: self.valset.len(),
            full: true,
            detail: self.params_detail(&params),
        });
        self.tpe.tell(params.clone(), score);
        if self.best.as_ref().is_none_or(|(b, _)| score > *b) {
            self.best = Some((score, StoredProgram(self.program_for(&params))));
            self.log.push(LogEvent::NewBest { candidate, score });
        }
    }

    /// Records a trial's scores; every `minibatch_full_eval_steps` trials (and after the
    /// last) issues the full evaluation of the combination with the best mean minibatch score
    /// not yet evaluated fully, as DSPy does.
    fn commit_trial(&mut self, trial: Trial, scores: &[f64]) {
        let score = mean(scores);
        self.trials_done += 1;
        let key = Self::key(&trial.params);
        let entry = self
            .combo_scores
            .entry(key.clone())
            .or_insert_with(|| (trial.params.clone(), Vec::new()));
        entry.1.push(score);
        if !self.minibatch {
            // Scored on the whole valset: one full trial.
            self.record_full(trial.params, score);
            return;
        }
        let candidate = self.combo_scores.get_index_of(&key).map_or(0, |i| i + 1) as u64;
        self.log.push(LogEvent::Trial {
            trial: self.log.next_trial(),
            candidate,
            score,
            examples: scores.len(),
            full: false,
            detail: self.params_detail(&trial.params),
        });
        self.tpe.tell(trial.params.clone(), score);
        let steps = self.config.minibatch_full_eval_steps.max(1);
        if !(self.trials_done.is_multiple_of(steps) || self.trials_done == self.num_trials) {
            return;
        }
        // DSPy's `get_program_with_highest_avg_score` over combinations not yet evaluated
        // fully (nor queued for it).
        let queued: Vec<String> = self
            .in_flight
            .iter()
            .filter_map(|f| match &f.kind {
                InFlightKind::Full { params } => Some(Self::key(params)),
                InFlightKind::Trial(_) | InFlightKind::Default => None,
            })
            .collect();
        let pick = self
            .combo_scores
            .iter()
            .filter(|(k, _)| !self.fully_evaluated.contains_key(*k) && !queued.contains(k))
            .map(|(_, (p, s))| (p.clone(), mean(s)))
            .fold(None::<(Vec<usize>, f64)>, |best, (p, m)| match best {
                Some((_, b)) if b >= m => best,
                _ => Some((p, m)),
            });
        if let Some((params, _)) = pick {
            let program = self.program_for(&params);
            let valset = self.valset.clone();
            self.issue(InFlightKind::Full { params }, &program, valset);
        }
    }

    fn finish(&mut self) {
        if !self.in_flight.is_empty() {
            return;
        }
        self.phase = Phase::Done;
        let score = self.best.as_ref().map(|b| b.0).unwrap_or(0.0);
        self.log.push(LogEvent::Note {
            message: format!(
                "MIPROv2 finished: {} trial(s), best full score {score:.4}",
                self.trials_done
            ),
        });
    }
}

impl Restore for MiproV2 {
    const NAME: &'static str = NAME;

    fn restore(state: Value) -> Result<Self, OptimizerError> {
        from_state(NAME, state)
    }
}

impl StepMachine for MiproV2 {
    fn book(&self) -> &JobBook {
        &self.book
    }

    fn book_mut(&mut self) -> &mut JobBook {
        &mut self.book
    }

    fn finished(&self) -> bool {
        self.failure.is_some() || self.phase == Phase::Done
    }

    fn advance(&mut self, results: Vec<JobResult>) -> Result<(), OptimizerError> {
        self.advance_step(results)
    }

    fn after_result(&mut self) {
        if self.search_started {
            self.commit_in_order();
        }
    }

    fn fail(&mut self, error: &OptimizerError) {
        self.failure = Some(error.to_string());
    }

    fn best_program(&self) -> Option<ProgramState> {
        self.best.as_ref().map(|(_, p)| p.0.clone())
    }

    fn run_log(&self) -> &RunLog {
        &self.log
    }
}
