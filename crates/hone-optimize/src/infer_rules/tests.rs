//! `InferRules` driven through ask/tell with a scripted executor: DSPy's rule-induction
//! request byte for byte, its rollout ids, the number of calls, the winner, retries with fewer
//! examples, and resuming from every checkpoint.

use hone_core::Prediction;
use hone_core::adapter::{Adapter, ChatAdapter};
use serde_json::{Map, Value, json};

use super::*;
use crate::protocol::{Job, JobOutput, JobSpec, Optimizer, Told};
use crate::scripted::{cut_and_resumed, drive, evaluated, examples, student};

const STUDENT: &str = "Answer the question.";

const GOLDEN: &str = include_str!("../../../../testdata/optimizer-prompts/infer_rules.json");

fn golden() -> Value {
    serde_json::from_str(GOLDEN).expect("the golden file is JSON")
}

/// The request DSPy's `InferRules` sends is the one hone sends, byte for byte: the examples
/// text, the `ChainOfThought` signature through the `ChatAdapter`, and the rollout ids.
#[test]
fn rule_request_matches_dspy() {
    let golden = golden();
    let signature =
        hone_core::Signature::parse("question, context: list[str] -> answer: int").expect("parses");
    let trainset = [
        Example::new()
            .with("question", "What is 2+2?")
            .with("context", json!(["arithmetic", "small"]))
            .with("answer", 4)
            .with("note", "x")
            .with_inputs(["question", "context"]),
        Example::new()
            .with("answer", 9)
            .with("question", "And 'three' squared?")
            .with("context", json!([]))
            .with_inputs(["question", "context"]),
    ];
    let text = format_examples(&trainset, &signature);
    assert_eq!(Value::String(text.clone()), golden["examples_text"]);
    let messages = ChatAdapter::new()
        .format(
            &rules_induction(7),
            &[],
            &Example::new()
                .with("examples_text", text)
                .with_inputs(["examples_text"]),
        )
        .expect("formats");
    let golden_messages = golden["messages"].as_array().expect("messages").clone();
    assert_eq!(messages.len(), golden_messages.len());
    for (ours, theirs) in messages.iter().zip(&golden_messages) {
        assert_eq!(Value::String(ours.content.clone()), theirs["content"]);
    }
    let mut rng = PyRandom::new(0);
    let ids: Vec<Value> = (0..4)
        .map(|_| json!(rng.randint(0, 1_000_000_000)))
        .collect();
    assert_eq!(Value::Array(ids), golden["rollout_ids"]);
}

/// The rollout id of a rule call, which the scripted rules name.
fn rollout(job: &Job) -> u64 {
    match &job.spec {
        JobSpec::Predict { settings, .. } => settings.sampling.rollout_id.expect("a rollout id"),
        JobSpec::Evaluate { .. } => 0,
    }
}

/// The scripted score of a program: from the rollout id its rules name (ids are DSPy's draws;
/// the score is the id's residue, so candidates differ and some of them tie).
fn quality(program: &ProgramState) -> f64 {
    let text = &program.predictors["self"].signature.instructions;
    match text.rsplit_once("rules from ") {
        Some((_, id)) => {
            let id: u64 = id.parse().expect("an id");
            (id % 3) as f64 / 2.0
        }
        None => 0.5,
    }
}

fn answer_with(job: &Job, fail: impl Fn(&Job) -> bool) -> JobResult {
    let output = match &job.spec {
        JobSpec::Evaluate {
            program,
            examples,
            capture_traces,
            ..
        } => evaluated(examples, *capture_traces, quality(program), |_| None),
        JobSpec::Predict { .. } if fail(job) => JobOutput::Failed {
            error: "ContextWindowExceededError: too long".into(),
        },
        JobSpec::Predict { .. } => JobOutput::Predicted {
            predictions: vec![Prediction::new(Map::from_iter([
                ("reasoning".to_owned(), json!("Look at them.")),
                (
                    "natural_language_rules".to_owned(),
                    json!(format!("  rules from {}\n", rollout(job))),
                ),
            ]))],
        },
    };
    JobResult {
        id: job.id,
        output,
        lm_calls: 1,
    }
}

fn answer(job: &Job) -> JobResult {
    answer_with(job, |_| false)
}

fn infer(num_candidates: usize) -> InferRules {
    InferRules::new(
        &student(STUDENT),
        &examples(8, "q"),
        None,
        InferRulesConfig {
            num_candidates,
            ..Default::default()
        },
    )
    .expect("valid")
}

/// Without a valset the trainset is halved; the bootstrap runs on the first half, every rule
/// call reads all of it at temperature 1.0 with DSPy's rollout ids, each candidate is scored
/// once, and the first of the best-scoring candidates wins with its rules appended.
#[test]
fn candidates_and_winner_like_dspy() {
    let mut opt = infer(4);
    assert_eq!(opt.valset().len(), 4);
    let jobs = drive(&mut opt, None, answer);
    let predicts: Vec<&Job> = jobs
        .iter()
        .filter(|j| matches!(j.spec, JobSpec::Predict { .. }))
        .collect();
    let evals = jobs
        .iter()
        .filter(|j| matches!(&j.spec, JobSpec::Evaluate { examples, .. } if examples.first().is_some_and(|e| e.split == Split::Val)))
        .count();
    let boots = jobs.len() - predicts.len() - evals;
    assert_eq!(
        predicts.len(),
        4,
        "one rule call per candidate and predictor"
    );
    assert_eq!(evals, 4, "one evaluation per candidate");
    assert_eq!(
        boots, 4,
        "one teacher run per training example of the first half"
    );

    let mut rng = PyRandom::new(0);
    let expected_ids: Vec<u64> = (0..4)
        .map(|_| rng.randint(0, 1_000_000_000) as u64)
        .collect();
    let ids: Vec<u64> = predicts.iter().map(|j| rollout(j)).collect();
    assert_eq!(ids, expected_ids);
    let first_half: Vec<Example> = examples(8, "q")[..4].to_vec();
    let sig = hone_core::Signature::parse("question -> answer").expect("parses");
    for job in &predicts {
        let JobSpec::Predict {
            signature,
            inputs,
            settings,
            lm,
            n,
            ..
        } = &job.spec
        else {
            unreachable!("filtered")
        };
        assert_eq!(signature, &rules_induction(10));
        assert_eq!(*lm, LmRole::Proposer);
        assert_eq!(*n, 1);
        assert_eq!(settings.sampling.temperature, Some(1.0));
        assert_eq!(
            inputs.get("examples_text"),
            Some(&json!(format_examples(&first_half, &sig)))
        );
    }

    let scores: Vec<f64> = expected_ids
        .iter()
        .map(|id| round_percent((id % 3) as f64 / 2.0))
        .collect();
    assert_eq!(opt.scores(), scores.as_slice());
    let top = scores.iter().cloned().fold(f64::MIN, f64::max);
    let winner = scores.iter().position(|s| *s == top).expect("a best");
    // DSPy's draws score 0, 50, 50, 50: the first of the tied candidates wins.
    assert_eq!(
        (winner, scores[1..].iter().filter(|s| **s == top).count()),
        (1, 3)
    );
    let best = Optimizer::best(&opt).expect("a best program");
    let predictor = &best.predictors["self"];
    assert_eq!(
        predictor.signature.instructions,
        format!(
            "{STUDENT}{RULES_PREAMBLE}rules from {}",
            expected_ids[winner]
        )
    );
    assert_eq!(predictor.demos.len(), 4, "the bootstrapped demos stay");
}

/// A failed rule call is retried with the last example dropped (DSPy's context-window loop);
/// failing with a single example ends the run with an error.
#[test]
fn failed_rule_calls_retry_with_fewer_examples() {
    let first = std::sync::Mutex::new(true);
    let fail_once = |job: &Job| {
        let mut first = first.lock().expect("not poisoned");
        matches!(job.spec, JobSpec::Predict { .. }) && std::mem::take(&mut *first)
    };
    let mut opt = infer(2);
    let jobs = drive(&mut opt, None, |j| answer_with(j, fail_once));
    let texts: Vec<String> = jobs
        .iter()
        .filter_map(|j| match &j.spec {
            JobSpec::Predict { inputs, .. } => inputs
                .get("examples_text")
                .and_then(Value::as_str)
                .map(str::to_owned),
            JobSpec::Evaluate { .. } => None,
        })
        .collect();
    assert_eq!(texts.len(), 3, "two calls and one retry");
    let count = |t: &str| t.matches("Input Fields:").count();
    assert_eq!(
        texts.iter().map(|t| count(t)).collect::<Vec<_>>(),
        [4, 4, 3]
    );
    assert!(Optimizer::best(&opt).is_some());

    let mut opt = InferRules::new(
        &student(STUDENT),
        &examples(2, "q"),
        None,
        InferRulesConfig {
            num_candidates: 1,
            ..Default::default()
        },
    )
    .expect("valid");
    let mut failed = None;
    while !Optimizer::is_done(&opt) {
        for job in Optimizer::ask(&mut opt) {
            match Optimizer::tell(&mut opt, answer_with(&job, |_| true)) {
                Ok(Told::Accepted) => {}
                other => failed = Some(other),
            }
        }
    }
    let err = failed.expect("the run failed").expect_err("an error");
    assert!(
        err.to_string().contains("even with a single example"),
        "{err}"
    );
}

/// A run checkpointed after any result and restored continues exactly as the uninterrupted
/// run: same best program, same log.
#[test]
fn resumes_exactly_after_any_result() {
    let mut whole = infer(3);
    let total = drive(&mut whole, None, answer).len();
    let expected = Optimizer::best(&whole).expect("a best program");
    let expected_log = serde_json::to_value(Optimizer::log(&whole)).expect("serializes");
    for cut in 1..total {
        let resumed = cut_and_resumed(|| infer(3), cut, answer);
        assert_eq!(
            Optimizer::best(&resumed)
                .expect("a best program")
                .to_json_string_pretty(),
            expected.to_json_string_pretty(),
            "cut after {cut} results"
        );
        assert_eq!(
            serde_json::to_value(Optimizer::log(&resumed)).expect("serializes"),
            expected_log,
            "cut after {cut} results"
        );
    }
}

/// A given valset is used as it is; the trainset is not split.
#[test]
fn a_valset_is_used_whole() {
    let opt = InferRules::new(
        &student(STUDENT),
        &examples(6, "q"),
        Some(&examples(3, "v")),
        InferRulesConfig::default(),
    )
    .expect("valid");
    assert_eq!(opt.valset().len(), 3);
    assert_eq!(opt.config().num_rules, 10);
}
