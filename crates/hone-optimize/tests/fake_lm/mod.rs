//! A fake, deterministic, instruction-sensitive model for the instruction optimizers: the
//! chance of a right answer grows with key phrases in the instructions (and with correct
//! demos), and proposer calls answer with instructions that add key phrases. No server.

#![allow(dead_code)]

use hone_core::state::{ProgramState, ProgramStructure};
use hone_core::{Example, Prediction, Signature};
use hone_optimize::{
    ExampleOutcome, Job, JobExample, JobId, JobOutput, JobResult, JobSpec, OptRng, Optimizer,
    Split, Told, TraceStep,
};
use serde_json::{Map, Value, json};

/// Key phrases and their accuracy bonus.
pub const IDEAS: &[(&str, f64)] = &[
    ("step by step", 0.15),
    ("double-check", 0.15),
    ("carry", 0.1),
    ("careful", 0.05),
];

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

/// A one-predictor student, `question -> answer: int`, or two predictors when `two`.
pub fn student(two: bool) -> ProgramState {
    let sig = Signature::parse("question -> answer: int").expect("signature parses");
    if two {
        let draft = Signature::parse("question -> draft").expect("parses");
        ProgramState::from_structure(
            &ProgramStructure::new()
                .with_predictor("draft", draft)
                .with_predictor("answer", sig),
        )
    } else {
        ProgramState::from_structure(&ProgramStructure::single(sig))
    }
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

fn unit(h: u64) -> f64 {
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// The accuracy bonus of an instruction text.
pub fn idea_bonus(text: &str) -> f64 {
    let low = text.to_lowercase();
    IDEAS
        .iter()
        .filter(|(p, _)| low.contains(p))
        .map(|(_, w)| w)
        .sum::<f64>()
        .min(0.45)
}

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

/// The chance of a right answer for a program.
pub fn accuracy(program: &ProgramState) -> f64 {
    let instructions: String = program
        .predictors
        .values()
        .map(|p| p.signature.instructions.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    (0.3 + 0.05 * good_demos(program).min(3) as f64 + idea_bonus(&instructions)).min(0.95)
}

/// Answers any job.
pub fn answer(job: &Job) -> JobResult {
    let output = match &job.spec {
        JobSpec::Evaluate {
            program,
            examples,
            settings,
            capture_traces,
            ..
        } => {
            let key = serde_json::to_string(&program.to_value()).unwrap_or_default();
            let settings_key = serde_json::to_string(settings).unwrap_or_default();
            let p = accuracy(program);
            let names: Vec<String> = program.predictors.keys().cloned().collect();
            let outcomes = examples
                .iter()
                .map(|ex| outcome(ex, p, &key, &settings_key, *capture_traces, &names))
                .collect();
            JobOutput::Evaluated { outcomes }
        }
        JobSpec::Predict {
            signature,
            inputs,
            n,
            settings,
            ..
        } => {
            let key = format!(
                "{}{}",
                serde_json::to_string(inputs).unwrap_or_default(),
                serde_json::to_string(settings).unwrap_or_default()
            );
            let predictions = (0..*n)
                .map(|k| {
                    let mut fields = Map::new();
                    for f in &signature.outputs {
                        fields.insert(f.name.clone(), field_value(&f.name, inputs, &key, k));
                    }
                    Prediction::new(fields)
                })
                .collect();
            JobOutput::Predicted { predictions }
        }
    };
    JobResult {
        id: job.id,
        output,
        lm_calls: job.min_lm_calls() as u64,
    }
}

fn current_instruction(inputs: &Example) -> String {
    for key in ["current_instruction", "basic_instruction"] {
        if let Some(v) = inputs.get(key).and_then(Value::as_str) {
            return v.to_owned();
        }
    }
    if let Some(v) = inputs.get("attempted_instructions") {
        // COPRO: take the last (best) attempted instruction.
        let text = v.to_string();
        if let Some(i) = text.rfind("Instruction #") {
            let rest = &text[i..];
            let rest = rest.split_once(": ").map(|x| x.1).unwrap_or(rest);
            return rest.split(['"', '\\']).next().unwrap_or("").to_owned();
        }
    }
    if let Some(v) = inputs.get("modules_defn").and_then(Value::as_str) {
        return v.to_owned();
    }
    String::new()
}

fn field_value(name: &str, inputs: &Example, key: &str, k: u32) -> Value {
    let h = hash(&[name, key, &k.to_string()]);
    match name {
        "new_instruction" | "proposed_instruction" | "instruction" => {
            let current = current_instruction(inputs);
            let missing: Vec<&str> = IDEAS
                .iter()
                .map(|(p, _)| *p)
                .filter(|p| !current.to_lowercase().contains(p))
                .collect();
            if unit(h) < 0.15 {
                return json!(""); // garbage happens
            }
            let add = missing
                .get((h % 7) as usize % missing.len().max(1))
                .copied();
            match add {
                Some(idea) => json!(format!("{} Work {idea}.", current.trim())),
                None => json!(current),
            }
        }
        "proposed_prefix_for_output_field" => json!("Answer:"),
        "module_advice" => {
            let names: Vec<String> = match inputs.get("module_names") {
                Some(Value::String(t)) => serde_json::from_str(t).unwrap_or_default(),
                Some(v) => serde_json::from_value(v.clone()).unwrap_or_default(),
                None => Vec::new(),
            };
            let idea = IDEAS[(h % IDEAS.len() as u64) as usize].0;
            let advice: Map<String, Value> = names
                .into_iter()
                .map(|n| {
                    (
                        n,
                        json!(format!(
                            "If the module receives a sum, it should work {idea}."
                        )),
                    )
                })
                .collect();
            Value::Object(advice)
        }
        _ => json!(format!("Some text about {name}.")),
    }
}

fn outcome(
    ex: &JobExample,
    p: f64,
    program: &str,
    settings: &str,
    traces: bool,
    names: &[String],
) -> ExampleOutcome {
    let question = ex
        .example
        .get("question")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let truth = solve(question).unwrap_or(0);
    let draw = unit(hash(&[question, program, settings]));
    let predicted = if draw < p { truth } else { truth + 1 };
    let mut fields = Map::new();
    fields.insert("answer".into(), json!(predicted));
    let prediction = Prediction::new(fields);
    let trace = if traces {
        names
            .iter()
            .map(|n| TraceStep {
                predictor: n.clone(),
                inputs: Example::new().with("question", question),
                outputs: prediction.clone(),
            })
            .collect()
    } else {
        Vec::new()
    };
    let label = ex.example.get("answer").and_then(Value::as_i64);
    let right = label == Some(predicted);
    ExampleOutcome {
        split: ex.split,
        index: ex.index,
        prediction: Some(prediction),
        score: Some(if right { 1.0 } else { 0.0 }),
        feedback: Some(if right {
            "The answer is correct.".into()
        } else {
            format!("The answer is incorrect. Expected {truth}.")
        }),
        objectives: None,
        error: None,
        trace,
    }
}

/// How a test drives an optimizer.
#[derive(Debug, Clone, Copy, Default)]
pub struct Drive {
    /// Jobs answered per batch (at least 1).
    pub concurrency: usize,
    /// Shuffle each batch's results with this seed.
    pub shuffle: Option<u64>,
    /// Also tell every result a second time.
    pub duplicates: bool,
    /// Stop after this many accepted tells.
    pub stop_after: Option<usize>,
}

/// Runs the optimizer with the fake model; returns the number of accepted tells.
pub fn drive(opt: &mut dyn Optimizer, how: Drive) -> usize {
    let mut queue: Vec<Job> = Vec::new();
    let mut tells = 0;
    let mut rng = how.shuffle.map(OptRng::new);
    let mut guard = 0;
    while !opt.is_done() {
        guard += 1;
        assert!(guard < 1_000_000, "the optimizer makes no progress");
        queue.extend(opt.ask());
        assert!(
            !queue.is_empty(),
            "{} is not done but has no job",
            opt.name()
        );
        let take = how.concurrency.max(1).min(queue.len());
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

/// Saves, serializes to text, restores by name and re-runs the pending jobs.
pub fn resume(opt: &dyn Optimizer) -> Box<dyn Optimizer> {
    let text = serde_json::to_string(&opt.state().expect("state serializes")).expect("to text");
    let value: Value = serde_json::from_str(&text).expect("from text");
    let mut restored = hone_optimize::Registry::builtin()
        .restore_state(value)
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
        id: JobId(0),
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

/// The JSON of a run's end: best program and log, for comparisons.
pub fn fingerprint(opt: &dyn Optimizer) -> String {
    let best = opt
        .best()
        .map(|b| b.to_json_string_pretty())
        .unwrap_or_default();
    let log = serde_json::to_string(opt.log()).unwrap_or_default();
    format!("{best}\n{log}")
}

/// Checks the four properties every instruction optimizer must have: it finishes and beats
/// the student on `dev`; the result does not depend on concurrency or arrival order (or
/// duplicate results); and a run resumed from its state after `k` tells ends like the
/// uninterrupted one.
pub fn check_optimizer(
    make: &dyn Fn() -> Box<dyn Optimizer>,
    student: &ProgramState,
    dev: &[Example],
    ks: &[usize],
) {
    let mut base = make();
    let tells = drive(
        base.as_mut(),
        Drive {
            concurrency: 1,
            ..Default::default()
        },
    );
    assert!(base.is_done());
    let expected = fingerprint(base.as_ref());
    let best = base.best().expect("a best program");
    let (before, after) = (score(student, dev), score(&best, dev));
    assert!(
        after > before + 0.1,
        "{}: dev score {after:.3} does not beat the student's {before:.3}",
        base.name()
    );
    assert!(
        base.log()
            .events()
            .iter()
            .any(|e| matches!(e, hone_optimize::LogEvent::Proposal { .. })),
        "proposals are logged"
    );

    for (concurrency, shuffle) in [(7, Some(1)), (1000, Some(2)), (3, None)] {
        let mut opt = make();
        drive(
            opt.as_mut(),
            Drive {
                concurrency,
                shuffle,
                duplicates: concurrency == 3,
                stop_after: None,
            },
        );
        assert_eq!(
            fingerprint(opt.as_ref()),
            expected,
            "{}: concurrency {concurrency} changed the outcome",
            opt.name()
        );
    }

    for &k in ks.iter().filter(|&&k| k < tells) {
        let mut first = make();
        let told = drive(
            first.as_mut(),
            Drive {
                concurrency: 5,
                shuffle: Some(k as u64),
                stop_after: Some(k),
                ..Default::default()
            },
        );
        assert_eq!(told, k);
        let mut resumed = resume(first.as_ref());
        drop(first);
        drive(
            resumed.as_mut(),
            Drive {
                concurrency: 4,
                shuffle: Some(9),
                ..Default::default()
            },
        );
        assert_eq!(
            fingerprint(resumed.as_ref()),
            expected,
            "{}: resumed after {k} tells, the run ended differently",
            resumed.name()
        );
    }
}
