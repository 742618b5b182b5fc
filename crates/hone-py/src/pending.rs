//! [`Pending`]: a call running on hone's runtime, with a file descriptor that becomes readable
//! when it is done. Python waits on that descriptor in whatever way its concurrency model
//! wants — `select` in a thread (the GIL released), `gevent.socket.wait_read` in a greenlet
//! (the hub keeps running), `loop.add_reader` in asyncio — and then takes the result.

use std::io::{PipeReader, Write};
use std::os::fd::AsRawFd;
use std::sync::{Arc, Mutex, PoisonError};

use pyo3::prelude::*;
use serde_json::Value;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::error::Error as HoneError;
use crate::runtime::runtime;

/// What a finished call produced, turned into Python when it is taken.
pub type Outcome = Result<Box<dyn IntoPython>, HoneError>;

/// A result that becomes a Python object under the GIL.
pub trait IntoPython: Send {
    /// Converts the result.
    fn into_python(self: Box<Self>, py: Python<'_>) -> PyResult<Py<PyAny>>;
}

/// A JSON value as a call's result.
pub struct Json(pub Value);

impl IntoPython for Json {
    fn into_python(self: Box<Self>, py: Python<'_>) -> PyResult<Py<PyAny>> {
        crate::convert::to_python(py, &self.0)
    }
}

struct Shared {
    outcome: Mutex<Option<Outcome>>,
}

/// A call in flight on hone's runtime.
///
/// `fd` becomes readable when the call is done; `result()` then returns its value or raises its
/// error. `cancel()` stops the call (its LM request is dropped). Dropping an unfinished
/// `Pending` cancels it too.
#[pyclass(module = "hone._hone", frozen)]
pub struct Pending {
    shared: Arc<Shared>,
    reader: PipeReader,
    task: Mutex<Option<JoinHandle<()>>>,
    /// A call that stops cleanly when asked (an optimization writing its checkpoint) instead
    /// of being dropped.
    stop: Option<CancellationToken>,
}

impl Pending {
    /// Runs `future` on hone's runtime.
    pub fn spawn<F>(future: F) -> Result<Pending, HoneError>
    where
        F: std::future::Future<Output = Outcome> + Send + 'static,
    {
        Pending::start(future, None)
    }

    /// Runs `future`, which stops cleanly (and still ends with a result) once `stop` fires:
    /// `cancel()` fires it instead of dropping the call.
    pub fn spawn_cancellable<F>(future: F, stop: CancellationToken) -> Result<Pending, HoneError>
    where
        F: std::future::Future<Output = Outcome> + Send + 'static,
    {
        Pending::start(future, Some(stop))
    }

    fn start<F>(future: F, stop: Option<CancellationToken>) -> Result<Pending, HoneError>
    where
        F: std::future::Future<Output = Outcome> + Send + 'static,
    {
        let (reader, mut writer) = std::io::pipe()
            .map_err(|e| HoneError::Runtime(format!("could not create a pipe: {e}")))?;
        let shared = Arc::new(Shared {
            outcome: Mutex::new(None),
        });
        let done = shared.clone();
        let task = runtime()?.spawn(async move {
            let outcome = future.await;
            *done.outcome.lock().unwrap_or_else(PoisonError::into_inner) = Some(outcome);
            // The reader may already be gone (the caller stopped waiting): nothing to tell.
            let _ = writer.write_all(b"x");
        });
        Ok(Pending {
            shared,
            reader,
            task: Mutex::new(Some(task)),
            stop,
        })
    }
}

#[pymethods]
impl Pending {
    /// The file descriptor that becomes readable when the call is done.
    #[getter]
    fn fd(&self) -> i32 {
        self.reader.as_raw_fd()
    }

    /// Whether the call is done (its result can be taken without waiting).
    fn done(&self) -> bool {
        self.shared
            .outcome
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some()
    }

    /// The call's value, or its error raised as a Python exception. Raises `RuntimeError` if
    /// the call is not done yet or its result was already taken.
    fn result(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let outcome = self
            .shared
            .outcome
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        match outcome {
            Some(Ok(value)) => value.into_python(py),
            Some(Err(error)) => Err(error.into_py_err(py)),
            None => Err(pyo3::exceptions::PyRuntimeError::new_err(
                "the call is not done yet (wait until `fd` is readable) or its result was \
                 already taken",
            )),
        }
    }

    /// Stops the call: its LM requests are dropped and no result will come. A call that
    /// stops cleanly (an optimization) is asked to stop instead, and still ends with a
    /// result: `cancel()` returns `True` then, and the caller may wait for it.
    fn cancel(&self) -> bool {
        if let Some(stop) = &self.stop {
            stop.cancel();
            return true;
        }
        if let Some(task) = self
            .task
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            task.abort();
        }
        false
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if let Some(task) = self
            .task
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
            && !task.is_finished()
        {
            task.abort();
        }
    }
}
