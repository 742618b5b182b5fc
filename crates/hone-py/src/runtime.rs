//! The process's tokio runtime: created on first use (never at import), and created anew in a
//! child process after `fork`, whose copy of the parent's runtime has no threads.
//!
//! This is executor infrastructure, like a connection pool: it holds no LM, configuration or
//! trace state. Every call still names its LM explicitly.

use std::sync::{Arc, Mutex, PoisonError};

use tokio::runtime::{Builder, Runtime};

use crate::error::Error as HoneError;

struct Owned {
    pid: u32,
    runtime: Arc<Runtime>,
}

static RUNTIME: Mutex<Option<Owned>> = Mutex::new(None);

/// The runtime of this process, built on first use and rebuilt after a fork.
pub fn runtime() -> Result<Arc<Runtime>, HoneError> {
    let pid = std::process::id();
    let mut slot = RUNTIME.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(owned) = slot.as_ref()
        && owned.pid == pid
    {
        return Ok(owned.runtime.clone());
    }
    if let Some(inherited) = slot.take() {
        // A runtime inherited through fork has no worker threads in this process; dropping it
        // would wait for them forever, so it is left alone.
        std::mem::forget(inherited.runtime);
    }
    let runtime = Arc::new(
        Builder::new_multi_thread()
            .worker_threads(worker_threads())
            .thread_name("hone-worker")
            .enable_all()
            .build()
            .map_err(|e| HoneError::Runtime(e.to_string()))?,
    );
    *slot = Some(Owned {
        pid,
        runtime: runtime.clone(),
    });
    Ok(runtime)
}

fn worker_threads() -> usize {
    std::env::var("HONE_WORKER_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n: &usize| *n > 0)
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get().min(4))
                .unwrap_or(2)
        })
}

/// Stops the runtime of this process before the interpreter finalizes (the Python layer
/// registers it with `atexit`): calls still running are dropped, and threads that run Python
/// code (a metric, a tool, a `forward`) get a moment to finish while the interpreter can still
/// take them. A call made afterwards starts a new runtime.
#[pyo3::pyfunction]
pub fn shutdown(py: pyo3::Python<'_>) {
    let owned = RUNTIME
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take();
    let Some(owned) = owned else { return };
    if owned.pid != std::process::id() {
        std::mem::forget(owned.runtime);
        return;
    }
    match Arc::try_unwrap(owned.runtime) {
        // Without the GIL, so that threads waiting for it can finish.
        Ok(runtime) => py.detach(|| runtime.shutdown_timeout(std::time::Duration::from_secs(2))),
        // Someone still holds it (a call being set up): leave it to the process's exit.
        Err(shared) => std::mem::forget(shared),
    }
}

/// Runs `f` with the GIL from one of the runtime's threads, or fails when the interpreter is
/// finalizing (taking the GIL then would abort the process).
pub fn with_python<R>(
    f: impl for<'py> FnOnce(pyo3::Python<'py>) -> Result<R, String>,
) -> Result<R, String> {
    pyo3::Python::try_attach(f)
        .unwrap_or_else(|| Err("the Python interpreter is shutting down".to_owned()))
}
