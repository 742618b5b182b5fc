//! Unit tests of MIPROv2's steps, driven through the ask/tell protocol with a scripted
//! executor: the demo sets, the grounded proposals, TPE trials on minibatches, full
//! evaluations, the best program, and a checkpoint taken mid-run.

use hone_core::state::ProgramState;
use hone_core::{Example, Prediction};
use serde_json::{Map, Value, json};

use super::*;
use crate::protocol::{Job, JobOutput, JobSpec, Optimizer};
use crate::scripted::{cut_and_resumed, drive, evaluated, examples, student};

const STUDENT: &str = "Answer.";

/// The scripted quality of a program: its score on every example. It grows with the demos
/// and depends on the instruction, so the candidates differ.
fn quality(program: &ProgramState) -> f64 {
    let p = &program.predictors["self"];
    let instruction = match p.signature.instructions.as_str() {
        "Answer." => 0.125,
        text => 0.0625 * (text.len() % 5) as f64,
    };
    // Multiples of 1/16, so means over equal scores are exact.
    instruction + 0.25 * p.demos.len() as f64
}

/// The scripted executor: an evaluation scores every example with the program's quality
/// (with traces when asked); a proposer call answers every field MIPROv2 reads, its
/// instruction named after the job.
fn answer(job: &Job) -> JobResult {
    let output = match &job.spec {
        JobSpec::Evaluate {
            program,
            examples,
            capture_traces,
            ..
        } => {
            let score = quality(program);
            evaluated(examples, *capture_traces, score, |_| None)
        }
        JobSpec::Predict { .. } => {
            let fields = [
                ("observations", "Questions with one-letter answers."),
                ("summary", "Short questions."),
                ("program_description", "It answers questions."),
                ("module_description", "It answers one question."),
            ];
            let mut map: Map<String, Value> = fields
                .iter()
                .map(|(k, v)| ((*k).to_owned(), json!(v)))
                .collect();
            map.insert(
                "proposed_instruction".into(),
                json!(format!("Proposal {}", job.id.0)),
            );
            JobOutput::Predicted {
                predictions: vec![Prediction::new(map)],
            }
        }
    };
    JobResult {
        id: job.id,
        output,
        lm_calls: 1,
    }
}

fn config() -> MiproConfig {
    MiproConfig {
        auto: None,
        num_candidates: Some(3),
        num_trials: Some(6),
        max_bootstrapped_demos: 2,
        max_labeled_demos: 1,
        minibatch: true,
        minibatch_size: 3,
        minibatch_full_eval_steps: 2,
        trial_batch_size: 2,
        seed: 3,
        ..MiproConfig::default()
    }
}

fn mipro() -> MiproV2 {
    MiproV2::new(
        &student(STUDENT),
        &examples(6, "t"),
        Some(&examples(6, "v")),
        config(),
    )
    .expect("a valid run")
}

fn purpose(job: &Job) -> Option<&str> {
    match &job.spec {
        JobSpec::Predict { purpose, .. } => Some(purpose),
        JobSpec::Evaluate { .. } => None,
    }
}

/// The program and number of examples of an evaluation job without traces (a search
/// evaluation, not a bootstrap attempt).
fn search_eval(job: &Job) -> Option<(&ProgramState, usize)> {
    match &job.spec {
        JobSpec::Evaluate {
            program,
            examples,
            capture_traces: false,
            ..
        } => Some((program, examples.len())),
        JobSpec::Evaluate { .. } | JobSpec::Predict { .. } => None,
    }
}

#[test]
fn demo_sets_are_zero_shot_labeled_and_bootstrapped() {
    let mut opt = mipro();
    let jobs = drive(&mut opt, None, answer);
    let demos: Vec<Vec<Example>> = opt
        .demo_sets
        .iter()
        .map(|s| {
            let program = s.program.as_ref().expect("every demo set is built");
            program.0.predictors["self"].demos.clone()
        })
        .collect();
    assert_eq!(demos.len(), 3, "num_candidates demo sets");
    assert!(demos[0].is_empty(), "the first set is zero-shot");
    assert_eq!(
        demos[1].len(),
        1,
        "the second holds max_labeled_demos labeled demos"
    );
    assert!(!demos[1][0].contains("augmented"));
    assert_eq!(
        demos[2].len(),
        2,
        "the third bootstraps max_bootstrapped_demos in order"
    );
    assert!(demos[2].iter().all(|d| d.contains("augmented")));
    let questions: Vec<&str> = demos[2]
        .iter()
        .filter_map(|d| d.get("question").and_then(Value::as_str))
        .collect();
    assert_eq!(questions, ["t0", "t1"]);
    // The bootstrap of the third set attempted one wave, twice the demos it needs, of the
    // first training examples with traces; the first two successes are its demos.
    let bootstrap: Vec<usize> = jobs
        .iter()
        .filter_map(|j| match &j.spec {
            JobSpec::Evaluate {
                examples,
                capture_traces: true,
                ..
            } => Some(examples.iter().map(|e| e.index).collect::<Vec<_>>()),
            _ => None,
        })
        .flatten()
        .collect();
    assert_eq!(bootstrap, [0, 1, 2, 3]);
}

#[test]
fn instructions_are_proposed_per_demo_set_but_the_first() {
    let mut opt = mipro();
    let jobs = drive(&mut opt, None, answer);
    let proposals: Vec<&Job> = jobs
        .iter()
        .filter(|j| purpose(j) == Some("propose_instruction"))
        .collect();
    // Three instruction candidates: the original and one per demo set after the first.
    assert_eq!(proposals.len(), 2);
    let candidates = opt.instruction_candidates();
    let expected: Vec<String> = std::iter::once("Answer.".to_owned())
        .chain(proposals.iter().map(|j| format!("Proposal {}", j.id.0)))
        .collect();
    assert_eq!(candidates["self"], expected);
    for job in &proposals {
        let JobSpec::Predict { inputs, lm, .. } = &job.spec else {
            unreachable!()
        };
        assert_eq!(*lm, crate::LmRole::Proposer);
        assert_eq!(
            inputs.get("dataset_description"),
            Some(&json!("Short questions."))
        );
        assert_eq!(
            inputs.get("program_description"),
            Some(&json!("It answers questions."))
        );
        assert_eq!(inputs.get("basic_instruction"), Some(&json!("Answer.")));
        // Grounded in the bootstrapped demos of the third set.
        let demos = inputs
            .get("task_demos")
            .and_then(Value::as_str)
            .expect("demos");
        assert!(demos.contains("t0"), "{demos}");
    }
    for purpose_name in ["dataset_summary", "describe_program", "describe_module"] {
        assert!(
            jobs.iter().any(|j| purpose(j) == Some(purpose_name)),
            "{purpose_name}"
        );
    }
}

#[test]
fn trials_pick_candidates_on_minibatches_and_the_best_full_evaluation_wins() {
    let mut opt = mipro();
    let jobs = drive(&mut opt, None, answer);
    let candidates = opt.instruction_candidates()["self"].clone();
    let sets: Vec<Vec<Example>> = opt
        .demo_sets
        .iter()
        .map(|s| {
            s.program.as_ref().expect("built").0.predictors["self"]
                .demos
                .clone()
        })
        .collect();
    let evals: Vec<(&ProgramState, usize)> = jobs.iter().filter_map(search_eval).collect();
    let minibatches: Vec<&ProgramState> = evals
        .iter()
        .filter(|(_, n)| *n == 3)
        .map(|(p, _)| *p)
        .collect();
    let fulls: Vec<&ProgramState> = evals
        .iter()
        .filter(|(_, n)| *n == 6)
        .map(|(p, _)| *p)
        .collect();
    assert_eq!(evals.len(), minibatches.len() + fulls.len());
    // Every trial is a minibatch of `minibatch_size` with a candidate instruction and demo set.
    assert_eq!(minibatches.len(), 6);
    for program in &minibatches {
        let p = &program.predictors["self"];
        assert!(candidates.contains(&p.signature.instructions));
        assert!(sets.contains(&p.demos));
    }
    // The student in full, then one full evaluation per two trials: the combination with the
    // best minibatch mean not yet evaluated in full.
    assert_eq!(fulls.len(), 4);
    assert_eq!(
        fulls[0].to_json_string_pretty(),
        student(STUDENT).to_json_string_pretty()
    );
    let fully_default = json!([0, 0]);
    // From the run log, in commit order: the minibatch trials, and the full evaluations (each
    // decided when the second, fourth and sixth trial was committed, then run beside the
    // trials after it).
    let mut trials: Vec<(Value, f64)> = Vec::new();
    let mut full_evals: Vec<(Value, f64)> = Vec::new();
    for event in opt.log.trials() {
        let LogEvent::Trial {
            score,
            full,
            detail,
            ..
        } = event
        else {
            unreachable!()
        };
        if detail.get("default").is_some() {
            assert_eq!(*score, quality(&student(STUDENT)));
            continue;
        }
        let entry = (detail["params"].clone(), *score);
        if *full {
            full_evals.push(entry);
        } else {
            trials.push(entry);
        }
    }
    assert_eq!(trials.len(), 6);
    assert_eq!(full_evals.len(), 3);
    for (k, (params, score)) in full_evals.iter().enumerate() {
        let mut done: Vec<&Value> = vec![&fully_default];
        done.extend(full_evals[..k].iter().map(|(p, _)| p));
        let best = trials[..2 * (k + 1)]
            .iter()
            .filter(|(p, _)| !done.contains(&p))
            .map(|(_, s)| *s)
            .fold(f64::MIN, f64::max);
        assert_eq!(*score, best, "full evaluation {k} of {params}");
        assert_eq!(*score, quality(fulls[k + 1]));
    }
    // The best program is the first full evaluation with the highest score.
    let top = fulls.iter().map(|p| quality(p)).fold(f64::MIN, f64::max);
    let winner = fulls
        .iter()
        .find(|p| quality(p) == top)
        .expect("a full evaluation");
    let best = Optimizer::best(&opt).expect("a best program");
    assert_eq!(best.to_json_string_pretty(), winner.to_json_string_pretty());
    assert!(
        top > quality(&student(STUDENT)),
        "the search found better than the student"
    );
    assert!(opt.ask().is_empty() && opt.pending().is_empty());
}

#[test]
fn a_run_restored_mid_way_ends_as_the_uninterrupted_one() {
    let mut whole = mipro();
    let total = drive(&mut whole, None, answer).len();
    let expected = Optimizer::best(&whole)
        .expect("a best program")
        .to_json_string_pretty();
    let expected_log = serde_json::to_value(&whole.log).expect("serializes");
    for cut in 1..total {
        let resumed = cut_and_resumed(mipro, cut, answer);
        let best = Optimizer::best(&resumed).expect("a best program");
        assert_eq!(
            best.to_json_string_pretty(),
            expected,
            "cut after {cut} results"
        );
        assert_eq!(
            serde_json::to_value(&resumed.log).expect("serializes"),
            expected_log,
            "cut after {cut} results"
        );
        assert_eq!(
            resumed.instruction_candidates(),
            whole.instruction_candidates()
        );
    }
}

/// A table (TOML or JSON) that leaves `auto` out: the light preset, unless it sets
/// `num_candidates` or `num_trials`, which then run without a preset (TOML has no `None`).
#[test]
fn auto_left_out_is_light_unless_the_counts_are_given() {
    let read = |value: serde_json::Value| -> MiproConfig {
        serde_json::from_value(value).expect("a valid table")
    };
    let build = |config: MiproConfig| {
        MiproV2::new(
            &student(STUDENT),
            &examples(6, "t"),
            Some(&examples(6, "v")),
            config,
        )
    };
    assert!(build(read(serde_json::json!({}))).is_ok());
    let counted =
        read(serde_json::json!({ "num_candidates": 3, "num_trials": 4, "minibatch_size": 3 }));
    assert_eq!(counted.auto, None);
    if let Err(e) = build(counted) {
        panic!("{e}");
    }
    let both = read(serde_json::json!({ "auto": "light", "num_candidates": 3 }));
    let message = build(both).expect_err("auto with counts").to_string();
    assert!(message.contains("cannot be set"), "{message}");
}
