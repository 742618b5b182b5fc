//! [`Parallel`]: a batch of module calls with bounded concurrency (DSPy's `dspy.Parallel`).

use futures_util::StreamExt;
use hone_core::{Example, Prediction};
use hone_lm::BoxFuture;

use crate::context::CallContext;
use crate::error::ModuleError;
use crate::module::Module;

/// Runs a batch of `(module, inputs)` calls, at most `concurrency` at a time, and returns the
/// results in input order.
///
/// The calls run concurrently on the caller's task (no task is spawned, no runtime is
/// assumed), so the caller decides where the batch runs; for CPU parallelism across threads,
/// split the batch over your own tasks or threads. Each call gets the examples' input fields
/// (`Example::inputs`, as DSPy's `access_examples=True`). Failures are counted; once more than
/// `max_errors` calls failed the batch stops (calls in flight are dropped) with
/// [`ModuleError::TooManyErrors`], as DSPy cancels its executor.
///
/// Defaults are DSPy's: `concurrency` 8 (`num_threads`), `max_errors` 10.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parallel {
    concurrency: usize,
    max_errors: Option<usize>,
}

impl Default for Parallel {
    fn default() -> Self {
        Parallel {
            concurrency: 8,
            max_errors: Some(10),
        }
    }
}

/// The results of a [`Parallel`] batch.
#[derive(Debug)]
pub struct ParallelOutput {
    /// One result per call, in input order.
    pub results: Vec<Result<Prediction, ModuleError>>,
    /// How many calls failed.
    pub failures: usize,
}

impl ParallelOutput {
    /// The predictions in input order, `None` where the call failed (DSPy's result list).
    pub fn predictions(&self) -> Vec<Option<&Prediction>> {
        self.results.iter().map(|r| r.as_ref().ok()).collect()
    }
}

impl Parallel {
    /// DSPy's defaults: 8 calls at a time, at most 10 failures.
    pub fn new() -> Self {
        Parallel::default()
    }

    /// Sets how many calls run at a time (at least 1).
    pub fn with_concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency.max(1);
        self
    }

    /// Sets how many failures are tolerated (`None`: any number).
    pub fn with_max_errors(mut self, max_errors: Option<usize>) -> Self {
        self.max_errors = max_errors;
        self
    }

    /// Runs the batch with `ctx` for every call.
    ///
    /// ```no_run
    /// # async fn demo(ctx: hone_modules::CallContext) -> Result<(), hone_modules::ModuleError> {
    /// use hone_core::Example;
    /// use hone_modules::{Module, Parallel, Predict};
    /// let qa = Predict::new("question -> answer").map_err(|e| hone_modules::ModuleError::InvalidInput { module: "demo".into(), message: e.to_string() })?;
    /// let batch: Vec<(&dyn Module, Example)> = ["2+2?", "3*3?"]
    ///     .into_iter()
    ///     .map(|q| (&qa as &dyn Module, Example::new().with("question", q)))
    ///     .collect();
    /// let out = Parallel::new().with_concurrency(4).run(batch, &ctx).await?;
    /// assert_eq!(out.results.len(), 2);
    /// # Ok(()) }
    /// ```
    pub async fn run(
        &self,
        calls: Vec<(&dyn Module, Example)>,
        ctx: &CallContext,
    ) -> Result<ParallelOutput, ModuleError> {
        let total = calls.len();
        // The calls are boxed futures (not started until polled) before they meet the stream:
        // a closure in the stream's type would keep the batch future from being `Send` for
        // every lifetime, so it could not be spawned.
        let calls: Vec<BoxFuture<'_, Result<Prediction, ModuleError>>> = calls
            .into_iter()
            .map(|(module, example)| module.call(example.inputs(), ctx))
            .collect();
        let mut stream = futures_util::stream::iter(calls).buffered(self.concurrency);
        let mut results = Vec::with_capacity(total);
        let mut failures = 0;
        let mut first_failure: Option<usize> = None;
        while let Some(result) = stream.next().await {
            if result.is_err() {
                failures += 1;
                first_failure.get_or_insert(results.len());
            }
            results.push(result);
            if let Some(max) = self.max_errors
                && failures > max
            {
                let index = first_failure.unwrap_or(0);
                let first = match results
                    .get_mut(index)
                    .map(|r| std::mem::replace(r, Ok(Prediction::default())))
                {
                    Some(Err(e)) => e,
                    _ => ModuleError::InvalidInput {
                        module: "Parallel".into(),
                        message: "a call failed".into(),
                    },
                };
                return Err(ModuleError::TooManyErrors {
                    failures,
                    max_errors: max,
                    first_index: index,
                    first: Box::new(first),
                });
            }
        }
        Ok(ParallelOutput { results, failures })
    }

    /// Runs one module over many inputs.
    pub async fn map<M: Module>(
        &self,
        module: &M,
        inputs: Vec<Example>,
        ctx: &CallContext,
    ) -> Result<ParallelOutput, ModuleError> {
        let calls = inputs
            .into_iter()
            .map(|ex| (module as &dyn Module, ex))
            .collect();
        self.run(calls, ctx).await
    }
}
