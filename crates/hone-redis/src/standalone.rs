//! A worker configured from plain data: the program, the LMs by role and the metric, for the
//! `hone worker` command and the `hone-redis-worker` binary.
//!
//! Programs with one predictor (a `Predict`, or a `ChainOfThought` saved as its inner
//! `predict`) are built from their saved state alone. A program with several predictors needs
//! its own code: embed a [`Worker`](crate::Worker) in a service with an
//! [`InProcessExecutor`] built from that program's template.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hone_core::state::{ProgramState, ROOT_PREDICTOR};
use hone_core::{Example, Prediction};
use hone_eval::metric::{Contains, ExactMatch, Metric, NumericTolerance, TokenF1};
use hone_eval::{InProcessExecutor, ProgramFactory};
use hone_lm::{BoxFuture, Env, LmContext, LmHandle, LmSpec, UsageTracker};
use hone_modules::{CallContext, Module, ModuleError, Predict};
use hone_optimize::LmRole;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::conn::{Redis, RedisOptions};
use crate::error::Error;
use crate::keys::{Keys, RunId};
use crate::worker::{RunSelection, Worker, WorkerConfig, WorkerStats};

/// Everything a stand-alone worker needs, as JSON-friendly data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkerSpec {
    /// The Redis URL.
    pub redis_url: String,
    /// The key prefix (default `hone`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// Runs to serve; empty serves every run in the registry.
    #[serde(default)]
    pub runs: Vec<String>,
    /// The consumer name (default: generated from the process id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumer_name: Option<String>,
    /// LM-calling work items in flight at once (default 8).
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// Visibility timeout in milliseconds (default 60000).
    #[serde(default = "default_visibility_ms")]
    pub visibility_timeout_ms: u64,
    /// Deliveries before a job is dead-lettered (default 3).
    #[serde(default = "default_max_deliveries")]
    pub max_deliveries: u64,
    /// The program, in hone's (or DSPy's) saved-program JSON.
    pub program: Value,
    /// The LM of each role (hone-lm's [`LmSpec`], as in a program file's `[lm.NAME]`); the
    /// teacher falls back to the task LM. An LM without `max_in_flight` gets `concurrency`.
    pub lms: BTreeMap<String, LmSpec>,
    /// The metric: `exact_match:FIELD`, `f1:FIELD`, `contains:FIELD` or `numeric:FIELD`.
    pub metric: String,
}

fn default_concurrency() -> usize {
    8
}
fn default_visibility_ms() -> u64 {
    60_000
}
fn default_max_deliveries() -> u64 {
    3
}

/// A one-predictor program under the predictor's saved name.
#[derive(Clone)]
struct SinglePredictor {
    name: String,
    predict: Predict,
}

impl Module for SinglePredictor {
    fn forward<'a>(
        &'a self,
        inputs: Example,
        ctx: &'a CallContext,
    ) -> BoxFuture<'a, Result<Prediction, ModuleError>> {
        Box::pin(async move {
            if self.name == ROOT_PREDICTOR {
                self.predict.forward(inputs, ctx).await
            } else {
                self.predict.call(inputs, &ctx.child(&self.name)).await
            }
        })
    }

    fn named_predictors(&self) -> Vec<(String, &Predict)> {
        vec![(self.name.clone(), &self.predict)]
    }

    fn named_predictors_mut(&mut self) -> Vec<(String, &mut Predict)> {
        vec![(self.name.clone(), &mut self.predict)]
    }
}

/// A program factory for a one-predictor program saved as `program`.
pub fn program_factory(program: &ProgramState) -> Result<ProgramFactory, Error> {
    let mut predictors = program.predictors.iter();
    let (Some((name, state)), None) = (predictors.next(), predictors.next()) else {
        return Err(Error::Config {
            message: format!(
                "the program has {} predictors; the stand-alone worker runs one-predictor programs. \
                 Embed hone_redis::Worker with your program's executor for others",
                program.predictors.len()
            ),
        });
    };
    let mut template = SinglePredictor {
        name: name.clone(),
        predict: Predict::from_signature(state.signature.clone()),
    };
    template.load_state(program).map_err(|e| Error::Config {
        message: format!("the program does not load: {e}"),
    })?;
    Ok(hone_eval::template_factory(template))
}

/// Parses a metric name: `exact_match:FIELD`, `f1:FIELD`, `contains:FIELD`, `numeric:FIELD`.
pub fn metric_from_name(name: &str) -> Result<Arc<dyn Metric>, Error> {
    let (kind, field) = name.split_once(':').unwrap_or((name, "answer"));
    Ok(match kind {
        "exact_match" => Arc::new(ExactMatch::new(field)),
        "f1" => Arc::new(TokenF1::new(field)),
        "contains" => Arc::new(Contains::new(field)),
        "numeric" => Arc::new(NumericTolerance::new(field)),
        other => {
            return Err(Error::Config {
                message: format!(
                    "unknown metric `{other}`; use exact_match:FIELD, f1:FIELD, contains:FIELD or numeric:FIELD"
                ),
            });
        }
    })
}

fn role(name: &str) -> Result<LmRole, Error> {
    match name {
        "task" => Ok(LmRole::Task),
        "teacher" => Ok(LmRole::Teacher),
        "proposer" => Ok(LmRole::Proposer),
        other => Err(Error::Config {
            message: format!("unknown LM role `{other}`; use task, teacher or proposer"),
        }),
    }
}

fn lm(
    name: &str,
    spec: &LmSpec,
    concurrency: usize,
    cx: &LmContext<'_>,
) -> Result<LmHandle, Error> {
    let mut spec = spec.clone();
    spec.max_in_flight.get_or_insert(concurrency.max(1));
    spec.build(cx).map_err(|e| Error::Config {
        message: format!("the `{name}` LM ({}): {e}", spec.model),
    })
}

/// Builds the executor a spec describes; its LMs read key variables and `OPENAI_BASE_URL`
/// from `env` and count their usage together.
pub fn build_executor(spec: &WorkerSpec, env: &Env) -> Result<InProcessExecutor, Error> {
    let program = ProgramState::from_value(&spec.program).map_err(|e| Error::Config {
        message: format!("the program is not a saved hone or DSPy program: {e}"),
    })?;
    let factory = program_factory(&program)?;
    let task = spec.lms.get("task").ok_or_else(|| Error::Config {
        message: "the worker needs a `task` LM".into(),
    })?;
    let metric = metric_from_name(&spec.metric)?;
    let usage = UsageTracker::new();
    let cx = LmContext::new(env, &usage);
    let task = lm("task", task, spec.concurrency, &cx)?;
    let mut executor = InProcessExecutor::new(factory, task, metric);
    for (name, lm_spec) in &spec.lms {
        let r = role(name)?;
        if r != LmRole::Task {
            executor = executor.with_lm(r, lm(name, lm_spec, spec.concurrency, &cx)?);
        }
    }
    Ok(executor)
}

/// The worker configuration a spec describes.
pub fn worker_config(spec: &WorkerSpec) -> Result<WorkerConfig, Error> {
    let mut config = match &spec.consumer_name {
        Some(name) => WorkerConfig::new(name.clone()),
        None => WorkerConfig::default(),
    };
    config.concurrency = spec.concurrency.max(1);
    config.visibility_timeout = Duration::from_millis(spec.visibility_timeout_ms.max(1));
    config.max_deliveries = spec.max_deliveries.max(1);
    config.runs = if spec.runs.is_empty() {
        RunSelection::All
    } else {
        RunSelection::Only(
            spec.runs
                .iter()
                .map(|r| RunId::new(r.clone()))
                .collect::<Result<_, _>>()?,
        )
    };
    Ok(config)
}

/// Connects, builds the executor (its LMs in `env`) and runs a worker until `shutdown`
/// completes.
pub async fn run_worker(
    spec: &WorkerSpec,
    env: &Env,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<WorkerStats, Error> {
    let executor = build_executor(spec, env)?;
    let config = worker_config(spec)?;
    let options = RedisOptions {
        keys: spec
            .prefix
            .as_ref()
            .map(Keys::with_prefix)
            .unwrap_or_default(),
        ..RedisOptions::default()
    };
    let redis = Redis::connect_with(&spec.redis_url, options).await?;
    Worker::new(redis, Arc::new(executor), config)
        .run(shutdown)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use hone_core::Signature;
    use hone_core::state::ProgramStructure;

    fn spec(lm: LmSpec) -> WorkerSpec {
        let signature = Signature::parse("question -> answer").unwrap_or_else(|e| panic!("{e}"));
        let program = ProgramState::from_structure(&ProgramStructure::single(signature));
        serde_json::from_value(serde_json::json!({
            "redis_url": "redis://unused",
            "program": program.to_value(),
            "lms": { "task": lm },
            "metric": "exact_match:answer",
        }))
        .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn the_worker_builds_its_lms_from_the_lm_spec_in_the_given_environment() {
        let lm = LmSpec::new("m").api_key_env("WORKER_KEY");
        let Err(err) = build_executor(&spec(lm.clone()), &Env::empty()) else {
            panic!("a named key variable that is not set is an error");
        };
        assert!(err.to_string().contains("WORKER_KEY"), "{err}");
        let env = Env::from_pairs([
            ("WORKER_KEY", "k"),
            ("OPENAI_BASE_URL", "http://127.0.0.1:9/v1"),
        ]);
        build_executor(&spec(lm), &env).unwrap_or_else(|e| panic!("{e}"));
    }

    #[test]
    fn the_worker_spec_rejects_an_unknown_lm_key() {
        let text = serde_json::json!({
            "redis_url": "redis://unused", "program": {}, "metric": "exact_match:answer",
            "lms": { "task": { "model": "m", "base_ur": "http://x/v1" } },
        });
        let err = serde_json::from_value::<WorkerSpec>(text).expect_err("unknown key");
        assert!(err.to_string().contains("unknown field `base_ur`"), "{err}");
    }
}
