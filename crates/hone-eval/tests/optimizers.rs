//! The few-shot optimizers against the simulated server: each lifts the dev score;
//! determinism across concurrency; resume after k tells from a checkpoint file.

mod common;

use std::time::Duration;

use common::{arithmetic, dev_score, executor, program, sim};
use hone_eval::{DriverConfig, StopReason, resume, run_optimizer};
use hone_modules::Module;
use hone_optimize::{
    BootstrapConfig, BootstrapFewShot, BootstrapFewShotWithRandomSearch, LabeledFewShot,
    LabeledFewShotConfig, Optimizer, RandomSearchConfig, Registry,
};

fn search_config() -> RandomSearchConfig {
    RandomSearchConfig {
        num_candidate_programs: 3,
        eval_batch_size: 4,
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_optimizer_lifts_the_dev_score() {
    let sim = sim(Duration::ZERO).await;
    let train = arithmetic(16, 1);
    let val = arithmetic(12, 2);
    let dev = arithmetic(80, 3);
    let student = program().state();
    let exec = executor(&sim);
    let config = DriverConfig::with_concurrency(16);

    let baseline = dev_score(&sim, &student, &dev).await;

    let labeled = LabeledFewShot::new(&student, &train, LabeledFewShotConfig::default())
        .expect("valid")
        .best()
        .expect("a program");

    let mut boot =
        BootstrapFewShot::new(&student, &train, BootstrapConfig::default()).expect("valid");
    let report = run_optimizer(&mut boot, &exec, &config)
        .await
        .expect("runs");
    assert_eq!(report.stop, StopReason::Done);
    let bootstrapped = report.best.expect("a program");
    let augmented = bootstrapped.predictors["self"]
        .demos
        .iter()
        .filter(|d| d.get("augmented").is_some())
        .count();
    assert!(augmented > 0, "demos were bootstrapped from teacher traces");

    let mut rs =
        BootstrapFewShotWithRandomSearch::new(&student, &train, Some(&val), search_config())
            .expect("valid");
    let searched = run_optimizer(&mut rs, &exec, &config)
        .await
        .expect("runs")
        .best
        .expect("a program");
    assert_eq!(rs.candidates().len(), 6);

    for (name, state) in [
        ("labeled", labeled),
        ("bootstrap", bootstrapped),
        ("random search", searched),
    ] {
        let score = dev_score(&sim, &state, &dev).await;
        eprintln!("{name}: {score:.3} vs baseline {baseline:.3}");
        assert!(
            score > baseline + 0.08,
            "{name}: dev score {score:.3} does not beat the unoptimized {baseline:.3}"
        );
    }
    assert!(
        sim.stats().peak_concurrency <= 16,
        "never more LM calls in flight than the concurrency"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_seed_same_program_at_concurrency_1_and_32() {
    let sim = sim(Duration::ZERO).await;
    let train = arithmetic(12, 4);
    let val = arithmetic(8, 5);
    let student = program().state();
    let exec = executor(&sim);
    let mut programs = Vec::new();
    for concurrency in [1, 32] {
        let mut rs =
            BootstrapFewShotWithRandomSearch::new(&student, &train, Some(&val), search_config())
                .expect("valid");
        let report = run_optimizer(&mut rs, &exec, &DriverConfig::with_concurrency(concurrency))
            .await
            .expect("runs");
        programs.push(report.best.expect("a program").to_json_string_pretty());
    }
    assert_eq!(programs[0], programs[1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resumed_runs_end_with_the_uninterrupted_program() {
    let sim = sim(Duration::ZERO).await;
    let train = arithmetic(12, 6);
    let val = arithmetic(8, 7);
    let student = program().state();
    let exec = executor(&sim);
    let fresh = || {
        BootstrapFewShotWithRandomSearch::new(&student, &train, Some(&val), search_config())
            .expect("valid")
    };
    let mut full = fresh();
    let report = run_optimizer(&mut full, &exec, &DriverConfig::with_concurrency(8))
        .await
        .expect("runs");
    let expected = report.best.expect("a program").to_json_string_pretty();
    let total = report.tells;
    assert!(total > 10);

    let dir = tempfile::tempdir().expect("a temp dir");
    for k in [1, 5, total / 2, total - 1] {
        let path = dir.path().join(format!("run-{k}.json"));
        let mut first = fresh();
        let config = DriverConfig {
            stop_after_tells: Some(k),
            ..DriverConfig::with_concurrency(8).checkpoint(&path)
        };
        let stopped = run_optimizer(&mut first, &exec, &config)
            .await
            .expect("runs");
        assert_eq!(stopped.stop, StopReason::TellLimit);
        drop(first);

        let config = DriverConfig::with_concurrency(5).checkpoint(&path);
        let (opt, report) = resume(&path, &Registry::builtin(), &exec, &config)
            .await
            .expect("resumes");
        assert!(opt.is_done());
        assert_eq!(
            report.total_tells, total,
            "k = {k}: every result told once overall"
        );
        let got = report.best.expect("a program").to_json_string_pretty();
        assert_eq!(got, expected, "k = {k}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancellation_stops_cleanly_with_a_checkpoint() {
    let sim = sim(Duration::from_millis(20)).await;
    let train = arithmetic(12, 8);
    let student = program().state();
    let exec = executor(&sim);
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("cancel.json");
    let config = DriverConfig::with_concurrency(4).checkpoint(&path);
    let cancel = config.cancel.clone();
    let mut rs = BootstrapFewShotWithRandomSearch::new(&student, &train, None, search_config())
        .expect("valid");
    let stopper = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(150)).await;
        cancel.cancel();
    });
    let report = run_optimizer(&mut rs, &exec, &config).await.expect("runs");
    stopper.await.expect("the stopper ran");
    assert_eq!(report.stop, StopReason::Cancelled);
    assert!(path.exists(), "a checkpoint was written");
    let (opt, _) = resume(
        &path,
        &Registry::builtin(),
        &exec,
        &DriverConfig::with_concurrency(8),
    )
    .await
    .expect("resumes");
    assert!(opt.best().is_some());
}
