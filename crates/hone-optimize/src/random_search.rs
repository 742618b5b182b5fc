//! `BootstrapFewShotWithRandomSearch`: several candidate programs, each scored on the valset;
//! the best one wins — DSPy's `dspy.BootstrapFewShotWithRandomSearch`, with its parameters and
//! defaults.
//!
//! The candidates are DSPy's, by seed:
//!
//! * `-3` — the zero-shot student (no demos);
//! * `-2` — labeled demos only (`LabeledFewShot(k=max_labeled_demos)`);
//! * `-1` — `BootstrapFewShot` on the trainset in its order, up to `max_bootstrapped_demos`;
//! * `0..num_candidate_programs` — `BootstrapFewShot` on the trainset shuffled with
//!   `random.Random(seed)`, with a size drawn by `random.Random(seed).randint(1,
//!   max_bootstrapped_demos)`.
//!
//! # Concurrency
//!
//! DSPy builds and scores candidates one after another. Here every candidate's bootstrap starts
//! at once, and each candidate's evaluation starts as soon as its demos are ready, so the
//! executor always has work from many candidates. Candidates are then *settled* in seed order
//! exactly as DSPy's loop visits them: a candidate becomes the best only if its score (DSPy's
//! percentage rounded to two decimals) is strictly higher than every earlier one's, so ties go to
//! the earlier seed; `stop_at_score` ends the search at the first candidate, in seed order,
//! reaching it. Work already done for later candidates is then discarded — the price of not
//! waiting; without `stop_at_score` nothing is wasted.

use std::collections::{BTreeMap, HashMap};

use hone_core::Example;
use hone_core::state::ProgramState;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::bootstrap::{BootstrapConfig, BootstrapRun, Ctx, Teacher};
use crate::eval_run::{EvalRun, EvalScore};
use crate::labeled::{LabeledFewShotConfig, labeled_few_shot, no_predictors};
use crate::log::{LogEvent, RunLog};
use crate::program::{StoredProgram, reset_copy};
use crate::protocol::{
    CallSettings, Job, JobExample, JobId, JobResult, LmRole, Optimizer, OptimizerError, Split, Told,
};
use crate::pyrandom::PyRandom;
use crate::restore::{Restore, from_state, to_state};
use crate::stats::round_percent;

const NAME: &str = "bootstrap_few_shot_with_random_search";

/// Settings of [`BootstrapFewShotWithRandomSearch`]: DSPy's parameters and defaults, plus the
/// wave and batch sizes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RandomSearchConfig {
    /// See [`BootstrapConfig::metric_threshold`].
    pub metric_threshold: Option<f64>,
    /// See [`BootstrapConfig::teacher`].
    pub teacher: Option<Teacher>,
    /// See [`BootstrapConfig::teacher_lm`].
    pub teacher_lm: LmRole,
    /// See [`BootstrapConfig::teacher_settings`].
    pub teacher_settings: CallSettings,
    /// The largest bootstrap size drawn for a candidate (default 4); candidate `-1` uses it.
    pub max_bootstrapped_demos: usize,
    /// See [`BootstrapConfig::max_labeled_demos`] (default 16).
    pub max_labeled_demos: usize,
    /// See [`BootstrapConfig::max_rounds`] (default 1).
    pub max_rounds: usize,
    /// Shuffled bootstrap candidates, besides the three fixed ones (default 16).
    pub num_candidate_programs: usize,
    /// Program or metric failures allowed per bootstrap and per evaluation before the search
    /// stops with an error (`None`: DSPy's default of 10).
    pub max_errors: Option<usize>,
    /// Stop at the first candidate (in seed order) whose mean score in `[0, 1]` reaches this.
    /// DSPy compares its percentage here; hone takes the fraction.
    pub stop_at_score: Option<f64>,
    /// Candidate `-2` samples its labeled demos (`true`, default) or takes the first ones.
    pub labeled_sample: bool,
    /// Only these candidate seeds (DSPy's `restrict`).
    pub restrict: Option<Vec<i64>>,
    /// See [`BootstrapConfig::wave_size`].
    pub wave_size: Option<usize>,
    /// Valset examples per evaluation job (default 16). Smaller batches spread better over
    /// remote workers and lose less work on a crash; the in-process executor runs a batch's
    /// examples concurrently either way.
    pub eval_batch_size: usize,
    /// Added to the shuffled candidates' seeds, and the seed of the labeled samplers (0, as in
    /// DSPy, reproduces DSPy's candidates).
    pub seed: i64,
}

impl Default for RandomSearchConfig {
    fn default() -> Self {
        RandomSearchConfig {
            metric_threshold: None,
            teacher: None,
            teacher_lm: LmRole::Task,
            teacher_settings: CallSettings::default(),
            max_bootstrapped_demos: 4,
            max_labeled_demos: 16,
            max_rounds: 1,
            num_candidate_programs: 16,
            max_errors: None,
            stop_at_score: None,
            labeled_sample: true,
            restrict: None,
            wave_size: None,
            eval_batch_size: 16,
            seed: 0,
        }
    }
}

impl RandomSearchConfig {
    fn bootstrap_config(&self) -> BootstrapConfig {
        BootstrapConfig {
            metric_threshold: self.metric_threshold,
            teacher: self.teacher.clone(),
            teacher_lm: self.teacher_lm,
            teacher_settings: self.teacher_settings.clone(),
            max_bootstrapped_demos: self.max_bootstrapped_demos,
            max_labeled_demos: self.max_labeled_demos,
            max_rounds: self.max_rounds,
            max_errors: self.max_errors,
            wave_size: self.wave_size,
            seed: self.seed,
        }
    }
}

/// A scored candidate, as [`BootstrapFewShotWithRandomSearch::candidates`] lists it (DSPy's
/// `candidate_programs`).
#[derive(Debug, Clone, PartialEq)]
pub struct CandidateProgram {
    /// DSPy's seed (`-3` zero-shot, `-2` labeled, `-1` unshuffled bootstrap, `0..` shuffled).
    pub seed: i64,
    /// The program.
    pub program: ProgramState,
    /// Its evaluation on the valset.
    pub score: EvalScore,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Stage {
    Bootstrap,
    Eval,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Route {
    candidate: usize,
    stage: Stage,
    local: JobId,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Candidate {
    seed: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    bootstrap: Option<BootstrapRun>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    program: Option<StoredProgram>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    eval: Option<EvalRun>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    score: Option<EvalScore>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    failure: Option<String>,
}

/// DSPy's `BootstrapFewShotWithRandomSearch` as a sans-IO [`Optimizer`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BootstrapFewShotWithRandomSearch {
    optimizer: String,
    config: RandomSearchConfig,
    bootstrap: BootstrapConfig,
    student: StoredProgram,
    trainset: Vec<JobExample>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    valset: Option<Vec<JobExample>>,
    candidates: Vec<Candidate>,
    next_id: u64,
    routes: BTreeMap<JobId, Route>,
    /// Candidates before it were visited in DSPy's order.
    settled: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    best: Option<usize>,
    done: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    failure: Option<String>,
    log: RunLog,
}

impl BootstrapFewShotWithRandomSearch {
    /// Starts the search: `student` compiled on `trainset`, candidates scored on `valset`
    /// (the trainset when `None` or empty, as in DSPy).
    pub fn new(
        student: &ProgramState,
        trainset: &[Example],
        valset: Option<&[Example]>,
        config: RandomSearchConfig,
    ) -> Result<Self, OptimizerError> {
        if trainset.is_empty() {
            return Err(OptimizerError::Config {
                optimizer: NAME,
                message: "the trainset is empty; random search needs training examples to \
                          bootstrap demos from"
                    .into(),
            });
        }
        if student.predictors.is_empty() {
            return Err(no_predictors(NAME));
        }
        let mut seeds: Vec<i64> = (-3..config.num_candidate_programs as i64).collect();
        if let Some(restrict) = &config.restrict {
            seeds.retain(|s| restrict.contains(s));
            if seeds.is_empty() {
                return Err(OptimizerError::Config {
                    optimizer: NAME,
                    message: format!(
                        "`restrict` {restrict:?} does not match any candidate seed in -3..{}; no \
                         candidate programs would be evaluated",
                        config.num_candidate_programs
                    ),
                });
            }
        }
        let trainset = JobExample::dataset(Split::Train, trainset.iter().cloned());
        let valset = valset
            .filter(|v| !v.is_empty())
            .map(|v| JobExample::dataset(Split::Val, v.iter().cloned()));
        let mut search = BootstrapFewShotWithRandomSearch {
            optimizer: NAME.into(),
            bootstrap: config.bootstrap_config(),
            config,
            student: StoredProgram(student.clone()),
            trainset,
            valset,
            candidates: Vec::new(),
            next_id: 0,
            routes: BTreeMap::new(),
            settled: 0,
            best: None,
            done: false,
            failure: None,
            log: RunLog::new(),
        };
        for seed in seeds {
            let candidate = search.start_candidate(seed)?;
            search.candidates.push(candidate);
        }
        for index in 0..search.candidates.len() {
            search.progress(index);
        }
        search.settle()?;
        Ok(search)
    }

    fn ctx(&self) -> Ctx<'_> {
        Ctx {
            optimizer: NAME,
            trainset: &self.trainset,
            student: &self.student.0,
            config: &self.bootstrap,
        }
    }

    /// The examples candidates are scored on (the trainset when no valset was given).
    pub fn valset(&self) -> &[JobExample] {
        self.valset.as_deref().unwrap_or(&self.trainset)
    }

    fn start_candidate(&self, seed: i64) -> Result<Candidate, OptimizerError> {
        let mut candidate = Candidate {
            seed,
            bootstrap: None,
            program: None,
            eval: None,
            score: None,
            failure: None,
        };
        let identity: Vec<usize> = (0..self.trainset.len()).collect();
        match seed {
            -3 => candidate.program = Some(StoredProgram(reset_copy(&self.student.0))),
            -2 => {
                let examples: Vec<Example> =
                    self.trainset.iter().map(|e| e.example.clone()).collect();
                let labeled = LabeledFewShotConfig {
                    k: self.config.max_labeled_demos,
                    sample: self.config.labeled_sample,
                    seed: self.config.seed,
                };
                candidate.program = Some(StoredProgram(labeled_few_shot(
                    &self.student.0,
                    &examples,
                    &labeled,
                )));
            }
            -1 => {
                let max = self.config.max_bootstrapped_demos;
                candidate.bootstrap = Some(BootstrapRun::start(&self.ctx(), identity, max)?);
            }
            _ => {
                let py_seed = seed + self.config.seed;
                let mut order = identity;
                PyRandom::new(py_seed).shuffle(&mut order);
                let max = self.config.max_bootstrapped_demos as i64;
                let size = PyRandom::new(py_seed).randint(1, max).max(0) as usize;
                candidate.bootstrap = Some(BootstrapRun::start(&self.ctx(), order, size)?);
            }
        }
        Ok(candidate)
    }

    /// Moves a candidate along: bootstrap done → evaluation started → score kept.
    fn progress(&mut self, index: usize) {
        let batch = self.config.eval_batch_size;
        let max_errors = self.bootstrap.effective_max_errors();
        let max_rounds = self.config.max_rounds;
        let mut note = None;
        let valset = self.valset.as_deref().unwrap_or(&self.trainset);
        let candidate = &mut self.candidates[index];
        if candidate.failure.is_some() {
            return;
        }
        if let Some(run) = &candidate.bootstrap
            && let Some(program) = run.result()
        {
            note = Some(format!(
                "candidate {}: {}",
                candidate.seed,
                run.summary(max_rounds)
            ));
            candidate.program = Some(StoredProgram(program.clone()));
            candidate.bootstrap = None;
        }
        if candidate.eval.is_none()
            && candidate.score.is_none()
            && let Some(program) = &candidate.program
        {
            candidate.eval = Some(EvalRun::start(
                &program.0,
                valset,
                batch,
                LmRole::Task,
                &CallSettings::default(),
                max_errors,
            ));
        }
        if let Some(eval) = &candidate.eval
            && let Some(score) = eval.result()
        {
            candidate.score = Some(score.clone());
            candidate.eval = None;
        }
        if let Some(message) = note {
            self.log.push(LogEvent::Note { message });
        }
    }

    /// Visits scored candidates in seed order, as DSPy's loop does.
    fn settle(&mut self) -> Result<(), OptimizerError> {
        while self.settled < self.candidates.len() && !self.done {
            let index = self.settled;
            let candidate = &self.candidates[index];
            if let Some(failure) = &candidate.failure {
                let message = format!("candidate {} failed: {failure}", candidate.seed);
                self.failure = Some(message.clone());
                return Err(OptimizerError::Failed {
                    optimizer: NAME,
                    message,
                });
            }
            let Some(score) = &candidate.score else {
                break;
            };
            let mean = score.mean();
            let seed = candidate.seed;
            let demos: Value = candidate
                .program
                .as_ref()
                .map(|p| {
                    p.0.predictors
                        .iter()
                        .map(|(name, pr)| (name.clone(), json!(pr.demos.len())))
                        .collect::<serde_json::Map<_, _>>()
                        .into()
                })
                .unwrap_or(Value::Null);
            let trial = self.log.next_trial();
            self.log.push(LogEvent::Trial {
                trial,
                candidate: index as u64,
                score: mean,
                examples: score.scores.len(),
                errors: score.errors,
                full: true,
                detail: json!({"seed": seed, "demos": demos}),
            });
            let beats = match self.best.and_then(|b| self.candidates[b].score.as_ref()) {
                None => true,
                Some(best) => round_percent(mean) > round_percent(best.mean()),
            };
            if beats {
                self.best = Some(index);
                self.log.push(LogEvent::NewBest {
                    candidate: index as u64,
                    score: mean,
                });
            }
            self.settled += 1;
            if self.config.stop_at_score.is_some_and(|s| mean >= s) {
                self.log.push(LogEvent::Note {
                    message: format!(
                        "stopping early: candidate {seed} scored {mean:.4} >= stop_at_score"
                    ),
                });
                self.done = true;
            }
        }
        if self.settled == self.candidates.len() {
            self.done = true;
        }
        if self.done {
            self.routes.clear();
            for candidate in &mut self.candidates {
                candidate.bootstrap = None;
                candidate.eval = None;
            }
        }
        Ok(())
    }

    /// Every scored candidate with its program, best first (DSPy's `candidate_programs`,
    /// sorted by score, ties in seed order).
    pub fn candidates(&self) -> Vec<CandidateProgram> {
        let mut list: Vec<CandidateProgram> = self.candidates[..self.settled]
            .iter()
            .filter_map(|c| {
                Some(CandidateProgram {
                    seed: c.seed,
                    program: c.program.as_ref()?.0.clone(),
                    score: c.score.clone()?,
                })
            })
            .collect();
        list.sort_by(|a, b| b.score.mean().total_cmp(&a.score.mean()));
        list
    }

    /// The settings.
    pub fn config(&self) -> &RandomSearchConfig {
        &self.config
    }

    fn dispatch(&mut self, route: Route, result: JobResult) -> Result<Told, OptimizerError> {
        let local = JobResult {
            id: route.local,
            ..result
        };
        let ctx = Ctx {
            optimizer: NAME,
            trainset: &self.trainset,
            student: &self.student.0,
            config: &self.bootstrap,
        };
        let candidate = &mut self.candidates[route.candidate];
        match route.stage {
            Stage::Bootstrap => match &mut candidate.bootstrap {
                Some(run) => run.tell(&ctx, local),
                None => Ok(Told::Stale),
            },
            Stage::Eval => match &mut candidate.eval {
                Some(run) => run.tell(NAME, local),
                None => Ok(Told::Stale),
            },
        }
    }
}

impl Restore for BootstrapFewShotWithRandomSearch {
    const NAME: &'static str = NAME;

    fn restore(state: Value) -> Result<Self, OptimizerError> {
        from_state(NAME, state)
    }
}

impl Optimizer for BootstrapFewShotWithRandomSearch {
    fn name(&self) -> &'static str {
        NAME
    }

    fn ask(&mut self) -> Vec<Job> {
        if self.done || self.failure.is_some() {
            return Vec::new();
        }
        let mut jobs = Vec::new();
        for (index, candidate) in self.candidates.iter_mut().enumerate() {
            if candidate.failure.is_some() {
                continue;
            }
            let (stage, local_jobs) = if let Some(run) = &mut candidate.bootstrap {
                (Stage::Bootstrap, run.ask())
            } else if let Some(run) = &mut candidate.eval {
                (Stage::Eval, run.ask())
            } else {
                continue;
            };
            for job in local_jobs {
                let id = JobId(self.next_id);
                self.next_id += 1;
                self.routes.insert(
                    id,
                    Route {
                        candidate: index,
                        stage,
                        local: job.id,
                    },
                );
                jobs.push(Job {
                    id,
                    spec: job.spec,
                    deferred: job.deferred,
                });
            }
        }
        jobs
    }

    fn tell(&mut self, result: JobResult) -> Result<Told, OptimizerError> {
        let issued_before = result.id.0 < self.next_id;
        if self.done || self.failure.is_some() {
            return Ok(if issued_before {
                Told::Stale
            } else {
                Told::Unknown
            });
        }
        let Some(route) = self.routes.get(&result.id).copied() else {
            return Ok(if issued_before {
                Told::Duplicate
            } else {
                Told::Unknown
            });
        };
        let id = result.id;
        let told = match self.dispatch(route, result) {
            Ok(told) => told,
            Err(e @ OptimizerError::BadResult { .. }) => return Err(e),
            Err(e) => {
                // Raised when DSPy's loop would reach this candidate, not before: an earlier
                // candidate may stop the search first.
                self.candidates[route.candidate].failure = Some(e.to_string());
                Told::Accepted
            }
        };
        self.routes.remove(&id);
        if told == Told::Accepted {
            self.progress(route.candidate);
            self.settle()?;
        }
        Ok(told)
    }

    fn pending(&self) -> Vec<Job> {
        if self.done || self.failure.is_some() {
            return Vec::new();
        }
        let mut local: HashMap<(usize, Stage, JobId), Job> = HashMap::new();
        for (index, candidate) in self.candidates.iter().enumerate() {
            if let Some(run) = &candidate.bootstrap {
                for job in run.pending() {
                    local.insert((index, Stage::Bootstrap, job.id), job);
                }
            }
            if let Some(run) = &candidate.eval {
                for job in run.pending() {
                    local.insert((index, Stage::Eval, job.id), job);
                }
            }
        }
        self.routes
            .iter()
            .filter_map(|(id, r)| {
                local
                    .remove(&(r.candidate, r.stage, r.local))
                    .map(|job| Job {
                        id: *id,
                        spec: job.spec,
                        deferred: job.deferred,
                    })
            })
            .collect()
    }

    fn is_done(&self) -> bool {
        self.done || self.failure.is_some()
    }

    fn best(&self) -> Option<ProgramState> {
        let best = self.best?;
        self.candidates[best].program.as_ref().map(|p| p.0.clone())
    }

    fn state(&self) -> Result<Value, OptimizerError> {
        to_state(NAME, self)
    }

    fn log(&self) -> &RunLog {
        &self.log
    }
}
