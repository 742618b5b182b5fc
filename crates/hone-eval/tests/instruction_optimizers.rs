//! The instruction optimizers against the simulated server: with a fixed seed MIPROv2, GEPA, COPRO
//! and SIMBA each lift the dev score above BootstrapFewShot's, and a run resumed from a checkpoint
//! ends with the uninterrupted run's program.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{arithmetic, dev_score, executor, lm, program, sim};
use hone_eval::{DriverConfig, InProcessExecutor, StopReason, resume, run_optimizer};
use hone_lm::{CacheStore, HttpLm, LmBuilder, MemoryCache};
use hone_modules::Module;
use hone_optimize::{
    BootstrapConfig, BootstrapFewShot, Copro, CoproConfig, FrontierType, Gepa, GepaBudget,
    GepaConfig, GepaStopReason, LmRole, MiproConfig, MiproV2, Optimizer, Simba, SimbaConfig,
};

fn exec(sim: &hone_sim::SimHandle) -> InProcessExecutor {
    executor(sim).with_lm(LmRole::Proposer, lm(sim))
}

/// An executor whose LMs share a response cache, as DSPy's are by default: a proposer call
/// sampled at a temperature above 0 answers the same when a resumed run repeats it.
fn cached_exec(sim: &hone_sim::SimHandle) -> InProcessExecutor {
    let store: Arc<dyn CacheStore> = Arc::new(MemoryCache::new(100_000));
    let cached = || {
        LmBuilder::new(
            HttpLm::builder()
                .model("sim-1")
                .base_url(sim.base_url())
                .no_api_key()
                .build()
                .expect("the LM builds"),
        )
        .shared_cache(store.clone())
        .build()
    };
    InProcessExecutor::from_template(program(), cached(), common::metric())
        .with_lm(LmRole::Proposer, cached())
}

fn gepa_config() -> GepaConfig {
    GepaConfig {
        budget: GepaBudget::MaxMetricCalls(800),
        num_parallel_proposals: 4,
        ..Default::default()
    }
}

fn mipro_config() -> MiproConfig {
    MiproConfig {
        auto: None,
        num_candidates: Some(6),
        num_trials: Some(10),
        minibatch: false,
        ..Default::default()
    }
}

fn copro_config() -> CoproConfig {
    CoproConfig::default()
}

fn simba_config() -> SimbaConfig {
    SimbaConfig {
        bsize: 10,
        num_candidates: 4,
        max_steps: 4,
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_instruction_optimizer_beats_bootstrap_few_shot() {
    let sim = sim(Duration::ZERO).await;
    let train = arithmetic(20, 11);
    let val = arithmetic(15, 12);
    let dev = arithmetic(200, 13);
    // The student says what the task is, as a user's first instruction does: COPRO proposes from
    // the instruction alone (it sees no data), the others also read the training set.
    let mut described = program();
    let signature = described
        .signature()
        .with_instructions("Answer the arithmetic question.");
    described.set_signature(signature);
    let student = described.state();
    let exec = exec(&sim);
    let config = DriverConfig::with_concurrency(32);

    let mut boot =
        BootstrapFewShot::new(&student, &train, BootstrapConfig::default()).expect("valid");
    let boot_best = run_optimizer(&mut boot, &exec, &config)
        .await
        .expect("runs")
        .best
        .expect("a program");
    let baseline = dev_score(&sim, &student, &dev).await;
    let bootstrap = dev_score(&sim, &boot_best, &dev).await;

    let mut opts: Vec<Box<dyn Optimizer>> = vec![
        Box::new(MiproV2::new(&student, &train, Some(&val), mipro_config()).expect("valid")),
        Box::new(Gepa::new(&student, &train, Some(&val), gepa_config()).expect("valid")),
        Box::new(Copro::new(&student, &train, copro_config()).expect("valid")),
        Box::new(Simba::new(&student, &train, simba_config()).expect("valid")),
    ];
    let mut lines = vec![format!(
        "no optimizer {baseline:.3}, BootstrapFewShot {bootstrap:.3}"
    )];
    let mut failures = Vec::new();
    for opt in &mut opts {
        let report = run_optimizer(opt.as_mut(), &exec, &config)
            .await
            .expect("runs");
        assert_eq!(report.stop, StopReason::Done);
        let best = report.best.expect("a program");
        let score = dev_score(&sim, &best, &dev).await;
        lines.push(format!(
            "{} {score:.3} ({} LM calls)",
            opt.name(),
            report.lm_calls
        ));
        if score <= bootstrap {
            failures.push(opt.name());
        }
    }
    eprintln!("{}", lines.join("\n"));
    assert!(
        failures.is_empty(),
        "{failures:?} did not reach their bar:\n{}",
        lines.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resumed_instruction_runs_end_with_the_uninterrupted_program() {
    let sim = sim(Duration::ZERO).await;
    let train = arithmetic(12, 21);
    let val = arithmetic(8, 22);
    let student = program().state();
    let exec = cached_exec(&sim);
    let makers: Vec<Box<dyn Fn() -> Box<dyn Optimizer>>> = vec![
        Box::new(|| {
            Box::new(
                MiproV2::new(
                    &student,
                    &train,
                    Some(&val),
                    MiproConfig {
                        num_trials: Some(6),
                        num_candidates: Some(4),
                        ..mipro_config()
                    },
                )
                .expect("valid"),
            )
        }),
        Box::new(|| {
            Box::new(
                Gepa::new(
                    &student,
                    &train,
                    Some(&val),
                    GepaConfig {
                        budget: GepaBudget::MaxMetricCalls(120),
                        ..gepa_config()
                    },
                )
                .expect("valid"),
            )
        }),
        Box::new(|| {
            Box::new(
                Copro::new(
                    &student,
                    &train,
                    CoproConfig {
                        breadth: 3,
                        depth: 2,
                        ..Default::default()
                    },
                )
                .expect("valid"),
            )
        }),
        Box::new(|| {
            Box::new(
                Simba::new(
                    &student,
                    &train,
                    SimbaConfig {
                        bsize: 6,
                        num_candidates: 3,
                        max_steps: 2,
                        ..Default::default()
                    },
                )
                .expect("valid"),
            )
        }),
    ];
    let registry = hone_optimize::Registry::builtin();
    let dir = tempfile::tempdir().expect("a temp dir");
    for make in &makers {
        let mut full = make();
        let report = run_optimizer(full.as_mut(), &exec, &DriverConfig::with_concurrency(8))
            .await
            .expect("runs");
        let expected = report.best.expect("a program").to_json_string_pretty();
        let total = report.tells;
        for k in [1, total / 2, total - 1] {
            let path = dir.path().join(format!("{}-{k}.json", full.name()));
            let mut first = make();
            let config = DriverConfig {
                stop_after_tells: Some(k),
                ..DriverConfig::with_concurrency(8).checkpoint(&path)
            };
            let stopped = run_optimizer(first.as_mut(), &exec, &config)
                .await
                .expect("runs");
            assert_eq!(stopped.stop, StopReason::TellLimit);
            drop(first);
            let config = DriverConfig::with_concurrency(5).checkpoint(&path);
            let (opt, report) = resume(&path, &registry, &exec, &config)
                .await
                .expect("resumes");
            assert!(opt.is_done());
            let got = report.best.expect("a program").to_json_string_pretty();
            assert_eq!(got, expected, "{}: resumed after {k} tells", opt.name());
        }
    }
}

/// GEPA's stop file and timeout, through the in-process driver: the driver looks for the file
/// and hands the run's wall time (earlier sessions included) to the optimizer, which stops
/// before its first iteration, after scoring the seed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gepa_stops_on_its_stop_file_and_its_timeout_through_the_driver() {
    let sim = sim(Duration::ZERO).await;
    let train = arithmetic(12, 21);
    let val = arithmetic(8, 22);
    let student = program().state();
    let exec = exec(&sim);
    let dir = tempfile::tempdir().expect("a temp dir");
    let stop_file = dir.path().join("gepa.stop");

    let mut gepa = Gepa::new(
        &student,
        &train,
        Some(&val),
        GepaConfig {
            stop_file: Some(stop_file.clone()),
            ..gepa_config()
        },
    )
    .expect("valid");
    std::fs::write(&stop_file, "").expect("writes the stop file");
    let report = run_optimizer(&mut gepa, &exec, &DriverConfig::with_concurrency(4))
        .await
        .expect("runs");
    assert_eq!(report.stop, StopReason::Done);
    assert_eq!(gepa.stop_reason(), Some(GepaStopReason::StopRequested));
    assert_eq!(
        gepa.metric_calls(),
        val.len() as u64,
        "only the seed was scored"
    );
    assert!(gepa.best().is_some());

    let mut gepa = Gepa::new(
        &student,
        &train,
        Some(&val),
        GepaConfig {
            timeout_secs: Some(60.0),
            ..gepa_config()
        },
    )
    .expect("valid");
    let config = DriverConfig {
        elapsed_before: Duration::from_secs(3600),
        ..DriverConfig::with_concurrency(4)
    };
    let report = run_optimizer(&mut gepa, &exec, &config)
        .await
        .expect("runs");
    assert_eq!(report.stop, StopReason::Done);
    assert_eq!(gepa.stop_reason(), Some(GepaStopReason::Timeout));
    assert_eq!(gepa.metric_calls(), val.len() as u64);
}

/// A metric's objective scores reach GEPA through the in-process executor: with
/// `frontier_type = "objective"` every candidate keeps them per validation example.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_metrics_objectives_reach_gepas_objective_fronts() {
    use hone_eval::metric::{MetricValue, metric_fn};
    let sim = sim(Duration::ZERO).await;
    let train = arithmetic(12, 21);
    let val = arithmetic(8, 22);
    let student = program().state();
    let metric = metric_fn(|ex, pred| {
        let right = ex.get("answer") == pred.get("answer");
        let score = if right { 1.0 } else { 0.0 };
        Ok(MetricValue::new(score)
            .with_objective("exact", score)
            .with_objective(
                "answered",
                f64::from(u8::from(pred.get("answer").is_some())),
            ))
    });
    let exec = InProcessExecutor::from_template(program(), lm(&sim), Arc::new(metric))
        .with_lm(LmRole::Proposer, lm(&sim));
    let mut gepa = Gepa::new(
        &student,
        &train,
        Some(&val),
        GepaConfig {
            budget: GepaBudget::MaxMetricCalls(60),
            frontier_type: FrontierType::Objective,
            ..gepa_config()
        },
    )
    .expect("valid");
    let report = run_optimizer(&mut gepa, &exec, &DriverConfig::with_concurrency(4))
        .await
        .expect("runs");
    assert_eq!(report.stop, StopReason::Done);
    assert_eq!(gepa.stop_reason(), Some(GepaStopReason::MaxMetricCalls));
    for candidate in gepa.candidates() {
        assert_eq!(candidate.val_objectives.len(), val.len());
        let means = candidate.objective_scores();
        assert_eq!(
            means.keys().map(String::as_str).collect::<Vec<_>>(),
            ["answered", "exact"]
        );
        // `exact` is the score itself.
        assert!((means["exact"] - candidate.score()).abs() < 1e-12);
    }
}
