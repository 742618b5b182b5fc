//! The few-shot optimizers driven by a fake executor: protocol behaviour, determinism under
//! shuffled arrival, resume after k tells, DSPy's sequential semantics, bad input.

mod common;

use common::{Drive, answer, dataset, drive, program_json, resume, score, student};
use hone_core::Example;
use hone_optimize::{
    BootstrapConfig, BootstrapFewShot, BootstrapFewShotWithRandomSearch, JobId, JobOutput,
    JobResult, LabeledFewShot, LabeledFewShotConfig, LogEvent, Optimizer, OptimizerError,
    RandomSearchConfig, Told,
};
use serde_json::Value;

fn bootstrap(train: &[Example], config: BootstrapConfig) -> BootstrapFewShot {
    BootstrapFewShot::new(&student(), train, config).expect("valid configuration")
}

fn search(
    train: &[Example],
    val: &[Example],
    candidates: usize,
) -> BootstrapFewShotWithRandomSearch {
    let config = RandomSearchConfig {
        num_candidate_programs: candidates,
        eval_batch_size: 5,
        ..Default::default()
    };
    BootstrapFewShotWithRandomSearch::new(&student(), train, Some(val), config)
        .expect("valid configuration")
}

#[test]
fn labeled_few_shot_picks_dspys_demos() {
    let train = dataset(20, 1);
    let opt = LabeledFewShot::new(
        &student(),
        &train,
        LabeledFewShotConfig {
            k: 5,
            ..Default::default()
        },
    )
    .expect("valid");
    assert!(opt.is_done());
    let best = opt.best().expect("a program");
    let demos = &best.predictors["self"].demos;
    // random.Random(0).sample(trainset, 5) picks indices [12, 13, 1, 8, 15].
    let expected: Vec<&Value> = [12, 13, 1, 8, 15]
        .iter()
        .map(|&i| train[i].get("question").expect("question"))
        .collect();
    let got: Vec<&Value> = demos
        .iter()
        .map(|d| d.get("question").expect("q"))
        .collect();
    assert_eq!(got, expected);
    // Restores by name.
    let restored = resume(&opt);
    assert_eq!(restored.best(), opt.best());
}

#[test]
fn bootstrap_follows_dspys_sequential_loop_for_any_wave_size() {
    let train = dataset(30, 2);
    let mut programs = Vec::new();
    for wave in [Some(1), Some(3), None, Some(usize::MAX)] {
        let mut opt = bootstrap(
            &train,
            BootstrapConfig {
                wave_size: wave,
                max_rounds: 2,
                ..Default::default()
            },
        );
        drive(&mut opt, Drive::default());
        let best = opt.best().expect("done");
        let demos = &best.predictors["self"].demos;
        let augmented = demos
            .iter()
            .filter(|d| d.get("augmented") == Some(&Value::Bool(true)))
            .count();
        assert_eq!(augmented, 4, "four bootstrapped demos");
        assert_eq!(
            demos.len(),
            16,
            "labeled demos fill up to max_labeled_demos"
        );
        programs.push(program_json(&best));
    }
    assert!(programs.windows(2).all(|w| w[0] == w[1]));
}

#[test]
fn bootstrap_waves_run_in_parallel() {
    let train = dataset(40, 3);
    let mut opt = bootstrap(&train, BootstrapConfig::default());
    let first = opt.ask();
    assert_eq!(first.len(), 8, "a wave of twice the demos needed");
    let all = bootstrap(
        &train,
        BootstrapConfig {
            wave_size: Some(usize::MAX),
            ..Default::default()
        },
    )
    .ask();
    assert_eq!(all.len(), 40, "the whole trainset at once");
}

#[test]
fn a_failed_bootstrap_answers_unknown_for_ids_it_never_issued() {
    let train = dataset(12, 4);
    let mut opt = bootstrap(
        &train,
        BootstrapConfig {
            max_errors: Some(1),
            ..Default::default()
        },
    );
    let jobs = opt.ask();
    assert!(jobs.len() > 2);
    let failed = |id| JobResult {
        id,
        output: JobOutput::Failed {
            error: "the LM is unreachable".into(),
        },
        lm_calls: 0,
    };
    // The wave is applied once complete: every job but the first fails, then the first.
    for job in &jobs[1..] {
        assert_eq!(opt.tell(failed(job.id)).expect("recorded"), Told::Accepted);
    }
    let stopped = opt.tell(failed(jobs[0].id));
    assert!(
        matches!(stopped, Err(OptimizerError::Failed { .. })),
        "{stopped:?}"
    );
    assert!(opt.is_done());
    assert!(opt.ask().is_empty() && opt.pending().is_empty());
    // A job that already had its result: duplicate. An id it never issued: unknown.
    assert_eq!(opt.tell(answer(&jobs[1])).expect("ok"), Told::Duplicate);
    let mut bogus = answer(&jobs[1]);
    bogus.id = JobId(9_999);
    assert_eq!(opt.tell(bogus).expect("ok"), Told::Unknown);
}

#[test]
fn protocol_duplicates_out_of_order_unknown_and_reask() {
    let train = dataset(12, 4);
    let mut opt = bootstrap(&train, BootstrapConfig::default());
    let jobs = opt.ask();
    assert!(opt.ask().is_empty(), "each job is handed out once");
    assert_eq!(opt.pending().len(), jobs.len());
    // Unknown id.
    let mut bogus = answer(&jobs[0]);
    bogus.id = JobId(9_999);
    assert_eq!(opt.tell(bogus).expect("ok"), Told::Unknown);
    // Out of order, with duplicates.
    let last = jobs.last().expect("jobs");
    assert_eq!(opt.tell(answer(last)).expect("ok"), Told::Accepted);
    assert_eq!(opt.tell(answer(last)).expect("ok"), Told::Duplicate);
    // A result that does not fit its job is refused and the job stays pending.
    let wrong = JobResult {
        id: jobs[0].id,
        output: JobOutput::Evaluated { outcomes: vec![] },
        lm_calls: 0,
    };
    assert!(matches!(
        opt.tell(wrong),
        Err(OptimizerError::BadResult { .. })
    ));
    // Lost results are re-asked through pending().
    let pending = opt.pending();
    assert_eq!(pending.len(), jobs.len() - 1);
    for job in pending.iter().rev() {
        assert_eq!(opt.tell(answer(job)).expect("ok"), Told::Accepted);
    }
    assert_eq!(opt.tell(answer(&jobs[0])).expect("ok"), Told::Duplicate);
    drive(&mut opt, Drive::default());
    assert!(opt.is_done());
    assert!(opt.pending().is_empty());
}

#[test]
fn random_search_is_deterministic_under_any_arrival_order() {
    let train = dataset(24, 5);
    let val = dataset(20, 6);
    let mut reference = None;
    for (concurrency, shuffle, duplicates) in [
        (1, None, false),
        (7, Some(1), true),
        (32, Some(2), false),
        (1000, Some(3), true),
    ] {
        let mut opt = search(&train, &val, 4);
        drive(
            &mut opt,
            Drive {
                concurrency,
                shuffle,
                duplicates,
                stop_after: None,
            },
        );
        let best = program_json(&opt.best().expect("a best program"));
        match &reference {
            None => reference = Some(best),
            Some(r) => assert_eq!(r, &best, "concurrency {concurrency}"),
        }
    }
}

#[test]
fn bootstrap_resumes_after_any_number_of_tells() {
    let train = dataset(30, 7);
    let config = BootstrapConfig {
        max_rounds: 2,
        ..Default::default()
    };
    let mut full = bootstrap(&train, config.clone());
    let total = drive(&mut full, Drive::default());
    let expected = program_json(&full.best().expect("done"));
    for k in [0, 1, 2, 5, total / 2, total.saturating_sub(1)] {
        let mut first = bootstrap(&train, config.clone());
        drive(
            &mut first,
            Drive {
                concurrency: 3,
                stop_after: Some(k),
                ..Default::default()
            },
        );
        let mut resumed = resume(&first);
        drive(resumed.as_mut(), Drive::default());
        assert_eq!(
            program_json(&resumed.best().expect("done")),
            expected,
            "k = {k}"
        );
    }
}

#[test]
fn random_search_resumes_after_any_number_of_tells() {
    let train = dataset(20, 8);
    let val = dataset(15, 9);
    let mut full = search(&train, &val, 3);
    let total = drive(&mut full, Drive::default());
    let expected = program_json(&full.best().expect("done"));
    for k in [0, 1, 4, total / 3, total / 2, total - 1] {
        let mut first = search(&train, &val, 3);
        drive(
            &mut first,
            Drive {
                concurrency: 5,
                shuffle: Some(k as u64),
                stop_after: Some(k),
                ..Default::default()
            },
        );
        let mut resumed = resume(&first);
        drive(
            resumed.as_mut(),
            Drive {
                concurrency: 4,
                ..Default::default()
            },
        );
        assert_eq!(
            program_json(&resumed.best().expect("done")),
            expected,
            "k = {k}"
        );
    }
}

#[test]
fn optimizers_lift_the_dev_score() {
    let train = dataset(30, 10);
    let dev = dataset(60, 11);
    let baseline = score(&student(), &dev);

    let labeled = LabeledFewShot::new(&student(), &train, LabeledFewShotConfig::default())
        .expect("valid")
        .best()
        .expect("program");
    let mut boot = bootstrap(&train, BootstrapConfig::default());
    drive(&mut boot, Drive::default());
    let mut rs = search(&train, &dev[..20], 4);
    drive(&mut rs, Drive::default());

    for (name, program) in [
        ("labeled", labeled),
        ("bootstrap", boot.best().expect("done")),
        ("random search", rs.best().expect("done")),
    ] {
        let s = score(&program, &dev);
        assert!(s > baseline, "{name}: {s} <= baseline {baseline}");
    }
    assert!(
        rs.log()
            .events()
            .iter()
            .any(|e| matches!(e, LogEvent::NewBest { .. }))
    );
    let candidates = rs.candidates();
    assert_eq!(candidates.len(), 7);
    assert!(
        candidates
            .windows(2)
            .all(|w| w[0].score.mean() >= w[1].score.mean())
    );
}

#[test]
fn stop_at_score_ends_the_search_at_the_first_candidate_in_seed_order() {
    let train = dataset(20, 12);
    let val = dataset(10, 13);
    let config = RandomSearchConfig {
        num_candidate_programs: 6,
        stop_at_score: Some(0.0),
        ..Default::default()
    };
    let mut opt = BootstrapFewShotWithRandomSearch::new(&student(), &train, Some(&val), config)
        .expect("valid");
    drive(
        &mut opt,
        Drive {
            concurrency: 100,
            shuffle: Some(4),
            ..Default::default()
        },
    );
    // Candidate -3 (zero-shot) reaches 0.0 and stops the search, as in DSPy.
    assert_eq!(opt.candidates().len(), 1);
    assert_eq!(opt.candidates()[0].seed, -3);
    assert!(opt.pending().is_empty());
}

#[test]
fn bad_input_gives_clear_errors_or_counted_failures() {
    let empty: Vec<Example> = vec![];
    for err in [
        BootstrapFewShot::new(&student(), &empty, BootstrapConfig::default()).err(),
        LabeledFewShot::new(&student(), &empty, LabeledFewShotConfig::default()).err(),
        BootstrapFewShotWithRandomSearch::new(&student(), &empty, None, Default::default()).err(),
    ] {
        let err = err.expect("an empty trainset is refused");
        assert!(matches!(err, OptimizerError::Config { .. }));
        assert!(err.to_string().contains("trainset is empty"), "{err}");
    }
    let restricted = RandomSearchConfig {
        restrict: Some(vec![99]),
        ..Default::default()
    };
    let train = dataset(5, 14);
    assert!(matches!(
        BootstrapFewShotWithRandomSearch::new(&student(), &train, None, restricted),
        Err(OptimizerError::Config { .. })
    ));

    // Examples missing their input field fail when run; failures are counted, and the
    // optimizer carries on below max_errors.
    let mut train = dataset(20, 15);
    for ex in train.iter_mut().take(3) {
        *ex = Example::new().with("answer", 3).with_inputs(["question"]);
    }
    let mut opt = bootstrap(
        &train,
        BootstrapConfig {
            wave_size: Some(1),
            ..Default::default()
        },
    );
    drive(&mut opt, Drive::default());
    assert!(opt.best().is_some());

    // At max_errors, the run stops with an error naming the cause.
    let mut opt = bootstrap(
        &train,
        BootstrapConfig {
            max_errors: Some(2),
            ..Default::default()
        },
    );
    let mut failure = None;
    while !opt.is_done() {
        for job in opt.ask() {
            if let Err(e) = opt.tell(answer(&job)) {
                failure = Some(e);
            }
        }
    }
    let failure = failure.expect("too many errors");
    assert!(matches!(failure, OptimizerError::Failed { .. }));
    assert!(
        failure.to_string().contains("missing input field"),
        "{failure}"
    );
    assert!(opt.best().is_none());
}
