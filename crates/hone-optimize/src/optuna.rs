//! `BootstrapFewShotWithOptuna`: one bootstrapped demo per predictor, chosen by a TPE study —
//! DSPy's `dspy.BootstrapFewShotWithOptuna`, with its parameters and defaults.
//!
//! DSPy's `compile`, step by step:
//!
//! 1. `BootstrapFewShot(max_bootstrapped_demos=max_demos, max_labeled_demos, max_rounds)`
//!    compiles the student (demos cleared) with the teacher (the student when none is given)
//!    on the trainset. Each predictor of the result holds its bootstrapped demos followed by
//!    labeled ones.
//! 2. An Optuna study (`direction="maximize"`, the default `TPESampler`) runs
//!    `num_candidate_programs` trials one after another. Each trial suggests, per predictor,
//!    `demo_index_for_{name}` in `0..=len(demos) - 1` and scores the student (demos cleared)
//!    with that one demo per predictor on the valset (the trainset without one), as DSPy's
//!    `Evaluate` scores: a percentage rounded to two decimals.
//! 3. The best trial's program wins; with equal scores, the earlier trial.
//!
//! The sampler is MIPROv2's [`Tpe`] (Optuna's defaults: 10 random startup trials, 24
//! candidates per suggestion, `γ(n) = min(⌈0.1 n⌉, 25)`), seeded by `seed`; it models the
//! predictors' indices jointly (Optuna's `multivariate=True`), which for a one-predictor
//! program is the same as Optuna's default. Trials run one at a time, as
//! `study.optimize(n_jobs=1)` runs them, so each suggestion sees every earlier score.

use hone_core::Example;
use hone_core::state::ProgramState;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::book::JobBook;
use crate::bootstrap::{BootstrapConfig, BootstrapRun, Ctx, Teacher};
use crate::labeled::no_predictors;
use crate::log::{LogEvent, RunLog};
use crate::mipro::tpe::Tpe;
use crate::program::{StoredProgram, reset_copy};
use crate::protocol::{CallSettings, JobExample, JobId, JobResult, LmRole, OptimizerError, Split};
use crate::rng::OptRng;
use crate::stats::round_percent;
use crate::steps::{self, StepMachine, eval_spec, mean};

const NAME: &str = "bootstrap_few_shot_with_optuna";

/// Settings of [`BootstrapFewShotWithOptuna`]: DSPy's parameters and defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OptunaConfig {
    /// See [`BootstrapConfig::teacher`] (DSPy's `compile(teacher=...)`).
    pub teacher: Option<Teacher>,
    /// See [`BootstrapConfig::teacher_lm`].
    pub teacher_lm: LmRole,
    /// See [`BootstrapConfig::teacher_settings`].
    pub teacher_settings: CallSettings,
    /// Bootstrapped demos per predictor the trials choose from (DSPy's `compile(max_demos=...)`,
    /// a required argument there; default 4, DSPy's `max_bootstrapped_demos` default).
    pub max_demos: usize,
    /// See [`BootstrapConfig::max_labeled_demos`] (default 16); labeled demos are choices too.
    pub max_labeled_demos: usize,
    /// See [`BootstrapConfig::max_rounds`] (default 1).
    pub max_rounds: usize,
    /// Trials of the study (default 16).
    pub num_candidate_programs: usize,
    /// See [`BootstrapConfig::max_errors`].
    pub max_errors: Option<usize>,
    /// See [`BootstrapConfig::wave_size`].
    pub wave_size: Option<usize>,
    /// Seed of the bootstrap's samplers (DSPy: 0) and of the TPE sampler (unseeded in DSPy).
    pub seed: i64,
}

impl Default for OptunaConfig {
    fn default() -> Self {
        OptunaConfig {
            teacher: None,
            teacher_lm: LmRole::Task,
            teacher_settings: CallSettings::default(),
            max_demos: 4,
            max_labeled_demos: 16,
            max_rounds: 1,
            num_candidate_programs: 16,
            max_errors: None,
            wave_size: None,
            seed: 0,
        }
    }
}

impl OptunaConfig {
    fn bootstrap_config(&self) -> BootstrapConfig {
        BootstrapConfig {
            metric_threshold: None,
            teacher: self.teacher.clone(),
            teacher_lm: self.teacher_lm,
            teacher_settings: self.teacher_settings.clone(),
            max_bootstrapped_demos: self.max_demos,
            max_labeled_demos: self.max_labeled_demos,
            max_rounds: self.max_rounds,
            max_errors: self.max_errors,
            wave_size: self.wave_size,
            seed: self.seed,
        }
    }
}

/// A scored trial: the demo index chosen per predictor and the score (DSPy's percentage).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptunaTrial {
    /// Per predictor (in program order), the index of its one demo among the bootstrapped
    /// program's demos.
    pub demo_indices: Vec<usize>,
    /// The valset score in percent, rounded to two decimals.
    pub score: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
enum Phase {
    /// `BootstrapFewShot`'s waves; `routes` are the bootstrap's own ids of the step's jobs.
    Bootstrap {
        routes: Vec<JobId>,
    },
    /// One trial's evaluation.
    Trial {
        point: Vec<usize>,
    },
    Done,
}

/// DSPy's `BootstrapFewShotWithOptuna` as a sans-IO [`Optimizer`](crate::Optimizer).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BootstrapFewShotWithOptuna {
    optimizer: String,
    config: OptunaConfig,
    boot: BootstrapConfig,
    /// The student with its demos cleared (DSPy's `student.reset_copy()`).
    student: StoredProgram,
    trainset: Vec<JobExample>,
    valset: Vec<JobExample>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    run: Option<BootstrapRun>,
    /// The bootstrapped program (DSPy's `compiled_teleprompter`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    compiled: Option<StoredProgram>,
    tpe: Tpe,
    rng: OptRng,
    trials: Vec<OptunaTrial>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    best: Option<usize>,
    book: JobBook,
    phase: Phase,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    failure: Option<String>,
    log: RunLog,
}

impl BootstrapFewShotWithOptuna {
    /// Starts the study: `student` bootstrapped on `trainset`, trials scored on `valset` (the
    /// trainset when `None` or empty, as in DSPy).
    pub fn new(
        student: &ProgramState,
        trainset: &[Example],
        valset: Option<&[Example]>,
        config: OptunaConfig,
    ) -> Result<Self, OptimizerError> {
        if trainset.is_empty() {
            return Err(OptimizerError::Config {
                optimizer: NAME,
                message: "the trainset is empty; the study's demos are bootstrapped from it".into(),
            });
        }
        if student.predictors.is_empty() {
            return Err(no_predictors(NAME));
        }
        if config.num_candidate_programs == 0 {
            return Err(OptimizerError::Config {
                optimizer: NAME,
                message: "num_candidate_programs is 0; the study needs at least one trial".into(),
            });
        }
        let student = reset_copy(student);
        let trainset = JobExample::dataset(Split::Train, trainset.iter().cloned());
        let valset = match valset.filter(|v| !v.is_empty()) {
            Some(v) => JobExample::dataset(Split::Val, v.iter().cloned()),
            None => trainset.clone(),
        };
        let boot = config.bootstrap_config();
        let run = BootstrapRun::start(
            &Ctx {
                optimizer: NAME,
                trainset: &trainset,
                student: &student,
                config: &boot,
            },
            (0..trainset.len()).collect(),
            boot.max_bootstrapped_demos,
        )?;
        let mut opt = BootstrapFewShotWithOptuna {
            optimizer: NAME.into(),
            boot,
            student: StoredProgram(student),
            trainset,
            valset,
            run: Some(run),
            compiled: None,
            tpe: Tpe::new(Vec::new()),
            rng: OptRng::new(config.seed as u64),
            trials: Vec::new(),
            best: None,
            book: JobBook::new(),
            phase: Phase::Bootstrap { routes: Vec::new() },
            failure: None,
            log: RunLog::new(),
            config,
        };
        opt.bootstrap_step()?;
        Ok(opt)
    }

    /// The settings.
    pub fn config(&self) -> &OptunaConfig {
        &self.config
    }

    /// The examples trials are scored on.
    pub fn valset(&self) -> &[JobExample] {
        &self.valset
    }

    /// The scored trials, in order.
    pub fn trials(&self) -> &[OptunaTrial] {
        &self.trials
    }

    /// The bootstrapped program the trials choose demos from, once bootstrapping is done.
    pub fn bootstrapped(&self) -> Option<&ProgramState> {
        self.compiled.as_ref().map(|p| &p.0)
    }

    fn bootstrap_step(&mut self) -> Result<(), OptimizerError> {
        let Some(run) = &mut self.run else {
            return Ok(());
        };
        if let Some(program) = run.result() {
            let program = program.clone();
            self.log.push(LogEvent::Note {
                message: run.summary(self.boot.max_rounds),
            });
            self.run = None;
            let mut choices = Vec::new();
            for (name, predictor) in &program.predictors {
                if predictor.demos.is_empty() {
                    return Err(OptimizerError::Failed {
                        optimizer: NAME,
                        message: format!(
                            "predictor `{name}` has no demos after bootstrapping, so its trial \
                             parameter `demo_index_for_{name}` has an empty range; allow labeled \
                             demos (max_labeled_demos > 0) or check that the metric accepts \
                             some teacher runs"
                        ),
                    });
                }
                choices.push(predictor.demos.len());
            }
            self.tpe = Tpe::new(choices);
            self.compiled = Some(StoredProgram(program));
            self.start_trial();
            return Ok(());
        }
        let routes = run.ask_into(&mut self.book);
        self.phase = Phase::Bootstrap { routes };
        Ok(())
    }

    /// The student with one demo per predictor, `point[i]` of the bootstrapped program's.
    fn program(&self, point: &[usize]) -> ProgramState {
        let mut program = self.student.0.clone();
        if let Some(compiled) = &self.compiled {
            let pairs = program
                .predictors
                .values_mut()
                .zip(compiled.0.predictors.values());
            for (i, (target, source)) in pairs.enumerate() {
                let demo = point.get(i).and_then(|&k| source.demos.get(k));
                target.demos = demo.cloned().into_iter().collect();
            }
        }
        program
    }

    fn start_trial(&mut self) {
        if self.trials.len() >= self.config.num_candidate_programs {
            self.phase = Phase::Done;
            return;
        }
        let point = self.tpe.suggest(&[], &mut self.rng);
        let program = self.program(&point);
        self.book.create(eval_spec(
            &program,
            self.valset.clone(),
            false,
            CallSettings::default(),
        ));
        self.phase = Phase::Trial { point };
    }

    fn read_trial(&mut self, point: Vec<usize>, results: Vec<JobResult>) {
        let Some(result) = results.into_iter().next() else {
            return;
        };
        let outcomes = steps::outcomes(result.output, &self.valset);
        let scores: Vec<f64> = outcomes.iter().map(|o| o.score).collect();
        let fraction = mean(&scores);
        let percent = round_percent(fraction);
        let index = self.trials.len();
        self.tpe.tell(point.clone(), percent);
        let names: Vec<&String> = self.student.0.predictors.keys().collect();
        let params: serde_json::Map<String, serde_json::Value> = names
            .iter()
            .zip(&point)
            .map(|(n, i)| (format!("demo_index_for_{n}"), json!(i)))
            .collect();
        self.log.push(LogEvent::Trial {
            trial: self.log.next_trial(),
            candidate: index as u64,
            score: fraction,
            examples: scores.len(),
            errors: steps::errors(&outcomes),
            full: true,
            detail: json!({"params": params, "percent": percent}),
        });
        let beats = self.best.is_none_or(|b| percent > self.trials[b].score);
        self.trials.push(OptunaTrial {
            demo_indices: point,
            score: percent,
        });
        if beats {
            self.best = Some(index);
            self.log.push(LogEvent::NewBest {
                candidate: index as u64,
                score: fraction,
            });
        }
        self.start_trial();
    }
}

impl StepMachine for BootstrapFewShotWithOptuna {
    const NAME: &'static str = NAME;

    crate::steps::step_fields!();

    fn at_end(&self) -> bool {
        matches!(self.phase, Phase::Done)
    }

    fn advance(&mut self, results: Vec<JobResult>) -> Result<(), OptimizerError> {
        let phase = std::mem::replace(&mut self.phase, Phase::Done);
        match phase {
            Phase::Bootstrap { routes } => {
                let ctx = Ctx {
                    optimizer: NAME,
                    trainset: &self.trainset,
                    student: &self.student.0,
                    config: &self.boot,
                };
                if let Some(run) = &mut self.run {
                    for (local, result) in routes.into_iter().zip(results) {
                        run.tell_as(&ctx, local, result)?;
                    }
                }
                self.bootstrap_step()?;
            }
            Phase::Trial { point } => self.read_trial(point, results),
            Phase::Done => {}
        }
        Ok(())
    }

    fn best_program(&self) -> Option<ProgramState> {
        self.best
            .map(|b| self.program(&self.trials[b].demo_indices))
    }
}

#[cfg(test)]
mod tests;
