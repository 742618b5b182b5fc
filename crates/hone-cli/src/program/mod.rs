//! Declarative programs: a TOML file of LMs, stages, a metric, a dataset and an optimizer,
//! read into a [`Program`] and built into a runnable [`Pipeline`].
//!
//! ```toml
//! [lm.task]
//! model = "gpt-4o-mini"
//!
//! [[program.stages]]
//! name = "answer"
//! module = "chain_of_thought"
//! signature = "question -> answer: int"
//!
//! [metric]
//! kind = "exact_match"
//! field = "answer"
//! ```

mod checks;
pub mod lms;
pub mod load;
pub mod metric;
pub mod pipeline;
pub mod signature;
pub mod skeleton;
pub mod spec;
pub mod toml_error;

pub use lms::{LmOverrides, Lms, build_lms};
pub use load::{Program, Source, Stage};
pub use metric::{CommandMetric, build_metric};
pub use pipeline::Pipeline;
pub use skeleton::skeleton_toml;
