//! The usage an executor measures beside a job's result: the job's calls by model, their
//! tokens, cache hits counted as calls without tokens.

mod common;

use std::time::Duration;

use hone_eval::{CallSlots, Executor};
use hone_optimize::{CallSettings, Job, JobExample, JobId, JobSpec, LmRole, Split};

fn evaluate_job(id: u64, n: usize) -> Job {
    let examples = common::arithmetic(n, 3)
        .into_iter()
        .enumerate()
        .map(|(i, e)| JobExample::new(Split::Val, i, e))
        .collect();
    let program = hone_modules::Module::state(&common::program());
    Job {
        id: JobId(id),
        spec: JobSpec::Evaluate {
            program: Box::new(program),
            examples,
            lm: LmRole::Task,
            capture_traces: false,
            settings: CallSettings::default(),
        },
        deferred: false,
    }
}

#[tokio::test]
async fn an_evaluate_job_reports_its_calls_and_tokens_by_model() {
    let sim = common::sim(Duration::ZERO).await;
    let executor = common::executor(&sim);
    let (result, usage) = executor
        .run_with_usage(evaluate_job(1, 5), CallSlots::new(4).for_job(1))
        .await;
    assert_eq!(result.lm_calls, 5);
    let by_model = usage.0.get("sim-1").unwrap_or_else(|| panic!("{usage:?}"));
    assert_eq!(by_model.lm_calls, 5);
    assert_eq!(by_model.cached_calls, 0);
    assert!(by_model.prompt_tokens > 0 && by_model.completion_tokens > 0);
    assert_eq!(usage.total(), *by_model);
    // `run` gives the same result without the usage.
    let plain = executor
        .run(evaluate_job(1, 5), CallSlots::new(4).for_job(1))
        .await;
    assert_eq!(plain, result);
}

#[tokio::test]
async fn a_failed_job_reports_no_usage() {
    let sim = common::sim(Duration::ZERO).await;
    let executor = common::executor(&sim);
    let mut job = evaluate_job(2, 3);
    if let JobSpec::Evaluate { lm, .. } = &mut job.spec {
        *lm = LmRole::Proposer;
    }
    let (result, usage) = executor
        .run_with_usage(job, CallSlots::new(4).for_job(2))
        .await;
    assert!(
        matches!(result.output, hone_optimize::JobOutput::Failed { .. }),
        "{result:?}"
    );
    assert!(usage.is_empty());
}
