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

use hone_core::adapter::field_description_string;
use hone_core::adapter::pyfmt::{py_dedent, py_splitlines};
use hone_core::state::ProgramState;
use hone_core::{Example, Field, FieldType, Prediction, Signature};
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::book::JobBook;
use crate::labeled::no_predictors;
use crate::log::{LogEvent, RunLog};
use crate::program::{StoredProgram, augmented_demo};
use crate::protocol::{
    CallSettings, JobExample, JobResult, JobSpec, LmRole, OptimizerError, Split, TraceStep,
};
use crate::restore::{Restore, from_state};
use crate::rng::OptRng;
use crate::steps::StepMachine;
use crate::steps::{self, eval_spec, mean, predict_failure, predict_spec, predictions};

const NAME: &str = "simba";

/// DSPy's `OfferFeedback` instructions.
pub const OFFER_FEEDBACK_INSTRUCTIONS: &str = "You will be given two trajectories of an LLM-driven program's execution. Your goal is to help the program's modules
build up experience on how to maximize the reward value assigned to the program's outputs if it were to receive
similar inputs in the future.

The module won't see its own history. It will rely on your advice balancing being concrete and being generalizable.

In your advice:
- Avoid boilerplate. Offer advice that would change the module's behavior for the better in the future.
- Ensure that advice offered to a module M is specific to that M's specific sub-task, not the overall program.
- Rely on contrasting the behavior of the worse trajectory against the better trajectory in making recommendations.
- Ensure each unique module name appears exactly once as a key in the advice dictionary.";

/// DSPy's `OfferFeedback` signature (SIMBA's `append_a_rule`).
pub fn offer_feedback() -> Signature {
    let str_field = |name: &str, desc: &str| Field::new(name, FieldType::Str).desc(desc);
    let trajectory = "The trajectory of the program's execution, showing each module's I/O";
    let outputs = "The outputs of the program that we are analyzing";
    let reward = "The reward value assigned to the program's outputs";
    let info =
        "Additional information that might be helpful to understanding the assigned reward value.";
    Signature {
        name: "OfferFeedback".into(),
        instructions: OFFER_FEEDBACK_INSTRUCTIONS.into(),
        inputs: vec![
            str_field(
                "program_code",
                "The code of the program that we are analyzing",
            ),
            str_field(
                "modules_defn",
                "The definition of each module in the program, including its I/O",
            ),
            str_field(
                "program_inputs",
                "The inputs to the program that we are analyzing",
            ),
            str_field(
                "oracle_metadata",
                "Any (hidden) metadata about the training set instance we're analyzing",
            ),
            str_field("worse_program_trajectory", trajectory),
            str_field("worse_program_outputs", outputs),
            Field::new("worse_reward_value", FieldType::Float).desc(reward),
            str_field("worse_reward_info", info),
            str_field("better_program_trajectory", trajectory),
            str_field("better_program_outputs", outputs),
            Field::new("better_reward_value", FieldType::Float).desc(reward),
            str_field("better_reward_info", info),
            Field::new(
                "module_names",
                FieldType::List {
                    item: Box::new(FieldType::Str),
                },
            )
            .desc("The names of the modules in the program, for which we seek advice"),
        ],
        outputs: vec![
            str_field(
                "discussion",
                "Discussing blame of where each module went wrong, if it did",
            ),
            Field::new(
                "module_advice",
                FieldType::Dict {
                    key: Box::new(FieldType::Str),
                    value: Box::new(FieldType::Str),
                },
            )
            .desc(
                "For each module, describe very concretely: If the module receives ${description of input or patterns therein}, then it should ${description of content, behavior, or strategies to adopt and/or others to avoid}. Basically, your advice be such that if the module has access to your tip, it would be much more likely to act like the successful trajectory rather than the lower-scoring trajectory.",
            ),
        ],
    }
}

/// DSPy's `inspect_modules`: each module's fields and instructions, between separator lines.
pub fn inspect_modules(program: &ProgramState) -> String {
    let separator = "-".repeat(80);
    let indent = |text: &str| {
        let mut out = String::new();
        for line in py_splitlines(text) {
            out.push_str("\n\t\t");
            out.push_str(line);
        }
        out
    };
    let mut parts = vec![separator.clone()];
    for (name, predictor) in &program.predictors {
        let sig = &predictor.signature;
        parts.push(format!("Module {name}"));
        parts.push("\n\tInput Fields:".into());
        parts.push(indent(&field_description_string(&sig.inputs)));
        parts.push("\tOutput Fields:".into());
        parts.push(indent(&field_description_string(&sig.outputs)));
        parts.push(format!(
            "\tOriginal Instructions: {}",
            indent(&py_dedent(&sig.instructions))
        ));
        parts.push(separator.clone());
    }
    parts
        .iter()
        .map(|p| p.trim_matches('\n'))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Settings of [`Simba`]: DSPy's parameters and defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimbaConfig {
    /// Minibatch size (default 32; at most the trainset size).
    pub bsize: usize,
    /// Trajectories per example, and new candidates per step minus one (default 6).
    pub num_candidates: usize,
    /// Steps (default 8).
    pub max_steps: usize,
    /// Demos a predictor holds before some are dropped (default 4; 0 disables `append_a_demo`).
    pub max_demos: usize,
    /// Characters kept of an input field in a new demo (default 100,000).
    pub demo_input_field_maxlen: usize,
    /// Softmax temperature for choosing the programs that sample trajectories (default 0.2).
    pub temperature_for_sampling: f64,
    /// Softmax temperature for choosing the source program of a new candidate (default 0.2).
    pub temperature_for_candidates: f64,
    /// Run the first trajectory sample of each example with this LM (DSPy's
    /// `teacher_settings`); all samples use the task LM when `None` (default).
    pub teacher_lm: Option<LmRole>,
    /// Seed (default 0).
    pub seed: u64,
}

impl Default for SimbaConfig {
    fn default() -> Self {
        SimbaConfig {
            bsize: 32,
            num_candidates: 6,
            max_steps: 8,
            max_demos: 4,
            demo_input_field_maxlen: 100_000,
            temperature_for_sampling: 0.2,
            temperature_for_candidates: 0.2,
            teacher_lm: None,
            seed: 0,
        }
    }
}

/// A program of the pool with its minibatch scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Pooled {
    program: StoredProgram,
    scores: Vec<f64>,
}

/// One trajectory: a program run on an example under one LM setting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Trajectory {
    /// The score; `None` stands for DSPy's `"N/A"` (a trajectory blanked for the advice).
    score: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    prediction: Option<Prediction>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    trace: Vec<TraceStep>,
}

impl Trajectory {
    fn value(&self) -> f64 {
        self.score.unwrap_or(0.0)
    }
}

/// An evaluation job of the sampling phase: one LM setting, one program, some examples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct SampleJob {
    model: usize,
    positions: Vec<usize>,
}

/// A candidate being built.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Planned {
    program: StoredProgram,
    source: usize,
    strategy: String,
    /// Whether it waits for an advice call of the current round.
    awaiting_advice: bool,
}

/// What the hard examples of a step are, for building candidates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Buckets {
    /// Per example of the batch (in ranked order), its trajectories sorted best first.
    ranked: Vec<(usize, Vec<Trajectory>)>,
    p10: f64,
    p90: f64,
    /// The next ranked example to build a candidate from.
    next: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
enum Phase {
    /// Trajectories on the batch.
    Sample {
        jobs: Vec<SampleJob>,
    },
    /// Advice calls for the candidates awaiting one.
    Advice {
        buckets: Buckets,
        planned: Vec<Planned>,
    },
    /// The candidates on the batch.
    Evaluate {
        candidates: Vec<Planned>,
    },
    /// The final winners on the whole trainset: their pool indices.
    Final {
        programs: Vec<usize>,
    },
    Done,
}

/// DSPy's `SIMBA` as a sans-IO [`Optimizer`].
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

fn config_error(message: impl Into<String>) -> OptimizerError {
    OptimizerError::Config {
        optimizer: NAME,
        message: message.into(),
    }
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
            return Err(config_error("bsize and num_candidates must be at least 1"));
        }
        if trainset.len() < config.bsize {
            return Err(config_error(format!(
                "the trainset has {} example(s), fewer than bsize = {}; lower bsize or add examples",
                trainset.len(),
                config.bsize
            )));
        }
        for (name, t) in [
            ("temperature_for_sampling", config.temperature_for_sampling),
            (
                "temperature_for_candidates",
                config.temperature_for_candidates,
            ),
        ] {
            if !(t > 0.0 && t.is_finite()) {
                return Err(config_error(format!(
                    "{name} must be a positive number, not {t}"
                )));
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

    fn start_step(&mut self) {
        if self.step >= self.config.max_steps {
            self.start_final();
            return;
        }
        let bsize = self.config.bsize;
        if self.instance_idx + bsize > self.trainset.len() {
            self.rng.shuffle(&mut self.data_indices);
            self.instance_idx = 0;
        }
        self.batch = self.data_indices[self.instance_idx..self.instance_idx + bsize].to_vec();
        self.instance_idx += bsize;
        let top = self.top_k_plus_baseline(self.config.num_candidates);
        // Per LM setting, per example, the program that runs it.
        let mut groups: IndexMap<(usize, usize), Vec<usize>> = IndexMap::new();
        for model in 0..self.config.num_candidates {
            for position in 0..bsize {
                let program = self.softmax_sample(&top, self.config.temperature_for_sampling);
                groups.entry((model, program)).or_default().push(position);
            }
        }
        let mut jobs = Vec::with_capacity(groups.len());
        for ((model, program), positions) in groups {
            let examples: Vec<JobExample> = positions
                .iter()
                .map(|&p| self.trainset[self.batch[p]].clone())
                .collect();
            let (lm, settings) = self.model_settings(model);
            self.book.create(JobSpec::Evaluate {
                program: Box::new(self.pool[program].program.0.clone()),
                examples,
                lm,
                capture_traces: true,
                settings,
            });
            jobs.push(SampleJob { model, positions });
        }
        self.phase = Phase::Sample { jobs };
    }

    /// DSPy's `prepare_models_for_resampling`: the teacher (if any) first, then the task LM at
    /// temperature 1.0, each with its own rollout id.
    fn model_settings(&self, model: usize) -> (LmRole, CallSettings) {
        match self.config.teacher_lm {
            Some(teacher) if model == 0 => (
                teacher,
                CallSettings {
                    rollout_id: Some(0),
                    ..CallSettings::default()
                },
            ),
            _ => (
                LmRole::Task,
                CallSettings {
                    temperature: Some(1.0),
                    rollout_id: Some(model as u64),
                    no_cache: false,
                },
            ),
        }
    }

    fn batch_examples(&self) -> Vec<JobExample> {
        self.batch
            .iter()
            .map(|&i| self.trainset[i].clone())
            .collect()
    }

    fn after_sample(&mut self, jobs: Vec<SampleJob>, results: Vec<JobResult>) {
        let bsize = self.batch.len();
        let models = self.config.num_candidates;
        let mut grid: Vec<Vec<Option<Trajectory>>> = vec![vec![None; bsize]; models];
        for (job, result) in jobs.into_iter().zip(results) {
            let examples: Vec<JobExample> = job
                .positions
                .iter()
                .map(|&p| self.trainset[self.batch[p]].clone())
                .collect();
            let outcomes = steps::outcomes(result.output, &examples);
            for (position, outcome) in job.positions.into_iter().zip(outcomes) {
                grid[job.model][position] = Some(Trajectory {
                    score: Some(outcome.score),
                    prediction: outcome.prediction,
                    trace: outcome.trace,
                });
            }
        }
        let blank = || Trajectory {
            score: Some(0.0),
            prediction: None,
            trace: Vec::new(),
        };
        // DSPy's order: model-major.
        let all: Vec<f64> = grid
            .iter()
            .flat_map(|row| {
                row.iter()
                    .map(|t| t.as_ref().map_or(0.0, Trajectory::value))
            })
            .collect();
        let p10 = percentile(&all, 10.0);
        let p90 = percentile(&all, 90.0);
        // Per example: its position, its trajectories best first, and DSPy's sort key
        // (max − min, max, max − mean).
        type Ranked = (usize, Vec<Trajectory>, (f64, f64, f64));
        let mut ranked: Vec<Ranked> = Vec::new();
        let mut columns: Vec<Vec<Trajectory>> = vec![Vec::with_capacity(models); bsize];
        for row in grid {
            for (position, t) in row.into_iter().enumerate() {
                columns[position].push(t.unwrap_or_else(blank));
            }
        }
        for (position, mut bucket) in columns.into_iter().enumerate() {
            bucket.sort_by(|a, b| b.value().total_cmp(&a.value()));
            let max = bucket.first().map_or(0.0, Trajectory::value);
            let min = bucket.last().map_or(0.0, Trajectory::value);
            let avg = mean(&bucket.iter().map(Trajectory::value).collect::<Vec<_>>());
            ranked.push((position, bucket, (max - min, max, max - avg)));
        }
        ranked.sort_by(|a, b| {
            (b.2.0, b.2.1, b.2.2)
                .partial_cmp(&(a.2.0, a.2.1, a.2.2))
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        let baseline = mean(&all);
        self.log.push(LogEvent::Note {
            message: format!(
                "step {}: mean trajectory score on the batch {baseline:.4}",
                self.step + 1
            ),
        });
        let buckets = Buckets {
            ranked: ranked.into_iter().map(|(p, b, _)| (p, b)).collect(),
            p10,
            p90,
            next: 0,
        };
        self.plan_candidates(buckets, Vec::new());
    }

    /// Builds candidates from the next ranked examples until `num_candidates + 1` are planned
    /// (or the examples run out); asks for the advice the `append_a_rule` ones need.
    fn plan_candidates(&mut self, mut buckets: Buckets, mut planned: Vec<Planned>) {
        let target = self.config.num_candidates + 1;
        while planned.len() < target && buckets.next < buckets.ranked.len() {
            let (position, bucket) = buckets.ranked[buckets.next].clone();
            buckets.next += 1;
            let top = self.top_k_plus_baseline(self.config.num_candidates);
            let source = self.softmax_sample(&top, self.config.temperature_for_candidates);
            let mut program = self.pool[source].program.0.clone();
            let dropped = self.drop_demos(&mut program);
            let strategies: &[&str] = if self.config.max_demos > 0 {
                &["append_a_demo", "append_a_rule"]
            } else {
                &["append_a_rule"]
            };
            let strategy = strategies[self.rng.below(strategies.len())];
            let mut awaiting_advice = false;
            if strategy == "append_a_demo" {
                self.append_a_demo(&bucket, &mut program, buckets.p10);
            } else if let Some(spec) =
                self.advice_call(position, &bucket, &program, buckets.p10, buckets.p90)
            {
                self.book.create(spec);
                awaiting_advice = true;
            }
            self.log.push(LogEvent::Note {
                message: format!(
                    "step {}: candidate from program {source} by {strategy}{}",
                    self.step + 1,
                    if dropped > 0 {
                        format!(", {dropped} demo(s) dropped per predictor")
                    } else {
                        String::new()
                    }
                ),
            });
            planned.push(Planned {
                program: StoredProgram(program),
                source,
                strategy: strategy.into(),
                awaiting_advice,
            });
        }
        if planned.iter().any(|p| p.awaiting_advice) {
            self.phase = Phase::Advice { buckets, planned };
        } else {
            self.evaluate_candidates(planned);
        }
    }

    /// Drops `max(Poisson(demos / max_demos), demos >= max_demos)` random demo positions from
    /// every predictor (DSPy's rule); returns how many positions were drawn.
    fn drop_demos(&mut self, program: &mut ProgramState) -> usize {
        let num_demos = program
            .predictors
            .values()
            .map(|p| p.demos.len())
            .max()
            .unwrap_or(0);
        let max_demos = if self.config.max_demos > 0 {
            self.config.max_demos
        } else {
            3
        };
        let lambda = num_demos as f64 / max_demos as f64;
        let drop = poisson(lambda, &mut self.rng).max(usize::from(num_demos >= max_demos));
        let drop = drop.min(num_demos);
        let positions: Vec<usize> = (0..drop).map(|_| self.rng.below(num_demos)).collect();
        for predictor in program.predictors.values_mut() {
            let demos = std::mem::take(&mut predictor.demos);
            predictor.demos = demos
                .into_iter()
                .enumerate()
                .filter(|(i, _)| !positions.contains(i))
                .map(|(_, d)| d)
                .collect();
        }
        drop
    }

    /// DSPy's `append_a_demo`: the best trajectory's last call of each predictor becomes a demo
    /// of that predictor (skipped when the best score is at or below the batch's 10th
    /// percentile).
    fn append_a_demo(&mut self, bucket: &[Trajectory], program: &mut ProgramState, p10: f64) {
        let Some(good) = bucket.first() else { return };
        if good.value() <= p10 {
            return;
        }
        let maxlen = self.config.demo_input_field_maxlen;
        let mut demos: IndexMap<String, Example> = IndexMap::new();
        for step in &good.trace {
            let mut step = step.clone();
            if maxlen > 0 {
                let mut inputs = Map::new();
                for (k, v) in step.inputs.fields() {
                    let text = match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    let value = if text.chars().count() > maxlen {
                        let cut: String = text.chars().take(maxlen).collect();
                        Value::String(format!("{cut}\n\t\t... <TRUNCATED FOR BREVITY>"))
                    } else {
                        v.clone()
                    };
                    inputs.insert(k.clone(), value);
                }
                step.inputs = Example::from_map(inputs);
            }
            if program.predictors.contains_key(&step.predictor) {
                demos.insert(step.predictor.clone(), augmented_demo(&step));
            }
        }
        for (name, demo) in demos {
            if let Some(p) = program.predictors.get_mut(&name) {
                self.log.push(LogEvent::Proposal {
                    predictor: name.clone(),
                    text: Value::Object(demo.fields().clone()).to_string(),
                    source: "simba_demo".into(),
                });
                p.demos.push(demo);
            }
        }
    }

    /// The `OfferFeedback` call of DSPy's `append_a_rule` for the example at `position`, or
    /// `None` when DSPy skips it (best at or below the 10th percentile, or worst at or above
    /// the 90th).
    fn advice_call(
        &self,
        position: usize,
        bucket: &[Trajectory],
        program: &ProgramState,
        p10: f64,
        p90: f64,
    ) -> Option<JobSpec> {
        let (mut good, mut bad) = (bucket.first()?.clone(), bucket.last()?.clone());
        if good.value() <= p10 || bad.value() >= p90 {
            return None;
        }
        if good.value() <= bad.value() {
            let na = |t: &mut Trajectory| {
                t.trace.clear();
                t.score = None;
                let mut p = Map::new();
                p.insert("N/A".into(), json!("Prediction not available"));
                t.prediction = Some(Prediction::new(p));
            };
            if good.value() > p90 {
                na(&mut bad);
            } else {
                na(&mut good);
            }
        }
        let example = &self.trainset[self.batch[position]].example;
        let names: Vec<String> = program.predictors.keys().cloned().collect();
        let trajectory = |t: &Trajectory| -> Value {
            Value::Array(
                t.trace
                    .iter()
                    .filter(|s| program.predictors.contains_key(&s.predictor))
                    .map(|s| {
                        json!({
                            "module_name": s.predictor,
                            "inputs": Value::Object(s.inputs.fields().clone()),
                            "outputs": Value::Object(s.outputs.fields().clone()),
                        })
                    })
                    .collect(),
            )
        };
        let outputs = |t: &Trajectory| -> Value {
            t.prediction
                .as_ref()
                .map_or(json!({}), |p| Value::Object(p.fields().clone()))
        };
        // DSPy passes every input as text (JSON for non-strings); hone passes the values, which
        // render as the same text, so that the declared float and list types hold.
        let reward =
            |t: &Trajectory| -> Value { t.score.map_or_else(|| json!("N/A"), |s| json!(s)) };
        let inputs: Vec<(&str, Value)> = vec![
            ("program_code", json!(steps::program_code(program))),
            ("modules_defn", json!(inspect_modules(program))),
            (
                "program_inputs",
                json!(json_text(&Value::Object(example.inputs().into_fields()))),
            ),
            (
                "oracle_metadata",
                json!(json_text(&Value::Object(example.labels().into_fields()))),
            ),
            (
                "worse_program_trajectory",
                json!(json_text(&trajectory(&bad))),
            ),
            ("worse_program_outputs", json!(json_text(&outputs(&bad)))),
            ("worse_reward_value", reward(&bad)),
            ("worse_reward_info", json!("{}")),
            (
                "better_program_trajectory",
                json!(json_text(&trajectory(&good))),
            ),
            ("better_program_outputs", json!(json_text(&outputs(&good)))),
            ("better_reward_value", reward(&good)),
            ("better_reward_info", json!("{}")),
            ("module_names", json!(names)),
        ];
        let mut signature = offer_feedback();
        let mut fields = Map::new();
        for (k, v) in inputs {
            // DSPy's "N/A" reward: the field then takes text.
            if v.is_string()
                && let Some(f) = signature
                    .inputs
                    .iter_mut()
                    .find(|f| f.name == k && f.ty == FieldType::Float)
            {
                f.ty = FieldType::Str;
            }
            fields.insert(k.into(), v);
        }
        Some(predict_spec(
            "simba_advice",
            signature,
            Example::from_map(fields),
            1,
            CallSettings::default(),
        ))
    }

    fn after_advice(&mut self, buckets: Buckets, planned: Vec<Planned>, results: Vec<JobResult>) {
        let mut results = results.into_iter();
        let mut kept = Vec::with_capacity(planned.len());
        for mut candidate in planned {
            if !candidate.awaiting_advice {
                kept.push(candidate);
                continue;
            }
            candidate.awaiting_advice = false;
            let Some(result) = results.next() else { break };
            let advice = predictions(&result.output)
                .first()
                .and_then(|p| p.get("module_advice"))
                .and_then(Value::as_object)
                .cloned();
            let Some(advice) = advice else {
                let why = predict_failure(&result.output);
                self.log.push(LogEvent::Note {
                    message: format!(
                        "step {}: the advice call failed ({why}); dropping that candidate",
                        self.step + 1
                    ),
                });
                continue;
            };
            let program = &mut candidate.program.0;
            for (name, predictor) in program.predictors.iter_mut() {
                let Some(text) = advice.get(name) else {
                    continue;
                };
                let text = match text {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                self.log.push(LogEvent::Proposal {
                    predictor: name.clone(),
                    text: text.clone(),
                    source: "simba_rule".into(),
                });
                predictor.signature.instructions =
                    format!("{}\n\n{text}", predictor.signature.instructions);
            }
            kept.push(candidate);
        }
        self.plan_candidates(buckets, kept);
    }

    fn evaluate_candidates(&mut self, candidates: Vec<Planned>) {
        if candidates.is_empty() {
            self.log.push(LogEvent::Note {
                message: format!("step {}: no candidates", self.step + 1),
            });
            self.step += 1;
            self.start_step();
            return;
        }
        let examples = self.batch_examples();
        for candidate in &candidates {
            self.book.create(eval_spec(
                &candidate.program.0,
                examples.clone(),
                false,
                CallSettings::default(),
            ));
        }
        self.phase = Phase::Evaluate { candidates };
    }

    fn after_evaluate(&mut self, candidates: Vec<Planned>, results: Vec<JobResult>) {
        let examples = self.batch_examples();
        let mut best: Option<(f64, usize)> = None;
        for (candidate, result) in candidates.into_iter().zip(results) {
            let scores: Vec<f64> = steps::outcomes(result.output, &examples)
                .iter()
                .map(|o| o.score)
                .collect();
            let score = mean(&scores);
            let index = self.pool.len();
            self.log.push(LogEvent::Trial {
                trial: self.log.next_trial(),
                candidate: index as u64,
                score,
                examples: scores.len(),
                full: false,
                detail: json!({
                    "step": self.step + 1,
                    "source": candidate.source,
                    "strategy": candidate.strategy,
                }),
            });
            if best.is_none_or(|(b, _)| score > b) {
                best = Some((score, index));
            }
            self.pool.push(Pooled {
                program: candidate.program,
                scores,
            });
        }
        if let Some((_, index)) = best {
            self.winning.push(index);
        }
        self.step += 1;
        self.start_step();
    }

    /// Up to `num_candidates + 1` winners spread evenly over the run, on the whole trainset.
    fn start_final(&mut self) {
        let m = self.winning.len().saturating_sub(1);
        let n = self.config.num_candidates + 1;
        let mut picks: Vec<usize> = if m < 1 {
            vec![0; n]
        } else {
            (0..n)
                .map(|i| round_half_even(i as f64 * m as f64 / (n - 1) as f64) as usize)
                .collect()
        };
        let mut seen = Vec::new();
        picks.retain(|i| {
            let new = !seen.contains(i);
            seen.push(*i);
            new
        });
        let programs: Vec<usize> = picks
            .into_iter()
            .filter_map(|i| self.winning.get(i).copied())
            .collect();
        for &p in &programs {
            self.book.create(eval_spec(
                &self.pool[p].program.0,
                self.trainset.clone(),
                false,
                CallSettings::default(),
            ));
        }
        self.phase = Phase::Final { programs };
    }

    fn after_final(&mut self, programs: Vec<usize>, results: Vec<JobResult>) {
        let mut best: Option<(f64, usize)> = None;
        for (p, result) in programs.into_iter().zip(results) {
            let scores: Vec<f64> = steps::outcomes(result.output, &self.trainset)
                .iter()
                .map(|o| o.score)
                .collect();
            let score = mean(&scores);
            self.log.push(LogEvent::Trial {
                trial: self.log.next_trial(),
                candidate: p as u64,
                score,
                examples: scores.len(),
                full: true,
                detail: json!({"final": true}),
            });
            if best.is_none_or(|(b, _)| score > b) {
                best = Some((score, p));
            }
        }
        if let Some((score, p)) = best {
            self.log.push(LogEvent::NewBest {
                candidate: p as u64,
                score,
            });
            self.log.push(LogEvent::Note {
                message: format!(
                    "SIMBA finished: {} program(s) in the pool, best #{p} with {score:.4} on the trainset",
                    self.pool.len()
                ),
            });
            self.best = Some((score, self.pool[p].program.clone()));
        }
        self.phase = Phase::Done;
    }

    fn advance_step(&mut self, results: Vec<JobResult>) {
        match std::mem::replace(&mut self.phase, Phase::Done) {
            Phase::Sample { jobs } => self.after_sample(jobs, results),
            Phase::Advice { buckets, planned } => self.after_advice(buckets, planned, results),
            Phase::Evaluate { candidates } => self.after_evaluate(candidates, results),
            Phase::Final { programs } => self.after_final(programs, results),
            Phase::Done => {}
        }
    }
}

/// JSON as orjson's `OPT_INDENT_2` writes it (DSPy's `append_a_rule` inputs).
fn json_text(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}

/// Python's `random.choices(programs, weights=exp(score / temperature))`.
fn softmax_pick(programs: &[usize], scores: &[f64], temperature: f64, rng: &mut OptRng) -> usize {
    let weights: Vec<f64> = scores.iter().map(|s| (s / temperature).exp()).collect();
    let total: f64 = weights.iter().sum();
    if programs.is_empty() {
        return 0;
    }
    if !(total > 0.0 && total.is_finite()) {
        return programs[rng.below(programs.len())];
    }
    let r = rng.next_f64() * total;
    let mut cumulative = 0.0;
    for (i, w) in weights.iter().enumerate() {
        cumulative += w;
        if r < cumulative {
            return programs[i];
        }
    }
    programs[programs.len() - 1]
}

/// A Poisson draw (Knuth's method; `lambda` is small here).
fn poisson(lambda: f64, rng: &mut OptRng) -> usize {
    if lambda <= 0.0 {
        return 0;
    }
    let limit = (-lambda).exp();
    let mut k = 0;
    let mut p = 1.0;
    loop {
        p *= rng.next_f64();
        if p <= limit {
            return k;
        }
        k += 1;
    }
}

/// NumPy's default (linear) percentile.
fn percentile(values: &[f64], q: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = q / 100.0 * (sorted.len() - 1) as f64;
    let lo = rank.floor() as usize;
    let hi = rank.ceil() as usize;
    sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo as f64)
}

/// Python's `round`: halves go to the even neighbour.
fn round_half_even(x: f64) -> f64 {
    let r = x.round();
    if (x - x.trunc()).abs() == 0.5 && r % 2.0 != 0.0 {
        r - x.signum()
    } else {
        r
    }
}

impl Restore for Simba {
    const NAME: &'static str = NAME;

    fn restore(state: Value) -> Result<Self, OptimizerError> {
        from_state(NAME, state)
    }
}

impl StepMachine for Simba {
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
        self.advance_step(results);
        Ok(())
    }

    fn fail(&mut self, error: &OptimizerError) {
        self.failure = Some(error.to_string());
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

    fn run_log(&self) -> &RunLog {
        &self.log
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hone_core::state::ProgramStructure;

    fn student(demos: usize) -> ProgramState {
        let sig = Signature::parse("question -> answer").expect("parses");
        let mut program = ProgramState::from_structure(&ProgramStructure::single(sig));
        for p in program.predictors.values_mut() {
            p.demos = (0..demos)
                .map(|i| {
                    Example::new()
                        .with("question", format!("q{i}"))
                        .with("answer", "a")
                })
                .collect();
        }
        program
    }

    fn train(n: usize) -> Vec<Example> {
        (0..n)
            .map(|i| {
                Example::new()
                    .with("question", format!("What is {i} + 1?"))
                    .with("answer", (i + 1).to_string())
                    .with_inputs(["question"])
            })
            .collect()
    }

    #[test]
    fn numpy_percentiles_and_python_rounding() {
        let v = [0.0, 1.0, 1.0, 0.0, 0.5];
        assert!((percentile(&v, 10.0) - 0.0).abs() < 1e-12);
        assert!((percentile(&v, 90.0) - 1.0).abs() < 1e-12);
        assert!((percentile(&[1.0, 2.0, 3.0, 4.0], 10.0) - 1.3).abs() < 1e-12);
        assert_eq!(round_half_even(0.5), 0.0);
        assert_eq!(round_half_even(1.5), 2.0);
        assert_eq!(round_half_even(2.5), 2.0);
        assert_eq!(round_half_even(2.4), 2.0);
        assert_eq!(round_half_even(2.6), 3.0);
    }

    #[test]
    fn softmax_prefers_high_scores_at_low_temperature() {
        let mut rng = OptRng::new(3);
        let programs = [0, 1, 2];
        let scores = [0.0, 1.0, 0.5];
        let mut counts = [0usize; 3];
        for _ in 0..1000 {
            counts[softmax_pick(&programs, &scores, 0.2, &mut rng)] += 1;
        }
        assert!(counts[1] > counts[2] && counts[2] > counts[0], "{counts:?}");
        assert!(counts[0] > 0, "every program keeps a chance: {counts:?}");
    }

    #[test]
    fn the_student_is_always_among_the_top_programs() {
        let mut simba = Simba::new(
            &student(0),
            &train(8),
            SimbaConfig {
                bsize: 4,
                num_candidates: 2,
                ..SimbaConfig::default()
            },
        )
        .expect("valid");
        for score in [0.9, 0.8, 0.7] {
            simba.pool.push(Pooled {
                program: StoredProgram(student(0)),
                scores: vec![score],
            });
        }
        assert_eq!(simba.top_k_plus_baseline(2), vec![1, 0]);
        assert_eq!(simba.top_k_plus_baseline(3), vec![1, 2, 0]);
    }

    #[test]
    fn demos_are_dropped_at_the_cap_and_appended_from_the_best_trajectory() {
        let mut simba = Simba::new(
            &student(4),
            &train(8),
            SimbaConfig {
                bsize: 4,
                ..SimbaConfig::default()
            },
        )
        .expect("valid");
        let mut program = student(4);
        let drawn = simba.drop_demos(&mut program);
        assert!(drawn >= 1, "a full predictor always loses a demo");
        let left = program
            .predictors
            .values()
            .next()
            .map_or(0, |p| p.demos.len());
        assert!(left < 4, "{left} demos left");

        let step = TraceStep {
            predictor: "self".into(),
            inputs: Example::new().with("question", "x".repeat(20)),
            outputs: Prediction::new(Map::from_iter([("answer".to_owned(), json!("7"))])),
        };
        let good = Trajectory {
            score: Some(1.0),
            prediction: None,
            trace: vec![step],
        };
        simba.config.demo_input_field_maxlen = 5;
        let before = program
            .predictors
            .values()
            .next()
            .map_or(0, |p| p.demos.len());
        simba.append_a_demo(std::slice::from_ref(&good), &mut program, 0.5);
        let demos = &program
            .predictors
            .values()
            .next()
            .expect("a predictor")
            .demos;
        assert_eq!(demos.len(), before + 1);
        let demo = demos.last().expect("a demo");
        assert_eq!(demo.get("augmented"), Some(&json!(true)));
        assert_eq!(
            demo.get("question"),
            Some(&json!("xxxxx\n\t\t... <TRUNCATED FOR BREVITY>"))
        );
        // At or below the 10th percentile, no demo.
        simba.append_a_demo(&[good], &mut program, 1.0);
        assert_eq!(
            program
                .predictors
                .values()
                .next()
                .map_or(0, |p| p.demos.len()),
            before + 1
        );
    }

    #[test]
    fn modules_are_listed_as_dspy_lists_them() {
        let text = inspect_modules(&student(0));
        let sep = "-".repeat(80);
        assert_eq!(
            text,
            format!(
                "{sep}\nModule self\n\tInput Fields:\n\t\t1. `question` (str):\n\tOutput Fields:\n\t\t1. `answer` (str):\n\tOriginal Instructions: \n\t\tGiven the fields `question`, produce the fields `answer`.\n{sep}"
            )
        );
    }

    #[test]
    fn rules_are_skipped_when_the_batch_gives_no_contrast() {
        let simba = Simba::new(
            &student(0),
            &train(8),
            SimbaConfig {
                bsize: 4,
                ..SimbaConfig::default()
            },
        )
        .expect("valid");
        let t = |s: f64| Trajectory {
            score: Some(s),
            prediction: None,
            trace: Vec::new(),
        };
        let program = student(0);
        // The best at or below the 10th percentile, or the worst at or above the 90th: no call.
        assert!(
            simba
                .advice_call(0, &[t(1.0), t(0.0)], &program, 1.0, 1.0)
                .is_none()
        );
        assert!(
            simba
                .advice_call(0, &[t(0.0), t(0.0)], &program, 0.0, 1.0)
                .is_none()
        );
        assert!(
            simba
                .advice_call(0, &[t(1.0), t(0.5)], &program, 0.0, 0.5)
                .is_none()
        );
        let spec = simba
            .advice_call(0, &[t(1.0), t(0.0)], &program, 0.0, 1.0)
            .expect("a call");
        let JobSpec::Predict {
            inputs, signature, ..
        } = spec
        else {
            panic!("a predict job")
        };
        assert_eq!(signature.name, "OfferFeedback");
        assert_eq!(inputs.get("better_reward_value"), Some(&json!(1.0)));
        assert_eq!(inputs.get("module_names"), Some(&json!(["self"])));
    }
}
