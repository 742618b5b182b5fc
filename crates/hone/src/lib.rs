//! hone: program language models the DSPy way — signatures, modules, prompt optimizers and
//! evaluation — on a runtime you own. There is no global state: an LM is a value passed to a
//! call, a module or a predictor; optimizers are sans-IO state machines your executor drives.
//!
//! This crate is the one dependency a Rust program needs. It re-exports hone's library crates
//! behind features, each usable alone as well:
//!
//! | module | crate | feature | what it holds |
//! |---|---|---|---|
//! | [`core`] | `hone-core` | always | signatures, field types, examples, adapters, program state |
//! | `lm` | `hone-lm` | `lm` (default) | the LM client and its layers |
//! | `modules` | `hone-modules` | `modules` (default) | `Predict`, `ChainOfThought`, `ReAct`, ... |
//! | `optimize` | `hone-optimize` | `optimize` (default) | the optimizers and their catalogue |
//! | `eval` | `hone-eval` | `eval` (default) | metrics, `Evaluate`, the optimizer driver |
//! | `export` | `hone-export` | `export` (default) | OpenAI, Jinja2, Markdown and DSPy exports |
//! | `redis` | `hone-redis` | `redis` | distributed optimization over Redis Streams |
//!
//! [`prelude`] brings the names most programs use.
//!
//! ```
//! use hone::prelude::*;
//!
//! let sig = Signature::parse("context: list[str], question -> answer")?;
//! let inputs = Example::new()
//!     .with("context", serde_json::json!(["Paris is the capital of France."]))
//!     .with("question", "What is the capital of France?");
//! let messages = ChatAdapter::default().format(&sig, &[], &inputs)?;
//! assert_eq!(messages.len(), 2);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! With the derive macros (the `derive` feature), name this crate's core in the attribute:
//! `#[derive(hone::core::Signature)] #[hone(crate = "::hone::core")]`.

pub use hone_core as core;
pub use hone_core::{Example, Prediction, Signature};

#[cfg(feature = "lm")]
pub use hone_lm as lm;

#[cfg(feature = "modules")]
pub use hone_modules as modules;

#[cfg(feature = "optimize")]
pub use hone_optimize as optimize;

#[cfg(feature = "eval")]
pub use hone_eval as eval;

#[cfg(feature = "export")]
pub use hone_export as export;

#[cfg(feature = "redis")]
pub use hone_redis as redis;

/// The names most programs use: `use hone::prelude::*;`.
pub mod prelude {
    pub use hone_core::adapter::{Adapter, ChatAdapter, JsonAdapter, XmlAdapter};
    pub use hone_core::{Example, FieldType, Prediction, ProgramState, Signature};

    #[cfg(feature = "lm")]
    pub use hone_lm::{HttpLm, Lm, LmBuilder, LmError, LmHandle, MemoryCache, UsageTracker};

    #[cfg(feature = "modules")]
    pub use hone_modules::{
        BestOfN, CallContext, ChainOfThought, Module, ModuleError, MultiChainComparison, Parallel,
        Predict, ReAct, Refine, Sampling, Tool,
    };

    #[cfg(feature = "optimize")]
    pub use hone_optimize::{
        BootstrapFewShot, BootstrapFewShotWithRandomSearch, Catalogue, Copro, Gepa, LabeledFewShot,
        MiproV2, Optimizer, Simba,
    };

    #[cfg(feature = "eval")]
    pub use hone_eval::{
        DriverConfig, Evaluate, EvaluationResult, InProcessExecutor, run_optimizer,
    };
}
