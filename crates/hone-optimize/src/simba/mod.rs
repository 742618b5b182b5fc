//! `SIMBA`: stochastic introspective mini-batch ascent — DSPy's `dspy.SIMBA`, with its
//! parameters, defaults and prompts.
//!
//! Each of `max_steps` steps takes the next minibatch of `bsize` training examples and:
//!
//! 1. **Samples trajectories.** `num_candidates` LM settings (temperature 1.0, rollout ids
//!    0, 1, …; the teacher LM first when one is set) each run every example with a program
//!    drawn from the pool's best by a softmax over mean scores (`temperature_for_sampling`).
//! 2. **Finds hard examples.** Per example, the trajectories are sorted by score; the examples
//!    are ranked by (max − min, max, max − mean), largest first.
//! 3. **Builds candidates.** For the top examples, a source program is drawn from the pool
//!    (`temperature_for_candidates`), a few of its demos are dropped (Poisson), and a strategy
//!    chosen at random is applied: `append_a_demo` (the best trajectory's calls become demos)
//!    or `append_a_rule` (the proposer LM compares the best and worst trajectories with DSPy's
//!    `OfferFeedback` signature and its advice is appended to each module's instructions) —
//!    until `num_candidates + 1` candidates exist.
//! 4. **Scores them** on the same minibatch; all join the pool, the best is a "winner".
//!
//! At the end, up to `num_candidates + 1` winners spread over the run are scored on the whole
//! trainset and the best is the result.
//!
//! # Concurrency
//!
//! All trajectories of a step run at once (one evaluation job per LM setting and program),
//! then all advice calls, then all candidates' evaluations, then (at the end) all final
//! evaluations.
//!
//! # Deviations
//!
//! * Random draws come from a seeded generator stored in the state, not Python's `random` and
//!   NumPy's; DSPy's draw order is kept.
//! * When an advice call fails, DSPy moves on to the next example in the same loop; here the
//!   candidates of a step are planned first and failed ones are replaced by candidates from
//!   further examples in a second round of calls.
//! * The proposer sees a pseudo-code listing of the program instead of its Python source.

mod candidates;
mod config;
mod draws;
mod prompts;
mod sample;
mod scoring;
mod state;
#[cfg(test)]
mod tests;

use hone_core::state::ProgramState;
use hone_core::{Example, Sampling};
use serde::{Deserialize, Serialize};

use crate::book::JobBook;
use crate::labeled::no_predictors;
use crate::log::{LogEvent, RunLog};
use crate::program::StoredProgram;
use crate::protocol::{CallSettings, JobExample, JobResult, LmRole, OptimizerError, Split};
use crate::rng::OptRng;
use crate::steps::{StepMachine, mean};
use draws::softmax_pick;
use state::{Phase, Pooled};

pub use config::SimbaConfig;
pub use prompts::{OFFER_FEEDBACK_INSTRUCTIONS, inspect_modules, offer_feedback};

const NAME: &str = "simba";

/// DSPy's `SIMBA` as a sans-IO [`Optimizer`](crate::Optimizer).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Simba {
    optimizer: String,
    config: SimbaConfig,
    trainset: Vec<JobExample>,
    pool: Vec<Pooled>,
    /// Pool indices of each step's best candidate, the student first.
    winning: Vec<usize>,
    data_indices: Vec<usize>,
    instance_idx: usize,
    step: usize,
    /// The current batch: trainset indices.
    batch: Vec<usize>,
    rng: OptRng,
    book: JobBook,
    phase: Phase,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    best: Option<(f64, StoredProgram)>,
    /// Why the run stopped early, when advancing failed; the run is then over.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    failure: Option<String>,
    log: RunLog,
}

impl Simba {
    /// Starts optimizing `student` on `trainset`.
    pub fn new(
        student: &ProgramState,
        trainset: &[Example],
        config: SimbaConfig,
    ) -> Result<Self, OptimizerError> {
        if student.predictors.is_empty() {
            return Err(no_predictors(NAME));
        }
        if config.bsize == 0 || config.num_candidates == 0 {
            return Err(OptimizerError::config(
                NAME,
                "bsize and num_candidates must be at least 1",
            ));
        }
        if trainset.len() < config.bsize {
            return Err(OptimizerError::config(
                NAME,
                format!(
                    "the trainset has {} example(s), fewer than bsize = {}; lower bsize or add examples",
                    trainset.len(),
                    config.bsize
                ),
            ));
        }
        for (name, t) in [
            ("temperature_for_sampling", config.temperature_for_sampling),
            (
                "temperature_for_candidates",
                config.temperature_for_candidates,
            ),
        ] {
            if !(t > 0.0 && t.is_finite()) {
                return Err(OptimizerError::config(
                    NAME,
                    format!("{name} must be a positive number, not {t}"),
                ));
            }
        }
        let trainset = JobExample::dataset(Split::Train, trainset.iter().cloned());
        let mut rng = OptRng::new(config.seed);
        let mut data_indices: Vec<usize> = (0..trainset.len()).collect();
        rng.shuffle(&mut data_indices);
        let mut log = RunLog::new();
        log.push(LogEvent::Note {
            message: format!(
                "SIMBA: {} step(s) of {} example(s), {} trajectories per example, {} training example(s)",
                config.max_steps,
                config.bsize,
                config.num_candidates,
                trainset.len()
            ),
        });
        let mut simba = Simba {
            optimizer: NAME.into(),
            config,
            trainset,
            pool: vec![Pooled {
                program: StoredProgram(student.clone()),
                scores: Vec::new(),
            }],
            winning: vec![0],
            data_indices,
            instance_idx: 0,
            step: 0,
            batch: Vec::new(),
            rng,
            book: JobBook::new(),
            phase: Phase::Done,
            best: None,
            failure: None,
            log,
        };
        simba.start_step();
        Ok(simba)
    }

    /// The settings.
    pub fn config(&self) -> &SimbaConfig {
        &self.config
    }

    /// Programs in the pool (the student first).
    pub fn pool_size(&self) -> usize {
        self.pool.len()
    }

    fn average(&self, index: usize) -> f64 {
        mean(&self.pool[index].scores)
    }

    /// DSPy's `top_k_plus_baseline`: the `k` best programs by mean score, the student always
    /// among them.
    fn top_k_plus_baseline(&self, k: usize) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.pool.len()).collect();
        order.sort_by(|&a, &b| self.average(b).total_cmp(&self.average(a)));
        let mut top: Vec<usize> = order.into_iter().take(k).collect();
        if !top.contains(&0)
            && let Some(last) = top.last_mut()
        {
            *last = 0;
        }
        let mut seen = Vec::new();
        top.retain(|i| {
            let new = !seen.contains(i);
            seen.push(*i);
            new
        });
        top
    }

    /// DSPy's `softmax_sample`: a program drawn with weights `exp(mean score / temperature)`.
    fn softmax_sample(&mut self, programs: &[usize], temperature: f64) -> usize {
        let scores: Vec<f64> = programs.iter().map(|&i| self.average(i)).collect();
        softmax_pick(programs, &scores, temperature, &mut self.rng)
    }

    /// DSPy's `prepare_models_for_resampling`: the teacher (if any) first, then the task LM at
    /// temperature 1.0, each with its own rollout id.
    fn model_settings(&self, model: usize) -> (LmRole, CallSettings) {
        match self.config.teacher_lm {
            Some(teacher) if model == 0 => {
                (teacher, CallSettings::from(Sampling::new().rollout_id(0)))
            }
            _ => (
                LmRole::Task,
                CallSettings::from(Sampling::new().temperature(1.0).rollout_id(model as u64)),
            ),
        }
    }

    fn batch_examples(&self) -> Vec<JobExample> {
        self.batch
            .iter()
            .map(|&i| self.trainset[i].clone())
            .collect()
    }
}

impl StepMachine for Simba {
    const NAME: &'static str = NAME;

    crate::steps::step_fields!();

    fn at_end(&self) -> bool {
        matches!(self.phase, Phase::Done)
    }

    fn advance(&mut self, results: Vec<JobResult>) -> Result<(), OptimizerError> {
        match std::mem::replace(&mut self.phase, Phase::Done) {
            Phase::Sample { jobs } => self.after_sample(jobs, results),
            Phase::Advice { buckets, planned } => self.after_advice(buckets, planned, results),
            Phase::Evaluate { candidates } => self.after_evaluate(candidates, results),
            Phase::Final { programs } => self.after_final(programs, results),
            Phase::Done => {}
        }
        Ok(())
    }

    fn best_program(&self) -> Option<ProgramState> {
        if let Some((_, p)) = &self.best {
            return Some(p.0.clone());
        }
        // Before the end: the pool's program with the best mean minibatch score.
        let best = (0..self.pool.len())
            .max_by(|&a, &b| self.average(a).total_cmp(&self.average(b)).then(b.cmp(&a)))?;
        Some(self.pool[best].program.0.clone())
    }
}
