//! `GEPA`: reflective prompt evolution (Agrawal et al., arXiv 2507.19457) — DSPy's `dspy.GEPA`
//! on the algorithm of the `gepa` package, with their parameters and defaults.
//!
//! A *candidate* maps each component (predictor name) to its instruction text. Starting from the
//! student's instructions, every iteration:
//!
//! 1. picks a parent from the **Pareto front** over per-instance validation scores (a candidate
//!    is drawn with probability proportional to the number of validation examples on which it
//!    is best, after removing dominated candidates) and a training minibatch
//!    (`reflection_minibatch_size`, epoch-shuffled);
//! 2. runs the parent on the minibatch with traces, and asks the **reflection LM** (the
//!    [`LmRole::Proposer`](crate::LmRole::Proposer) role, distinct from the task LM) to rewrite
//!    one component's instruction (round robin over components) from the inputs, outputs and the
//!    metric's **textual feedback** (DSPy's `ProposeInstruction` signature);
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
//! start of the first iteration once the budget is spent. The best candidate is the one with the
//! highest mean validation score; [`Gepa::best_candidate`] returns its texts.
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

mod merge;
pub mod pareto;
pub mod reflective;

use hone_core::Example;
use hone_core::state::ProgramState;
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::book::JobBook;
use crate::labeled::no_predictors;
use crate::log::{LogEvent, RunLog};
use crate::program::StoredProgram;
use crate::protocol::{CallSettings, JobExample, JobResult, OptimizerError, Split};
use crate::restore::{Restore, from_state};
use crate::rng::OptRng;
use crate::steps::StepMachine;
use crate::steps::{
    self, Scored, eval_spec, mean, predict_failure, predict_spec, predictions, text_field,
};
use merge::{MergeHistory, MergeView, Merged, attempt_merge, merge_subsample};
use pareto::ParetoFront;
use reflective::{BatchSampler, propose_instruction_signature, reflection_inputs};

const NAME: &str = "gepa";

/// How much GEPA may spend: exactly one of DSPy's `auto`, `max_full_evals`, `max_metric_calls`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GepaBudget {
    /// DSPy's `auto`: the budget of a MIPROv2-like run with 6 (light), 12 (medium) or 18 (heavy)
    /// candidates, computed by DSPy's `auto_budget`.
    Auto(AutoLevel),
    /// Full evaluations: `max_full_evals × (|trainset| + |valset|)` metric calls (the valset
    /// counts only when given separately, as in DSPy).
    MaxFullEvals(u64),
    /// Metric calls (example runs).
    MaxMetricCalls(u64),
}

/// The `auto` presets shared by GEPA and MIPROv2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AutoLevel {
    /// 6 candidates.
    Light,
    /// 12 candidates.
    Medium,
    /// 18 candidates.
    Heavy,
}

impl AutoLevel {
    /// The number of candidates of the preset (DSPy's `AUTO_RUN_SETTINGS[auto]["n"]`).
    pub fn candidates(self) -> usize {
        match self {
            AutoLevel::Light => 6,
            AutoLevel::Medium => 12,
            AutoLevel::Heavy => 18,
        }
    }
}

/// DSPy's `GEPA.auto_budget`: metric calls of a run over `num_preds` components with
/// `num_candidates` candidates and a valset of `valset_size` (minibatches of 35, a full
/// evaluation every 5 trials).
pub fn auto_budget(num_preds: usize, num_candidates: usize, valset_size: usize) -> u64 {
    let (m, steps) = (35u64, 5u64);
    let n = num_candidates.max(1) as f64;
    let trials = (2.0 * (num_preds as f64 * 2.0) * n.log2()).max(1.5 * n) as u64;
    let v = valset_size as u64;
    let mut total = v + num_candidates as u64 * 5 + trials * m;
    if trials == 0 {
        return total;
    }
    let periodic = (trials + 1) / steps + 1;
    let extra = u64::from(trials < steps);
    total += (periodic + extra) * v;
    total
}

/// How the parent of a reflective mutation is chosen (DSPy's `candidate_selection_strategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum CandidateSelection {
    /// Sample from the per-instance Pareto front (default).
    #[default]
    Pareto,
    /// Always the candidate with the best mean validation score.
    CurrentBest,
}

/// Which components a reflective mutation rewrites (DSPy's `component_selector`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ComponentSelection {
    /// One component per mutation, in turn per candidate (default).
    #[default]
    RoundRobin,
    /// Every component at once.
    All,
}

/// Settings of [`Gepa`]: DSPy's parameters and defaults, plus hone's parallelism.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GepaConfig {
    /// The budget (DSPy requires exactly one of `auto`, `max_full_evals`, `max_metric_calls`;
    /// hone's default is `auto="light"`).
    pub budget: GepaBudget,
    /// Training examples per reflection (default 3).
    pub reflection_minibatch_size: usize,
    /// Parent selection (default Pareto).
    pub candidate_selection_strategy: CandidateSelection,
    /// Skip reflecting on a minibatch where the parent is already perfect (default true).
    pub skip_perfect_score: bool,
    /// The score counted as perfect (default 1.0).
    pub perfect_score: f64,
    /// Component selection (default round robin).
    pub component_selector: ComponentSelection,
    /// Try merges (default true).
    pub use_merge: bool,
    /// Merges accepted at most (default 5).
    pub max_merge_invocations: usize,
    /// Shared validation examples two candidates need before they are merged (gepa's
    /// `merge_val_overlap_floor`, default 5).
    pub merge_val_overlap_floor: usize,
    /// Score of an example whose program run or metric failed (default 0.0).
    pub failure_score: f64,
    /// Independent (parent, minibatch) proposals per iteration (default 1, DSPy's behaviour;
    /// larger values are gepa's `IndependentSampling(n)` and keep the LM busier).
    pub num_parallel_proposals: usize,
    /// Validation examples per evaluation job (default 16).
    pub eval_batch_size: usize,
    /// Pipeline the iterations and score candidates on the valset in the background (default
    /// false, DSPy's order).
    ///
    /// Iterations overlap, one per stage: while one evaluates its children, the next reflects
    /// and the one after evaluates its parents. A new iteration begins while the budget would
    /// remain if no child in flight were accepted, and no merge is due (a merge waits until
    /// the pipeline is empty). The seed and accepted candidates are scored on the valset in the
    /// background; they join the pool — and can become parents or merge partners — once three
    /// iterations have begun beside their scoring (a fixed point, whatever the scoring's
    /// speed), and the budget counts their metric calls from the start. The first iterations'
    /// parent is the seed, so the first iteration begins beside the seed's scoring. If accepted children's
    /// valset scoring spends the budget, the iterations begun beside them are dropped — their
    /// issued minibatch evaluations count as spent — and the run ends where gepa's sequential
    /// budget check ends it.
    pub overlap_full_evals: bool,
    /// Seed (default 0).
    pub seed: u64,
}

impl Default for GepaConfig {
    fn default() -> Self {
        GepaConfig {
            budget: GepaBudget::Auto(AutoLevel::Light),
            reflection_minibatch_size: 3,
            candidate_selection_strategy: CandidateSelection::Pareto,
            skip_perfect_score: true,
            perfect_score: 1.0,
            component_selector: ComponentSelection::RoundRobin,
            use_merge: true,
            max_merge_invocations: 5,
            merge_val_overlap_floor: 5,
            failure_score: 0.0,
            num_parallel_proposals: 1,
            eval_batch_size: 16,
            overlap_full_evals: false,
            seed: 0,
        }
    }
}

/// One candidate of the pool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GepaCandidate {
    /// Component name → instruction text.
    pub texts: IndexMap<String, String>,
    /// Indices of the candidates it came from (none for the seed; two for a merge).
    pub parents: Vec<usize>,
    /// Per-validation-example scores.
    pub val_scores: Vec<f64>,
    /// Metric calls spent when it was found.
    pub discovered_at: u64,
    next_component: usize,
}

impl GepaCandidate {
    /// The mean validation score.
    pub fn score(&self) -> f64 {
        mean(&self.val_scores)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Task {
    parent: usize,
    minibatch: Vec<usize>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Child {
    parent: usize,
    texts: IndexMap<String, String>,
    minibatch: Vec<usize>,
    before: Vec<f64>,
    #[serde(default)]
    after: Vec<f64>,
    #[serde(default)]
    merge: Option<(usize, usize, usize)>,
    /// The seed, scored in the background while the first iterations run.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    seed: bool,
}

/// Candidates scored on the valset in the background (`overlap_full_evals`): one group of
/// background jobs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct BackgroundEval {
    /// The job group in the book.
    group: u64,
    children: Vec<Child>,
    /// Jobs per candidate.
    jobs: Vec<usize>,
    /// Iterations started beside it.
    iterations_beside: usize,
}

/// What a reflective iteration waits for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "stage", rename_all = "snake_case")]
enum Stage {
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
struct Flight {
    /// Its iteration number.
    iteration: i64,
    /// The ids of its current stage's jobs.
    jobs: std::ops::Range<u64>,
    /// Metric calls it made so far (its parents' minibatches, once read).
    spent: u64,
    stage: Stage,
}

impl Flight {
    /// Metric calls of its current stage's jobs (issued, not read yet).
    fn calls_issued(&self) -> u64 {
        match &self.stage {
            Stage::Parents { tasks } => minibatch_calls(tasks),
            Stage::Reflect { .. } => 0,
            Stage::Children { children } => children.iter().map(|c| c.minibatch.len() as u64).sum(),
        }
    }

    /// Metric calls it makes at most from now on if none of its children is accepted: the
    /// issued ones, and each task's children on its minibatch.
    fn calls_to_come(&self) -> u64 {
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
const ITERATIONS_BESIDE_BACKGROUND: usize = 3;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
enum Phase {
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

/// DSPy's `GEPA` as a sans-IO [`Optimizer`].
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
        let mut gepa = Gepa {
            optimizer: NAME.into(),
            rng: OptRng::new(config.seed),
            config,
            student: StoredProgram(student.clone()),
            components,
            front: ParetoFront::new(val.len()),
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

    fn tracked_scores(&self) -> Vec<f64> {
        self.programs.iter().map(GepaCandidate::score).collect()
    }

    /// Adds a scored candidate to the pool (a seed already in it, scored in the background,
    /// gets its scores) and returns its index.
    fn add_program(&mut self, child: &Child, val_scores: Vec<f64>) -> usize {
        let parents: Vec<usize> = match child.merge {
            Some((a, b, _)) => vec![a, b],
            None if self.programs.is_empty() || child.seed => Vec::new(),
            None => vec![child.parent],
        };
        let next_component = parents
            .iter()
            .filter_map(|&p| self.programs.get(p).map(|c| c.next_component))
            .max()
            .unwrap_or(0);
        let previous_best = if child.seed {
            None
        } else {
            self.best_index().map(|i| self.programs[i].score())
        };
        let index = if child.seed { 0 } else { self.programs.len() };
        self.front.add(index, &val_scores);
        let score = mean(&val_scores);
        let trial = self.log.next_trial();
        self.log.push(LogEvent::Trial {
            trial,
            candidate: index as u64,
            score,
            examples: val_scores.len(),
            full: true,
            detail: json!({"parents": parents, "texts": child.texts, "metric_calls": self.metric_calls}),
        });
        if previous_best.is_none_or(|b| score > b) {
            self.log.push(LogEvent::NewBest {
                candidate: index as u64,
                score,
            });
        }
        if child.seed && !self.programs.is_empty() {
            let seed = &mut self.programs[0];
            seed.val_scores = val_scores;
            seed.discovered_at = self.metric_calls;
            return 0;
        }
        self.programs.push(GepaCandidate {
            texts: child.texts.clone(),
            parents,
            val_scores,
            discovered_at: self.metric_calls,
            next_component,
        });
        index
    }

    fn advance_step(&mut self, results: Vec<JobResult>) -> Result<(), OptimizerError> {
        let phase = std::mem::replace(&mut self.phase, Phase::Done);
        let mut results = results.into_iter();
        match phase {
            Phase::SeedEval { jobs } => {
                let outcomes = self.collect_full(&mut results, jobs);
                let scores = self.scores_of(&outcomes);
                self.metric_calls += scores.len() as u64;
                let seed = Child {
                    parent: 0,
                    texts: self.best_candidate(),
                    minibatch: Vec::new(),
                    before: Vec::new(),
                    after: Vec::new(),
                    merge: None,
                    seed: false,
                };
                self.add_program(&seed, scores);
                self.next_iteration();
            }
            Phase::MergeEval { child, parent_sums } => {
                let examples = self.val_examples(&child.minibatch);
                let outcomes = steps::outcomes(next_output(&mut results), &examples);
                let after = self.scores_of(&outcomes);
                self.metric_calls += after.len() as u64;
                let new_sum: f64 = after.iter().sum();
                let merged_id = self.log.next_trial();
                self.log.push(LogEvent::Trial {
                    trial: merged_id,
                    candidate: self.programs.len() as u64,
                    score: mean(&after),
                    examples: after.len(),
                    full: false,
                    detail: json!({"merge": child.merge, "parent_sums": [parent_sums.0, parent_sums.1]}),
                });
                if new_sum >= parent_sums.0.max(parent_sums.1) {
                    let child = Child { after, ..child };
                    self.score_candidates(vec![child]);
                } else {
                    self.log.push(LogEvent::Note {
                        message: format!(
                            "iteration {}: merged candidate scored {new_sum} on its subsample, \
                             below its parents {parent_sums:?}; skipping the merge",
                            self.iteration + 1
                        ),
                    });
                    self.start_reflective();
                }
            }
            Phase::Iteration { stage } => {
                let next = match stage {
                    Stage::Parents { tasks } => self.reflect_on_parents(tasks, &mut results),
                    Stage::Reflect {
                        tasks,
                        before,
                        calls,
                    } => {
                        let children =
                            self.children_of_reflections(tasks, before, calls, &mut results);
                        (!children.is_empty()).then_some(Stage::Children { children })
                    }
                    Stage::Children { children } => {
                        let accepted = self.judge_children(children, &mut results);
                        if !accepted.is_empty() {
                            self.score_candidates(accepted);
                            return Ok(());
                        }
                        None
                    }
                };
                match next {
                    Some(stage) => self.phase = Phase::Iteration { stage },
                    None => self.next_iteration(),
                }
            }
            Phase::Pipeline {
                flights,
                mut held,
                blocked,
            } => {
                held.extend(results);
                self.phase = Phase::Pipeline {
                    flights,
                    held,
                    blocked,
                };
                self.pipeline_round();
            }
            Phase::FullEval { children, jobs } => {
                self.add_scored(children, jobs, &mut results);
                self.next_iteration();
            }
            Phase::Waiting => self.phase = Phase::Waiting,
            Phase::Done => {}
        }
        Ok(())
    }

    /// Reads the reflections (next in `results`) and asks for the children's evaluations on
    /// their parents' minibatches; returns the children.
    fn children_of_reflections(
        &mut self,
        tasks: Vec<Task>,
        before: Vec<Vec<f64>>,
        calls: Vec<(usize, String)>,
        results: &mut impl Iterator<Item = JobResult>,
    ) -> Vec<Child> {
        let mut texts: Vec<Option<IndexMap<String, String>>> =
            vec![Some(IndexMap::new()); tasks.len()];
        for (task, component) in calls {
            let Some(result) = results.next() else { break };
            let proposal = predictions(&result.output)
                .first()
                .and_then(|p| text_field(p, "new_instruction"));
            match proposal {
                Some(text) => {
                    self.log.push(LogEvent::Proposal {
                        predictor: component.clone(),
                        text: text.clone(),
                        source: "reflection".into(),
                    });
                    if let Some(Some(map)) = texts.get_mut(task) {
                        map.insert(component, text);
                    }
                }
                None => {
                    // DSPy's proposer raises on an empty instruction, failing the task.
                    let why = predict_failure(&result.output);
                    self.note(format!(
                        "reflection for component `{component}` produced no instruction \
                         ({why}); dropping the proposal"
                    ));
                    texts[task] = None;
                }
            }
        }
        let mut children = Vec::new();
        for ((task, before), new_texts) in tasks.into_iter().zip(before).zip(texts) {
            let Some(new_texts) = new_texts.filter(|t| !t.is_empty()) else {
                continue;
            };
            let mut child_texts = self.programs[task.parent].texts.clone();
            for (k, v) in new_texts {
                child_texts.insert(k, v);
            }
            let program = self.program_for(&child_texts);
            let examples = self.train_examples(&task.minibatch);
            self.book.create(eval_spec(
                &program,
                examples,
                false,
                CallSettings::default(),
            ));
            children.push(Child {
                parent: task.parent,
                texts: child_texts,
                minibatch: task.minibatch,
                before,
                after: Vec::new(),
                merge: None,
                seed: false,
            });
        }
        children
    }

    /// Reads the children's minibatch results (next in `results`) and returns those that
    /// improved on their parents and are not candidates yet.
    fn judge_children(
        &mut self,
        children: Vec<Child>,
        results: &mut impl Iterator<Item = JobResult>,
    ) -> Vec<Child> {
        let mut accepted: Vec<Child> = Vec::new();
        // Candidates scored in the background come first (the seed is in the pool already).
        let waiting: usize = self
            .backgrounds
            .iter()
            .flat_map(|b| &b.children)
            .filter(|c| !c.seed)
            .count();
        for mut child in children {
            let examples = self.train_examples(&child.minibatch);
            let outcomes = steps::outcomes(next_output(results), &examples);
            child.after = self.scores_of(&outcomes);
            self.metric_calls += child.after.len() as u64;
            let (old, new): (f64, f64) = (child.before.iter().sum(), child.after.iter().sum());
            let trial = self.log.next_trial();
            self.log.push(LogEvent::Trial {
                trial,
                candidate: (self.programs.len() + waiting + accepted.len()) as u64,
                score: mean(&child.after),
                examples: child.after.len(),
                full: false,
                detail: json!({
                    "parent": child.parent,
                    "minibatch": child.minibatch,
                    "parent_score": mean(&child.before),
                    "accepted": new > old,
                }),
            });
            let known = self.programs.iter().any(|p| p.texts == child.texts)
                || self
                    .backgrounds
                    .iter()
                    .any(|b| b.children.iter().any(|c| c.texts == child.texts));
            if new > old && known {
                self.note(format!(
                    "the improved proposal from parent {} is already a candidate; not scoring \
                     it again",
                    child.parent
                ));
            }
            let duplicate = known || accepted.iter().any(|c| c.texts == child.texts);
            if new > old && !duplicate {
                accepted.push(child);
            }
        }
        accepted
    }

    /// Reads the pipeline's results once every iteration in flight has its stage's results
    /// (and no new iteration waits to begin), oldest iteration first: judges the oldest one's
    /// children, turns reflections into children and parents' evaluations into reflections;
    /// then begins the next iteration. Iterations always advance together, so a run does not
    /// depend on the order results arrive in.
    ///
    /// gepa checks the budget before each iteration, after the previous one's candidates are
    /// scored. Here the younger iterations began before that: when accepted children's valset
    /// scoring spends the budget — counting what the iterations before them spent, not the
    /// younger ones — the younger iterations are dropped, their issued minibatch evaluations
    /// counted as spent, and the run ends where gepa's would.
    fn pipeline_round(&mut self) {
        let (flights, mut held) = match std::mem::replace(&mut self.phase, Phase::Done) {
            Phase::Pipeline {
                flights,
                held,
                blocked: false,
            } if flights
                .iter()
                .all(|f| f.jobs.clone().all(|id| held.iter().any(|r| r.id.0 == id))) =>
            {
                (flights, held)
            }
            other => {
                self.phase = other;
                return;
            }
        };
        held.sort_by_key(|r| r.id.0);
        let mut next: Vec<Flight> = Vec::new();
        let mut flights = flights.into_iter();
        while let Some(flight) = flights.next() {
            let (results, rest): (Vec<JobResult>, Vec<JobResult>) = std::mem::take(&mut held)
                .into_iter()
                .partition(|r| flight.jobs.contains(&r.id.0));
            held = rest;
            let mut results = results.into_iter();
            self.noting = Some(flight.iteration);
            let first = self.book.next_id();
            match flight.stage {
                Stage::Parents { tasks } => {
                    let before = self.metric_calls;
                    let stage = self.reflect_on_parents(tasks, &mut results);
                    let spent = flight.spent + self.metric_calls - before;
                    if let Some(stage) = stage {
                        next.push(Flight {
                            iteration: flight.iteration,
                            jobs: first..self.book.next_id(),
                            spent,
                            stage,
                        });
                    }
                }
                Stage::Reflect {
                    tasks,
                    before,
                    calls,
                } => {
                    let children = self.children_of_reflections(tasks, before, calls, &mut results);
                    if !children.is_empty() {
                        next.push(Flight {
                            iteration: flight.iteration,
                            jobs: first..self.book.next_id(),
                            spent: flight.spent,
                            stage: Stage::Children { children },
                        });
                    }
                }
                Stage::Children { children } => {
                    let younger: Vec<Flight> = flights.by_ref().collect();
                    let accepted = self.judge_children(children, &mut results);
                    if !accepted.is_empty() {
                        self.background_scoring(accepted, younger.len());
                    }
                    let younger_spent: u64 = younger.iter().map(|f| f.spent).sum();
                    let before_younger = self.metric_calls - younger_spent;
                    if !younger.is_empty()
                        && before_younger + self.background_calls() >= self.max_metric_calls
                    {
                        let issued: u64 = younger.iter().map(Flight::calls_issued).sum();
                        self.note(format!(
                            "the budget is spent; dropping the {} iteration(s) begun beside \
                             this one ({} metric call(s) of their evaluations)",
                            younger.len(),
                            younger_spent + issued
                        ));
                        self.metric_calls += issued;
                        self.iteration -= younger.len() as i64;
                        // Their results still due are ignored.
                        break;
                    }
                    flights = younger.into_iter();
                }
            }
        }
        self.noting = None;
        self.phase = Phase::Pipeline {
            flights: next,
            held: Vec::new(),
            blocked: false,
        };
        self.begin_in_pipeline();
    }

    /// Begins the next iteration in the pipeline when the budget would remain even if no
    /// child in flight were accepted, no merge is due, and no iteration in flight is still
    /// at its parents; waits (blocked) for a background scoring due before it. When none can
    /// begin and none is in flight, goes on as gepa's loop does.
    fn begin_in_pipeline(&mut self) {
        let Phase::Pipeline { flights, .. } = &self.phase else {
            return;
        };
        if flights
            .iter()
            .any(|f| matches!(f.stage, Stage::Parents { .. }))
        {
            return;
        }
        let idle = flights.is_empty();
        let to_come: u64 = flights.iter().map(Flight::calls_to_come).sum();
        if self.metric_calls + self.background_calls() + to_come >= self.max_metric_calls {
            if idle {
                self.next_iteration();
            }
            return;
        }
        if !self.absorb_due(false) {
            if let Phase::Pipeline { blocked, .. } = &mut self.phase {
                *blocked = true;
            }
            return;
        }
        if self.merge_due() {
            if idle {
                self.next_iteration();
            }
            return;
        }
        self.count_iteration();
        self.last_iter_found_new_program = false;
        let first = self.book.next_id();
        let tasks = self.reflective_tasks();
        let flight = Flight {
            iteration: self.iteration,
            jobs: first..self.book.next_id(),
            spent: 0,
            stage: Stage::Parents { tasks },
        };
        if let Phase::Pipeline {
            flights, blocked, ..
        } = &mut self.phase
        {
            flights.push(flight);
            *blocked = false;
        }
    }

    /// Adds candidates scored on the valset (their results next in `results`) to the pool.
    fn add_scored(
        &mut self,
        children: Vec<Child>,
        jobs: Vec<usize>,
        results: &mut impl Iterator<Item = JobResult>,
    ) {
        let mut reflective_accepted = false;
        for (child, n) in children.into_iter().zip(jobs) {
            let outcomes = self.collect_full(results, n);
            let scores = self.scores_of(&outcomes);
            self.metric_calls += scores.len() as u64;
            self.add_program(&child, scores);
            if child.seed {
                continue;
            }
            if child.merge.is_some() {
                self.merges_due = self.merges_due.saturating_sub(1);
                self.merges_tested += 1;
            } else {
                reflective_accepted = true;
                if self.config.use_merge && self.merges_tested < self.config.max_merge_invocations {
                    self.merges_due += 1;
                }
            }
        }
        if reflective_accepted {
            self.last_iter_found_new_program = true;
        }
    }

    /// Scores accepted candidates on the valset: in this step (DSPy's order), or with
    /// `overlap_full_evals` in the background while the next iteration runs.
    fn score_candidates(&mut self, children: Vec<Child>) {
        if !self.config.overlap_full_evals {
            let mut jobs = Vec::new();
            for child in &children {
                let program = self.program_for(&child.texts);
                jobs.push(self.full_eval_jobs(&program, None));
            }
            self.phase = Phase::FullEval { children, jobs };
            return;
        }
        self.background_scoring(children, 0);
        self.next_iteration();
    }

    /// Scores `children` on the valset in a new background group, `iterations_beside`
    /// iterations having begun beside it already.
    fn background_scoring(&mut self, children: Vec<Child>, iterations_beside: usize) {
        let group = self.next_group;
        self.next_group += 1;
        let mut jobs = Vec::new();
        for child in &children {
            let program = self.program_for(&child.texts);
            jobs.push(self.full_eval_jobs(&program, Some(group)));
        }
        self.backgrounds.push(BackgroundEval {
            group,
            children,
            jobs,
            iterations_beside,
        });
    }

    /// Adds the background scorings that are due — all of them with `all`, else those that ran
    /// beside [`ITERATIONS_BESIDE_BACKGROUND`] iterations — to the pool, oldest first; `false`
    /// when one of them is still running (the ones before it are in).
    fn absorb_due(&mut self, all: bool) -> bool {
        while let Some(first) = self.backgrounds.first() {
            if !all && first.iterations_beside < ITERATIONS_BESIDE_BACKGROUND {
                return true;
            }
            if !self.book.background_complete(first.group) {
                return false;
            }
            let BackgroundEval {
                group,
                children,
                jobs,
                ..
            } = self.backgrounds.remove(0);
            let results = self.book.take_background(group);
            self.add_scored(children, jobs, &mut results.into_iter());
        }
        true
    }

    /// Metric calls the background scorings will make.
    fn background_calls(&self) -> u64 {
        self.backgrounds
            .iter()
            .map(|b| (b.children.len() * self.valset.len()) as u64)
            .sum()
    }

    /// Reads the parents' minibatch results and asks for reflections; `None` when there is
    /// nothing to reflect on.
    fn reflect_on_parents(
        &mut self,
        tasks: Vec<Task>,
        results: &mut impl Iterator<Item = JobResult>,
    ) -> Option<Stage> {
        let mut kept = Vec::new();
        let mut before = Vec::new();
        let mut calls = Vec::new();
        for task in tasks {
            let examples = self.train_examples(&task.minibatch);
            let outcomes = steps::outcomes(next_output(results), &examples);
            self.metric_calls += outcomes.len() as u64;
            let scores = self.scores_of(&outcomes);
            if outcomes.iter().all(|o| o.trace.is_empty()) {
                self.note(format!(
                    "no trajectories for parent {}; skipping",
                    task.parent
                ));
                continue;
            }
            if self.config.skip_perfect_score
                && scores.iter().all(|&s| s >= self.config.perfect_score)
            {
                self.note(format!(
                    "all subsample scores perfect for parent {}; skipping",
                    task.parent
                ));
                continue;
            }
            let components = self.select_components(task.parent);
            let parent_texts = self.programs[task.parent].texts.clone();
            let index = kept.len();
            let mut any = false;
            for component in components {
                let items = reflective::reflective_examples(&component, &outcomes, &mut self.rng);
                if items.is_empty() {
                    self.note(format!(
                        "no reflective examples for component `{component}` of candidate {}",
                        task.parent
                    ));
                    continue;
                }
                let current = parent_texts.get(&component).cloned().unwrap_or_default();
                self.book.create(predict_spec(
                    "gepa_reflection",
                    propose_instruction_signature(),
                    reflection_inputs(&current, &items),
                    1,
                    CallSettings::default(),
                ));
                calls.push((index, component));
                any = true;
            }
            if any {
                kept.push(task);
                before.push(scores);
            }
        }
        (!calls.is_empty()).then_some(Stage::Reflect {
            tasks: kept,
            before,
            calls,
        })
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

    fn select_components(&mut self, parent: usize) -> Vec<String> {
        match self.config.component_selector {
            ComponentSelection::All => self.components.clone(),
            ComponentSelection::RoundRobin => {
                let n = self.components.len().max(1);
                let program = &mut self.programs[parent];
                let pid = program.next_component % n;
                program.next_component = (pid + 1) % n;
                self.components.get(pid).cloned().into_iter().collect()
            }
        }
    }

    fn select_parent(&mut self) -> usize {
        if self.programs.len() <= 1 {
            // The seed (perhaps still scored in the background) is the only candidate.
            return 0;
        }
        let scores = self.tracked_scores();
        match self.config.candidate_selection_strategy {
            CandidateSelection::CurrentBest => self.best_index().unwrap_or(0),
            CandidateSelection::Pareto => self
                .front
                .sample(&scores, &mut self.rng)
                .or_else(|| self.best_index())
                .unwrap_or(0),
        }
    }

    /// The start of gepa's loop body, once candidates scored in the background (if any) have
    /// joined the pool.
    fn next_iteration(&mut self) {
        let spent = self.metric_calls + self.background_calls() >= self.max_metric_calls;
        if !self.absorb_due(spent) {
            self.phase = Phase::Waiting;
            return;
        }
        self.begin_iteration();
    }

    /// The loop body proper: the budget check (counting the background scorings' calls), a
    /// scheduled merge, or a reflective mutation. Candidates still scored in the background
    /// are not in the pool yet.
    fn begin_iteration(&mut self) {
        if self.metric_calls + self.background_calls() >= self.max_metric_calls {
            // The budget is spent: the background candidates join the pool, then the run ends.
            if self.absorb_due(true) {
                self.finish();
            } else {
                self.phase = Phase::Waiting;
            }
            return;
        }
        self.count_iteration();
        if self.merge_due() {
            self.last_iter_found_new_program = false;
            if let Some(merged) = self.propose_merge() {
                let id1 = merged.id1;
                let id2 = merged.id2;
                let subsample = merge_subsample(
                    &self.programs[id1].val_scores,
                    &self.programs[id2].val_scores,
                    5,
                    &mut self.rng,
                );
                if !subsample.is_empty() {
                    self.merge_history
                        .triplets
                        .push((id1, id2, merged.ancestor));
                    let sums = (
                        subsample
                            .iter()
                            .map(|&i| self.programs[id1].val_scores[i])
                            .sum(),
                        subsample
                            .iter()
                            .map(|&i| self.programs[id2].val_scores[i])
                            .sum(),
                    );
                    for (name, text) in &merged.candidate {
                        if self.programs[id1].texts.get(name) != Some(text)
                            || self.programs[id2].texts.get(name) != Some(text)
                        {
                            self.log.push(LogEvent::Proposal {
                                predictor: name.clone(),
                                text: text.clone(),
                                source: "merge".into(),
                            });
                        }
                    }
                    self.note(format!(
                        "merging candidates {id1} and {id2} via ancestor {}",
                        merged.ancestor
                    ));
                    let program = self.program_for(&merged.candidate);
                    let examples = self.val_examples(&subsample);
                    self.book.create(eval_spec(
                        &program,
                        examples,
                        false,
                        CallSettings::default(),
                    ));
                    self.phase = Phase::MergeEval {
                        child: Child {
                            parent: id1,
                            texts: merged.candidate,
                            minibatch: subsample,
                            before: Vec::new(),
                            after: Vec::new(),
                            merge: Some((id1, id2, merged.ancestor)),
                            seed: false,
                        },
                        parent_sums: sums,
                    };
                    return;
                }
            } else {
                self.note("no merge candidates found".into());
            }
        }
        self.last_iter_found_new_program = false;
        self.start_reflective();
    }

    /// Counts a new iteration, which also runs beside every background scoring.
    fn count_iteration(&mut self) {
        self.iteration += 1;
        for background in &mut self.backgrounds {
            background.iterations_beside += 1;
        }
    }

    /// Whether the iteration about to begin is a merge attempt (gepa schedules one after an
    /// iteration that found a new program, while merges are due).
    fn merge_due(&self) -> bool {
        self.config.use_merge && self.merges_due > 0 && self.last_iter_found_new_program
    }

    fn propose_merge(&mut self) -> Option<Merged> {
        let scores = self.tracked_scores();
        let pool = self.front.dominators(&scores);
        let floor = self.config.merge_val_overlap_floor;
        let val_len = self.valset.len();
        let view = MergeView {
            candidates: self.programs.iter().map(|p| &p.texts).collect(),
            parents: self.programs.iter().map(|p| p.parents.as_slice()).collect(),
            scores: &scores,
        };
        // Every candidate is scored on the whole valset, so any two share all of it.
        let overlap = move |_: usize, _: usize| val_len >= floor;
        attempt_merge(
            &view,
            &pool,
            &mut self.merge_history,
            &mut self.rng,
            &overlap,
        )
    }

    /// Begins the reflective part of the current iteration: in the pipeline with
    /// `overlap_full_evals`, else step by step.
    fn start_reflective(&mut self) {
        let first = self.book.next_id();
        let tasks = self.reflective_tasks();
        self.phase = if self.config.overlap_full_evals {
            Phase::Pipeline {
                flights: vec![Flight {
                    iteration: self.iteration,
                    jobs: first..self.book.next_id(),
                    spent: 0,
                    stage: Stage::Parents { tasks },
                }],
                held: Vec::new(),
                blocked: false,
            }
        } else {
            Phase::Iteration {
                stage: Stage::Parents { tasks },
            }
        };
    }

    /// Picks the parents and minibatches of a reflective iteration and asks for their
    /// evaluations (with traces).
    fn reflective_tasks(&mut self) -> Vec<Task> {
        let n = self.config.num_parallel_proposals.max(1);
        let mut tasks = Vec::with_capacity(n);
        for k in 0..n {
            let parent = self.select_parent();
            // Proposal k of iteration i takes the sampler's slice i·n + k: gepa's slice i when
            // n = 1, and minibatches no other proposal of any iteration shares otherwise.
            let slice = self.iteration.max(0) * n as i64 + k as i64;
            let minibatch = self.sampler.next(
                self.trainset.len(),
                self.config.reflection_minibatch_size,
                slice,
                &mut self.rng,
            );
            let program = self.program_for(&self.programs[parent].texts);
            let examples = self.train_examples(&minibatch);
            self.book
                .create(eval_spec(&program, examples, true, CallSettings::default()));
            tasks.push(Task { parent, minibatch });
        }
        tasks
    }

    fn finish(&mut self) {
        self.phase = Phase::Done;
        let best = self.best_index();
        self.log.push(LogEvent::Note {
            message: format!(
                "GEPA finished after {} iteration(s) and {} metric call(s): {} candidate(s), best \
                 #{} with {:.4}",
                self.iteration + 1,
                self.metric_calls,
                self.programs.len(),
                best.unwrap_or(0),
                best.map(|i| self.programs[i].score()).unwrap_or(0.0)
            ),
        });
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

impl Restore for Gepa {
    const NAME: &'static str = NAME;

    fn restore(state: Value) -> Result<Self, OptimizerError> {
        from_state(NAME, state)
    }
}

impl StepMachine for Gepa {
    fn book(&self) -> &JobBook {
        &self.book
    }

    fn book_mut(&mut self) -> &mut JobBook {
        &mut self.book
    }

    fn finished(&self) -> bool {
        self.failure.is_some() || matches!(self.phase, Phase::Done)
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

    fn fail(&mut self, error: &OptimizerError) {
        self.failure = Some(error.to_string());
    }

    fn best_program(&self) -> Option<ProgramState> {
        self.best_index()
            .map(|i| self.program_for(&self.programs[i].texts))
    }

    fn run_log(&self) -> &RunLog {
        &self.log
    }
}
