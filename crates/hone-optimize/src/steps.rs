//! Building blocks the instruction optimizers (COPRO, MIPROv2, SIMBA, GEPA) share: step-wise
//! job bookkeeping, job specs, reading outcomes and LM answers, and program-text helpers.
//!
//! Each of those optimizers runs as a sequence of *steps*: it creates every job that can run
//! now, waits until all of them have results, reads the results in job-id order and decides the
//! next step. Nothing it decides depends on the order results arrived in or on the executor's
//! concurrency.

use std::collections::BTreeMap;

use hone_core::state::ProgramState;
use hone_core::{Example, Prediction, Signature};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::book::JobBook;
use crate::log::RunLog;
use crate::protocol::{
    CallSettings, ExampleOutcome, Job, JobExample, JobOutput, JobResult, JobSpec, LmRole,
    Optimizer, OptimizerError, RunSignals, Told, TraceStep,
};
use crate::restore::{Restore, from_state, to_state};

/// Records `result` in `book`; returns the step's results (in job-id order) once the step is
/// complete. Results that do not fit their job are rejected without being recorded.
pub(crate) fn record(
    optimizer: &'static str,
    book: &mut JobBook,
    result: JobResult,
) -> Result<(Told, Option<Vec<JobResult>>), OptimizerError> {
    if let Some(job) = book.issued_job(result.id) {
        result
            .check_against(job)
            .map_err(|message| OptimizerError::BadResult {
                optimizer,
                job: result.id,
                message,
            })?;
    }
    let told = book.record(result);
    if told == Told::Accepted && book.step_complete() {
        return Ok((told, Some(book.take_step())));
    }
    Ok((told, None))
}

/// An optimizer run as a sequence of [`JobBook`] steps. Its [`Optimizer`] implementation —
/// handing out the book's jobs, recording results idempotently, advancing when a step is
/// complete, answering after the end, saving the state — and its [`Restore`] implementation
/// are the ones below, shared by every such optimizer; [`step_fields!`] writes the accessors
/// of the fields every one of them has.
pub(crate) trait StepMachine: Serialize + DeserializeOwned + Send + 'static {
    /// The optimizer's name ([`Optimizer::name`], [`Restore::NAME`]).
    const NAME: &'static str;
    /// The job book.
    fn book(&self) -> &JobBook;
    /// The job book, to record results in.
    fn book_mut(&mut self) -> &mut JobBook;
    /// Whether the last step was read: the algorithm is at its end.
    fn at_end(&self) -> bool;
    /// Whether advancing failed.
    fn failed(&self) -> bool;
    /// Whether the run is over (at its end, or failed).
    fn finished(&self) -> bool {
        self.failed() || self.at_end()
    }
    /// Applies the results of a completed step (in job-id order).
    fn advance(&mut self, results: Vec<JobResult>) -> Result<(), OptimizerError>;
    /// Runs after every accepted result (background work that is not part of a step).
    fn after_result(&mut self) {}
    /// Remembers that advancing failed; the run is then over.
    fn fail(&mut self, error: &OptimizerError);
    /// The best program so far.
    fn best_program(&self) -> Option<ProgramState>;
    /// The run log.
    fn run_log(&self) -> &RunLog;
    /// [`Optimizer::observe`]: ignored unless the machine has stop conditions that read it.
    fn observe_signals(&mut self, signals: RunSignals) {
        let _ = signals;
    }
    /// [`Optimizer::stop_file`].
    fn stop_file_path(&self) -> Option<&std::path::Path> {
        None
    }
}

/// The [`StepMachine`] methods over the fields every step machine has alike: `book` (its
/// [`JobBook`]), `failure` (`Option<String>`: why advancing failed) and `log` (its
/// [`RunLog`]).
macro_rules! step_fields {
    () => {
        fn book(&self) -> &$crate::book::JobBook {
            &self.book
        }

        fn book_mut(&mut self) -> &mut $crate::book::JobBook {
            &mut self.book
        }

        fn failed(&self) -> bool {
            self.failure.is_some()
        }

        fn fail(&mut self, error: &$crate::protocol::OptimizerError) {
            self.failure = Some(error.to_string());
        }

        fn run_log(&self) -> &$crate::log::RunLog {
            &self.log
        }
    };
}
pub(crate) use step_fields;

impl<T: StepMachine> Restore for T {
    const NAME: &'static str = <T as StepMachine>::NAME;

    fn restore(state: Value) -> Result<Self, OptimizerError> {
        from_state(<T as StepMachine>::NAME, state)
    }
}

impl<T: StepMachine> Optimizer for T {
    fn name(&self) -> &'static str {
        T::NAME
    }

    fn ask(&mut self) -> Vec<Job> {
        if self.finished() {
            return Vec::new();
        }
        self.book_mut().drain()
    }

    fn tell(&mut self, result: JobResult) -> Result<Told, OptimizerError> {
        if self.finished() {
            return Ok(told_after_end(self.book(), &result));
        }
        let (told, step) = record(T::NAME, self.book_mut(), result)?;
        if let Some(results) = step
            && let Err(e) = self.advance(results)
        {
            self.fail(&e);
            return Err(e);
        }
        if told == Told::Accepted && !self.finished() {
            self.after_result();
        }
        Ok(told)
    }

    fn pending(&self) -> Vec<Job> {
        if self.finished() {
            return Vec::new();
        }
        self.book().pending()
    }

    fn is_done(&self) -> bool {
        self.finished()
    }

    fn best(&self) -> Option<ProgramState> {
        self.best_program()
    }

    fn state(&self) -> Result<Value, OptimizerError> {
        to_state(T::NAME, self)
    }

    fn log(&self) -> &RunLog {
        self.run_log()
    }

    fn observe(&mut self, signals: RunSignals) {
        self.observe_signals(signals);
    }

    fn stop_file(&self) -> Option<&std::path::Path> {
        self.stop_file_path()
    }
}

/// What `tell` answers once a run is over: stale for jobs it issued, unknown otherwise.
pub(crate) fn told_after_end(book: &JobBook, result: &JobResult) -> Told {
    if book.issued_job(result.id).is_some() {
        Told::Stale
    } else if book.created(result.id) {
        Told::Duplicate
    } else {
        Told::Unknown
    }
}

/// An evaluation job: `program` on `examples`, on the task LM.
pub(crate) fn eval_spec(
    program: &ProgramState,
    examples: Vec<JobExample>,
    capture_traces: bool,
    settings: CallSettings,
) -> JobSpec {
    JobSpec::Evaluate {
        program: Box::new(program.clone()),
        examples,
        lm: LmRole::Task,
        capture_traces,
        settings,
    }
}

/// A proposer call: `signature` on `inputs`, `n` completions, on the proposer LM.
pub(crate) fn predict_spec(
    purpose: &str,
    signature: Signature,
    inputs: Example,
    n: u32,
    settings: CallSettings,
) -> JobSpec {
    JobSpec::Predict {
        purpose: purpose.to_owned(),
        signature,
        demos: Vec::new(),
        inputs,
        lm: LmRole::Proposer,
        n: n.max(1),
        settings,
    }
}

/// One example's outcome as the instruction optimizers use it: failures score 0 (DSPy's
/// `failure_score`) and keep their error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Scored {
    /// The example's index in its split.
    pub index: usize,
    /// The score in `[0, 1]` (0 on failure).
    pub score: f64,
    /// The program's outputs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prediction: Option<Prediction>,
    /// The metric's feedback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feedback: Option<String>,
    /// The metric's finite objective scores (none on failure).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub objectives: BTreeMap<String, f64>,
    /// What failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Predictor calls, when traces were captured.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trace: Vec<TraceStep>,
}

fn scored(outcome: ExampleOutcome) -> Scored {
    let (score, error) = match (outcome.error, outcome.score) {
        (None, Some(s)) if s.is_finite() => (s.clamp(0.0, 1.0), None),
        (Some(e), _) => (0.0, Some(e)),
        (None, _) => (0.0, Some("the metric returned no score".to_owned())),
    };
    let objectives = match &error {
        None => outcome
            .objectives
            .unwrap_or_default()
            .into_iter()
            .filter(|(_, s)| s.is_finite())
            .collect(),
        Some(_) => BTreeMap::new(),
    };
    Scored {
        index: outcome.index,
        score,
        prediction: outcome.prediction,
        feedback: outcome.feedback,
        objectives,
        error,
        trace: outcome.trace,
    }
}

/// The outcomes of an evaluation job for `examples`, one per example in order. A failed job
/// scores 0 on every example.
pub(crate) fn outcomes(output: JobOutput, examples: &[JobExample]) -> Vec<Scored> {
    match output {
        JobOutput::Evaluated { outcomes } if outcomes.len() == examples.len() => {
            outcomes.into_iter().map(scored).collect()
        }
        JobOutput::Evaluated { .. } | JobOutput::Predicted { .. } => examples
            .iter()
            .map(|e| failed(e.index, "the job returned no outcome for this example"))
            .collect(),
        JobOutput::Failed { error } => examples
            .iter()
            .map(|e| failed(e.index, &format!("evaluation job failed: {error}")))
            .collect(),
    }
}

fn failed(index: usize, error: &str) -> Scored {
    Scored {
        index,
        score: 0.0,
        prediction: None,
        feedback: None,
        objectives: BTreeMap::new(),
        error: Some(error.to_owned()),
        trace: Vec::new(),
    }
}

/// The predictions of a predict job (none when it failed).
pub(crate) fn predictions(output: &JobOutput) -> &[Prediction] {
    match output {
        JobOutput::Predicted { predictions } => predictions,
        _ => &[],
    }
}

/// Why a predict job produced nothing usable, for the run log.
pub(crate) fn predict_failure(output: &JobOutput) -> String {
    match output {
        JobOutput::Failed { error } => error.clone(),
        JobOutput::Predicted { predictions } if predictions.is_empty() => {
            "the proposer returned no completion".into()
        }
        JobOutput::Predicted { .. } => "the proposer's answer had no usable text".into(),
        JobOutput::Evaluated { .. } => "the proposer job returned an evaluation".into(),
    }
}

/// A field of a prediction as text: strings as they are, other values as JSON. `None` when
/// missing or blank.
pub(crate) fn text_field(prediction: &Prediction, field: &str) -> Option<String> {
    let text = match prediction.get(field)? {
        Value::String(s) => s.clone(),
        Value::Null => return None,
        other => other.to_string(),
    };
    let text = text.trim().to_owned();
    (!text.is_empty()).then_some(text)
}

/// The mean of `scores` (0 when empty).
/// How many of `outcomes` failed (the program, the LM or the metric).
pub(crate) fn errors(outcomes: &[Scored]) -> usize {
    outcomes.iter().filter(|o| o.error.is_some()).count()
}

pub(crate) fn mean(scores: &[f64]) -> f64 {
    if scores.is_empty() {
        0.0
    } else {
        scores.iter().sum::<f64>() / scores.len() as f64
    }
}

/// DSPy's `strip_prefix`: drops a leading `Label:` of up to five words (and stray `*`), then
/// surrounding double quotes.
pub(crate) fn strip_prefix(text: &str) -> String {
    let trimmed = text.trim_start_matches(|c: char| c == '*' || c.is_whitespace());
    let mut rest = text;
    if let Some(colon) = trimmed.find(':') {
        let head = &trimmed[..colon];
        let words: Vec<&str> = head.split_whitespace().collect();
        let wordy = |w: &str| {
            !w.is_empty()
                && w.chars()
                    .all(|c| c.is_alphanumeric() || c == '_' || c == '\'' || c == '-')
        };
        // The regex requires single-space-separated words directly before the colon.
        if !words.is_empty()
            && words.len() <= 5
            && words.iter().all(|w| wordy(w))
            && !head.ends_with(char::is_whitespace)
        {
            rest = trimmed[colon + 1..].trim_start();
        }
    }
    rest.trim_matches('"').to_owned()
}

/// Sets a predictor's instructions.
pub(crate) fn set_instructions(program: &mut ProgramState, predictor: &str, text: &str) {
    if let Some(p) = program.predictors.get_mut(predictor) {
        p.signature.instructions = text.to_owned();
    }
}

/// A short pseudo-code listing of the program, standing in for the Python source DSPy shows
/// its proposers (`get_dspy_source_code`, `inspect.getsource`): one line per predictor.
pub(crate) fn program_code(program: &ProgramState) -> String {
    let mut lines = vec![
        "class Program(dspy.Module):".to_owned(),
        "    def __init__(self):".to_owned(),
        "        super().__init__()".to_owned(),
    ];
    for (name, predictor) in &program.predictors {
        let attr = if name == "self" {
            "predict".to_owned()
        } else {
            name.replace('.', "_")
        };
        lines.push(format!(
            "        self.{attr} = dspy.Predict(\"{}\")",
            predictor.signature.field_string()
        ));
    }
    lines.join("\n")
}

/// An example's inputs (the fields it marks as inputs; all fields when unmarked).
pub(crate) fn input_fields(example: &Example) -> serde_json::Map<String, Value> {
    example.inputs().into_fields()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `fail` ends a run: no more jobs, stale for issued ones, unknown for never-issued ids,
    /// and a restored state stays ended.
    fn check_fail_ends<T: StepMachine>(mut opt: T) {
        let jobs = Optimizer::ask(&mut opt);
        assert!(!jobs.is_empty(), "{}: jobs to hand out", T::NAME);
        StepMachine::fail(
            &mut opt,
            &OptimizerError::Failed {
                optimizer: T::NAME,
                message: "every proposal failed".into(),
            },
        );
        assert!(Optimizer::is_done(&opt), "{}", T::NAME);
        assert!(Optimizer::ask(&mut opt).is_empty() && Optimizer::pending(&opt).is_empty());
        let result = |id| JobResult {
            id,
            output: crate::protocol::JobOutput::Failed {
                error: "late".into(),
            },
            lm_calls: 0,
        };
        assert_eq!(
            Optimizer::tell(&mut opt, result(jobs[0].id)),
            Ok(Told::Stale)
        );
        assert_eq!(
            Optimizer::tell(&mut opt, result(crate::protocol::JobId(9_999))),
            Ok(Told::Unknown)
        );
        let state = Optimizer::state(&opt).expect("a state");
        let restored = T::restore(state).expect("restores");
        assert!(Optimizer::is_done(&restored), "{}: restored", T::NAME);
    }

    #[test]
    fn fail_ends_copro_and_simba_runs() {
        use hone_core::state::ProgramStructure;
        let sig = hone_core::Signature::parse("question -> answer").expect("parses");
        let student = ProgramState::from_structure(&ProgramStructure::single(sig));
        let train: Vec<hone_core::Example> = (0..8)
            .map(|i| {
                hone_core::Example::new()
                    .with("question", format!("q{i}"))
                    .with("answer", "a")
                    .with_inputs(["question"])
            })
            .collect();
        check_fail_ends(
            crate::Copro::new(&student, &train, crate::CoproConfig::default()).expect("valid"),
        );
        check_fail_ends(
            crate::Simba::new(
                &student,
                &train,
                crate::SimbaConfig {
                    bsize: 4,
                    ..Default::default()
                },
            )
            .expect("valid"),
        );
    }

    #[test]
    fn strip_prefix_like_dspy() {
        assert_eq!(strip_prefix("Proposed Instruction: Do it."), "Do it.");
        assert_eq!(strip_prefix("**Instruction: Do it."), "Do it.");
        assert_eq!(strip_prefix("\"Solve it.\""), "Solve it.");
        assert_eq!(strip_prefix("No colon here"), "No colon here");
        assert_eq!(
            strip_prefix("a b c d e f: too many words"),
            "a b c d e f: too many words"
        );
    }
}
