//! Unit tests of SIMBA's draws, pool selection, demo strategies and prompts.

use hone_core::state::ProgramStructure;
use hone_core::{Prediction, Signature};
use serde_json::{Map, json};

use super::draws::{percentile, round_half_even};
use super::state::Trajectory;
use super::*;
use crate::protocol::{JobSpec, TraceStep};

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
