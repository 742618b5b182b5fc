//! Unit tests of GEPA's steps, driven through the ask/tell protocol with a scripted executor:
//! reflection on the minibatch's feedback, acceptance of children, the pool and Pareto front,
//! the budget, and a checkpoint taken mid-run.

use hone_core::Prediction;
use hone_core::state::ProgramState;
use serde_json::{Map, Value, json};

use super::*;
use crate::protocol::{Job, JobOutput, JobSpec, Optimizer, Told};
use crate::scripted::{cut_and_resumed, drive, evaluated, examples, student};

const STUDENT: &str = "v0";

/// The version `N` of an instruction `vN`.
fn version(text: &str) -> usize {
    text.trim_start_matches('v')
        .parse()
        .expect("a versioned instruction")
}

/// The scripted score of instruction `vN` on any example: 0, 0.25, then 0.5 from `v2` on, so
/// `v1` and `v2` improve on their parents and later versions do not.
fn score_of(n: usize) -> f64 {
    n.min(2) as f64 * 0.25
}

/// The scripted executor: an evaluation scores every example by the program's instruction
/// version, with feedback naming the example (and traces when asked); a reflection answers the
/// next version of the current instruction.
fn answer(job: &Job) -> JobResult {
    let output = match &job.spec {
        JobSpec::Evaluate {
            program,
            examples,
            capture_traces,
            ..
        } => {
            let n = version(&program.predictors["self"].signature.instructions);
            evaluated(examples, *capture_traces, score_of(n), |q| {
                Some(format!("feedback on {q}"))
            })
        }
        JobSpec::Predict {
            purpose, inputs, ..
        } => {
            assert_eq!(purpose, "gepa_reflection");
            let current = inputs
                .get("current_instruction")
                .and_then(Value::as_str)
                .expect("the current instruction");
            let next = format!("v{}", version(current) + 1);
            JobOutput::Predicted {
                predictions: vec![Prediction::new(Map::from_iter([(
                    "new_instruction".to_owned(),
                    json!(next),
                )]))],
            }
        }
    };
    JobResult {
        id: job.id,
        output,
        lm_calls: 1,
    }
}

fn config(budget: u64) -> GepaConfig {
    GepaConfig {
        budget: GepaBudget::MaxMetricCalls(budget),
        reflection_minibatch_size: 2,
        use_merge: false,
        seed: 7,
        ..GepaConfig::default()
    }
}

fn gepa(budget: u64) -> Gepa {
    Gepa::new(
        &student(STUDENT),
        &examples(8, "t"),
        Some(&examples(4, "v")),
        config(budget),
    )
    .expect("a valid run")
}

fn instructions(program: &ProgramState) -> &str {
    &program.predictors["self"].signature.instructions
}

/// Evaluated training example indices of an evaluation job.
fn indices(job: &Job) -> (Vec<usize>, bool) {
    match &job.spec {
        JobSpec::Evaluate {
            examples,
            capture_traces,
            ..
        } => (examples.iter().map(|e| e.index).collect(), *capture_traces),
        JobSpec::Predict { .. } => panic!("not an evaluation"),
    }
}

#[test]
fn an_iteration_reflects_on_the_minibatch_feedback_and_scores_the_child_on_it() {
    let mut opt = gepa(100);
    // The seed on the whole valset, one job of four examples.
    let seed = opt.ask();
    assert_eq!(seed.len(), 1);
    assert_eq!(indices(&seed[0]), (vec![0, 1, 2, 3], false));
    assert_eq!(opt.tell(answer(&seed[0])), Ok(Told::Accepted));
    assert_eq!(opt.metric_calls(), 4);
    assert_eq!(opt.candidates()[0].val_scores, vec![0.0; 4]);

    // The parent (the seed) on a minibatch of two training examples, with traces.
    let parent = opt.ask();
    assert_eq!(parent.len(), 1);
    let (minibatch, traces) = indices(&parent[0]);
    assert!(traces, "the parent runs with traces");
    assert_eq!(minibatch.len(), 2);
    assert!(minibatch.iter().all(|&i| i < 8));
    assert_eq!(opt.tell(answer(&parent[0])), Ok(Told::Accepted));

    // One reflection on the only component, fed the minibatch's feedback.
    let reflection = opt.ask();
    assert_eq!(reflection.len(), 1);
    let JobSpec::Predict { inputs, lm, .. } = &reflection[0].spec else {
        panic!("a reflection call: {:?}", reflection[0].spec);
    };
    assert_eq!(*lm, crate::LmRole::Proposer);
    assert_eq!(inputs.get("current_instruction"), Some(&json!("v0")));
    let items = inputs
        .get("examples_with_feedback")
        .and_then(Value::as_array)
        .expect("reflective examples");
    let mut feedback: Vec<String> = items
        .iter()
        .map(|item| item["Feedback"].as_str().expect("feedback text").to_owned())
        .collect();
    feedback.sort();
    let mut expected: Vec<String> = minibatch
        .iter()
        .map(|i| format!("feedback on t{i}"))
        .collect();
    expected.sort();
    assert_eq!(feedback, expected);
    assert_eq!(opt.tell(answer(&reflection[0])), Ok(Told::Accepted));

    // The child (`v1`) on the same minibatch, without traces.
    let child = opt.ask();
    assert_eq!(child.len(), 1);
    assert_eq!(indices(&child[0]), (minibatch.clone(), false));
    let JobSpec::Evaluate { program, .. } = &child[0].spec else {
        unreachable!()
    };
    assert_eq!(instructions(program), "v1");
    assert_eq!(opt.tell(answer(&child[0])), Ok(Told::Accepted));
    assert_eq!(opt.metric_calls(), 8);

    // It improved (0.5 > 0 on the minibatch): scored on the whole valset, then in the pool.
    let full = opt.ask();
    assert_eq!(indices(&full[0]), (vec![0, 1, 2, 3], false));
    assert_eq!(opt.tell(answer(&full[0])), Ok(Told::Accepted));
    assert_eq!(opt.metric_calls(), 12);
    let pool = opt.candidates();
    assert_eq!(pool.len(), 2);
    assert_eq!(pool[1].texts["self"], "v1");
    assert_eq!(pool[1].parents, vec![0]);
    assert_eq!(pool[1].val_scores, vec![0.25; 4]);
    assert_eq!(opt.best_index(), Some(1));
}

#[test]
fn children_join_only_when_they_improve_and_the_budget_ends_the_run() {
    let mut opt = gepa(30);
    let jobs = drive(&mut opt, None, answer);
    // Seed 4 calls; v1 and v2 accepted (2 + 2 + 4 each); v3 rejected twice (2 + 2 each);
    // the iteration starting at 28 < 30 calls runs, the one at 32 does not.
    assert_eq!(opt.metric_calls(), 32);
    let texts: Vec<&str> = opt
        .candidates()
        .iter()
        .map(|c| c.texts["self"].as_str())
        .collect();
    assert_eq!(texts, ["v0", "v1", "v2"]);
    let parents: Vec<Vec<usize>> = opt.candidates().iter().map(|c| c.parents.clone()).collect();
    assert_eq!(parents, [vec![], vec![0], vec![1]]);
    // Each reflection starts from the best candidate so far: v2 dominates every instance.
    let reflected: Vec<&str> = jobs
        .iter()
        .filter_map(|j| match &j.spec {
            JobSpec::Predict { inputs, .. } => inputs.get("current_instruction")?.as_str(),
            JobSpec::Evaluate { .. } => None,
        })
        .collect();
    assert_eq!(reflected, ["v0", "v1", "v2", "v2", "v2"]);
    let front = opt.pareto_front();
    assert_eq!(front.best_scores(), &[Some(0.5); 4]);
    assert!(front.members().iter().all(|m| m.iter().eq([&2])));
    assert_eq!(opt.best_candidate()["self"], "v2");
    let best = Optimizer::best(&opt).expect("a best program");
    assert_eq!(instructions(&best), "v2");
    assert!(opt.ask().is_empty() && opt.pending().is_empty());
}

#[test]
fn a_run_restored_mid_way_ends_as_the_uninterrupted_one() {
    let mut whole = gepa(30);
    let total = drive(&mut whole, None, answer).len();
    let expected = serde_json::to_string(whole.candidates()).expect("serializes");
    for cut in 1..total {
        let resumed = cut_and_resumed(|| gepa(30), cut, answer);
        assert_eq!(
            serde_json::to_string(resumed.candidates()).expect("serializes"),
            expected,
            "cut after {cut} results"
        );
        assert_eq!(resumed.metric_calls(), whole.metric_calls());
        assert_eq!(resumed.best_candidate(), whole.best_candidate());
    }
}

mod controls;
