//! `BootstrapFewShotWithOptuna` driven through ask/tell with a scripted executor: one
//! bootstrap, then trials one at a time whose demo indices are the TPE sampler's, the best
//! trial's one-demo program, an empty demo range refused, and resuming from every checkpoint.

use serde_json::Value;

use super::*;
use crate::protocol::{Job, JobOutput, JobSpec, Optimizer, Told};
use crate::scripted::{cut_and_resumed, drive, evaluated, examples, student};

/// The scripted quality of a trial's program: from the question of its one demo (`q5` is the
/// best; questions of equal residue tie).
fn quality(program: &ProgramState) -> f64 {
    let demos = &program.predictors["self"].demos;
    let Some(question) = demos
        .first()
        .and_then(|d| d.get("question"))
        .and_then(Value::as_str)
    else {
        return 0.0;
    };
    let n: usize = question.trim_start_matches('q').parse().expect("a number");
    if n == 5 { 1.0 } else { (n % 3) as f64 / 4.0 }
}

fn answer_with(job: &Job, accept: f64) -> JobResult {
    let output = match &job.spec {
        JobSpec::Evaluate {
            examples,
            capture_traces: true,
            ..
        } => evaluated(examples, true, accept, |_| None),
        JobSpec::Evaluate {
            program, examples, ..
        } => evaluated(examples, false, quality(program), |_| None),
        JobSpec::Predict { .. } => JobOutput::Failed {
            error: "no proposer calls expected".into(),
        },
    };
    JobResult {
        id: job.id,
        output,
        lm_calls: 1,
    }
}

fn answer(job: &Job) -> JobResult {
    answer_with(job, 1.0)
}

fn optuna(trials: usize) -> BootstrapFewShotWithOptuna {
    BootstrapFewShotWithOptuna::new(
        &student("Answer."),
        &examples(8, "q"),
        Some(&examples(4, "v")),
        OptunaConfig {
            num_candidate_programs: trials,
            ..Default::default()
        },
    )
    .expect("valid")
}

/// The bootstrap runs once; then `num_candidate_programs` trials, one evaluation each, one at a
/// time, each with the one demo per predictor the TPE sampler (fed every earlier score, as
/// Optuna's sequential study is) suggested; the first best trial wins.
#[test]
fn trials_follow_the_tpe_sampler_and_the_first_best_wins() {
    let mut opt = optuna(16);
    let jobs = drive(&mut opt, None, answer);
    let trials: Vec<&Job> = jobs
        .iter()
        .filter(|j| {
            matches!(
                j.spec,
                JobSpec::Evaluate {
                    capture_traces: false,
                    ..
                }
            )
        })
        .collect();
    assert_eq!(trials.len(), 16, "one evaluation per trial");
    assert_eq!(
        jobs.len() - trials.len(),
        8,
        "one bootstrap wave of teacher runs"
    );

    let compiled = opt.bootstrapped().expect("bootstrapped").clone();
    let demos = &compiled.predictors["self"].demos;
    // Four bootstrapped demos, then labeled ones from the other examples.
    assert_eq!(demos.len(), 8);

    let mut tpe = Tpe::new(vec![demos.len()]);
    let mut rng = OptRng::new(0);
    for (k, job) in trials.iter().enumerate() {
        let point = tpe.suggest(&[], &mut rng);
        let JobSpec::Evaluate {
            program, examples, ..
        } = &job.spec
        else {
            unreachable!("filtered")
        };
        assert_eq!(examples.len(), 4, "scored on the valset");
        let chosen = &program.predictors["self"].demos;
        assert_eq!(chosen, &vec![demos[point[0]].clone()], "trial {k}");
        assert_eq!(opt.trials()[k].demo_indices, point);
        let score = round_percent(quality(program));
        assert_eq!(opt.trials()[k].score, score);
        tpe.tell(point, score);
    }

    let scores: Vec<f64> = opt.trials().iter().map(|t| t.score).collect();
    let top = scores.iter().cloned().fold(f64::MIN, f64::max);
    let winner = scores.iter().position(|s| *s == top).expect("a best");
    let best = Optimizer::best(&opt).expect("a best program");
    assert_eq!(
        best.predictors["self"].demos,
        vec![demos[opt.trials()[winner].demo_indices[0]].clone()]
    );
    assert_eq!(best.predictors["self"].signature.instructions, "Answer.");
}

/// Without a valset, trials are scored on the trainset.
#[test]
fn without_a_valset_trials_score_on_the_trainset() {
    let opt = BootstrapFewShotWithOptuna::new(
        &student("Answer."),
        &examples(6, "q"),
        None,
        OptunaConfig::default(),
    )
    .expect("valid");
    assert_eq!(opt.valset().len(), 6);
    assert_eq!(opt.config().num_candidate_programs, 16);
}

/// A predictor left without demos has no index to suggest (Optuna refuses an empty range):
/// the run ends with an error that says what to change.
#[test]
fn no_demos_to_choose_from_is_an_error() {
    let mut opt = BootstrapFewShotWithOptuna::new(
        &student("Answer."),
        &examples(4, "q"),
        None,
        OptunaConfig {
            max_labeled_demos: 0,
            ..Default::default()
        },
    )
    .expect("valid");
    let mut error = None;
    for job in Optimizer::ask(&mut opt) {
        match Optimizer::tell(&mut opt, answer_with(&job, 0.0)) {
            Ok(Told::Accepted) => {}
            other => error = Some(other),
        }
    }
    let err = error.expect("the run failed").expect_err("an error");
    assert!(err.to_string().contains("has no demos"), "{err}");
    assert!(Optimizer::is_done(&opt));
}

/// A run checkpointed after any result and restored continues exactly as the uninterrupted
/// run: same trials, same best program, same log.
#[test]
fn resumes_exactly_after_any_result() {
    let mut whole = optuna(12);
    let total = drive(&mut whole, None, answer).len();
    let expected = Optimizer::best(&whole).expect("a best program");
    let expected_log = serde_json::to_value(Optimizer::log(&whole)).expect("serializes");
    for cut in 1..total {
        let resumed = cut_and_resumed(|| optuna(12), cut, answer);
        assert_eq!(resumed.trials(), whole.trials(), "cut after {cut} results");
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
