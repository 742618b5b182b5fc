//! Driving a session's optimizer to its end — in process through hone-eval's driver, or as
//! the coordinator of a distributed run through hone-redis — and finishing a done run: the
//! best state, the dev scores, the results and the record.

use std::sync::Arc;
use std::time::Instant;

use hone_core::state::ProgramState;
use hone_eval::driver::events::{FanOut, RunEvents};
use hone_eval::{DriverConfig, StopReason};
use hone_modules::Module;
use hone_optimize::{Optimizer, RunLog};
use serde_json::{Value, json};

use super::clock::{RunClock, UsageKeeper};
use super::record::write_file;
use super::session::Session;
use super::{
    Loaded, Options, Outcome, RedisTarget, ScoreRecord, UsageTotals, files, read_state,
    trial_points,
};
use crate::error::{Error, Result};

/// What a driver reported, in-process or through Redis.
struct Driven {
    stop: StopReason,
    total_tells: u64,
    lm_calls: u64,
    failures: u64,
    first_error: Option<String>,
    /// What workers reported with the results, over all sessions (distributed runs).
    worker_usage: Option<UsageTotals>,
}

impl From<&hone_eval::RunReport> for Driven {
    fn from(r: &hone_eval::RunReport) -> Self {
        Driven {
            stop: r.stop,
            total_tells: r.total_tells,
            lm_calls: r.lm_calls,
            failures: r.failures,
            first_error: r.first_error.clone(),
            worker_usage: None,
        }
    }
}

/// Runs the optimization as the coordinator of a distributed run: jobs go to the Redis
/// streams of `target.run_id`, `hone worker` processes run them, the results come back here.
/// The checkpoint is the run directory's, so `hone resume` continues the run.
async fn coordinate(
    target: &RedisTarget,
    s: &Session,
    options: &Options,
    fresh: Option<Box<dyn Optimizer>>,
    metric: &dyn hone_eval::metric::Metric,
    events: Option<RunEvents>,
) -> std::result::Result<(Driven, RunLog, Option<ProgramState>), String> {
    use hone_redis::{CoordinatorConfig, Redis, RedisDriver, RunId};
    let run = RunId::new(target.run_id.clone()).map_err(|e| e.to_string())?;
    let redis = Redis::connect(&target.url).await.map_err(|e| {
        format!(
            "cannot reach Redis at {}: {e}",
            hone_lm::redact_url(&target.url)
        )
    })?;
    let mut config = CoordinatorConfig::new(run).checkpoint(s.dir.join(files::CHECKPOINT));
    config.cancel = options.cancel.clone();
    config.max_queued = (s.choice.concurrency * 2).max(16);
    config.max_errors = Some(options.max_errors());
    config.elapsed_before = earlier_sessions(s.record.elapsed_secs);
    config.serves = Some(s.loaded.serves(metric));
    config.events = events;
    if let Some(lease) = options.lease {
        config.lease = lease;
    }
    config
        .metadata
        .insert("program".into(), json!(s.record.program));
    config
        .metadata
        .insert("optimizer".into(), json!(s.choice.kind));
    let mut driver = match fresh {
        Some(opt) => RedisDriver::new(redis, opt, config),
        None => RedisDriver::resume(redis, &hone_optimize::Registry::builtin(), config)
            .map_err(|e| e.to_string())?,
    };
    let report = driver.run().await.map_err(|e| e.to_string())?;
    let opt = driver.into_optimizer();
    Ok((
        Driven {
            stop: report.stop,
            total_tells: report.total_tells,
            lm_calls: report.lm_calls,
            failures: report.failures,
            first_error: report.first_error.clone(),
            worker_usage: Some(UsageTotals::of_workers(&report.total_usage)),
        },
        opt.log().clone(),
        opt.best().or(report.best),
    ))
}

/// The wall time of a run's earlier sessions, as run.json records it (none when the record
/// holds no valid duration).
fn earlier_sessions(secs: f64) -> std::time::Duration {
    std::time::Duration::try_from_secs_f64(secs).unwrap_or_default()
}

pub(super) async fn drive(
    mut s: Session,
    options: &Options,
    fresh: Option<Box<dyn Optimizer>>,
    metric: Arc<dyn hone_eval::metric::Metric>,
) -> Result<Outcome> {
    let lms = &s.loaded.lms;
    let executor = s.loaded.executor(metric.clone())?;
    let mut config = DriverConfig::with_concurrency(s.choice.concurrency)
        .checkpoint(s.dir.join(files::CHECKPOINT));
    config.cancel = options.cancel.clone();
    config.max_errors = Some(options.max_errors());
    config.elapsed_before = earlier_sessions(s.record.elapsed_secs);
    s.record.status = "running".into();
    s.record.error = None;
    let clock = Arc::new(RunClock {
        times: std::sync::Mutex::new(Vec::new()),
        inner: options.run_progress.clone(),
        usage: Some(UsageKeeper {
            dir: s.dir.clone(),
            tracker: lms.usage.clone(),
            record: std::sync::Mutex::new((
                s.record.clone(),
                Instant::now() - std::time::Duration::from_secs(2),
            )),
        }),
    });
    config.progress = Some(clock.clone());
    // The run's events: run.json's trial times, and the caller's observer (`--events`).
    let mut observers = FanOut::new();
    observers.push(clock.clone());
    if let Some(o) = &options.events {
        observers.push(o.clone());
    }
    config.events = Some(RunEvents {
        observer: Arc::new(observers),
        params: Value::Object(s.choice.params.clone()),
        trainset: Some(s.dataset.train.len()),
        valset: Some(s.dataset.dev.len()),
    });
    config.metadata = json!({"program": s.record.program, "optimizer": s.choice.kind});
    let previous_usage = s.record.usage.clone();
    let result: std::result::Result<(Driven, RunLog, Option<ProgramState>), String> =
        match (&options.redis, fresh) {
            (Some(target), fresh) => {
                coordinate(
                    target,
                    &s,
                    options,
                    fresh,
                    metric.as_ref(),
                    config.events.clone(),
                )
                .await
            }
            (None, Some(mut opt)) => hone_eval::run_optimizer(opt.as_mut(), &executor, &config)
                .await
                .map(|r| (Driven::from(&r), opt.log().clone(), opt.best()))
                .map_err(|e| e.to_string()),
            (None, None) => hone_eval::resume(
                &s.dir.join(files::CHECKPOINT),
                &hone_optimize::Registry::builtin(),
                &executor,
                &config,
            )
            .await
            .map(|(opt, r)| {
                let log = opt.log().clone();
                let best = opt.best();
                (Driven::from(&r), log, best)
            })
            .map_err(|e| e.to_string()),
        };
    let mut usage = previous_usage.clone();
    usage.add(&UsageTotals::from_report(&lms.usage.report()));
    s.record.usage = usage;
    s.record.elapsed_secs += s.started.elapsed().as_secs_f64();
    let (report, log, best) = match result {
        Ok(r) => r,
        Err(e) => {
            s.record.status = "failed".into();
            s.record.error = Some(e.to_string());
            s.record.write(&s.dir)?;
            let next = if s.dir.join(files::CHECKPOINT).exists() {
                format!(
                    "the last checkpoint is in {}; fix the cause and continue with",
                    s.dir.display()
                )
            } else {
                format!(
                    "no result was told, so {} holds no checkpoint; fix the cause and start the run afresh with",
                    s.dir.display()
                )
            };
            return Err(Error::Failed(format!(
                "the optimization failed: {e}\n{next} `hone resume {}`",
                s.dir.display()
            )));
        }
    };
    // A distributed run's usage: this machine's calls plus the workers' (the checkpoint's
    // total replaces what the record held, which a killed session may have left behind).
    let previous_usage = match &report.worker_usage {
        Some(workers) => {
            let earlier = s.record.worker_usage.clone().unwrap_or_default();
            let mut usage = previous_usage.without(&earlier);
            usage.add(workers);
            s.record.worker_usage = Some(workers.clone());
            let mut now = usage.clone();
            now.add(&UsageTotals::from_report(&lms.usage.report()));
            s.record.usage = now;
            usage
        }
        None => previous_usage,
    };
    s.record.tells = report.total_tells;
    s.record.lm_calls += report.lm_calls;
    s.record.failures += report.failures;
    if s.record.first_failure.is_none() {
        s.record.first_failure = report.first_error.clone();
    }
    let mut trials = trial_points(&log);
    clock.stamp(&mut trials, &s.record.trials);
    s.record.trials = trials;
    s.record.log = log;
    if report.stop != StopReason::Done {
        s.record.status = "interrupted".into();
        s.record.write(&s.dir)?;
        return Ok(Outcome {
            dir: s.dir,
            record: s.record,
            interrupted: true,
            already_done: false,
        });
    }
    let best = best.unwrap_or_else(|| s.loaded.pipeline.state());
    finish(s, options, best, None, previous_usage).await
}

/// Ends a run that is done: writes the best state, scores the baseline and the best program
/// (or `module`, a call-time module around the program, whose state `best` then is) on the
/// dev split, writes the results and the record.
pub(super) async fn finish(
    mut s: Session,
    options: &Options,
    best: ProgramState,
    module: Option<Box<dyn Module>>,
    previous_usage: UsageTotals,
) -> Result<Outcome> {
    let lms = &s.loaded.lms;
    write_file(&s.dir.join(files::BEST), &best.to_json_string_pretty())?;
    // Dev results of the baseline and the best program.
    let baseline_state = read_state(&s.dir.join(files::BASELINE), &s.loaded.pipeline)?;
    let dev = if s.dataset.dev.is_empty() {
        s.dataset.train.clone()
    } else {
        s.dataset.dev.clone()
    };
    let mut lines = String::new();
    for (label, state) in [("baseline", &baseline_state), ("best", &best)] {
        let loaded = Loaded {
            program: s.loaded.program.clone(),
            lms: s.loaded.lms.clone(),
            pipeline: s.loaded.pipeline.clone().with_state(state)?,
        };
        let mut eval_options = options.clone();
        eval_options.concurrency = Some(s.choice.concurrency);
        let result = match (&module, label) {
            (Some(m), "best") => {
                loaded
                    .evaluate_module(m.as_ref(), dev.clone(), &eval_options)
                    .await?
            }
            _ => loaded.evaluate(dev.clone(), &eval_options).await?,
        };
        let score = ScoreRecord::of(&result);
        if label == "baseline" {
            s.record.baseline = Some(score);
        } else {
            s.record.best = Some(score);
        }
        for r in &result.results {
            let mut v = serde_json::to_value(r)
                .map_err(|e| Error::Failed(format!("cannot serialize a result: {e}")))?;
            if let Value::Object(m) = &mut v {
                m.insert("program".into(), Value::from(label));
            }
            lines.push_str(&v.to_string());
            lines.push('\n');
        }
    }
    write_file(&s.dir.join(files::RESULTS), &lines)?;
    if module.is_some() {
        // A call-time module's run is its evaluation.
        s.record.elapsed_secs += s.started.elapsed().as_secs_f64();
    }
    let mut usage = previous_usage;
    usage.add(&UsageTotals::from_report(&lms.usage.report()));
    s.record.usage = usage;
    s.record.status = "done".into();
    s.record.write(&s.dir)?;
    Ok(Outcome {
        dir: s.dir,
        record: s.record,
        interrupted: false,
        already_done: false,
    })
}
