//! `COPRO`: coordinate-ascent instruction search with an LM proposer — DSPy's `dspy.COPRO`,
//! with its parameters and defaults.
//!
//! For each predictor the proposer LM writes `breadth − 1` instructions (with an output-field
//! prefix) from the basic one, which joins them. Then, `depth` times, predictor by predictor,
//! every candidate is scored on the trainset inside the current program and the predictor
//! keeps its best; between depths the proposer sees the best attempts so far with their scores
//! and writes `breadth` new ones. The best scored program over all predictors wins.
//!
//! # Concurrency
//!
//! All proposer calls of a round run together, and all candidates of a predictor at one depth
//! are scored together (DSPy scores them one after another; the result is the same, as each
//! score depends only on its own candidate and the program around it).

use hone_core::state::ProgramState;
use hone_core::{Example, Field, FieldType, Sampling, Signature};
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::book::JobBook;
use crate::labeled::no_predictors;
use crate::log::{LogEvent, RunLog};
use crate::program::StoredProgram;
use crate::protocol::{CallSettings, JobExample, JobResult, OptimizerError, Split};
use crate::steps::StepMachine;
use crate::steps::{self, eval_spec, mean, predict_failure, predict_spec, predictions};

const NAME: &str = "copro";

/// DSPy's `BasicGenerateInstruction` instructions.
pub const BASIC_GENERATE_INSTRUCTION: &str = "You are an instruction optimizer for large language models. I will give you a ``signature`` of fields (inputs and outputs) in English. Your task is to propose an instruction that will lead a good language model to perform the task well. Don't be afraid to be creative.";

/// DSPy's `GenerateInstructionGivenAttempts` instructions.
pub const GENERATE_GIVEN_ATTEMPTS: &str = "You are an instruction optimizer for large language models. I will give some task instructions I've tried, along with their corresponding validation scores. The instructions are arranged in increasing order based on their scores, where higher scores indicate better quality.

Your task is to propose a new instruction that will lead a good language model to perform the task even better. Don't be afraid to be creative.";

fn outputs() -> Vec<Field> {
    vec![
        Field::new("proposed_instruction", FieldType::Str)
            .desc("The improved instructions for the language model"),
        Field::new("proposed_prefix_for_output_field", FieldType::Str).desc(
            "The string at the end of the prompt, which will help the model start solving the task",
        ),
    ]
}

/// DSPy's `BasicGenerateInstruction` signature.
pub fn basic_generate_instruction() -> Signature {
    Signature {
        name: "BasicGenerateInstruction".into(),
        instructions: BASIC_GENERATE_INSTRUCTION.into(),
        inputs: vec![
            Field::new("basic_instruction", FieldType::Str)
                .desc("The initial instructions before optimization"),
        ],
        outputs: outputs(),
    }
}

/// DSPy's `GenerateInstructionGivenAttempts` signature.
pub fn generate_given_attempts() -> Signature {
    Signature {
        name: "GenerateInstructionGivenAttempts".into(),
        instructions: GENERATE_GIVEN_ATTEMPTS.into(),
        inputs: vec![Field::new("attempted_instructions", FieldType::Str)],
        outputs: outputs(),
    }
}

/// Settings of [`Copro`]: DSPy's parameters and defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CoproConfig {
    /// New instructions per round (default 10; must be above 1).
    pub breadth: usize,
    /// Rounds (default 3).
    pub depth: usize,
    /// Temperature of proposer calls (default 1.4).
    pub init_temperature: f64,
}

impl Default for CoproConfig {
    fn default() -> Self {
        CoproConfig {
            breadth: 10,
            depth: 3,
            init_temperature: 1.4,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Evaluated {
    instruction: String,
    prefix: String,
    score: f64,
    program: StoredProgram,
    depth: usize,
    predictor: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
enum Phase {
    /// Proposer calls for every predictor.
    Propose,
    /// Candidates of predictor `predictor` at depth `depth`.
    Evaluate {
        depth: usize,
        predictor: usize,
        candidates: Vec<(String, String)>,
    },
    Done,
}

/// DSPy's `COPRO` as a sans-IO [`Optimizer`](crate::Optimizer).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Copro {
    optimizer: String,
    config: CoproConfig,
    student: StoredProgram,
    trainset: Vec<JobExample>,
    names: Vec<String>,
    /// The program whose predictors take their best candidate in turn (DSPy's `module_clone`).
    current: StoredProgram,
    /// Candidates per predictor: every one proposed so far, and the latest round.
    all: Vec<Vec<(String, String)>>,
    latest: Vec<Vec<(String, String)>>,
    evaluated: Vec<IndexMap<String, Evaluated>>,
    depth: usize,
    book: JobBook,
    phase: Phase,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    best: Option<StoredProgram>,
    candidates_scored: u64,
    /// Why the run stopped early, when advancing failed; the run is then over.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    failure: Option<String>,
    log: RunLog,
}

fn last_prefix(program: &ProgramState, name: &str) -> String {
    program
        .predictors
        .get(name)
        .and_then(|p| p.signature.outputs.last())
        .map(|f| f.prefix.clone())
        .unwrap_or_default()
}

impl Copro {
    /// Starts optimizing `student`'s instructions, scoring candidates on `trainset`.
    pub fn new(
        student: &ProgramState,
        trainset: &[Example],
        config: CoproConfig,
    ) -> Result<Self, OptimizerError> {
        if config.breadth <= 1 {
            return Err(OptimizerError::Config {
                optimizer: NAME,
                message: "breadth must be greater than 1".into(),
            });
        }
        if trainset.is_empty() {
            return Err(OptimizerError::Config {
                optimizer: NAME,
                message: "the trainset is empty; COPRO scores candidates on it".into(),
            });
        }
        if student.predictors.is_empty() {
            return Err(no_predictors(NAME));
        }
        let names: Vec<String> = student.predictors.keys().cloned().collect();
        let n = names.len();
        let mut copro = Copro {
            optimizer: NAME.into(),
            student: StoredProgram(student.clone()),
            current: StoredProgram(student.clone()),
            trainset: JobExample::dataset(Split::Train, trainset.iter().cloned()),
            all: vec![Vec::new(); n],
            latest: vec![Vec::new(); n],
            evaluated: vec![IndexMap::new(); n],
            names,
            depth: 0,
            book: JobBook::new(),
            phase: Phase::Propose,
            best: None,
            candidates_scored: 0,
            failure: None,
            log: RunLog::new(),
            config,
        };
        let settings = copro.proposer_settings();
        for name in copro.names.clone() {
            let basic = student
                .predictors
                .get(&name)
                .map(|p| p.signature.instructions.clone())
                .unwrap_or_default();
            copro.book.create(predict_spec(
                "copro_propose",
                basic_generate_instruction(),
                Example::new()
                    .with("basic_instruction", basic)
                    .with_inputs(["basic_instruction"]),
                (copro.config.breadth - 1) as u32,
                settings.clone(),
            ));
        }
        Ok(copro)
    }

    fn proposer_settings(&self) -> CallSettings {
        CallSettings::from(Sampling::new().temperature(self.config.init_temperature))
    }

    /// The settings.
    pub fn config(&self) -> &CoproConfig {
        &self.config
    }

    fn with_candidate(
        &self,
        program: &ProgramState,
        p: usize,
        c: &(String, String),
    ) -> ProgramState {
        let mut program = program.clone();
        if let Some(pred) = program.predictors.get_mut(&self.names[p]) {
            pred.signature.instructions = c.0.clone();
            if let Some(last) = pred.signature.outputs.last_mut() {
                last.prefix = c.1.clone();
            }
        }
        program
    }

    fn start_evaluations(&mut self, predictor: usize) {
        let candidates = if self.names.len() > 1 {
            self.all[predictor].clone()
        } else {
            self.latest[predictor].clone()
        };
        for c in &candidates {
            let program = self.with_candidate(&self.current.0, predictor, c);
            self.book.create(eval_spec(
                &program,
                self.trainset.clone(),
                false,
                CallSettings::default(),
            ));
        }
        let empty = candidates.is_empty();
        self.phase = Phase::Evaluate {
            depth: self.depth,
            predictor,
            candidates,
        };
        if empty {
            // Every proposal failed: nothing to score for this predictor at this depth.
            self.advance_step(Vec::new());
        }
    }

    fn read_proposals(&mut self, results: Vec<JobResult>, with_basic: bool) {
        for (p, result) in results.into_iter().enumerate().take(self.names.len()) {
            let mut fresh = Vec::new();
            for prediction in predictions(&result.output) {
                let field = |k: &str| {
                    prediction
                        .get(k)
                        .and_then(Value::as_str)
                        .map(|s| s.trim_matches('"').trim().to_owned())
                        .unwrap_or_default()
                };
                let instruction = field("proposed_instruction");
                if instruction.is_empty() {
                    self.log.push(LogEvent::Note {
                        message: format!(
                            "an empty instruction proposal for `{}` was skipped",
                            self.names[p]
                        ),
                    });
                    continue;
                }
                let prefix = field("proposed_prefix_for_output_field");
                self.log.push(LogEvent::Proposal {
                    predictor: self.names[p].clone(),
                    text: instruction.clone(),
                    source: "copro".into(),
                });
                fresh.push((instruction, prefix));
            }
            if predictions(&result.output).is_empty() {
                let why = predict_failure(&result.output);
                self.log.push(LogEvent::Note {
                    message: format!("proposals for `{}` failed: {why}", self.names[p]),
                });
            }
            if with_basic {
                let basic = self
                    .student
                    .0
                    .predictors
                    .get(&self.names[p])
                    .map(|x| x.signature.instructions.clone())
                    .unwrap_or_default();
                fresh.push((basic, last_prefix(&self.student.0, &self.names[p])));
            }
            self.all[p].extend(fresh.iter().cloned());
            self.latest[p] = fresh;
        }
    }

    fn advance_step(&mut self, results: Vec<JobResult>) {
        let phase = std::mem::replace(&mut self.phase, Phase::Done);
        match phase {
            Phase::Propose => {
                self.read_proposals(results, self.depth == 0);
                self.start_evaluations(0);
            }
            Phase::Evaluate {
                depth,
                predictor,
                candidates,
            } => {
                for (c, result) in candidates.iter().zip(results) {
                    let outcomes = steps::outcomes(result.output, &self.trainset);
                    let scores: Vec<f64> = outcomes.iter().map(|o| o.score).collect();
                    let score = mean(&scores);
                    let program = self.with_candidate(&self.current.0, predictor, c);
                    self.log.push(LogEvent::Trial {
                        trial: self.log.next_trial(),
                        candidate: self.candidates_scored,
                        score,
                        examples: scores.len(),
                        errors: steps::errors(&outcomes),
                        full: true,
                        detail: json!({"predictor": self.names[predictor], "depth": depth, "instruction": c.0, "prefix": c.1}),
                    });
                    self.candidates_scored += 1;
                    let key = format!("{}\u{1f}{}", c.0, c.1);
                    let replace = self.evaluated[predictor]
                        .get(&key)
                        .is_none_or(|e| e.score < score);
                    if replace {
                        self.evaluated[predictor].insert(
                            key,
                            Evaluated {
                                instruction: c.0.clone(),
                                prefix: c.1.clone(),
                                score,
                                program: StoredProgram(program),
                                depth,
                                predictor,
                            },
                        );
                    }
                }
                let best = self.evaluated[predictor]
                    .values()
                    .fold(None::<&Evaluated>, |b, e| match b {
                        Some(b) if b.score >= e.score => Some(b),
                        _ => Some(e),
                    })
                    .map(|e| (e.instruction.clone(), e.prefix.clone()));
                if let Some(best) = best {
                    self.current =
                        StoredProgram(self.with_candidate(&self.current.0, predictor, &best));
                }
                if predictor + 1 < self.names.len() {
                    self.start_evaluations(predictor + 1);
                } else if depth + 1 >= self.config.depth {
                    self.finish();
                } else {
                    self.depth += 1;
                    self.propose_from_attempts();
                }
            }
            Phase::Done => {}
        }
    }

    fn propose_from_attempts(&mut self) {
        let settings = self.proposer_settings();
        for p in 0..self.names.len() {
            let mut ranked: Vec<&Evaluated> = self.evaluated[p].values().collect();
            ranked.sort_by(|a, b| b.score.total_cmp(&a.score));
            let shortest = ranked.len().min(self.config.breadth);
            let mut attempts = Vec::new();
            for i in (0..shortest).rev() {
                let k = shortest - i;
                attempts.push(Value::String(format!(
                    "Instruction #{k}: {}",
                    ranked[i].instruction
                )));
                attempts.push(Value::String(format!("Prefix #{k}: {}", ranked[i].prefix)));
                attempts.push(Value::String(format!(
                    "Resulting Score #{k}: {}",
                    crate::stats::round_percent(ranked[i].score)
                )));
            }
            self.book.create(predict_spec(
                "copro_propose",
                generate_given_attempts(),
                Example::new()
                    .with("attempted_instructions", Value::Array(attempts))
                    .with_inputs(["attempted_instructions"]),
                self.config.breadth as u32,
                settings.clone(),
            ));
        }
        self.phase = Phase::Propose;
    }

    fn finish(&mut self) {
        self.phase = Phase::Done;
        let mut all: Vec<&Evaluated> = self.evaluated.iter().flat_map(|m| m.values()).collect();
        all.sort_by(|a, b| b.score.total_cmp(&a.score));
        if let Some(best) = all.first() {
            self.best = Some(best.program.clone());
            self.log.push(LogEvent::NewBest {
                candidate: 0,
                score: best.score,
            });
            self.log.push(LogEvent::Note {
                message: format!(
                    "COPRO finished: best `{}` scored {:.4} at depth {}",
                    self.names[best.predictor], best.score, best.depth
                ),
            });
        }
    }
}

impl StepMachine for Copro {
    const NAME: &'static str = NAME;

    crate::steps::step_fields!();

    fn at_end(&self) -> bool {
        matches!(self.phase, Phase::Done)
    }

    fn advance(&mut self, results: Vec<JobResult>) -> Result<(), OptimizerError> {
        self.advance_step(results);
        Ok(())
    }

    fn best_program(&self) -> Option<ProgramState> {
        self.best.as_ref().map(|p| p.0.clone())
    }
}
