//! [`BestOfN`]: DSPy's `dspy.BestOfN` — run a module up to N times, keep the best by reward.

use std::sync::Arc;

use hone_core::{Example, Prediction};
use hone_lm::BoxFuture;

use crate::context::{CallContext, Sampling};
use crate::error::ModuleError;
use crate::module::Module;
use crate::predict::Predict;
use crate::trace::{TraceEntry, TraceSink};

/// A reward: the call's inputs and a prediction to a score (DSPy's `reward_fn(args, pred)`),
/// or why it could not score them (an attempt whose reward fails counts as a failed attempt,
/// as in DSPy).
pub type RewardFn = Arc<dyn Fn(&Example, &Prediction) -> Result<f64, String> + Send + Sync>;

/// Runs a module up to `n` times and returns the best prediction (DSPy's `dspy.BestOfN`).
///
/// Attempt `i` runs with temperature 1.0 and rollout id `start + i` (`start` is the context's
/// rollout id, default 0), so each attempt is a distinct sample and a distinct cache entry. The
/// first attempt whose reward reaches `threshold` is returned at once; otherwise the one with
/// the highest reward. A failed attempt counts against `fail_count` (default `n`); more
/// failures than that, or no successful attempt, is [`ModuleError::Attempts`]. Only the chosen
/// attempt's trace entries reach the call's trace sink, as in DSPy.
///
/// Unlike DSPy, the predictors keep their own LMs (DSPy sets one LM on a copy of the module);
/// only the sampling changes between attempts.
#[derive(Clone)]
pub struct BestOfN<M> {
    module: M,
    n: usize,
    reward: RewardFn,
    threshold: f64,
    fail_count: Option<usize>,
}

impl<M> std::fmt::Debug for BestOfN<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BestOfN")
            .field("n", &self.n)
            .field("threshold", &self.threshold)
            .field("fail_count", &self.fail_count)
            .finish()
    }
}

impl<M: Module> BestOfN<M> {
    /// Up to `n` attempts of `module`, scored by `reward`, stopping at `threshold`.
    pub fn new(
        module: M,
        n: usize,
        reward: impl Fn(&Example, &Prediction) -> f64 + Send + Sync + 'static,
        threshold: f64,
    ) -> Self {
        BestOfN {
            module,
            n,
            reward: Arc::new(move |inputs, prediction| Ok(reward(inputs, prediction))),
            threshold,
            fail_count: None,
        }
    }

    /// Replaces the reward with one that may fail (a failure counts as a failed attempt).
    pub fn with_fallible_reward(
        mut self,
        reward: impl Fn(&Example, &Prediction) -> Result<f64, String> + Send + Sync + 'static,
    ) -> Self {
        self.reward = Arc::new(reward);
        self
    }

    /// Sets how many attempts may fail (default `n`).
    pub fn with_fail_count(mut self, fail_count: usize) -> Self {
        self.fail_count = Some(fail_count);
        self
    }

    /// The wrapped module.
    pub fn module(&self) -> &M {
        &self.module
    }
}

/// One attempt's result.
pub(crate) struct Scored {
    pub prediction: Prediction,
    pub reward: f64,
    pub trace: Vec<TraceEntry>,
}

/// The context of attempt `i`: temperature 1.0, rollout id `start + i`, its own trace sink.
pub(crate) fn attempt_context(ctx: &CallContext, i: usize, sink: &TraceSink) -> CallContext {
    let start = ctx.config().rollout_id.unwrap_or(0);
    let offset = u64::try_from(i).unwrap_or(u64::MAX);
    let config = ctx.config().merged(
        &Sampling::new()
            .temperature(1.0)
            .rollout_id(start.saturating_add(offset)),
    );
    ctx.clone().with_config(config).with_trace(sink.clone())
}

/// Failure bookkeeping shared with `Refine`: `Err` when the attempts must stop.
pub(crate) fn count_failure(
    module: &'static str,
    failed: &mut usize,
    allowed: usize,
    attempts: usize,
    err: ModuleError,
) -> Result<ModuleError, ModuleError> {
    *failed += 1;
    if *failed > allowed {
        return Err(ModuleError::Attempts {
            module,
            attempts,
            failed: *failed,
            allowed,
            last: Box::new(err),
        });
    }
    Ok(err)
}

impl<M: Module> Module for BestOfN<M> {
    fn forward<'a>(
        &'a self,
        inputs: Example,
        ctx: &'a CallContext,
    ) -> BoxFuture<'a, Result<Prediction, ModuleError>> {
        Box::pin(async move {
            let allowed = self.fail_count.unwrap_or(self.n);
            let mut best: Option<Scored> = None;
            let mut failed = 0;
            let mut last_err = None;
            let child = ctx.child("module");
            for i in 0..self.n {
                let sink = TraceSink::new();
                let actx = attempt_context(&child, i, &sink);
                match scored_attempt("BestOfN", &self.module, &self.reward, &inputs, &actx).await {
                    Ok((prediction, reward)) => {
                        let reached = reward >= self.threshold;
                        if best.as_ref().is_none_or(|b| reward > b.reward) {
                            best = Some(Scored {
                                prediction,
                                reward,
                                trace: sink.take(),
                            });
                        }
                        if reached {
                            break;
                        }
                    }
                    Err(e) => {
                        last_err = Some(count_failure("BestOfN", &mut failed, allowed, i + 1, e)?);
                    }
                }
            }
            finish("BestOfN", best, failed, allowed, self.n, last_err, ctx)
        })
    }

    fn named_predictors(&self) -> Vec<(String, &Predict)> {
        crate::module::prefixed("module", self.module.named_predictors())
    }

    fn named_predictors_mut(&mut self) -> Vec<(String, &mut Predict)> {
        crate::module::prefixed("module", self.module.named_predictors_mut())
    }

    fn module_name(&self) -> &'static str {
        "BestOfN"
    }
}

/// Runs one attempt of `inner` and scores it with `reward`: a failing module or a failing
/// reward is a failed attempt.
pub(crate) async fn scored_attempt<M: Module>(
    module: &'static str,
    inner: &M,
    reward: &RewardFn,
    inputs: &Example,
    ctx: &CallContext,
) -> Result<(Prediction, f64), ModuleError> {
    let prediction = inner.call(inputs.clone(), ctx).await?;
    let score =
        reward(inputs, &prediction).map_err(|message| ModuleError::Reward { module, message })?;
    Ok((prediction, score))
}

/// Returns the best prediction and passes its trace on.
pub(crate) fn finish(
    module: &'static str,
    best: Option<Scored>,
    failed: usize,
    allowed: usize,
    attempts: usize,
    last_err: Option<ModuleError>,
    ctx: &CallContext,
) -> Result<Prediction, ModuleError> {
    match best {
        Some(best) => {
            if let Some(sink) = ctx.trace() {
                sink.extend(best.trace);
            }
            Ok(best.prediction)
        }
        None => Err(ModuleError::Attempts {
            module,
            attempts,
            failed,
            allowed,
            last: Box::new(last_err.unwrap_or_else(|| ModuleError::InvalidInput {
                module: module.to_owned(),
                message: "N must be at least 1".to_owned(),
            })),
        }),
    }
}
