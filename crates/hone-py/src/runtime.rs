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
