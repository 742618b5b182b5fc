//! What the step machines' unit tests share: a one-predictor student, examples, scored
//! evaluations as a scripted executor answers them, and a driver that runs an optimizer one
//! job at a time with no IO.

use hone_core::state::{ProgramState, ProgramStructure};
use hone_core::{Example, Prediction, Signature};
use serde_json::{Map, Value, json};

use crate::protocol::{
    ExampleOutcome, Job, JobExample, JobOutput, JobResult, Optimizer, Told, TraceStep,
};
use crate::restore::Restore;

/// A one-predictor program `question -> answer` with `instructions`.
pub(crate) fn student(instructions: &str) -> ProgramState {
    let mut sig = Signature::parse("question -> answer").expect("parses");
    sig.instructions = instructions.into();
    ProgramState::from_structure(&ProgramStructure::single(sig))
}

/// `n` examples `{tag}{i}` whose answer is `a`.
pub(crate) fn examples(n: usize, tag: &str) -> Vec<Example> {
    (0..n)
        .map(|i| {
            Example::new()
                .with("question", format!("{tag}{i}"))
                .with("answer", "a")
                .with_inputs(["question"])
        })
        .collect()
}

/// An evaluation answered `a` on every example with `score`, the feedback `feedback` gives
/// for the example's question, and a trace of the one predictor when `capture_traces`.
pub(crate) fn evaluated(
    examples: &[JobExample],
    capture_traces: bool,
    score: f64,
    feedback: impl Fn(&str) -> Option<String>,
) -> JobOutput {
    let outcomes = examples
        .iter()
        .map(|ex| {
            let question = ex.example.get("question").and_then(Value::as_str);
            let prediction = Prediction::new(Map::from_iter([("answer".to_owned(), json!("a"))]));
            ExampleOutcome {
                split: ex.split,
                index: ex.index,
                prediction: Some(prediction.clone()),
                score: Some(score),
                feedback: feedback(question.unwrap_or("?")),
                objectives: None,
                error: None,
                trace: if capture_traces {
                    vec![TraceStep {
                        predictor: "self".into(),
                        inputs: Example::new().with("question", question.unwrap_or("")),
                        outputs: prediction,
                    }]
                } else {
                    Vec::new()
                },
            }
        })
        .collect();
    JobOutput::Evaluated { outcomes }
}

/// Runs `opt` to the end (or `stop_after` accepted tells), one job at a time, each answered
/// by `answer`; returns every job handed out and answered.
pub(crate) fn drive(
    opt: &mut dyn Optimizer,
    stop_after: Option<usize>,
    answer: impl Fn(&Job) -> JobResult,
) -> Vec<Job> {
    let mut asked = Vec::new();
    let mut tells = 0;
    while !opt.is_done() {
        let jobs = opt.ask();
        assert!(!jobs.is_empty(), "not done but nothing to run");
        for job in jobs {
            if stop_after.is_some_and(|k| tells >= k) {
                return asked;
            }
            assert_eq!(opt.tell(answer(&job)), Ok(Told::Accepted));
            tells += 1;
            asked.push(job);
        }
    }
    asked
}

/// A run of `make()` stopped after `cut` accepted results, its state saved as JSON text and
/// restored, the jobs it had pending answered, and driven to its end by `answer`.
pub(crate) fn cut_and_resumed<T: Restore>(
    make: impl Fn() -> T,
    cut: usize,
    answer: impl Fn(&Job) -> JobResult,
) -> T {
    let mut first = make();
    drive(&mut first, Some(cut), &answer);
    let text = serde_json::to_string(&first.state().expect("a state")).expect("serializes");
    let mut resumed = T::restore(serde_json::from_str(&text).expect("parses")).expect("restores");
    for job in resumed.pending() {
        assert_eq!(resumed.tell(answer(&job)), Ok(Told::Accepted));
    }
    drive(&mut resumed, None, &answer);
    resumed
}
