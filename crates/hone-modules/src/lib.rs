//! DSPy's modules on a runtime the caller owns.
//!
//! A module is a plain value, an LM is a plain value, and a call is a plain async function call
//! taking the inputs and a small explicit [`CallContext`] (the LM, adapter, cache policy, trace
//! sink and callbacks). Nothing is read from global, thread-local or task-local state, so a
//! program runs unchanged in an axum handler, in tokio tasks, on plain threads through
//! [`blocking::Runner`], or inside any worker loop — with a different LM per call if you like.
//!
//! * [`Predict`], [`ChainOfThought`], [`ReAct`], [`BestOfN`], [`Refine`],
//!   [`MultiChainComparison`] behave as DSPy 3.4's modules of the same names: the same
//!   signatures built internally, the same prompts through the adapters, the same parameters
//!   and defaults.
//! * [`Parallel`] runs a batch of calls with bounded concurrency, results in input order.
//! * [`Module`] is the trait every module implements; user programs hold predictors and
//!   modules as fields and list them with [`predictors!`].
//! * [`TraceSink`] collects each predictor's inputs, outputs, LM and usage for one call.
//! * [`stream`] streams output fields as the LM writes them.
//!
//! ```no_run
//! use hone_core::Example;
//! use hone_lm::{HttpLm, LmHandle};
//! use hone_modules::{CallContext, ChainOfThought, Module, TraceSink};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let lm = LmHandle::new(HttpLm::from_env("gpt-4o-mini").build()?);
//! let qa = ChainOfThought::new("question -> answer: int")?;
//! let trace = TraceSink::new();
//! let ctx = CallContext::with_default_lm(lm).with_trace(trace.clone());
//! let out = qa.call(Example::new().with("question", "What is 17 + 25?"), &ctx).await?;
//! println!("{:?} after {} LM call(s)", out.get("answer"), trace.len());
//! # Ok(()) }
//! ```

pub mod best_of_n;
pub mod blocking;
pub mod chain_of_thought;
pub mod context;
pub mod error;
pub mod module;
pub mod multi_chain;
pub mod parallel;
pub mod predict;
pub mod react;
pub mod refine;
pub mod stream;
pub mod tool;
pub mod trace;

pub use best_of_n::{BestOfN, RewardFn};
pub use chain_of_thought::ChainOfThought;
pub use context::{CallContext, Callback, LmEvent, ModuleEvent, Sampling};
pub use error::ModuleError;
pub use module::{Module, prefixed};
pub use multi_chain::MultiChainComparison;
pub use parallel::{Parallel, ParallelOutput};
pub use predict::{IntoSignature, Predict, to_lm_message};
pub use react::{ReAct, ReActOutcome, StopReason, ToolMode};
pub use refine::Refine;
pub use stream::{EventStream, StreamEvent, streamify};
pub use tool::{FnTool, Tool, ToolError};
pub use trace::{TraceEntry, TraceSink};
