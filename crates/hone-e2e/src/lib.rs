//! Helpers for hone's end-to-end tests against a real local LM.
//!
//! The tests in `tests/` run only when [`URL_ENV`] names an OpenAI-compatible server, such as
//! the llama.cpp server that `scripts/local-lm start` runs on 127.0.0.1; without it they print
//! [`SKIP_MESSAGE`] and pass. `scripts/test` starts that server and sets the variable.
//!
//! This crate is not published and has no API beyond these helpers:
//!
//! * [`RealLm`]: the LM handle built from the environment, with temperature 0;
//! * [`task`]: the small real tasks shipped in `testdata/tasks/`;
//! * [`call`]: one adapter call (format → chat → parse) with its raw completion and latency.

pub mod call;
pub mod lm;
pub mod task;

pub use call::{AdapterCall, CallError, adapter_request, call_adapter, lm_messages};
pub use lm::{MODEL_ENV, RealLm, SKIP_MESSAGE, URL_ENV};
pub use task::{TaskError, sentiment};
