//! A blocking API for code that runs on plain threads and owns no async runtime.
//!
//! A [`Runner`] is a value that owns a small tokio runtime (no global runtime is created or
//! used). It is `Send + Sync`: share one across threads (by reference or in an `Arc`) and call
//! [`Runner::call`] from each; every call runs on the calling thread, while the runtime's
//! worker threads drive network IO.
//!
//! ```no_run
//! use hone_core::Example;
//! use hone_modules::{CallContext, Predict, blocking::Runner};
//! # fn lm() -> hone_lm::LmHandle { unimplemented!() }
//! let runner = Runner::new()?;
//! let qa = Predict::new("question -> answer")?;
//! let ctx = CallContext::with_default_lm(lm());
//! let out = runner.call(&qa, Example::new().with("question", "2 + 2?"), &ctx)?;
//! println!("{}", out.get("answer").unwrap_or_default());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Do not call [`Runner::call`] from inside an async task (tokio forbids blocking on a runtime
//! from within one); there, `.await` [`Module::call`] instead.

use std::future::Future;

use hone_core::{Example, Prediction};

use crate::context::CallContext;
use crate::error::ModuleError;
use crate::module::Module;

/// Runs module calls to completion on the calling thread. See the [module docs](self).
#[derive(Debug)]
pub struct Runner {
    runtime: tokio::runtime::Runtime,
}

impl Runner {
    /// A runner with two IO worker threads.
    pub fn new() -> Result<Self, ModuleError> {
        Self::with_worker_threads(2)
    }

    /// A runner with `threads` IO worker threads (at least one).
    pub fn with_worker_threads(threads: usize) -> Result<Self, ModuleError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads.max(1))
            .thread_name("hone-runner")
            .enable_all()
            .build()
            .map_err(ModuleError::Runtime)?;
        Ok(Runner { runtime })
    }

    /// Calls `module` and waits for the result.
    pub fn call<M: Module + ?Sized>(
        &self,
        module: &M,
        inputs: Example,
        ctx: &CallContext,
    ) -> Result<Prediction, ModuleError> {
        self.runtime.block_on(module.call(inputs, ctx))
    }

    /// Runs any future to completion (for LM setup, streams, `Parallel`, ...).
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// The runtime's handle, to build LMs or servers that live on this runtime.
    pub fn handle(&self) -> &tokio::runtime::Handle {
        self.runtime.handle()
    }
}
