//! `InferRules`: natural-language rules induced from the training examples and appended to
//! each predictor's instructions — DSPy's `dspy.InferRules`, with its parameters, defaults and
//! prompt.
//!
//! DSPy's `compile`, step by step:
//!
//! 1. Without a valset the trainset is split in half (`trainset[:int(0.5 n)]`, the rest is the
//!    valset).
//! 2. `BootstrapFewShot` compiles the student on the (first half of the) trainset; its demos
//!    stay in every candidate.
//! 3. For each of `num_candidates` candidates, predictor by predictor, the rule-induction
//!    program (a `ChainOfThought` over [`rules_induction`], at temperature 1.0 with a fresh
//!    rollout id drawn from `random.Random(0)`) reads every training example written out as
//!    `Input Fields: ... ========= Output Fields: ...`; the rules are appended to the
//!    predictor's original instructions after
//!    `"\n\nPlease adhere to the following rules when making your prediction:\n"`. When the
//!    call fails, it is retried with the last example dropped, down to one example.
//! 4. Each candidate is scored on the valset (DSPy's percentage, rounded to two decimals); the
//!    first candidate with the highest score wins.
//!
//! # Concurrency
//!
//! DSPy makes the rule calls and evaluations one after another. Here every candidate's rule
//! calls go out together (their rollout ids drawn in DSPy's order, candidate by candidate,
//! predictor by predictor), then every candidate is scored together. A retried call draws its
//! rollout id after every first attempt rather than between them; nothing else differs.

use hone_core::adapter::pyfmt::py_str;
use hone_core::state::ProgramState;
use hone_core::{Example, Field, FieldType, Signature};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::book::JobBook;
use crate::bootstrap::{BootstrapConfig, BootstrapRun, Ctx, Teacher};
use crate::labeled::no_predictors;
use crate::log::{LogEvent, RunLog};
use crate::program::StoredProgram;
use crate::protocol::{CallSettings, JobExample, JobId, JobResult, LmRole, OptimizerError, Split};
use crate::pyrandom::PyRandom;
use crate::stats::round_percent;
use crate::steps::{self, StepMachine, eval_spec, mean, predict_failure, predict_spec};

const NAME: &str = "infer_rules";

/// The text DSPy puts between a predictor's instructions and the induced rules.
pub const RULES_PREAMBLE: &str =
    "\n\nPlease adhere to the following rules when making your prediction:\n";

/// DSPy's `CustomRulesInduction` signature for `num_rules` rules, as the `ChainOfThought`
/// around it sends it (a `reasoning` output first).
pub fn rules_induction(num_rules: usize) -> Signature {
    Signature {
        name: "CustomRulesInduction".into(),
        instructions: format!(
            "Given a set of examples, extract a list of {num_rules} concise and non-redundant \
             natural language rules that provide clear guidance for performing the task. All \
             rules should be actionable for a well-specified scope of examples of this general \
             kind of task."
        ),
        inputs: vec![Field::new("examples_text", FieldType::Str).desc("Text containing examples")],
        outputs: vec![
            Field::new("reasoning", FieldType::Str)
                .prefix("Reasoning:")
                .desc("${reasoning}"),
            Field::new("natural_language_rules", FieldType::Str)
                .desc("Induced natural language rules"),
        ],
    }
}

/// DSPy's `InferRules.format_examples`: each example's input fields, then its output fields,
/// in the example's own key order, values as Python's `str` prints them.
pub fn format_examples(examples: &[Example], signature: &Signature) -> String {
    let mut text = String::new();
    for example in examples {
        let lines = |role_fields: &[Field]| {
            example
                .fields()
                .iter()
                .filter(|(k, _)| role_fields.iter().any(|f| f.name == **k))
                .map(|(k, v)| format!("{k}: {}", py_str(v)))
                .collect::<Vec<_>>()
                .join("\n")
        };
        let inputs = lines(&signature.inputs);
        let outputs = lines(&signature.outputs);
        text.push_str(&format!(
            "Input Fields:\n{inputs}\n\n=========\nOutput Fields:\n{outputs}\n\n"
        ));
    }
    text
}

/// Settings of [`InferRules`]: DSPy's parameters and defaults (those of `BootstrapFewShot`,
/// which it extends, and its own).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct InferRulesConfig {
    /// Candidate programs, each with freshly induced rules (default 10).
    pub num_candidates: usize,
    /// Rules asked for per predictor (default 10).
    pub num_rules: usize,
    /// See [`BootstrapConfig::metric_threshold`].
    pub metric_threshold: Option<f64>,
    /// See [`BootstrapConfig::teacher`].
    pub teacher: Option<Teacher>,
    /// See [`BootstrapConfig::teacher_lm`].
    pub teacher_lm: LmRole,
    /// See [`BootstrapConfig::teacher_settings`]; the rule calls take them too, at temperature
    /// 1.0 with their own rollout ids.
    pub teacher_settings: CallSettings,
    /// See [`BootstrapConfig::max_bootstrapped_demos`] (default 4).
    pub max_bootstrapped_demos: usize,
    /// See [`BootstrapConfig::max_labeled_demos`] (default 16).
    pub max_labeled_demos: usize,
    /// See [`BootstrapConfig::max_rounds`] (default 1).
    pub max_rounds: usize,
    /// See [`BootstrapConfig::max_errors`].
    pub max_errors: Option<usize>,
    /// See [`BootstrapConfig::wave_size`].
    pub wave_size: Option<usize>,
    /// See [`BootstrapConfig::seed`]; also the seed of the rollout ids (DSPy: 0).
    pub seed: i64,
}

impl Default for InferRulesConfig {
    fn default() -> Self {
        InferRulesConfig {
            num_candidates: 10,
            num_rules: 10,
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

impl InferRulesConfig {
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

/// One rule-induction call: for which candidate and predictor, over how many examples.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct RuleCall {
    candidate: usize,
    predictor: usize,
    examples: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
enum Phase {
    /// `BootstrapFewShot`'s waves; `routes` are the bootstrap's own ids of the step's jobs.
    Bootstrap {
        routes: Vec<JobId>,
    },
    /// Rule-induction calls (first attempts, then retries with fewer examples).
    Induce {
        calls: Vec<RuleCall>,
    },
    /// Every candidate scored on the valset.
    Evaluate,
    Done,
}

/// DSPy's `InferRules` as a sans-IO [`Optimizer`](crate::Optimizer).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InferRules {
    optimizer: String,
    config: InferRulesConfig,
    boot: BootstrapConfig,
    student: StoredProgram,
    trainset: Vec<JobExample>,
    valset: Vec<JobExample>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    run: Option<BootstrapRun>,
    /// The bootstrapped student (DSPy's `original_program`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    compiled: Option<StoredProgram>,
    /// Rollout ids drawn so far from `random.Random(seed)`.
    rollouts: u64,
    /// Per candidate, per predictor: the induced rules.
    rules: Vec<Vec<Option<String>>>,
    /// The candidates' programs and scores (DSPy's percentages), once evaluated.
    candidates: Vec<StoredProgram>,
    scores: Vec<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    best: Option<usize>,
    book: JobBook,
    phase: Phase,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    failure: Option<String>,
    log: RunLog,
}

impl InferRules {
    /// Starts `InferRules` on `student`: bootstrapping on `trainset`, candidates scored on
    /// `valset` (without one, or with an empty one, the trainset's second half, as in DSPy).
    pub fn new(
        student: &ProgramState,
        trainset: &[Example],
        valset: Option<&[Example]>,
        config: InferRulesConfig,
    ) -> Result<Self, OptimizerError> {
        if trainset.is_empty() {
            return Err(OptimizerError::Config {
                optimizer: NAME,
                message: "the trainset is empty; InferRules induces rules from training examples"
                    .into(),
            });
        }
        if student.predictors.is_empty() {
            return Err(no_predictors(NAME));
        }
        if config.num_candidates == 0 {
            return Err(OptimizerError::Config {
                optimizer: NAME,
                message: "num_candidates is 0; at least one candidate must be scored".into(),
            });
        }
        let (train, val): (Vec<Example>, Vec<Example>) = match valset.filter(|v| !v.is_empty()) {
            Some(v) => (trainset.to_vec(), v.to_vec()),
            None => {
                let half = trainset.len() / 2;
                (trainset[..half].to_vec(), trainset[half..].to_vec())
            }
        };
        let trainset = JobExample::dataset(Split::Train, train);
        let valset = JobExample::dataset(Split::Val, val);
        let boot = config.bootstrap_config();
        let run = BootstrapRun::start(
            &Ctx {
                optimizer: NAME,
                trainset: &trainset,
                student,
                config: &boot,
            },
            (0..trainset.len()).collect(),
            boot.max_bootstrapped_demos,
        )?;
        let mut opt = InferRules {
            optimizer: NAME.into(),
            boot,
            student: StoredProgram(student.clone()),
            trainset,
            valset,
            run: Some(run),
            compiled: None,
            rollouts: 0,
            rules: Vec::new(),
            candidates: Vec::new(),
            scores: Vec::new(),
            best: None,
            book: JobBook::new(),
            phase: Phase::Bootstrap { routes: Vec::new() },
            failure: None,
            log: RunLog::new(),
            config,
        };
        opt.bootstrap_step();
        Ok(opt)
    }

    /// The settings.
    pub fn config(&self) -> &InferRulesConfig {
        &self.config
    }

    /// The examples candidates are scored on.
    pub fn valset(&self) -> &[JobExample] {
        &self.valset
    }

    /// The candidates' scores on the valset (DSPy's percentages), in candidate order, once
    /// evaluated.
    pub fn scores(&self) -> &[f64] {
        &self.scores
    }

    /// Hands the bootstrap's next wave to the book, or moves on once it is done.
    fn bootstrap_step(&mut self) {
        let Some(run) = &mut self.run else { return };
        if let Some(program) = run.result() {
            self.log.push(LogEvent::Note {
                message: run.summary(self.boot.max_rounds),
            });
            self.compiled = Some(StoredProgram(program.clone()));
            self.run = None;
            self.start_induction();
            return;
        }
        let routes = run.ask_into(&mut self.book);
        self.phase = Phase::Bootstrap { routes };
    }

    fn next_rollout(&mut self) -> u64 {
        let mut rng = PyRandom::new(self.config.seed);
        for _ in 0..self.rollouts {
            rng.randint(0, 1_000_000_000);
        }
        self.rollouts += 1;
        rng.randint(0, 1_000_000_000).max(0) as u64
    }

    fn names(&self) -> Vec<String> {
        self.student.0.predictors.keys().cloned().collect()
    }

    fn rule_job(&mut self, call: RuleCall) {
        let names = self.names();
        let signature = self.student.0.predictors[&names[call.predictor]]
            .signature
            .clone();
        let examples: Vec<Example> = self.trainset[..call.examples]
            .iter()
            .map(|e| e.example.clone())
            .collect();
        let text = format_examples(&examples, &signature);
        let mut settings = self.config.teacher_settings.clone();
        settings.sampling.temperature = Some(1.0);
        settings.sampling.rollout_id = Some(self.next_rollout());
        self.book.create(predict_spec(
            "infer_rules",
            rules_induction(self.config.num_rules),
            Example::new()
                .with("examples_text", text)
                .with_inputs(["examples_text"]),
            1,
            settings,
        ));
    }

    fn start_induction(&mut self) {
        let predictors = self.student.0.predictors.len();
        self.rules = vec![vec![None; predictors]; self.config.num_candidates];
        let mut calls = Vec::new();
        for candidate in 0..self.config.num_candidates {
            for predictor in 0..predictors {
                let call = RuleCall {
                    candidate,
                    predictor,
                    examples: self.trainset.len(),
                };
                self.rule_job(call);
                calls.push(call);
            }
        }
        self.phase = Phase::Induce { calls };
    }

    fn read_rules(
        &mut self,
        calls: Vec<RuleCall>,
        results: Vec<JobResult>,
    ) -> Result<(), OptimizerError> {
        let names = self.names();
        let mut retries = Vec::new();
        for (call, result) in calls.into_iter().zip(results) {
            let rules = steps::predictions(&result.output)
                .first()
                .and_then(|p| p.get("natural_language_rules"))
                .filter(|v| !v.is_null())
                .map(|v| py_str(v).trim().to_owned());
            match rules {
                Some(rules) => {
                    self.log.push(LogEvent::Proposal {
                        predictor: names[call.predictor].clone(),
                        text: rules.clone(),
                        source: "infer_rules".into(),
                    });
                    self.rules[call.candidate][call.predictor] = Some(rules);
                }
                None if call.examples > 1 => {
                    let why = predict_failure(&result.output);
                    self.log.push(LogEvent::Note {
                        message: format!(
                            "rule induction for `{}` (candidate {}) failed over {} example(s) \
                             ({why}); retrying with one fewer",
                            names[call.predictor],
                            call.candidate + 1,
                            call.examples
                        ),
                    });
                    retries.push(RuleCall {
                        examples: call.examples - 1,
                        ..call
                    });
                }
                None => {
                    return Err(OptimizerError::Failed {
                        optimizer: NAME,
                        message: format!(
                            "failed to generate natural language rules for `{}`: the call \
                             failed even with a single example ({}); check that the proposer \
                             LM is reachable and that one example fits its context window",
                            names[call.predictor],
                            predict_failure(&result.output)
                        ),
                    });
                }
            }
        }
        if retries.is_empty() {
            self.start_evaluations();
        } else {
            for call in &retries {
                self.rule_job(*call);
            }
            self.phase = Phase::Induce { calls: retries };
        }
        Ok(())
    }

    fn start_evaluations(&mut self) {
        let names = self.names();
        let Some(compiled) = self.compiled.clone() else {
            return;
        };
        self.candidates.clear();
        for rules in &self.rules {
            let mut program = compiled.0.clone();
            for (name, rules) in names.iter().zip(rules) {
                let original = &self.student.0.predictors[name].signature.instructions;
                if let Some(p) = program.predictors.get_mut(name) {
                    p.signature.instructions = format!(
                        "{original}{RULES_PREAMBLE}{}",
                        rules.as_deref().unwrap_or_default()
                    );
                }
            }
            self.book.create(eval_spec(
                &program,
                self.valset.clone(),
                false,
                CallSettings::default(),
            ));
            self.candidates.push(StoredProgram(program));
        }
        self.phase = Phase::Evaluate;
    }

    fn read_scores(&mut self, results: Vec<JobResult>) {
        for (index, result) in results.into_iter().enumerate() {
            let outcomes = steps::outcomes(result.output, &self.valset);
            let scores: Vec<f64> = outcomes.iter().map(|o| o.score).collect();
            let fraction = mean(&scores);
            let percent = round_percent(fraction);
            self.log.push(LogEvent::Trial {
                trial: self.log.next_trial(),
                candidate: index as u64,
                score: fraction,
                examples: scores.len(),
                errors: steps::errors(&outcomes),
                full: true,
                detail: json!({"candidate": index + 1, "percent": percent}),
            });
            let beats = self.best.is_none_or(|b| percent > self.scores[b]);
            self.scores.push(percent);
            if beats {
                self.best = Some(index);
                self.log.push(LogEvent::NewBest {
                    candidate: index as u64,
                    score: fraction,
                });
            }
        }
        self.phase = Phase::Done;
    }
}

impl StepMachine for InferRules {
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
                self.bootstrap_step();
            }
            Phase::Induce { calls } => self.read_rules(calls, results)?,
            Phase::Evaluate => self.read_scores(results),
            Phase::Done => {}
        }
        Ok(())
    }

    fn best_program(&self) -> Option<ProgramState> {
        self.best.map(|b| self.candidates[b].0.clone())
    }
}

impl InferRules {
    /// Every candidate program (in candidate order), once built.
    pub fn candidates(&self) -> Vec<ProgramState> {
        self.candidates.iter().map(|p| p.0.clone()).collect()
    }
}

#[cfg(test)]
mod tests;
