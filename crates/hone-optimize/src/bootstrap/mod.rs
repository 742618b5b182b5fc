//! `BootstrapFewShot`: demos bootstrapped from successful teacher runs, topped up with
//! labeled examples — DSPy's `dspy.BootstrapFewShot`, with its parameters and defaults.
//!
//! The teacher (the student itself unless one is given, with `max_labeled_demos` labeled demos
//! sampled as DSPy's `LabeledFewShot` does) runs on training examples in order, its own demos
//! minus the example at hand. When the metric accepts a run, each predictor call of the run
//! becomes an augmented demo (`{"augmented": true, ...inputs, ...outputs}`) for that predictor.
//! Once `max_bootstrapped_demos` examples succeeded (or the trainset ran out), every predictor of
//! the student gets its bootstrapped demos followed by labeled demos sampled from the examples
//! that were not bootstrapped, up to `max_labeled_demos` in all.
//!
//! Rounds after the first (`max_rounds > 1`) rerun a rejected example at temperature 1.0 with
//! the round number as rollout id, as DSPy does to get past caches.
//!
//! Attempts run in parallel *waves* (see [`BootstrapConfig::wave_size`]); results are applied in
//! trainset order, so the compiled program is the one DSPy's sequential loop produces.

mod run;

pub(crate) use run::{BootstrapRun, Ctx};

use hone_core::Example;
use hone_core::state::ProgramState;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::labeled::no_predictors;
use crate::log::{LogEvent, RunLog};
use crate::program::StoredProgram;
use crate::protocol::{
    CallSettings, Job, JobExample, JobResult, LmRole, Optimizer, OptimizerError, Split, Told,
};
use crate::restore::{Restore, from_state, to_state};

const NAME: &str = "bootstrap_few_shot";

/// DSPy's default `max_errors` (`dspy.settings.max_errors`).
pub const DEFAULT_MAX_ERRORS: usize = 10;

/// A teacher program for bootstrapping (DSPy's `teacher=`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Teacher {
    /// The teacher's state; it must have the student's predictors.
    pub program: StoredProgram,
    /// Whether the teacher is already compiled (DSPy's `_compiled`): its demos are kept as
    /// they are. Otherwise they are replaced by `max_labeled_demos` labeled demos.
    pub compiled: bool,
}

impl Teacher {
    /// A teacher from a program state.
    pub fn new(program: ProgramState, compiled: bool) -> Self {
        Teacher {
            program: StoredProgram(program),
            compiled,
        }
    }
}

/// Settings of [`BootstrapFewShot`]: DSPy's parameters and defaults, plus the wave size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BootstrapConfig {
    /// Accept a teacher run when the score is at least this (DSPy's `metric_threshold`);
    /// without it (or with 0, as in DSPy), any score above 0 is accepted.
    pub metric_threshold: Option<f64>,
    /// A separate teacher program (DSPy's `teacher=`); the student is the teacher when `None`.
    pub teacher: Option<Teacher>,
    /// Which LM the teacher runs on (DSPy's `teacher_settings=dict(lm=...)`); the task LM by
    /// default.
    pub teacher_lm: LmRole,
    /// Sampling settings of teacher runs (the rest of DSPy's `teacher_settings`).
    pub teacher_settings: CallSettings,
    /// Maximum bootstrapped demos per predictor (default 4).
    pub max_bootstrapped_demos: usize,
    /// Maximum demos per predictor in all, labeled ones filling up (default 16).
    pub max_labeled_demos: usize,
    /// Attempts per training example (default 1).
    pub max_rounds: usize,
    /// Stop with an error once this many program or metric failures happened (DSPy's
    /// `max_errors`; `None` means DSPy's default of 10).
    pub max_errors: Option<usize>,
    /// Training examples attempted at once. `None` (the default) means twice the number of
    /// demos still needed, which keeps the LM busy while spending few extra calls: a wave costs
    /// at most `wave_size − 1` attempts DSPy's sequential loop would not have made. `Some(1)`
    /// is DSPy's one-at-a-time loop; `Some(usize::MAX)` attempts the whole trainset at once.
    pub wave_size: Option<usize>,
    /// Seed of the samplers (DSPy always uses 0).
    pub seed: i64,
}

impl Default for BootstrapConfig {
    fn default() -> Self {
        BootstrapConfig {
            metric_threshold: None,
            teacher: None,
            teacher_lm: LmRole::Task,
            teacher_settings: CallSettings::default(),
            max_bootstrapped_demos: 4,
            max_labeled_demos: 16,
            max_rounds: 1,
            max_errors: None,
            wave_size: None,
            seed: 0,
        }
    }
}

impl BootstrapConfig {
    /// `max_errors`, or DSPy's default.
    pub fn effective_max_errors(&self) -> usize {
        self.max_errors.unwrap_or(DEFAULT_MAX_ERRORS)
    }
}

/// DSPy's `BootstrapFewShot` as a sans-IO [`Optimizer`].
///
/// ```
/// use hone_core::{Example, Signature};
/// use hone_core::state::{ProgramState, ProgramStructure};
/// use hone_optimize::{BootstrapConfig, BootstrapFewShot, Optimizer};
///
/// let student = ProgramState::from_structure(&ProgramStructure::single(
///     Signature::parse("question -> answer")?,
/// ));
/// let trainset: Vec<Example> = (0..8)
///     .map(|i| Example::new().with("question", format!("{i}+1?")).with("answer", i + 1).with_inputs(["question"]))
///     .collect();
/// let mut opt = BootstrapFewShot::new(&student, &trainset, BootstrapConfig::default())?;
/// let jobs = opt.ask(); // the first wave: 8 teacher runs (twice the 4 demos needed)
/// assert_eq!(jobs.len(), 8);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct BootstrapFewShot {
    config: BootstrapConfig,
    student: ProgramState,
    trainset: Vec<JobExample>,
    run: BootstrapRun,
    failure: Option<String>,
    log: RunLog,
}

#[derive(Serialize, Deserialize)]
struct Saved {
    optimizer: String,
    config: BootstrapConfig,
    student: StoredProgram,
    trainset: Vec<JobExample>,
    run: BootstrapRun,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    failure: Option<String>,
    log: RunLog,
}

impl BootstrapFewShot {
    /// Starts compiling `student` (its demos are cleared first, DSPy's `reset_copy`) on
    /// `trainset`.
    ///
    /// Errors: an empty trainset, a student without predictors, or a teacher whose predictors
    /// differ from the student's.
    pub fn new(
        student: &ProgramState,
        trainset: &[Example],
        config: BootstrapConfig,
    ) -> Result<Self, OptimizerError> {
        if trainset.is_empty() {
            return Err(OptimizerError::Config {
                optimizer: NAME,
                message: "the trainset is empty; bootstrapping needs training examples to run \
                          the teacher on"
                    .into(),
            });
        }
        if student.predictors.is_empty() {
            return Err(no_predictors(NAME));
        }
        let trainset = JobExample::dataset(Split::Train, trainset.iter().cloned());
        let order: Vec<usize> = (0..trainset.len()).collect();
        let run = {
            let ctx = Ctx {
                optimizer: NAME,
                trainset: &trainset,
                student,
                config: &config,
            };
            BootstrapRun::start(&ctx, order, config.max_bootstrapped_demos)?
        };
        let mut opt = BootstrapFewShot {
            config,
            student: student.clone(),
            trainset,
            run,
            failure: None,
            log: RunLog::new(),
        };
        opt.note_if_done();
        Ok(opt)
    }

    fn note_if_done(&mut self) {
        if self.run.is_done() {
            self.log.push(LogEvent::Note {
                message: self.run.summary(self.config.max_rounds),
            });
        }
    }

    /// The settings.
    pub fn config(&self) -> &BootstrapConfig {
        &self.config
    }
}

impl Restore for BootstrapFewShot {
    const NAME: &'static str = NAME;

    fn restore(state: Value) -> Result<Self, OptimizerError> {
        let saved: Saved = from_state(NAME, state)?;
        Ok(BootstrapFewShot {
            config: saved.config,
            student: saved.student.0,
            trainset: saved.trainset,
            run: saved.run,
            failure: saved.failure,
            log: saved.log,
        })
    }
}

impl Optimizer for BootstrapFewShot {
    fn name(&self) -> &'static str {
        NAME
    }

    fn ask(&mut self) -> Vec<Job> {
        if self.failure.is_some() {
            return Vec::new();
        }
        self.run.ask()
    }

    fn tell(&mut self, result: JobResult) -> Result<Told, OptimizerError> {
        if self.failure.is_some() {
            return Ok(self.run.told_after_end(&result));
        }
        let was_done = self.run.is_done();
        let ctx = Ctx {
            optimizer: NAME,
            trainset: &self.trainset,
            student: &self.student,
            config: &self.config,
        };
        match self.run.tell(&ctx, result) {
            Ok(told) => {
                if !was_done {
                    self.note_if_done();
                }
                Ok(told)
            }
            Err(e @ OptimizerError::BadResult { .. }) => Err(e),
            Err(e) => {
                self.failure = Some(e.to_string());
                Err(e)
            }
        }
    }

    fn pending(&self) -> Vec<Job> {
        if self.failure.is_some() {
            return Vec::new();
        }
        self.run.pending()
    }

    fn is_done(&self) -> bool {
        self.failure.is_some() || self.run.is_done()
    }

    fn best(&self) -> Option<ProgramState> {
        self.run.result().cloned()
    }

    fn state(&self) -> Result<Value, OptimizerError> {
        to_state(
            NAME,
            &Saved {
                optimizer: NAME.into(),
                config: self.config.clone(),
                student: StoredProgram(self.student.clone()),
                trainset: self.trainset.clone(),
                run: self.run.clone(),
                failure: self.failure.clone(),
                log: self.log.clone(),
            },
        )
    }

    fn log(&self) -> &RunLog {
        &self.log
    }
}
