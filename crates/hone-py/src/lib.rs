//! `hone._hone`, the native core of hone's Python package: LMs, signatures, modules, call
//! contexts and evaluation over hone's Rust crates. The Python layer (`python/hone`) gives it
//! DSPy's names and shapes; this crate holds no second implementation of any of them.
//!
//! Calls never block the interpreter: each one runs on hone's runtime and hands Python a
//! [`Pending`](pending::Pending) whose file descriptor becomes readable when it is done, so the
//! caller waits the way its concurrency model wants (a thread in `select` with the GIL
//! released, a greenlet through gevent's hub, an asyncio task through its loop).

pub mod bridge;
pub mod call_time;
pub mod convert;
pub mod ctx;
pub mod error;
pub mod evaluate;
pub mod export;
pub mod lm;
pub mod log;
pub mod module;
pub mod optimize;
pub mod pending;
pub mod program;
pub mod runtime;
pub mod signature;

use pyo3::prelude::*;

/// The `hone._hone` extension module.
#[pymodule]
fn _hone(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<lm::PyLm>()?;
    m.add_class::<ctx::PyCtx>()?;
    m.add_class::<module::PyNative>()?;
    m.add_class::<pending::Pending>()?;
    m.add_class::<optimize::PyRun>()?;
    m.add_class::<optimize::PyExecutor>()?;
    m.add_function(wrap_pyfunction!(optimize::start, m)?)?;
    m.add_function(wrap_pyfunction!(optimize::restore, m)?)?;
    m.add_function(wrap_pyfunction!(optimize::optimizer_kinds, m)?)?;
    m.add_function(wrap_pyfunction!(optimize::check_params, m)?)?;
    m.add_function(wrap_pyfunction!(signature::parse_signature, m)?)?;
    m.add_function(wrap_pyfunction!(evaluate::evaluate, m)?)?;
    m.add_function(wrap_pyfunction!(program::dump_program, m)?)?;
    m.add_function(wrap_pyfunction!(program::load_program, m)?)?;
    m.add_function(wrap_pyfunction!(program::parallel, m)?)?;
    m.add_function(wrap_pyfunction!(log::set_log_level, m)?)?;
    m.add_function(wrap_pyfunction!(runtime::shutdown, m)?)?;
    m.add_function(wrap_pyfunction!(export::export_program, m)?)?;
    m.add_function(wrap_pyfunction!(export::diff_program, m)?)?;
    m.add_function(wrap_pyfunction!(call_time::knn_embedding_text, m)?)?;
    m.add_function(wrap_pyfunction!(call_time::knn_top_k, m)?)?;
    m.add_function(wrap_pyfunction!(call_time::majority, m)?)?;
    m.add_function(wrap_pyfunction!(call_time::ensemble_subset, m)?)?;
    error::register(m)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
