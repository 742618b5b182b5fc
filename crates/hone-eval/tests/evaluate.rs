//! `Evaluate` against the simulated server: results, confidence interval, output formats,
//! `max_errors`, failing metrics and bad examples; KNNFewShot and Ensemble.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{arithmetic, embedder, lm, metric, program, sim};
use hone_core::Example;
use hone_eval::metric::{ExactMatch, metric_fn};
use hone_eval::{Ensemble, EvalError, Evaluate, KnnFewShot, Progress};
use hone_modules::{CallContext, Module};
use hone_optimize::BootstrapConfig;

#[derive(Default)]
struct Count(AtomicUsize);

impl Progress for Count {
    fn advance(&self, _done: usize, _total: usize, _sum: f64, _errors: usize) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evaluate_reports_per_example_results_and_a_confidence_interval() {
    let sim = sim(Duration::ZERO).await;
    let dev = arithmetic(30, 11);
    let progress = Arc::new(Count::default());
    let result = Evaluate::new(dev.clone(), ExactMatch::new("answer"))
        .concurrency(4)
        .progress(progress.clone())
        .run(&program(), &CallContext::with_default_lm(lm(&sim)))
        .await
        .expect("evaluation runs");
    assert_eq!(result.results.len(), 30);
    assert_eq!(progress.0.load(Ordering::Relaxed), 30);
    assert!(result.results.iter().enumerate().all(|(i, r)| r.index == i));
    assert!(
        result.summary.ci_low <= result.summary.mean
            && result.summary.mean <= result.summary.ci_high
    );
    assert!(result.summary.mean > 0.0 && result.summary.mean < 1.0);
    assert_eq!(result.usage.lm_calls, 30);
    assert!(sim.stats().peak_concurrency <= 4);

    let mut jsonl = Vec::new();
    result.write_jsonl(&mut jsonl).expect("writes");
    let lines: Vec<serde_json::Value> = String::from_utf8(jsonl)
        .expect("utf-8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(lines.len(), 30);
    assert!(
        lines[0]
            .get("inputs")
            .and_then(|i| i.get("question"))
            .is_some()
    );
    assert!(lines[0].get("score").is_some());
    let table = result.table(Some(5));
    assert!(table.contains("exact_match(answer)"), "{table}");
    assert!(table.contains("25 more row(s)"), "{table}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_examples_count_and_max_errors_stops_the_run() {
    let sim = sim(Duration::ZERO).await;
    let mut dev = arithmetic(20, 12);
    // Two examples miss their input field: the program fails on them.
    dev[3] = Example::new().with("answer", 1).with_inputs(["question"]);
    dev[7] = Example::new().with("answer", 2).with_inputs(["question"]);
    let ctx = CallContext::with_default_lm(lm(&sim));
    let result = Evaluate::with_metric(dev.clone(), metric())
        .run(&program(), &ctx)
        .await
        .expect("below max_errors the run completes");
    assert_eq!(result.errors, 2);
    assert_eq!(result.results[3].score, 0.0);
    assert!(
        result.results[3]
            .error
            .as_deref()
            .is_some_and(|e| e.contains("question")),
        "{:?}",
        result.results[3].error
    );

    // A metric that errors on every example: stopped at max_errors with a clear error.
    let broken = metric_fn(|_, _| Err::<bool, _>("the grader is offline".into())).named("grader");
    let err = Evaluate::new(dev.clone(), broken)
        .max_errors(3)
        .concurrency(1)
        .run(&program(), &ctx)
        .await
        .expect_err("too many errors");
    match &err {
        EvalError::TooManyErrors {
            errors, max_errors, ..
        } => {
            assert_eq!((*errors, *max_errors), (3, 3));
        }
        other => panic!("unexpected error {other}"),
    }
    assert!(err.to_string().contains("grader is offline"), "{err}");

    let empty = Evaluate::new(Vec::new(), ExactMatch::new("answer"))
        .run(&program(), &ctx)
        .await;
    assert!(matches!(empty, Err(EvalError::EmptyDevset)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn knn_few_shot_answers_with_demos_from_the_nearest_examples() {
    let sim = sim(Duration::ZERO).await;
    let train = arithmetic(20, 13);
    let dev = arithmetic(20, 14);
    let knn = KnnFewShot::new(4, train.clone(), embedder(&sim), program())
        .metric(metric())
        .bootstrap(BootstrapConfig {
            max_bootstrapped_demos: 2,
            ..Default::default()
        });
    let neighbors = knn.neighbors(&dev[0].inputs()).await.expect("embeds");
    assert_eq!(neighbors.len(), 4);
    let ctx = CallContext::with_default_lm(lm(&sim));
    let plain = Evaluate::with_metric(dev.clone(), metric())
        .run(&program(), &ctx)
        .await
        .expect("runs");
    let with_knn = Evaluate::with_metric(dev.clone(), metric())
        .run(&knn, &ctx)
        .await
        .expect("runs");
    assert!(
        with_knn.summary.mean > plain.summary.mean,
        "knn {} vs plain {}",
        with_knn.summary.mean,
        plain.summary.mean
    );
    assert_eq!(
        sim.stats()
            .requests_by_path
            .get("/v1/embeddings")
            .copied()
            .unwrap_or(0),
        1 + 1 + 20
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ensemble_majority_votes_over_programs() {
    let sim = sim(Duration::ZERO).await;
    let train = arithmetic(12, 15);
    let programs: Vec<Box<dyn Module>> = (0..3)
        .map(|i| {
            let mut p = program();
            let demos = train[i * 4..i * 4 + 4]
                .iter()
                .map(|e| Example::from_map(e.fields().clone()))
                .collect();
            p.set_demos(demos);
            Box::new(p) as Box<dyn Module>
        })
        .collect();
    let ensemble = Ensemble::new(programs).majority_on("answer");
    let names: Vec<String> = ensemble
        .named_predictors()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(names, ["programs[0]", "programs[1]", "programs[2]"]);
    let dev = arithmetic(20, 16);
    let ctx = CallContext::with_default_lm(lm(&sim));
    let result = Evaluate::with_metric(dev, metric())
        .run(&ensemble, &ctx)
        .await
        .expect("runs");
    assert_eq!(result.usage.lm_calls, 60);
    assert!(result.summary.mean > 0.3, "{}", result.summary.mean);
}
