//! The bootstrap loop of `BootstrapFewShot` as a state machine over a trainset it does not own,
//! so `BootstrapFewShotWithRandomSearch` can run many of them over one shared trainset.
//!
//! # Waves, and why the result equals DSPy's sequential loop
//!
//! DSPy walks the trainset in order, runs the teacher on each example (up to `max_rounds`
//! times until the metric accepts it) and stops once `max_bootstrapped_demos` examples were
//! bootstrapped. Run one at a time, that loop is as slow as the LM's latency times the number
//! of attempts. Here a *window* of the next `wave_size` undecided examples is attempted at
//! once; when the whole wave is back, results are applied strictly in trainset order by a
//! *frontier* that does exactly what DSPy's loop does at each example (count the error, retry
//! the next round, keep the traces, or stop at the limit). Attempts past the point where DSPy
//! would have stopped are discarded — they are the only extra LM calls, at most
//! `wave_size − 1` per wave. Each attempt's outcome depends only on its own example, round and
//! the teacher program, so the frontier sees exactly what the sequential loop would have seen.

use hone_core::Example;
use hone_core::state::ProgramState;
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use super::BootstrapConfig;
use crate::book::JobBook;
use crate::labeled::{LabeledFewShotConfig, labeled_few_shot};
use crate::program::{
    StoredProgram, augmented_demo, labeled_demo, reset_copy, same_fields, stable_hash,
};
use crate::protocol::{
    Job, JobExample, JobId, JobOutput, JobResult, JobSpec, OptimizerError, Told, TraceStep,
};
use crate::pyrandom::PyRandom;
use crate::rng::OptRng;

/// What one teacher attempt on one example produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Attempt {
    /// The metric accepted the prediction; the predictor calls of the run.
    Success { trace: Vec<TraceStep> },
    /// The metric rejected it (`error` is `None`), or the program or metric failed.
    Failure {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
}

/// Per example (in processing order): the round to run next and an unapplied result.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Slot {
    round: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    result: Option<Attempt>,
}

/// The inputs a bootstrap run reads but does not own.
pub(crate) struct Ctx<'a> {
    pub optimizer: &'static str,
    pub trainset: &'a [JobExample],
    pub student: &'a ProgramState,
    pub config: &'a BootstrapConfig,
}

/// One `BootstrapFewShot` compile, as a state machine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct BootstrapRun {
    /// DSPy's `max_bootstraps` (the candidate's size in random search).
    max_bootstraps: usize,
    /// Trainset indices in processing order (shuffled for random-search candidates).
    order: Vec<usize>,
    teacher: StoredProgram,
    book: JobBook,
    /// Positions (into `order`) of the current wave's jobs, in job-id order.
    wave: Vec<usize>,
    slots: Vec<Slot>,
    /// Positions before it are decided.
    frontier: usize,
    /// Positions bootstrapped, in order.
    bootstrapped: Vec<usize>,
    /// Augmented demos per predictor (DSPy's `name2traces`).
    traces: IndexMap<String, Vec<Example>>,
    attempts: usize,
    errors: usize,
    /// LM-call-making attempts that were discarded (run past DSPy's stopping point).
    discarded: usize,
    result: Option<StoredProgram>,
}

impl BootstrapRun {
    /// Prepares the teacher and issues the first wave.
    pub fn start(
        ctx: &Ctx<'_>,
        order: Vec<usize>,
        max_bootstraps: usize,
    ) -> Result<Self, OptimizerError> {
        let config = ctx.config;
        let in_order: Vec<Example> = order
            .iter()
            .map(|&i| ctx.trainset[i].example.clone())
            .collect();
        let labeled = LabeledFewShotConfig {
            k: config.max_labeled_demos,
            sample: true,
            seed: config.seed,
        };
        let teacher = match &config.teacher {
            Some(t) if t.compiled || config.max_labeled_demos == 0 => t.program.0.clone(),
            Some(t) => labeled_few_shot(&t.program.0, &in_order, &labeled),
            None if config.max_labeled_demos == 0 => ctx.student.clone(),
            None => labeled_few_shot(ctx.student, &in_order, &labeled),
        };
        let student_names: Vec<&String> = ctx.student.predictors.keys().collect();
        let teacher_names: Vec<&String> = teacher.predictors.keys().collect();
        if student_names != teacher_names {
            return Err(OptimizerError::Config {
                optimizer: ctx.optimizer,
                message: format!(
                    "student and teacher must have the same program structure: the student's \
                     predictors are {student_names:?}, the teacher's {teacher_names:?}"
                ),
            });
        }
        let slots = vec![Slot::default(); order.len()];
        let mut run = BootstrapRun {
            max_bootstraps,
            order,
            teacher: StoredProgram(teacher),
            book: JobBook::new(),
            wave: Vec::new(),
            slots,
            frontier: 0,
            bootstrapped: Vec::new(),
            traces: ctx
                .student
                .predictors
                .keys()
                .map(|k| (k.clone(), Vec::new()))
                .collect(),
            attempts: 0,
            errors: 0,
            discarded: 0,
            result: None,
        };
        run.advance(ctx)?;
        Ok(run)
    }

    /// Jobs of the current wave not handed out yet.
    pub fn ask(&mut self) -> Vec<Job> {
        self.book.drain()
    }

    /// Jobs handed out without a result.
    pub fn pending(&self) -> Vec<Job> {
        if self.result.is_some() {
            Vec::new()
        } else {
            self.book.pending()
        }
    }

    /// The compiled student, once done.
    pub fn result(&self) -> Option<&ProgramState> {
        self.result.as_ref().map(|p| &p.0)
    }

    /// Whether the run is over.
    pub fn is_done(&self) -> bool {
        self.result.is_some()
    }

    /// A one-line summary, like DSPy's print after bootstrapping.
    pub fn summary(&self, max_rounds: usize) -> String {
        format!(
            "bootstrapped {} full trace(s) after {} example(s) for up to {} round(s), amounting \
             to {} attempt(s); {} speculative attempt(s) were discarded",
            self.bootstrapped.len(),
            self.frontier,
            max_rounds,
            self.attempts,
            self.discarded
        )
    }

    /// What `tell` answers once the run is over (finished or failed): stale for jobs it
    /// issued, unknown for ids it never issued.
    pub fn told_after_end(&self, result: &JobResult) -> Told {
        crate::steps::told_after_end(&self.book, result)
    }

    /// Hands the run's next wave to an embedding optimizer's `book` and returns the run's own
    /// ids of those jobs, in the book's order: give each result back with
    /// [`tell_as`](Self::tell_as) and the id at its place.
    pub fn ask_into(&mut self, book: &mut JobBook) -> Vec<JobId> {
        self.ask()
            .into_iter()
            .map(|job| {
                book.create(job.spec);
                job.id
            })
            .collect()
    }

    /// Records the result of a job an embedding optimizer handed out under its own id;
    /// `local` is this run's id of the job (from [`ask_into`](Self::ask_into)).
    pub fn tell_as(
        &mut self,
        ctx: &Ctx<'_>,
        local: JobId,
        result: JobResult,
    ) -> Result<Told, OptimizerError> {
        self.tell(
            ctx,
            JobResult {
                id: local,
                ..result
            },
        )
    }

    /// Records a result; applies the wave once it is complete.
    pub fn tell(&mut self, ctx: &Ctx<'_>, result: JobResult) -> Result<Told, OptimizerError> {
        if self.result.is_some() {
            return Ok(self.told_after_end(&result));
        }
        if let Some(job) = self.book.issued_job(result.id) {
            result
                .check_against(job)
                .map_err(|message| OptimizerError::BadResult {
                    optimizer: ctx.optimizer,
                    job: result.id,
                    message,
                })?;
        }
        let told = self.book.record(result);
        if told == Told::Accepted && self.book.step_complete() {
            let results = self.book.take_step();
            let wave = std::mem::take(&mut self.wave);
            for (position, result) in wave.into_iter().zip(results) {
                let attempt = self.judge(ctx.config, result.output);
                self.slots[position].result = Some(attempt);
            }
            self.advance(ctx)?;
        }
        Ok(told)
    }

    /// Turns a job's output into an attempt: success when the metric accepts the prediction
    /// (DSPy: `score >= metric_threshold` if a threshold is set, else a truthy score).
    fn judge(&self, config: &BootstrapConfig, output: JobOutput) -> Attempt {
        let outcome = match output {
            JobOutput::Evaluated { mut outcomes } if !outcomes.is_empty() => {
                outcomes.swap_remove(0)
            }
            JobOutput::Evaluated { .. } | JobOutput::Predicted { .. } => {
                return Attempt::Failure {
                    error: Some("the job returned no outcome".into()),
                };
            }
            JobOutput::Failed { error } => return Attempt::Failure { error: Some(error) },
        };
        if let Some(error) = outcome.error {
            return Attempt::Failure { error: Some(error) };
        }
        let Some(score) = outcome.score else {
            return Attempt::Failure {
                error: Some("the metric returned no score".into()),
            };
        };
        let success = match config.metric_threshold {
            // DSPy tests `if self.metric_threshold:`, so a threshold of 0 means "no threshold".
            Some(threshold) if threshold != 0.0 => score >= threshold,
            _ => score > 0.0,
        };
        if success {
            Attempt::Success {
                trace: outcome.trace,
            }
        } else {
            Attempt::Failure { error: None }
        }
    }

    /// Applies results at the frontier in trainset order, then issues the next wave or
    /// finishes.
    fn advance(&mut self, ctx: &Ctx<'_>) -> Result<(), OptimizerError> {
        let config = ctx.config;
        let max_rounds = config.max_rounds;
        while self.frontier < self.order.len()
            && self.bootstrapped.len() < self.max_bootstraps
            && max_rounds > 0
        {
            let position = self.frontier;
            let Some(attempt) = self.slots[position].result.take() else {
                break;
            };
            self.attempts += 1;
            match attempt {
                Attempt::Success { trace } => {
                    self.keep_traces(&trace);
                    self.bootstrapped.push(position);
                    self.frontier += 1;
                }
                Attempt::Failure { error } => {
                    if let Some(error) = error {
                        self.errors += 1;
                        if self.errors >= config.effective_max_errors() {
                            let index = self.order[position];
                            return Err(OptimizerError::Failed {
                                optimizer: ctx.optimizer,
                                message: format!(
                                    "{} error(s) while bootstrapping, reaching max_errors = {}; \
                                     the last, on train example {index}: {error}. Check that the \
                                     examples have every input field the program needs and that \
                                     the metric can score them, or raise max_errors",
                                    self.errors,
                                    config.effective_max_errors()
                                ),
                            });
                        }
                    }
                    let slot = &mut self.slots[position];
                    if slot.round + 1 < max_rounds {
                        slot.round += 1;
                        break;
                    }
                    self.frontier += 1;
                }
            }
        }
        let finished = self.frontier >= self.order.len()
            || self.bootstrapped.len() >= self.max_bootstraps
            || max_rounds == 0;
        if finished {
            self.discarded += self.slots.iter().filter(|s| s.result.is_some()).count();
            for slot in &mut self.slots {
                slot.result = None;
            }
            self.finish(ctx);
        } else {
            self.launch(ctx);
        }
        Ok(())
    }

    /// Issues attempts for the next window of undecided examples that have no result yet.
    fn launch(&mut self, ctx: &Ctx<'_>) {
        let config = ctx.config;
        let needed = self.max_bootstraps.saturating_sub(self.bootstrapped.len());
        let window = config.wave_size.unwrap_or(2 * needed).max(1);
        let end = (self.frontier + window).min(self.order.len());
        for position in self.frontier..end {
            if self.slots[position].result.is_some() {
                continue;
            }
            let round = self.slots[position].round;
            let example = &ctx.trainset[self.order[position]];
            let mut teacher = self.teacher.0.clone();
            for predictor in teacher.predictors.values_mut() {
                predictor
                    .demos
                    .retain(|demo| !same_fields(demo, &example.example));
            }
            let settings = if round > 0 {
                let mut settings = config.teacher_settings.clone();
                settings.sampling.temperature = Some(1.0);
                settings.sampling.rollout_id = Some(round as u64);
                settings
            } else {
                config.teacher_settings.clone()
            };
            self.book.create(JobSpec::Evaluate {
                program: Box::new(teacher),
                examples: vec![example.clone()],
                lm: config.teacher_lm,
                capture_traces: true,
                settings,
            });
            self.wave.push(position);
        }
    }

    /// Keeps one example's traces as augmented demos (DSPy's `name2traces` update).
    fn keep_traces(&mut self, trace: &[TraceStep]) {
        let mut per_predictor: IndexMap<String, Vec<Example>> = IndexMap::new();
        for step in trace {
            if !self.traces.contains_key(&step.predictor) {
                continue; // A predictor the student does not have (DSPy skips it too).
            }
            per_predictor
                .entry(step.predictor.clone())
                .or_default()
                .push(augmented_demo(step));
        }
        for (name, demos) in per_predictor {
            let kept = if demos.len() > 1 {
                // Several calls of one predictor in one run: keep one, 50/50 between the last
                // call and one of the others, seeded by the demos themselves as DSPy does.
                let seed = stable_hash(&serde_json::to_value(&demos).unwrap_or_default());
                let mut rng = OptRng::new(seed);
                let pick = if rng.next_f64() < 0.5 {
                    demos[rng.below(demos.len() - 1)].clone()
                } else {
                    demos[demos.len() - 1].clone()
                };
                vec![pick]
            } else {
                demos
            };
            if let Some(list) = self.traces.get_mut(&name) {
                list.extend(kept);
            }
        }
    }

    /// DSPy's `_train`: bootstrapped demos first, labeled demos from the examples that were
    /// not bootstrapped fill up to `max_labeled_demos`.
    fn finish(&mut self, ctx: &Ctx<'_>) {
        let config = ctx.config;
        let mut validation: Vec<Example> = (0..self.order.len())
            .filter(|p| !self.bootstrapped.contains(p))
            .map(|p| ctx.trainset[self.order[p]].example.clone())
            .collect();
        PyRandom::new(config.seed).shuffle(&mut validation);
        let mut rng = PyRandom::new(config.seed);
        let mut student = reset_copy(ctx.student);
        for (name, predictor) in student.predictors.iter_mut() {
            let mut demos: Vec<Example> = self
                .traces
                .get(name)
                .map(|t| t.iter().take(self.max_bootstraps).cloned().collect())
                .unwrap_or_default();
            let size = config
                .max_labeled_demos
                .saturating_sub(demos.len())
                .min(validation.len());
            demos.extend(rng.sample(&validation, size).iter().map(labeled_demo));
            predictor.demos = demos;
        }
        self.result = Some(StoredProgram(student));
    }
}
