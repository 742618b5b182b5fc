//! Every optimizer counts the failed examples of each trial in its run log: a metric that fails
//! on a quarter of the examples shows as that many errors next to each full trial's score.

mod common;
mod fake_lm;

use hone_core::Example;
use hone_optimize::{
    BootstrapFewShotWithRandomSearch, Copro, CoproConfig, Gepa, GepaBudget, GepaConfig, Job,
    JobOutput, JobResult, LogEvent, MiproConfig, MiproV2, Optimizer, RandomSearchConfig, Simba,
    SimbaConfig, Split,
};

/// Whether the metric fails on this example: every fourth example of a split.
fn fails(index: usize) -> bool {
    index.is_multiple_of(4)
}

/// Runs `opt` to the end with `answer`, the metric failing on [`fails`] examples of `split`
/// (of every split when `None`).
fn drive_failing(opt: &mut dyn Optimizer, answer: fn(&Job) -> JobResult, split: Option<Split>) {
    let mut guard = 0;
    while !opt.is_done() {
        guard += 1;
        assert!(guard < 100_000, "{} makes no progress", opt.name());
        let jobs = opt.ask();
        assert!(
            !jobs.is_empty(),
            "{} is not done but has no job",
            opt.name()
        );
        for job in jobs {
            let mut result = answer(&job);
            if let JobOutput::Evaluated { outcomes } = &mut result.output {
                for o in outcomes.iter_mut() {
                    if split.is_none_or(|s| s == o.split) && fails(o.index) {
                        o.score = None;
                        o.error = Some("metric: crashed".into());
                    }
                }
            }
            opt.tell(result).expect("the result fits its job");
        }
    }
}

/// Asserts that every full trial over `0..n` counts `⌈n/4⌉` errors, no trial counts more
/// errors than examples, and at least one trial was logged.
fn assert_trial_errors(opt: &dyn Optimizer) {
    let mut full = 0;
    for event in opt.log().trials() {
        let LogEvent::Trial {
            examples,
            errors,
            full: is_full,
            ..
        } = event
        else {
            continue;
        };
        assert!(errors <= examples, "{}: {errors} of {examples}", opt.name());
        if *is_full {
            full += 1;
            assert_eq!(
                *errors,
                examples.div_ceil(4),
                "{}: a full trial over {examples} examples",
                opt.name()
            );
        }
    }
    assert!(full > 0, "{} logged no full trial", opt.name());
}

fn check(mut opt: Box<dyn Optimizer>, answer: fn(&Job) -> JobResult, split: Option<Split>) {
    drive_failing(opt.as_mut(), answer, split);
    assert_trial_errors(opt.as_ref());
}

#[test]
fn random_search_counts_each_trials_errors() {
    let train = common::dataset(20, 1);
    let val: Vec<Example> = common::dataset(10, 2);
    let config = RandomSearchConfig {
        num_candidate_programs: 3,
        ..Default::default()
    };
    let opt = BootstrapFewShotWithRandomSearch::new(&common::student(), &train, Some(&val), config)
        .expect("valid");
    check(Box::new(opt), common::answer, Some(Split::Val));
}

#[test]
fn instruction_optimizers_count_each_trials_errors() {
    let train = fake_lm::dataset(12, 1);
    let val = fake_lm::dataset(10, 2);
    let st = fake_lm::student(false);
    let copro = Copro::new(
        &st,
        &train,
        CoproConfig {
            breadth: 3,
            depth: 2,
            ..Default::default()
        },
    )
    .expect("valid");
    check(Box::new(copro), fake_lm::answer, None);
    let mipro = MiproV2::new(
        &st,
        &train,
        Some(&val),
        MiproConfig {
            auto: None,
            num_candidates: Some(4),
            num_trials: Some(8),
            minibatch_size: 6,
            minibatch_full_eval_steps: 4,
            ..Default::default()
        },
    )
    .expect("valid");
    check(Box::new(mipro), fake_lm::answer, None);
    let simba = Simba::new(
        &st,
        &train,
        SimbaConfig {
            bsize: 4,
            max_steps: 2,
            ..Default::default()
        },
    )
    .expect("valid");
    check(Box::new(simba), fake_lm::answer, None);
    let gepa = Gepa::new(
        &st,
        &train,
        Some(&val),
        GepaConfig {
            budget: GepaBudget::MaxMetricCalls(120),
            ..Default::default()
        },
    )
    .expect("valid");
    check(Box::new(gepa), fake_lm::answer, None);
}
