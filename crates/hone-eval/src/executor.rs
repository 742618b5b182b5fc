//! Executors turn optimizer [`Job`]s into [`JobResult`]s. [`InProcessExecutor`] runs them in
//! this process: it builds the candidate program from the job's state with a program factory,
//! runs its examples concurrently on the LM of the job's role, scores them with the metric and
//! records traces.

use std::collections::HashMap;
use std::sync::Arc;

use crate::metric::Metric;
use crate::run::{JobUsage, run_example};
use crate::slots::JobSlots;
use futures_util::StreamExt;
use futures_util::stream::FuturesOrdered;
use hone_core::adapter::{Adapter, ChatAdapter};
use hone_core::state::ProgramState;
use hone_lm::{BoxFuture, LmHandle};
use hone_modules::{CallContext, Module, ModuleError, Predict, Sampling, TraceSink};
use hone_optimize::{
    CallSettings, ExampleOutcome, Job, JobOutput, JobResult, JobSpec, LmRole, TraceStep,
};

/// Runs jobs. The driver hands each job its view of the [`CallSlots`](crate::CallSlots) shared
/// by all running jobs; an executor holds one slot per LM-calling unit of work (an example, a
/// predict call), so at most the driver's concurrency of them run at once across all jobs, and
/// older jobs' units go first.
pub trait Executor: Send + Sync {
    /// Runs one job to its result. Failures are reported in the result
    /// ([`JobOutput::Failed`], or per-example errors), never as a panic.
    fn run(&self, job: Job, slots: JobSlots) -> BoxFuture<'static, JobResult>;

    /// Like [`run`](Self::run), with the usage of the job's LM calls, which a worker sends
    /// back beside the result. Executors that do not measure it report none.
    fn run_with_usage(
        &self,
        job: Job,
        slots: JobSlots,
    ) -> BoxFuture<'static, (JobResult, JobUsage)> {
        let result = self.run(job, slots);
        Box::pin(async move { (result.await, JobUsage::default()) })
    }
}

/// Builds a runnable program from a candidate's state.
pub type ProgramFactory =
    Arc<dyn Fn(&ProgramState) -> Result<Box<dyn Module>, ModuleError> + Send + Sync>;

/// A factory that clones `template` and loads the state onto it (the usual choice).
pub fn template_factory<M>(template: M) -> ProgramFactory
where
    M: Module + Clone + 'static,
{
    Arc::new(move |state: &ProgramState| {
        let mut program = template.clone();
        program.load_state(state)?;
        Ok(Box::new(program) as Box<dyn Module>)
    })
}

#[derive(Clone)]
struct Inner {
    factory: ProgramFactory,
    lms: HashMap<LmRole, LmHandle>,
    metric: Arc<dyn Metric>,
    context: CallContext,
    proposal_adapter: Option<Arc<dyn Adapter>>,
}

/// Runs jobs in this process.
///
/// LMs are looked up by the job's [`LmRole`]; the teacher role falls back to the task LM
/// (DSPy's teacher runs on the default LM unless `teacher_settings` names one).
#[derive(Clone)]
pub struct InProcessExecutor {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for InProcessExecutor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InProcessExecutor")
            .field("lms", &self.inner.lms)
            .field("metric", &self.inner.metric.name())
            .finish_non_exhaustive()
    }
}

impl InProcessExecutor {
    /// An executor building programs with `factory`, running them on `task_lm`, scoring with
    /// `metric`.
    pub fn new(factory: ProgramFactory, task_lm: LmHandle, metric: Arc<dyn Metric>) -> Self {
        let mut lms = HashMap::new();
        lms.insert(LmRole::Task, task_lm);
        InProcessExecutor {
            inner: Arc::new(Inner {
                factory,
                lms,
                metric,
                context: CallContext::new(),
                proposal_adapter: None,
            }),
        }
    }

    /// An executor whose programs are clones of `template` with the job's state loaded.
    pub fn from_template<M>(template: M, task_lm: LmHandle, metric: Arc<dyn Metric>) -> Self
    where
        M: Module + Clone + 'static,
    {
        InProcessExecutor::new(template_factory(template), task_lm, metric)
    }

    /// Sets the LM of a role (the teacher, the proposer).
    pub fn with_lm(self, role: LmRole, lm: LmHandle) -> Self {
        let mut inner = Arc::unwrap_or_clone(self.inner);
        inner.lms.insert(role, lm);
        InProcessExecutor {
            inner: Arc::new(inner),
        }
    }

    /// Sets the base call context (adapter, callbacks, call options); its LM is replaced by
    /// the job's role LM. Its adapter is the program's: proposals (predict jobs, the
    /// optimizer's own signatures) render with the
    /// [proposal adapter](Self::with_proposal_adapter) instead.
    pub fn with_context(self, context: CallContext) -> Self {
        let mut inner = Arc::unwrap_or_clone(self.inner);
        inner.context = context;
        InProcessExecutor {
            inner: Arc::new(inner),
        }
    }

    /// The adapter of proposals (the optimizer's own signatures: instructions, reflections,
    /// rules). Default: DSPy's `ChatAdapter`, whatever the program's adapter is.
    pub fn with_proposal_adapter(self, adapter: Arc<dyn Adapter>) -> Self {
        let mut inner = Arc::unwrap_or_clone(self.inner);
        inner.proposal_adapter = Some(adapter);
        InProcessExecutor {
            inner: Arc::new(inner),
        }
    }

    fn lm(&self, role: LmRole) -> Option<LmHandle> {
        self.inner.lms.get(&role).cloned().or_else(|| match role {
            LmRole::Teacher => self.inner.lms.get(&LmRole::Task).cloned(),
            LmRole::Task | LmRole::Proposer => None,
        })
    }

    fn context(&self, lm: LmHandle, settings: &CallSettings) -> CallContext {
        let mut ctx = self
            .inner
            .context
            .clone()
            .with_lm(lm)
            .with_config(settings.sampling.clone());
        if settings.no_cache {
            ctx = ctx.no_cache();
        }
        ctx
    }

    async fn run_job(self, job: Job, slots: JobSlots) -> (JobResult, JobUsage) {
        let id = job.id;
        let mut usage = JobUsage::default();
        let (output, lm_calls) = match job.spec {
            JobSpec::Evaluate {
                program,
                examples,
                lm,
                capture_traces,
                settings,
            } => {
                let Some(lm) = self.lm(lm) else {
                    return (failed(id, no_lm(lm)), usage);
                };
                let module = match (self.inner.factory)(&program) {
                    Ok(m) => m,
                    Err(e) => {
                        let error = format!("could not build the candidate program: {e}");
                        return (failed(id, error), usage);
                    }
                };
                let ctx = self.context(lm, &settings);
                let metric = self.inner.metric.as_ref();
                let module = module.as_ref();
                let mut runs = FuturesOrdered::new();
                for ex in &examples {
                    let slots = &slots;
                    let ctx = &ctx;
                    runs.push_back(async move {
                        let _permit = slots.acquire().await;
                        let run =
                            run_example(module, &ex.example, ctx, metric, capture_traces).await;
                        (ex, run)
                    });
                }
                let mut outcomes = Vec::with_capacity(examples.len());
                let mut calls = 0;
                while let Some((ex, run)) = runs.next().await {
                    calls += run.usage.lm_calls;
                    usage.add_trace(&run.trace);
                    let trace = if capture_traces {
                        run.trace
                            .into_iter()
                            .map(|t| TraceStep {
                                predictor: t.predictor,
                                inputs: t.inputs,
                                outputs: t.outputs,
                            })
                            .collect()
                    } else {
                        Vec::new()
                    };
                    outcomes.push(ExampleOutcome {
                        split: ex.split,
                        index: ex.index,
                        prediction: run.prediction,
                        score: run.score,
                        feedback: run.feedback,
                        objectives: Some(run.objectives).filter(|o| !o.is_empty()),
                        error: run.error,
                        trace,
                    });
                }
                (JobOutput::Evaluated { outcomes }, calls)
            }
            JobSpec::Predict {
                purpose,
                signature,
                demos,
                inputs,
                lm,
                n,
                settings,
            } => {
                let Some(lm) = self.lm(lm) else {
                    return (failed(id, no_lm(lm)), usage);
                };
                let predict = Predict::from_signature(signature).with_demos(demos);
                let sink = TraceSink::new();
                let adapter = self
                    .inner
                    .proposal_adapter
                    .clone()
                    .unwrap_or_else(|| Arc::new(ChatAdapter::default()));
                let mut ctx = self
                    .context(lm, &settings)
                    .with_adapter_arc(adapter)
                    .with_trace(sink.clone());
                if n > 1 {
                    ctx = ctx
                        .clone()
                        .with_config(ctx.config().merged(&Sampling::new().n(n)));
                }
                let _permit = slots.acquire().await;
                let result = predict.call(inputs, &ctx).await;
                let trace = sink.take();
                let calls = trace.len() as u64;
                usage.add_trace(&trace);
                match result {
                    Ok(first) => {
                        let predictions = trace
                            .into_iter()
                            .last()
                            .map(|t| t.completions)
                            .filter(|c| !c.is_empty())
                            .unwrap_or_else(|| vec![first]);
                        (JobOutput::Predicted { predictions }, calls)
                    }
                    Err(e) => (
                        JobOutput::Failed {
                            error: format!("{purpose}: {e}"),
                        },
                        calls,
                    ),
                }
            }
        };
        let result = JobResult {
            id,
            output,
            lm_calls,
        };
        (result, usage)
    }
}

fn no_lm(role: LmRole) -> String {
    format!(
        "no LM for the {role:?} role; give the executor one with `with_lm(LmRole::{role:?}, ..)`"
    )
}

fn failed(id: hone_optimize::JobId, error: String) -> JobResult {
    JobResult {
        id,
        output: JobOutput::Failed { error },
        lm_calls: 0,
    }
}

impl Executor for InProcessExecutor {
    fn run(&self, job: Job, slots: JobSlots) -> BoxFuture<'static, JobResult> {
        let job = self.clone().run_job(job, slots);
        Box::pin(async move { job.await.0 })
    }

    fn run_with_usage(
        &self,
        job: Job,
        slots: JobSlots,
    ) -> BoxFuture<'static, (JobResult, JobUsage)> {
        Box::pin(self.clone().run_job(job, slots))
    }
}
