//! `GEPA`: reflective prompt evolution (Agrawal et al., arXiv 2507.19457) — DSPy's `dspy.GEPA`
//! on the algorithm of the `gepa` package, with their parameters and defaults.
//!
//! A *candidate* maps each component (predictor name) to its instruction text. Starting from the
//! student's instructions, every iteration:
//!
//! 1. picks a parent (`candidate_selection_strategy`, gepa's selectors): by default from the
//!    **Pareto front** over per-instance validation scores (a candidate is drawn with
//!    probability proportional to the number of validation examples on which it is best, after
//!    removing dominated candidates); or the best candidate (`current_best`); or, with
//!    probability `epsilon`, a uniformly drawn one and else the best (`epsilon_greedy`); or
//!    from the front restricted to the `top_k` best candidates (`top_k_pareto`) — and a
//!    training minibatch (`reflection_minibatch_size`, epoch-shuffled);
//! 2. runs the parent on the minibatch with traces, and asks the **reflection LM** (the
//!    [`LmRole::Proposer`](crate::LmRole::Proposer) role, distinct from the task LM) to rewrite
//!    one component's instruction (`component_selector = "round_robin"`: in turn per candidate,
//!    a child inheriting its parent's turn) or every component's (`"all"`) from the inputs,
//!    outputs and the metric's **textual feedback** (DSPy's `ProposeInstruction` signature);
//! 3. runs the child on the same minibatch; if its sum of scores is strictly higher, scores it on
//!    the whole valset and adds it to the pool and the Pareto front.
//!
//! After an iteration that found a new candidate, a **merge** is scheduled (up to
//! `max_merge_invocations`): two Pareto-front candidates sharing an ancestor are combined
//! component by component, scored on five validation examples chosen where the parents differ,
//! and kept if they do at least as well as the better parent.
//!
//! The budget is counted in metric calls (one per example run), exactly as gepa counts them:
//! parent and child minibatches, merge subsamples and full validation runs. The run stops at the
//! start of the first iteration once the budget is spent — or once any of gepa's other stop
//! conditions holds: `timeout_secs`, `no_improvement_iterations`, `score_threshold`,
//! `max_candidates`, `stop_file`. The optimizer has no clock and reads no files: the driver
//! hands it the run's wall time and whether the stop file exists with
//! [`Optimizer::observe`](crate::Optimizer::observe) before each result, and the conditions
//! are checked against the latest of these. [`Gepa::stop_reason`] and the log say why the run
//! stopped. The best candidate is the one with the highest mean validation score;
//! [`Gepa::best_candidate`] returns its texts; with `track_best_outputs`,
//! [`Gepa::best_outputs`] holds each validation example's best outputs and the candidates
//! that produced them.
//!
//! # Concurrency
//!
//! Each phase of an iteration is one step of jobs. With `num_parallel_proposals = n > 1`, each
//! iteration samples `n` independent (parent, minibatch) tasks and runs their parent
//! evaluations, reflections and child evaluations together — gepa's own
//! `IndependentSampling(n)` strategy with its default `AllImprovements` selection. The default
//! (1) is gepa's and DSPy's sequential behaviour. With `overlap_full_evals`, iterations run as
//! a pipeline (see [`GepaConfig::overlap_full_evals`]): each step holds one iteration's
//! children, the next one's reflections and the one after's parents — one dependent hop per
//! iteration instead of three — while the seed and accepted candidates are scored on the
//! valset in the background, as [`deferred`](crate::Job::deferred) jobs the executor runs
//! after the pipeline's. Both modes read results only at fixed points, so a run does not
//! depend on the order results arrive in.
//!
//! # Deviations
//!
//! * The reflection prompt is DSPy 3.4's `ProposeInstruction` signature, rendered by the
//!   executor's adapter (DSPy renders it with its `JSONAdapter`).
//! * Random draws come from a seeded generator stored in the state, not Python's `random`, so
//!   runs are reproducible in hone but do not replay DSPy's exact choices.
//! * With `overlap_full_evals`, the stop conditions are checked when a pipelined iteration
//!   would begin, so they see the pool as it stands then (candidates still scored in the
//!   background are not in it yet).

mod advance;
mod config;
mod frontier;
mod iteration;
mod merge;
pub mod pareto;
mod pipeline;
mod pool;
pub mod reflective;
mod state;
mod stop;
#[cfg(test)]
mod tests;

use hone_core::Example;
use hone_core::state::ProgramState;
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::book::JobBook;
use crate::labeled::no_predictors;
use crate::log::{LogEvent, RunLog};
use crate::program::StoredProgram;
use crate::protocol::{CallSettings, JobExample, JobResult, OptimizerError, Split};
use crate::rng::OptRng;
use crate::steps::StepMachine;
use crate::steps::{self, Scored, eval_spec};
use merge::MergeHistory;
use pareto::ParetoFront;
use reflective::BatchSampler;
use state::{BackgroundEval, Child, Phase};
use stop::StopProgress;

pub use config::{
    AutoLevel, CandidateSelection, ComponentSelection, FrontierType, GepaBudget, GepaConfig,
    auto_budget,
};
pub use state::{BestOutput, GepaCandidate};
pub use stop::GepaStopReason;

const NAME: &str = "gepa";

/// DSPy's `GEPA` as a sans-IO [`Optimizer`](crate::Optimizer).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Gepa {
    optimizer: String,
    config: GepaConfig,
    student: StoredProgram,
    components: Vec<String>,
    trainset: Vec<JobExample>,
    valset: Vec<JobExample>,
    max_metric_calls: u64,
    metric_calls: u64,
    iteration: i64,
    programs: Vec<GepaCandidate>,
    front: ParetoFront,
    sampler: BatchSampler,
    merges_due: usize,
    merges_tested: usize,
    merge_history: MergeHistory,
    last_iter_found_new_program: bool,
    rng: OptRng,
    book: JobBook,
    phase: Phase,
    /// Background scorings in the order they started.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    backgrounds: Vec<BackgroundEval>,
    #[serde(default)]
    next_group: u64,
    /// The iteration whose results are being read, for log notes (pipeline).
    #[serde(skip)]
    noting: Option<i64>,
    /// Per validation example, the best outputs and their candidates (`track_best_outputs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    best_outputs: Option<Vec<Vec<BestOutput>>>,
    /// The stop conditions' progress and the reason the run stopped.
    #[serde(default)]
    stop: StopProgress,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    failure: Option<String>,
    log: RunLog,
}

impl Gepa {
    /// Starts optimizing `student`'s instructions: reflections on `trainset`, the Pareto front
    /// over `valset` (the trainset when `None`, as in DSPy).
    pub fn new(
        student: &ProgramState,
        trainset: &[Example],
        valset: Option<&[Example]>,
        config: GepaConfig,
    ) -> Result<Self, OptimizerError> {
        config.check().map_err(|message| OptimizerError::Config {
            optimizer: NAME,
            message,
        })?;
        if trainset.is_empty() {
            return Err(OptimizerError::Config {
                optimizer: NAME,
                message: "the trainset is empty; GEPA reflects on training examples".into(),
            });
        }
        if student.predictors.is_empty() {
            return Err(no_predictors(NAME));
        }
        let separate_val = valset.is_some_and(|v| !v.is_empty());
        let train = JobExample::dataset(Split::Train, trainset.iter().cloned());
        let val = match valset.filter(|v| !v.is_empty()) {
            Some(v) => JobExample::dataset(Split::Val, v.iter().cloned()),
            None => train.clone(),
        };
        let components: Vec<String> = student.predictors.keys().cloned().collect();
        let max_metric_calls = match config.budget {
            GepaBudget::Auto(level) => {
                auto_budget(components.len().max(1), level.candidates(), val.len())
            }
            GepaBudget::MaxFullEvals(n) => {
                n * (train.len() + if separate_val { val.len() } else { 0 }) as u64
            }
            GepaBudget::MaxMetricCalls(n) => n,
        };
        let best_outputs = config
            .track_best_outputs
            .then(|| vec![Vec::new(); val.len()]);
        let mut gepa = Gepa {
            optimizer: NAME.into(),
            rng: OptRng::new(config.seed),
            config,
            student: StoredProgram(student.clone()),
            components,
            front: ParetoFront::new(val.len()),
            best_outputs,
            trainset: train,
            valset: val,
            max_metric_calls,
            metric_calls: 0,
            iteration: -1,
            programs: Vec::new(),
            sampler: BatchSampler::new(),
            merges_due: 0,
            merges_tested: 0,
            merge_history: MergeHistory::default(),
            last_iter_found_new_program: false,
            book: JobBook::new(),
            phase: Phase::Done,
            backgrounds: Vec::new(),
            next_group: 0,
            noting: None,
            stop: StopProgress::default(),
            failure: None,
            log: RunLog::new(),
        };
        gepa.log.push(LogEvent::Note {
            message: format!(
                "GEPA: budget of {max_metric_calls} metric calls, {} component(s), {} training and \
                 {} validation example(s)",
                gepa.components.len(),
                gepa.trainset.len(),
                gepa.valset.len()
            ),
        });
        let seed: IndexMap<String, String> = student
            .predictors
            .iter()
            .map(|(k, p)| (k.clone(), p.signature.instructions.clone()))
            .collect();
        if gepa.config.overlap_full_evals && (gepa.valset.len() as u64) < gepa.max_metric_calls {
            gepa.begin_beside_seed(seed);
        } else {
            let program = gepa.program_for(&seed);
            let jobs = gepa.full_eval_jobs(&program, None);
            gepa.phase = Phase::SeedEval { jobs };
        }
        Ok(gepa)
    }

    /// With `overlap_full_evals`: the seed is the only possible parent of the first
    /// iterations, so the first iteration begins at once — its parent evaluations issued first,
    /// on the critical path — and the seed is scored on the valset in the background, joining
    /// the pool (as candidate 0) like any candidate scored there. gepa's budget check before
    /// the first iteration is the one made here: the seed's valset scoring leaves budget.
    fn begin_beside_seed(&mut self, texts: IndexMap<String, String>) {
        self.programs.push(GepaCandidate {
            texts: texts.clone(),
            parents: Vec::new(),
            val_scores: Vec::new(),
            val_objectives: Vec::new(),
            discovered_at: 0,
            next_component: 0,
        });
        self.count_iteration();
        self.start_reflective();
        let seed = Child {
            parent: 0,
            texts,
            minibatch: Vec::new(),
            before: Vec::new(),
            after: Vec::new(),
            merge: None,
            seed: true,
        };
        // It runs beside the first iteration.
        self.background_scoring(vec![seed], 1);
    }

    /// The settings.
    pub fn config(&self) -> &GepaConfig {
        &self.config
    }

    /// The budget in metric calls.
    pub fn max_metric_calls(&self) -> u64 {
        self.max_metric_calls
    }

    /// Metric calls spent so far (gepa's `total_num_evals`).
    pub fn metric_calls(&self) -> u64 {
        self.metric_calls
    }

    /// Every candidate of the pool, in discovery order (index 0 is the seed).
    pub fn candidates(&self) -> &[GepaCandidate] {
        &self.programs
    }

    /// The per-validation-instance Pareto front.
    pub fn pareto_front(&self) -> &ParetoFront {
        &self.front
    }

    /// With `track_best_outputs`, per validation example (in valset order) the best outputs
    /// any candidate produced there, with the candidates that produced them (several when
    /// they tie); `None` without it.
    pub fn best_outputs(&self) -> Option<&[Vec<BestOutput>]> {
        self.best_outputs.as_deref()
    }

    /// The index of the candidate with the highest mean validation score (ties: the earlier).
    pub fn best_index(&self) -> Option<usize> {
        let mut best: Option<(usize, f64)> = None;
        for (i, p) in self.programs.iter().enumerate() {
            let s = p.score();
            if best.is_none_or(|(_, b)| s > b) {
                best = Some((i, s));
            }
        }
        best.map(|(i, _)| i)
    }

    /// The best candidate's texts, component name → instruction (the student's before any
    /// candidate was scored).
    pub fn best_candidate(&self) -> IndexMap<String, String> {
        match self.best_index() {
            Some(i) => self.programs[i].texts.clone(),
            None => self
                .student
                .0
                .predictors
                .iter()
                .map(|(k, p)| (k.clone(), p.signature.instructions.clone()))
                .collect(),
        }
    }

    fn program_for(&self, texts: &IndexMap<String, String>) -> ProgramState {
        let mut program = self.student.0.clone();
        for (name, text) in texts {
            steps::set_instructions(&mut program, name, text);
        }
        program
    }

    /// Asks for `program`'s scores on the whole valset, one job per `eval_batch_size`
    /// examples — in the current step, or in background job group `background`; returns the
    /// number of jobs.
    fn full_eval_jobs(&mut self, program: &ProgramState, background: Option<u64>) -> usize {
        let batch = self.config.eval_batch_size.max(1);
        let chunks: Vec<Vec<JobExample>> = self.valset.chunks(batch).map(<[_]>::to_vec).collect();
        let n = chunks.len();
        for chunk in chunks {
            let spec = eval_spec(program, chunk, false, CallSettings::default());
            match background {
                Some(group) => self.book.create_deferred(group, spec),
                None => self.book.create(spec),
            };
        }
        n
    }

    fn scores_of(&self, outcomes: &[Scored]) -> Vec<f64> {
        outcomes
            .iter()
            .map(|o| {
                if o.error.is_some() {
                    self.config.failure_score
                } else {
                    o.score
                }
            })
            .collect()
    }

    /// The outcomes' predictions when best outputs are tracked (else none).
    fn outputs_of(&self, outcomes: &[Scored]) -> Vec<Option<hone_core::Prediction>> {
        if self.best_outputs.is_none() {
            return Vec::new();
        }
        outcomes.iter().map(|o| o.prediction.clone()).collect()
    }

    fn tracked_scores(&self) -> Vec<f64> {
        self.programs.iter().map(GepaCandidate::score).collect()
    }

    fn note(&mut self, message: String) {
        let iteration = self.noting.unwrap_or(self.iteration) + 1;
        self.log.push(LogEvent::Note {
            message: format!("iteration {iteration}: {message}"),
        });
    }

    fn collect_full(
        &self,
        results: &mut impl Iterator<Item = JobResult>,
        jobs: usize,
    ) -> Vec<Scored> {
        let batch = self.config.eval_batch_size.max(1);
        let mut all = Vec::with_capacity(self.valset.len());
        for chunk in self.valset.chunks(batch).take(jobs) {
            all.extend(steps::outcomes(next_output(results), chunk));
        }
        all
    }

    fn train_examples(&self, ids: &[usize]) -> Vec<JobExample> {
        ids.iter()
            .filter_map(|&i| self.trainset.get(i).cloned())
            .collect()
    }

    fn val_examples(&self, ids: &[usize]) -> Vec<JobExample> {
        ids.iter()
            .filter_map(|&i| self.valset.get(i).cloned())
            .collect()
    }
}

fn next_output(results: &mut impl Iterator<Item = JobResult>) -> crate::protocol::JobOutput {
    results
        .next()
        .map(|r| r.output)
        .unwrap_or(crate::protocol::JobOutput::Failed {
            error: "missing result".into(),
        })
}

impl StepMachine for Gepa {
    const NAME: &'static str = NAME;

    crate::steps::step_fields!();

    fn at_end(&self) -> bool {
        matches!(self.phase, Phase::Done)
    }

    fn advance(&mut self, results: Vec<JobResult>) -> Result<(), OptimizerError> {
        self.advance_step(results)
    }

    fn after_result(&mut self) {
        match self.phase {
            // Goes on if the scorings it waits for are in (else it waits again).
            Phase::Waiting => self.next_iteration(),
            Phase::Pipeline { blocked: true, .. } => {
                if let Phase::Pipeline { blocked, .. } = &mut self.phase {
                    *blocked = false;
                }
                self.begin_in_pipeline();
                self.pipeline_round();
            }
            _ => {}
        }
    }

    fn observe_signals(&mut self, signals: crate::protocol::RunSignals) {
        self.stop.signals = signals;
    }

    fn stop_file_path(&self) -> Option<&std::path::Path> {
        self.config.stop_file.as_deref()
    }

    fn best_program(&self) -> Option<ProgramState> {
        self.best_index()
            .map(|i| self.program_for(&self.programs[i].texts))
    }
}
