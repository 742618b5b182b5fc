//! Optimizers from Python: any optimizer of hone-optimize's catalogue, by name with its
//! parameters, over a Python program and metric — run to the end by hone-eval's driver
//! (`compile`), or step by step by the caller's own executor (`Run`: ask, execute, tell,
//! state, restore, best).

use std::sync::{Arc, Mutex, PoisonError};

use hone_core::state::ProgramState;
use hone_eval::driver::events::{RunEvent, RunEvents, RunObserver};
use hone_eval::driver::{DriverConfig, StopReason, run_optimizer};
use hone_eval::{CallSlots, Executor, InProcessExecutor, ProgramFactory, job_priority};
use hone_modules::{Module, ModuleError};
use hone_optimize::catalogue::{Catalogue, Inputs};
use hone_optimize::{Job, JobResult, LmRole, Optimizer, Told};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::convert::{examples, to_python, to_value};
use crate::ctx::PyCtx;
use crate::error::{Error, StateError};
use crate::evaluate::PyMetric;
use crate::lm::{PyLm, describe};
use crate::module::module_of;
use crate::pending::{IntoPython, Json, Pending};

/// Builds a candidate program from its state: a copy of the student with the state loaded.
fn factory(student: &Bound<'_, PyAny>) -> ProgramFactory {
    let native = module_of(student);
    if !matches!(native, crate::module::NativeModule::Python(_)) {
        return hone_eval::template_factory(native);
    }
    let student = Arc::new(student.clone().unbind());
    Arc::new(move |state: &ProgramState| {
        let text = state.to_json_string_pretty();
        crate::runtime::with_python(|py| {
            let copy = student
                .call_method1(py, "_hone_candidate", (text,))
                .map_err(|e| describe(py, &e))?;
            Ok(Box::new(module_of(copy.bind(py))) as Box<dyn Module>)
        })
        .map_err(|message| ModuleError::InvalidInput {
            module: "candidate".into(),
            message,
        })
    })
}

/// The LMs of a run by role: `task` (required), `teacher`, `proposer`.
fn executor(
    student: &Bound<'_, PyAny>,
    metric: PyMetric,
    lms: &Bound<'_, PyDict>,
    ctx: &PyCtx,
) -> PyResult<InProcessExecutor> {
    let role_lm = |role: &str| -> PyResult<Option<hone_lm::LmHandle>> {
        match lms.get_item(role)? {
            Some(lm) if !lm.is_none() => Ok(Some(lm.cast::<PyLm>()?.get().handle()?)),
            _ => Ok(None),
        }
    };
    let Some(task) = role_lm("task")? else {
        return Err(crate::error::NoLMError::new_err(
            "the optimizer has no LM to run the program on: pass `lm=hone.LM(...)` to compile / \
             start, or `set_lm` on the student",
        ));
    };
    let mut executor = InProcessExecutor::new(factory(student), task, Arc::new(metric))
        .with_context(ctx.inner.clone());
    if let Some(lm) = role_lm("teacher")? {
        executor = executor.with_lm(LmRole::Teacher, lm);
    }
    if let Some(lm) = role_lm("proposer")? {
        executor = executor.with_lm(LmRole::Proposer, lm);
    }
    Ok(executor)
}

fn optimizer_error(err: hone_optimize::OptimizerError) -> PyErr {
    match err {
        // Parameters that do not fit: the caller's mistake, as a wrong keyword is.
        hone_optimize::OptimizerError::Config { .. } => {
            pyo3::exceptions::PyValueError::new_err(err.to_string())
        }
        _ => crate::error::HoneError::new_err(err.to_string()),
    }
}

/// Runs optimizer jobs in this process: the program, metric and LMs a run's jobs need, and
/// the concurrency shared by the jobs executing at once. What a worker of the caller's own
/// task queue holds (a `Run` holds one too).
#[pyclass(module = "hone._hone", name = "Executor", frozen)]
pub struct PyExecutor {
    executor: Arc<InProcessExecutor>,
    slots: CallSlots,
    concurrency: usize,
}

impl PyExecutor {
    fn new(executor: InProcessExecutor, concurrency: usize) -> Self {
        let concurrency = concurrency.max(1);
        PyExecutor {
            executor: Arc::new(executor),
            slots: CallSlots::new(concurrency),
            concurrency,
        }
    }
}

#[pymethods]
impl PyExecutor {
    /// An executor for jobs over `student`, scored by `metric`, on `lms` by role.
    #[new]
    #[pyo3(signature = (student, metric, metric_name, lms, ctx, *, concurrency=8))]
    fn py_new(
        student: &Bound<'_, PyAny>,
        metric: Py<PyAny>,
        metric_name: String,
        lms: &Bound<'_, PyDict>,
        ctx: &PyCtx,
        concurrency: usize,
    ) -> PyResult<Self> {
        let executor = executor(student, PyMetric::new(metric_name, metric), lms, ctx)?;
        Ok(PyExecutor::new(executor, concurrency))
    }

    /// Runs one job (a dict as `Run.ask()` returns it); its LM calls share this executor's
    /// concurrency with the other jobs running. The `Pending` resolves to the result dict.
    fn execute(&self, job: &Bound<'_, PyAny>) -> PyResult<Pending> {
        let job: Job = serde_json::from_value(to_value(job)?)
            .map_err(|e| Error::Value(format!("not a job as `ask()` returns it: {e}")))?;
        let slots = self.slots.for_job(job_priority(&job, job.id.0));
        let executor = self.executor.clone();
        Ok(Pending::spawn(async move {
            let result = executor.run(job, slots).await;
            serde_json::to_value(&result)
                .map(|v| Box::new(Json(v)) as Box<dyn IntoPython>)
                .map_err(|e| Error::Value(e.to_string()))
        })?)
    }
}

/// An optimization run driven step by step: the optimizer's state machine and the executor
/// that runs its jobs here.
#[pyclass(module = "hone._hone", name = "Run", frozen)]
pub struct PyRun {
    /// `None` while `drive` runs it.
    optimizer: Arc<Mutex<Option<Box<dyn Optimizer>>>>,
    executor: PyExecutor,
    /// What `run_started` says: the parameters and dataset sizes the run started with
    /// (unknown for a restored run).
    started: (Value, Option<usize>, Option<usize>),
}

/// A Python callable as the observer of a run's events: each event as a dict of its JSON
/// (`docs/schema/event.v1.json`). An exception the callable raises goes to Python's
/// unraisable hook; the run goes on.
struct PyObserver(Py<PyAny>);

impl RunObserver for PyObserver {
    fn on_event(&self, event: &RunEvent) {
        let Ok(value) = serde_json::to_value(event) else {
            return;
        };
        // Never during interpreter shutdown.
        Python::try_attach(|py| {
            let call = || -> PyResult<()> {
                let event = to_python(py, &value)?;
                self.0.call1(py, (event,))?;
                Ok(())
            };
            if let Err(e) = call() {
                e.write_unraisable(py, Some(self.0.bind(py)));
            }
        });
    }
}

impl PyRun {
    fn with<R>(&self, f: impl FnOnce(&mut dyn Optimizer) -> R) -> PyResult<R> {
        let mut guard = self
            .optimizer
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match guard.as_mut() {
            Some(optimizer) => Ok(f(optimizer.as_mut())),
            None => Err(crate::error::HoneError::new_err(
                "the run is being driven to its end (compile / drive); wait for it to finish",
            )),
        }
    }
}

/// Starts optimizer `kind` (a catalogue name or alias) with `params` over `student`.
#[pyfunction]
#[pyo3(signature = (kind, params, student, parts, trainset, train_keys, valset, val_keys,
    metric, metric_name, lms, ctx, *, concurrency=8))]
#[allow(clippy::too_many_arguments)]
pub fn start(
    kind: &str,
    params: &Bound<'_, PyDict>,
    student: &Bound<'_, PyAny>,
    parts: Vec<(String, PyRef<'_, crate::module::PyNative>)>,
    trainset: &Bound<'_, PyList>,
    train_keys: Vec<Vec<String>>,
    valset: Option<&Bound<'_, PyList>>,
    val_keys: Option<Vec<Vec<String>>>,
    metric: Py<PyAny>,
    metric_name: String,
    lms: &Bound<'_, PyDict>,
    ctx: &PyCtx,
    concurrency: usize,
) -> PyResult<PyRun> {
    let catalogue = Catalogue::builtin();
    let entry = catalogue
        .lookup(kind)
        .map_err(|e| Error::Value(e.to_string()))?;
    let trainset = examples(trainset, train_keys, "trainset")?;
    let valset = match valset {
        Some(v) => Some(examples(v, val_keys.unwrap_or_default(), "valset")?),
        None => None,
    };
    let student_state = crate::program::program_state(&parts);
    let inputs = Inputs {
        student: &student_state,
        trainset: &trainset,
        valset: valset.as_deref(),
    };
    let optimizer = entry
        .build(&inputs, &to_value(params.as_any())?)
        .map_err(optimizer_error)?;
    let executor = executor(student, PyMetric::new(metric_name, metric), lms, ctx)?;
    let mut run = PyRun::new(optimizer, executor, concurrency);
    run.started = (
        to_value(params.as_any())?,
        Some(trainset.len()),
        valset.as_ref().map(Vec::len),
    );
    Ok(run)
}

/// Checks `params` against optimizer `kind`'s parameters (names, types, ranges) without
/// starting it: a key the optimizer does not take is an error naming the closest one.
#[pyfunction]
pub fn check_params(kind: &str, params: &Bound<'_, PyDict>) -> PyResult<()> {
    let catalogue = Catalogue::builtin();
    let entry = catalogue
        .lookup(kind)
        .map_err(|e| Error::Value(e.to_string()))?;
    entry
        .parse_config(&to_value(params.as_any())?)
        .map_err(|e| Error::Value(e.to_string()))?;
    Ok(())
}

/// Restores a run from what `Run.state()` returned.
#[pyfunction]
#[pyo3(signature = (state, student, metric, metric_name, lms, ctx, *, concurrency=8))]
pub fn restore(
    state: &Bound<'_, PyAny>,
    student: &Bound<'_, PyAny>,
    metric: Py<PyAny>,
    metric_name: String,
    lms: &Bound<'_, PyDict>,
    ctx: &PyCtx,
    concurrency: usize,
) -> PyResult<PyRun> {
    let value = to_value(state)?;
    let (Some(kind), Some(inner)) = (
        value.get("optimizer").and_then(Value::as_str),
        value.get("state"),
    ) else {
        return Err(StateError::new_err(
            "not a run state: expected {\"optimizer\": NAME, \"state\": {...}} as Run.state() returns it",
        ));
    };
    let catalogue = Catalogue::builtin();
    let entry = catalogue
        .lookup(kind)
        .map_err(|e| Error::Value(e.to_string()))?;
    let optimizer = entry.restore(inner.clone()).map_err(optimizer_error)?;
    let executor = executor(student, PyMetric::new(metric_name, metric), lms, ctx)?;
    Ok(PyRun::new(optimizer, executor, concurrency))
}

impl PyRun {
    fn new(optimizer: Box<dyn Optimizer>, executor: InProcessExecutor, concurrency: usize) -> Self {
        PyRun {
            optimizer: Arc::new(Mutex::new(Some(optimizer))),
            executor: PyExecutor::new(executor, concurrency),
            started: (Value::Object(Default::default()), None, None),
        }
    }
}

#[pymethods]
impl PyRun {
    /// The optimizer's catalogue name.
    #[getter]
    fn optimizer(&self) -> PyResult<&'static str> {
        self.with(|o| o.name())
    }

    /// Jobs that can run now, as dicts in the schema of `docs/schema/job.json`; each is handed
    /// out once. Empty while the run waits for results (or is done).
    fn ask(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let jobs = self.with(|o| o.ask())?;
        let value = serde_json::to_value(&jobs).map_err(|e| Error::Value(e.to_string()))?;
        to_python(py, &value)
    }

    /// Jobs handed out that have no result yet (to run again after a restore).
    fn pending(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let jobs = self.with(|o| o.pending())?;
        let value = serde_json::to_value(&jobs).map_err(|e| Error::Value(e.to_string()))?;
        to_python(py, &value)
    }

    /// Runs one job here (its LM calls share this run's concurrency with the other jobs
    /// running); the `Pending` resolves to the result dict for `tell`.
    fn execute(&self, job: &Bound<'_, PyAny>) -> PyResult<Pending> {
        self.executor.execute(job)
    }

    /// Records a job's result: `"accepted"`, `"duplicate"`, `"unknown"` or `"stale"`.
    fn tell(&self, result: &Bound<'_, PyAny>) -> PyResult<&'static str> {
        let result: JobResult = serde_json::from_value(to_value(result)?)
            .map_err(|e| Error::Value(format!("not a job result as `execute` returns it: {e}")))?;
        let told = self.with(|o| o.tell(result))?.map_err(optimizer_error)?;
        Ok(match told {
            Told::Accepted => "accepted",
            Told::Duplicate => "duplicate",
            Told::Unknown => "unknown",
            Told::Stale => "stale",
        })
    }

    /// Hands the run what a loop of your own observed, before a `tell`: the run's wall-clock
    /// seconds so far and whether a stop was requested — by default, whether the optimizer's
    /// stop file exists. GEPA's `timeout_secs` and `stop_file` read them (`drive` passes them
    /// itself).
    #[pyo3(signature = (elapsed_secs, stop_requested=None))]
    fn observe(&self, elapsed_secs: f64, stop_requested: Option<bool>) -> PyResult<()> {
        self.with(|o| {
            let mut signals = hone_eval::run_signals(&*o, elapsed_secs);
            if let Some(requested) = stop_requested {
                signals.stop_requested = requested;
            }
            o.observe(signals);
        })
    }

    /// Whether the run is over.
    fn is_done(&self) -> PyResult<bool> {
        self.with(|o| o.is_done())
    }

    /// The best program state so far (hone's JSON), or `None`.
    fn best(&self) -> PyResult<Option<String>> {
        Ok(self.with(|o| o.best())?.map(|s| s.to_json_string_pretty()))
    }

    /// Everything needed to continue the run later: `{"optimizer": NAME, "state": ...}`.
    fn state(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let (name, state) = self.with(|o| (o.name(), o.state()))?;
        let state = state.map_err(optimizer_error)?;
        to_python(py, &serde_json::json!({"optimizer": name, "state": state}))
    }

    /// The optimizer's record of trials and proposals.
    fn log(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let log = self.with(|o| serde_json::to_value(o.log()))?;
        to_python(py, &log.map_err(|e| Error::Value(e.to_string()))?)
    }

    /// Runs the optimizer to its end with hone's driver (jobs concurrent up to the run's
    /// concurrency; a checkpoint after each result when `checkpoint` names a file). The
    /// `Pending` resolves to `(best state JSON or None, stopped)`; cancelling it stops the run
    /// after writing the checkpoint. `events`, a callable, receives each of the run's events
    /// as a dict (`docs/schema/event.v1.json`), from the thread that drives the run.
    #[pyo3(signature = (checkpoint=None, events=None))]
    fn drive(
        &self,
        checkpoint: Option<std::path::PathBuf>,
        events: Option<Py<PyAny>>,
    ) -> PyResult<Pending> {
        let slot = self.optimizer.clone();
        let Some(mut optimizer) = slot.lock().unwrap_or_else(PoisonError::into_inner).take() else {
            return Err(crate::error::HoneError::new_err(
                "the run is already being driven",
            ));
        };
        let executor = self.executor.executor.clone();
        let cancel = CancellationToken::new();
        let mut config = DriverConfig::with_concurrency(self.executor.concurrency);
        config.cancel = cancel.clone();
        config.checkpoint = checkpoint;
        config.events = events.map(|callback| {
            let (params, trainset, valset) = self.started.clone();
            RunEvents {
                observer: Arc::new(PyObserver(callback)),
                params,
                trainset,
                valset,
            }
        });
        Ok(Pending::spawn_cancellable(
            async move {
                // The driver owns the optimizer while it runs, and hands it back at the end.
                let report = run_optimizer(optimizer.as_mut(), executor.as_ref(), &config).await;
                *slot.lock().unwrap_or_else(PoisonError::into_inner) = Some(optimizer);
                let report = report?;
                let best = report.best.map(|s| s.to_json_string_pretty());
                let stopped = report.stop != StopReason::Done;
                Ok(Box::new(Json(serde_json::json!({
                    "best": best,
                    "stopped": stopped,
                    "tells": report.tells,
                    "lm_calls": report.lm_calls,
                    "elapsed_s": report.elapsed.as_secs_f64(),
                }))) as Box<dyn IntoPython>)
            },
            cancel,
        )?)
    }
}

/// The optimizer catalogue as JSON: each kind's name, aliases, form, description and
/// parameters (name, type, default, description).
#[pyfunction]
pub fn optimizer_kinds(py: Python<'_>) -> PyResult<Py<PyAny>> {
    to_python(py, &Catalogue::builtin().to_json())
}
