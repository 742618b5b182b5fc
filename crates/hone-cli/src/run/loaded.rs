//! [`Loaded`]: a program ready to call, with its LMs and pipeline, and what it serves: single
//! predictions, evaluations, the executor of an optimization's jobs and the worker side of a
//! distributed run.

use std::path::Path;
use std::sync::Arc;

use hone_core::{Example, Prediction};
use hone_eval::{Evaluate, EvaluationResult, InProcessExecutor, template_factory};
use hone_modules::{CallContext, Module};
use hone_optimize::LmRole;

use super::{Options, read_state};
use crate::error::{Error, Result};
use crate::program::{Lms, Pipeline, Program, build_lms, build_metric};

/// A program ready to call: its pipeline (state loaded), LMs and context.
pub struct Loaded {
    /// The program file.
    pub program: Program,
    /// The LMs.
    pub lms: Lms,
    /// The runnable pipeline.
    pub pipeline: Pipeline,
}

impl std::fmt::Debug for Loaded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Loaded")
            .field("program", &self.program.path)
            .finish_non_exhaustive()
    }
}

impl Loaded {
    /// Reads the program, builds its LMs and pipeline, loads `--state`.
    pub fn load(path: &Path, options: &Options) -> Result<Loaded> {
        Loaded::from_program(Program::read(path)?, options)
    }

    /// Builds the LMs and pipeline of a program already read, loads `--state`.
    pub fn from_program(program: Program, options: &Options) -> Result<Loaded> {
        let lms = build_lms(&program, &options.lms)?;
        let mut pipeline = Pipeline::build(&program, Some(&lms))?;
        if let Some(state) = &options.state {
            let s = read_state(state, &pipeline)?;
            pipeline = pipeline.with_state(&s)?;
        }
        Ok(Loaded {
            program,
            lms,
            pipeline,
        })
    }

    /// The call context: the default LM.
    pub fn context(&self) -> Result<CallContext> {
        Ok(CallContext::with_default_lm(self.lms.default_lm()?))
    }

    /// The executor that runs an optimizer's jobs on this program: the pipeline as template,
    /// the default LM as task LM, the `proposer` LM (the task LM when none is named) and the
    /// `teacher` LM when the program names one, and `[optimizer] proposal_adapter` for the
    /// optimizer's own calls.
    pub fn executor(
        &self,
        metric: Arc<dyn hone_eval::metric::Metric>,
    ) -> Result<InProcessExecutor> {
        let lms = &self.lms;
        let mut executor = InProcessExecutor::new(
            template_factory(self.pipeline.clone()),
            lms.default_lm()?,
            metric,
        )
        .with_lm(LmRole::Proposer, lms.role("proposer")?);
        if lms.handles.contains_key("teacher") {
            executor = executor.with_lm(LmRole::Teacher, lms.get("teacher")?);
        }
        if let Some(kind) = crate::optimizer::optimizer_choice(&self.program)?.proposal_adapter {
            executor = executor.with_proposal_adapter(Arc::from(kind.adapter()));
        }
        Ok(executor)
    }

    /// Runs the jobs of distributed optimization runs of this program from Redis until
    /// `shutdown` completes: the worker side of `hone optimize --redis`. The program's
    /// `[metric]` scores the jobs' examples.
    pub async fn serve(
        &self,
        redis: hone_redis::Redis,
        config: hone_redis::WorkerConfig,
        shutdown: impl std::future::Future<Output = ()> + Send,
    ) -> Result<hone_redis::WorkerStats> {
        let metric = build_metric(&self.program, Some(&self.lms))?;
        let mut config = config;
        config.serves = Some(self.serves(metric.as_ref()));
        let executor = self.executor(metric)?;
        hone_redis::Worker::new(redis, Arc::new(executor), config)
            .run(shutdown)
            .await
            .map_err(|e| Error::Failed(format!("the worker stopped: {e}")))
    }

    /// The fingerprint of what this program's jobs need from a worker: each stage's name,
    /// module kind, adapter and fields (not its instructions, which jobs carry), and the
    /// metric. Coordinator and workers compare it, so a worker with another program or
    /// metric refuses the run's jobs.
    pub fn serves(&self, metric: &dyn hone_eval::metric::Metric) -> String {
        use sha2::{Digest, Sha256};
        let mut hash = Sha256::new();
        for stage in &self.program.stages {
            let mut signature = stage.signature.clone();
            signature.instructions = String::new();
            hash.update(stage.name.as_bytes());
            hash.update(stage.kind.as_str().as_bytes());
            hash.update(format!("{:?}", stage.adapter).as_bytes());
            hash.update(
                serde_json::to_string(&signature)
                    .unwrap_or_default()
                    .as_bytes(),
            );
            hash.update(b"\n");
        }
        hash.update(metric.name().as_bytes());
        let hex: String = hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
        format!("sha256:{}", &hex[..16])
    }

    /// Runs the program on one set of inputs.
    pub async fn predict(&self, inputs: Example) -> Result<Prediction> {
        let ctx = self.context()?;
        let inputs = inputs.with_inputs(self.program.inputs.iter().map(String::as_str));
        self.pipeline
            .call(inputs, &ctx)
            .await
            .map_err(|e| Error::Failed(e.to_string()))
    }

    /// Evaluates the program on `examples`.
    pub async fn evaluate(
        &self,
        examples: Vec<Example>,
        options: &Options,
    ) -> Result<EvaluationResult> {
        self.evaluate_module(&self.pipeline, examples, options)
            .await
    }

    /// Evaluates `module` (the program, or a module around it) on `examples` with the
    /// program's metric and LMs.
    pub async fn evaluate_module(
        &self,
        module: &dyn Module,
        examples: Vec<Example>,
        options: &Options,
    ) -> Result<EvaluationResult> {
        let metric = build_metric(&self.program, Some(&self.lms))?;
        let mut eval = Evaluate::with_metric(examples, metric)
            .concurrency(
                options
                    .concurrency
                    .unwrap_or(crate::optimizer::DEFAULT_CONCURRENCY),
            )
            .max_errors(options.max_errors());
        if let Some(p) = &options.eval_progress {
            eval = eval.progress(p.clone());
        }
        let failed_calls = || self.lms.usage.report().failed_calls;
        let result = eval
            .run(module, &self.context()?)
            .await
            .map_err(|e| Error::Failed(format!("{e} ({} LM call(s) failed)", failed_calls())))?;
        if result.errors > 0 && result.errors == result.results.len() {
            let first = result
                .results
                .iter()
                .find_map(|r| r.error.as_ref().map(|e| (r.index, e)));
            let (index, error) = first.map_or((0, ""), |(i, e)| (i, e.as_str()));
            return Err(Error::Failed(format!(
                "every example failed ({} of {}; {} LM call(s) failed); the first failure, \
                 example #{index}: {error}",
                result.errors,
                result.results.len(),
                failed_calls()
            )));
        }
        Ok(result)
    }
}
