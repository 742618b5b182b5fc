//! `LabeledFewShot`: every predictor gets `k` training examples as demos, as DSPy's
//! `dspy.LabeledFewShot(k=16).compile(student, trainset=..., sample=True)` does.
//!
//! It makes no LM calls: [`Optimizer::ask`] never returns a job and the run is over as soon
//! as it is built. Sampling uses Python's generator seeded like DSPy (`random.Random(0)`), so
//! the demos are the ones DSPy picks for the same trainset.

use hone_core::Example;
use hone_core::state::ProgramState;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::log::{LogEvent, RunLog};
use crate::program::{StoredProgram, labeled_demo, reset_copy};
use crate::protocol::{Job, JobResult, Optimizer, OptimizerError, Told};
use crate::pyrandom::PyRandom;
use crate::restore::Restore;

const NAME: &str = "labeled_few_shot";

/// Settings of [`LabeledFewShot`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LabeledFewShotConfig {
    /// Demos per predictor (DSPy's `k`, default 16).
    pub k: usize,
    /// Sample `k` examples at random (`true`, DSPy's default) or take the first `k`.
    pub sample: bool,
    /// Seed of the sampler (DSPy always uses 0).
    pub seed: i64,
}

impl Default for LabeledFewShotConfig {
    fn default() -> Self {
        LabeledFewShotConfig {
            k: 16,
            sample: true,
            seed: 0,
        }
    }
}

/// The student with `k` demos per predictor drawn from `trainset` (no demos when the trainset
/// is empty, as in DSPy). One sampler serves all predictors in order, as in DSPy.
pub fn labeled_few_shot(
    student: &ProgramState,
    trainset: &[Example],
    config: &LabeledFewShotConfig,
) -> ProgramState {
    let mut program = reset_copy(student);
    if trainset.is_empty() {
        return program;
    }
    let mut rng = PyRandom::new(config.seed);
    let take = config.k.min(trainset.len());
    for predictor in program.predictors.values_mut() {
        let picked: Vec<&Example> = if config.sample {
            rng.sample_indices(trainset.len(), take)
                .into_iter()
                .map(|i| &trainset[i])
                .collect()
        } else {
            trainset[..take].iter().collect()
        };
        predictor.demos = picked.into_iter().map(labeled_demo).collect();
    }
    program
}

/// DSPy's `LabeledFewShot` as an [`Optimizer`] (done on creation; no jobs).
#[derive(Debug, Clone)]
pub struct LabeledFewShot {
    config: LabeledFewShotConfig,
    program: ProgramState,
    log: RunLog,
}

#[derive(Serialize, Deserialize)]
struct Saved {
    optimizer: String,
    config: LabeledFewShotConfig,
    program: StoredProgram,
    log: RunLog,
}

impl LabeledFewShot {
    /// Compiles `student` on `trainset`.
    ///
    /// An empty trainset is a configuration error (DSPy silently returns the student unchanged,
    /// which hides a data-loading mistake).
    pub fn new(
        student: &ProgramState,
        trainset: &[Example],
        config: LabeledFewShotConfig,
    ) -> Result<Self, OptimizerError> {
        if trainset.is_empty() {
            return Err(OptimizerError::Config {
                optimizer: NAME,
                message: "the trainset is empty; pass at least one example to draw demos from"
                    .into(),
            });
        }
        if student.predictors.is_empty() {
            return Err(no_predictors(NAME));
        }
        let program = labeled_few_shot(student, trainset, &config);
        let mut log = RunLog::new();
        log.push(LogEvent::Note {
            message: format!(
                "gave each of {} predictor(s) {} labeled demo(s)",
                program.predictors.len(),
                config.k.min(trainset.len())
            ),
        });
        Ok(LabeledFewShot {
            config,
            program,
            log,
        })
    }
}

impl Restore for LabeledFewShot {
    const NAME: &'static str = NAME;

    fn restore(state: Value) -> Result<Self, OptimizerError> {
        let saved: Saved = crate::restore::from_state(NAME, state)?;
        Ok(LabeledFewShot {
            config: saved.config,
            program: saved.program.0,
            log: saved.log,
        })
    }
}

pub(crate) fn no_predictors(optimizer: &'static str) -> OptimizerError {
    OptimizerError::Config {
        optimizer,
        message: "the student program has no predictors; pass the state of a program with at \
                  least one predictor"
            .into(),
    }
}

impl Optimizer for LabeledFewShot {
    fn name(&self) -> &'static str {
        NAME
    }

    fn ask(&mut self) -> Vec<Job> {
        Vec::new()
    }

    fn tell(&mut self, _result: JobResult) -> Result<Told, OptimizerError> {
        Ok(Told::Unknown)
    }

    fn pending(&self) -> Vec<Job> {
        Vec::new()
    }

    fn is_done(&self) -> bool {
        true
    }

    fn best(&self) -> Option<ProgramState> {
        Some(self.program.clone())
    }

    fn state(&self) -> Result<Value, OptimizerError> {
        crate::restore::to_state(
            NAME,
            &Saved {
                optimizer: NAME.into(),
                config: self.config.clone(),
                program: StoredProgram(self.program.clone()),
                log: self.log.clone(),
            },
        )
    }

    fn log(&self) -> &RunLog {
        &self.log
    }
}
