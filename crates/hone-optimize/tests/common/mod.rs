//! A fake, deterministic executor: answers jobs without any server, and a driver loop that
//! can deliver results in shuffled order, a few at a time, and stop after `k` tells.

#![allow(dead_code)]

use hone_core::state::{ProgramState, ProgramStructure};
use hone_core::{Example, Prediction, Signature};
use hone_optimize::{
    ExampleOutcome, Job, JobExample, JobOutput, JobResult, JobSpec, OptRng, Optimizer, Registry,
    Split, Told, TraceStep,
};
use serde_json::{Map, Value, json};

/// `n` questions `"a + b"` with integer answers.
pub fn dataset(n: usize, seed: u64) -> Vec<Example> {
    let mut rng = OptRng::new(seed);
    (0..n)
        .map(|_| {
            let a = rng.below(90) as i64 + 2;
            let b = rng.below(90) as i64 + 2;
            Example::new()
                .with("question", format!("{a} + {b}"))
                .with("answer", a + b)
                .with_inputs(["question"])
        })
        .collect()
}

pub fn student() -> ProgramState {
    let sig = Signature::parse("question -> answer: int").expect("signature parses");
    ProgramState::from_structure(&ProgramStructure::single(sig))
}

fn solve(question: &str) -> Option<i64> {
    let (a, b) = question.split_once(" + ")?;
    Some(a.trim().parse::<i64>().ok()? + b.trim().parse::<i64>().ok()?)
}

fn hash(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in part.bytes().chain([0xff]) {
            h ^= b as u64;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// Counts demos whose answer is right for their question.
fn good_demos(program: &ProgramState) -> usize {
    program
        .predictors
        .values()
        .flat_map(|p| p.demos.iter())
        .filter(|d| {
            let q = d.get("question").and_then(Value::as_str).and_then(solve);
            let a = d.get("answer").and_then(Value::as_i64);
            q.is_some() && q == a
        })
        .count()
}

/// The fake model: right with probability `0.3 + 0.15 * min(good demos, 4)`, decided by a
/// hash of the question, the program's demos and the sampling settings.
pub fn answer(job: &Job) -> JobResult {
    let output = match &job.spec {
        JobSpec::Evaluate {
            program,
            examples,
            settings,
            capture_traces,
            ..
        } => {
            let good = good_demos(program).min(4);
            let demos_key = serde_json::to_string(&program.to_value()).unwrap_or_default();
            let settings_key = serde_json::to_string(settings).unwrap_or_default();
            let p = 0.3 + 0.15 * good as f64;
            let outcomes = examples
                .iter()
                .map(|ex| outcome(ex, p, &demos_key, &settings_key, *capture_traces))
                .collect();
            JobOutput::Evaluated { outcomes }
        }
        JobSpec::Predict { .. } => JobOutput::Predicted {
            predictions: vec![],
        },
    };
    let lm_calls = job.min_lm_calls() as u64;
    JobResult {
        id: job.id,
        output,
        lm_calls,
    }
}

fn outcome(ex: &JobExample, p: f64, demos: &str, settings: &str, traces: bool) -> ExampleOutcome {
    let mut out = ExampleOutcome {
        split: ex.split,
        index: ex.index,
        prediction: None,
        score: None,
        feedback: None,
        objectives: None,
        error: None,
        trace: vec![],
    };
    let Some(question) = ex.example.get("question").and_then(Value::as_str) else {
        out.error = Some("predictor `self` is missing input field `question`".into());
        return out;
    };
    let truth = solve(question).unwrap_or(0);
    let draw = (hash(&[question, demos, settings]) >> 11) as f64 / (1u64 << 53) as f64;
    let predicted = if draw < p { truth } else { truth + 1 };
    let mut fields = Map::new();
    fields.insert("answer".into(), json!(predicted));
    let prediction = Prediction::new(fields);
    if traces {
        out.trace.push(TraceStep {
            predictor: "self".into(),
            inputs: Example::new().with("question", question),
            outputs: prediction.clone(),
        });
    }
    out.prediction = Some(prediction);
    match ex.example.get("answer").and_then(Value::as_i64) {
        Some(label) => out.score = Some(if label == predicted { 1.0 } else { 0.0 }),
        None => out.error = Some("metric: the example has no `answer` field".into()),
    }
    out
}

/// How a test drives an optimizer.
#[derive(Debug, Clone, Copy)]
pub struct Drive {
    /// Jobs answered per batch (the "concurrency").
    pub concurrency: usize,
    /// Shuffle each batch's results with this seed (out-of-order arrival).
    pub shuffle: Option<u64>,
    /// Also tell every result a second time.
    pub duplicates: bool,
    /// Stop after this many tells.
    pub stop_after: Option<usize>,
}

impl Default for Drive {
    fn default() -> Self {
        Drive {
            concurrency: 1,
            shuffle: None,
            duplicates: false,
            stop_after: None,
        }
    }
}

/// Runs the optimizer with the fake executor; returns the number of accepted tells.
pub fn drive(opt: &mut dyn Optimizer, how: Drive) -> usize {
    let mut queue: Vec<Job> = Vec::new();
    let mut tells = 0;
    let mut rng = how.shuffle.map(OptRng::new);
    let mut guard = 0;
    while !opt.is_done() {
        guard += 1;
        assert!(guard < 100_000, "the optimizer makes no progress");
        queue.extend(opt.ask());
        assert!(
            !queue.is_empty(),
            "{} is not done but has no job to run",
            opt.name()
        );
        let take = how.concurrency.min(queue.len());
        let batch: Vec<Job> = queue.drain(..take).collect();
        let mut results: Vec<JobResult> = batch.iter().map(answer).collect();
        if let Some(rng) = &mut rng {
            rng.shuffle(&mut results);
        }
        for result in results {
            if how.stop_after.is_some_and(|k| tells >= k) {
                return tells;
            }
            let again = result.clone();
            match opt.tell(result) {
                Ok(Told::Accepted) => tells += 1,
                Ok(_) => {}
                Err(e) => panic!("tell failed: {e}"),
            }
            if how.duplicates {
                let told = opt.tell(again).expect("a duplicate is not an error");
                assert_ne!(told, Told::Accepted, "a duplicate must not be accepted");
            }
            if opt.is_done() {
                break;
            }
            queue.extend(opt.ask());
        }
    }
    tells
}

/// Saves, serializes to text, restores by name, re-runs the pending jobs: a resumed run.
pub fn resume(opt: &dyn Optimizer) -> Box<dyn Optimizer> {
    let text = serde_json::to_string(&opt.state().expect("state serializes")).expect("to text");
    let value: Value = serde_json::from_str(&text).expect("from text");
    let mut restored = Registry::builtin()
        .restore(opt.name(), value)
        .expect("restores");
    for job in restored.pending() {
        let result = answer(&job);
        restored.tell(result).expect("pending job result accepted");
    }
    restored
}

/// Mean score of a program on a dataset under the fake model.
pub fn score(program: &ProgramState, examples: &[Example]) -> f64 {
    let job = Job {
        id: hone_optimize::JobId(0),
        deferred: false,
        spec: JobSpec::Evaluate {
            program: Box::new(program.clone()),
            examples: JobExample::dataset(Split::Val, examples.iter().cloned()),
            lm: Default::default(),
            capture_traces: false,
            settings: Default::default(),
        },
    };
    match answer(&job).output {
        JobOutput::Evaluated { outcomes } => {
            outcomes.iter().map(|o| o.score.unwrap_or(0.0)).sum::<f64>() / outcomes.len() as f64
        }
        _ => 0.0,
    }
}

/// A program's JSON text, for comparisons.
pub fn program_json(program: &ProgramState) -> String {
    program.to_json_string_pretty()
}
