//! The documented JSON schemas (`docs/schema/*.v1.json`) accept the messages hone really
//! writes, and reject broken ones.

mod common;

use common::*;
use hone_core::{Example, Signature};
use hone_eval::Executor;
use hone_optimize::{Job, JobId, JobOutput, JobResult, JobSpec, LmRole};
use hone_redis::{JobMessage, MESSAGE_VERSION, ResultMessage, RunId, build_executor};
use serde_json::{Value, json};

fn schema(name: &str) -> jsonschema::Validator {
    let path = format!("{}/../../docs/schema/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let value: Value = serde_json::from_str(&text).expect("the schema is JSON");
    jsonschema::validator_for(&value).expect("the schema compiles")
}

fn assert_valid(validator: &jsonschema::Validator, instance: &Value) {
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:#?}\nfor {instance:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_jobs_and_results_match_the_schemas() {
    let jobs_schema = schema("job.v1.json");
    let results_schema = schema("result.v1.json");
    let run = RunId::new("schema-run").expect("run id");
    let sim = sim(0).await;
    let executor = build_executor(
        &spec("redis://unused", &sim.base_url(), "s", 2),
        &hone_lm::Env::empty(),
    )
    .expect("executor");

    let mut opt = optimizer(1);
    let mut jobs: Vec<Job> = opt.ask();
    assert!(!jobs.is_empty());
    jobs.push(Job {
        id: JobId(9_999),
        deferred: false,
        spec: JobSpec::Predict {
            purpose: "propose_instruction".into(),
            signature: Signature::parse("question -> answer: int").expect("parses"),
            demos: vec![],
            inputs: Example::new().with("question", "What is 1 + 1?"),
            lm: LmRole::Task,
            n: 1,
            settings: Default::default(),
        },
    });
    let slots = hone_eval::CallSlots::new(2);
    for job in jobs.into_iter().take(4) {
        let message = JobMessage::new(run.clone(), Some(42), job.clone());
        assert_valid(
            &jobs_schema,
            &serde_json::to_value(&message).expect("serializes"),
        );
        let (result, usage) = executor
            .run_with_usage(job.clone(), slots.for_job(job.id.0))
            .await;
        assert!(!usage.is_empty(), "the job's calls are measured");
        let message = ResultMessage {
            v: MESSAGE_VERSION,
            run: run.clone(),
            epoch: Some(42),
            job_entry: Some("1700000000000-0".into()),
            worker: Some("w".into()),
            result,
            usage,
        };
        assert_valid(
            &results_schema,
            &serde_json::to_value(&message).expect("serializes"),
        );
    }
    let failed = ResultMessage {
        v: MESSAGE_VERSION,
        run,
        epoch: None,
        job_entry: None,
        worker: None,
        result: JobResult {
            id: JobId(1),
            output: JobOutput::Failed {
                error: "boom".into(),
            },
            lm_calls: 0,
        },
        usage: Default::default(),
    };
    assert_valid(
        &results_schema,
        &serde_json::to_value(&failed).expect("serializes"),
    );
}

#[test]
fn broken_messages_fail_the_schemas() {
    let jobs_schema = schema("job.v1.json");
    let results_schema = schema("result.v1.json");
    for bad in [
        json!({"v": 2, "run": "r", "job": {"id": 1, "spec": {"kind": "predict"}}}),
        json!({"v": 1, "run": "a:b", "job": {"id": 1, "spec": {"kind": "evaluate", "program": {}, "examples": []}}}),
        json!({"v": 1, "run": "r", "job": {"id": -1, "spec": {"kind": "evaluate", "program": {}, "examples": []}}}),
        json!({"v": 1, "run": "r", "job": {"id": 1, "spec": {"kind": "sing"}}}),
    ] {
        assert!(!jobs_schema.is_valid(&bad), "accepted {bad}");
    }
    for bad in [
        json!({"v": 1, "run": "r", "result": {"id": 1}}),
        json!({"v": 1, "run": "r", "result": {"id": 1, "output": {"kind": "failed"}}}),
        json!({"v": 1, "run": "r", "result": {"id": 1, "output": {"kind": "evaluated", "outcomes": [{"split": "val", "index": 0, "score": 2.0}]}}}),
        json!({"v": 1, "run": "r", "result": {"id": 1, "output": {"kind": "evaluated", "outcomes": [{"split": "val", "index": 0, "score": 1.0, "objectives": {"accuracy": "high"}}]}}}),
    ] {
        assert!(!results_schema.is_valid(&bad), "accepted {bad}");
    }
    // A metric's named objective scores are part of an outcome.
    let with_objectives = json!({"v": 1, "run": "r", "result": {"id": 1, "output": {"kind": "evaluated", "outcomes": [{"split": "val", "index": 0, "score": 1.0, "objectives": {"accuracy": 1.0, "brevity": 0.25}}]}}});
    assert_valid(&results_schema, &with_objectives);
}

/// The events of a real run (hone-eval's in-process driver, the coordinator's are the same
/// type) match `docs/schema/event.v1.json`, and broken events do not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_run_events_match_the_event_schema() {
    use hone_eval::driver::events::{EndReason, EventKind, RunEvent, RunEvents};
    use std::sync::{Arc, Mutex};

    let events_schema = schema("event.v1.json");
    let sim = sim(0).await;
    let executor = build_executor(
        &spec("redis://unused", &sim.base_url(), "s", 2),
        &hone_lm::Env::empty(),
    )
    .expect("executor");
    let dir = tempfile::tempdir().expect("temp dir");
    let seen = Arc::new(Mutex::new(Vec::<RunEvent>::new()));
    let sink = seen.clone();
    let mut events = RunEvents::new(move |e: &RunEvent| {
        sink.lock().expect("not poisoned").push(e.clone());
    });
    events.params = json!({"num_candidate_programs": 2});
    events.trainset = Some(8);
    let config = hone_eval::DriverConfig {
        events: Some(events),
        ..hone_eval::DriverConfig::with_concurrency(2).checkpoint(dir.path().join("c.json"))
    };
    let mut opt = optimizer(1);
    hone_eval::run_optimizer(opt.as_mut(), &executor, &config)
        .await
        .expect("the run finishes");
    let mut all = seen.lock().expect("not poisoned").clone();
    // What this run does not emit: a failed end with the workers' usage.
    let mut usage = hone_eval::JobUsage::default();
    usage.add_model(
        "gpt-4o-mini",
        &hone_eval::RunUsage {
            lm_calls: 3,
            prompt_tokens: 10,
            ..Default::default()
        },
    );
    all.push(RunEvent::new(
        9.0,
        EventKind::RunEnded {
            reason: EndReason::Failed,
            error: Some("too many errors".into()),
            best_score: None,
            tells: 4,
            lm_calls: 3,
            failures: 10,
            usage: Some(usage),
        },
    ));
    let mut kinds = std::collections::BTreeSet::new();
    for event in &all {
        kinds.insert(event.kind.name());
        assert_valid(
            &events_schema,
            &serde_json::to_value(event).expect("serializes"),
        );
    }
    for kind in [
        "run_started",
        "trial_scored",
        "new_best",
        "checkpoint_written",
        "run_ended",
    ] {
        assert!(kinds.contains(kind), "the run emitted no {kind}: {kinds:?}");
    }
    let proposal = RunEvent::new(
        1.0,
        EventKind::CandidateProposed {
            candidate: Some(3),
            predictor: "self".into(),
            text: "Answer with a number.".into(),
            source: "reflection".into(),
        },
    );
    assert_valid(
        &events_schema,
        &serde_json::to_value(&proposal).expect("serializes"),
    );
    for bad in [
        json!({"v": 2, "type": "new_best", "unix_ms": 1, "elapsed_secs": 0.0, "candidate": 1, "score": 0.5}),
        json!({"v": 1, "type": "new_best", "unix_ms": 1, "elapsed_secs": 0.0, "candidate": 1}),
        json!({"v": 1, "type": "finished", "unix_ms": 1, "elapsed_secs": 0.0}),
        json!({"v": 1, "type": "run_ended", "unix_ms": 1, "elapsed_secs": 0.0, "reason": "bored", "tells": 0, "lm_calls": 0, "failures": 0}),
        json!({"v": 1, "type": "trial_scored", "elapsed_secs": 0.0, "trial": 0, "candidate": 0, "score": 1.0, "examples": 1, "errors": 0, "full": true}),
    ] {
        assert!(!events_schema.is_valid(&bad), "accepted {bad}");
    }
}
