//! The library behind the `hone` command: declarative programs in TOML ([`program`]),
//! datasets ([`dataset`]), optimization runs in a run directory ([`run`]) and the HTML report
//! ([`report`]). The binary parses arguments, prints and exits; everything else is here.
//!
//! Architecture invariant: nothing here draws on the terminal or exits the process; progress
//! goes to callbacks the binary supplies.

pub mod call_time;
pub mod dataset;
pub mod error;
pub mod jsonl;
pub mod optimizer;
pub mod program;
pub mod report;
pub mod run;
pub mod tools;

pub use error::{Error, FileError, Result};
