//! The subcommands.

pub mod common;
pub mod conformance;
pub mod diff;
pub mod eval;
pub mod export;
pub mod import;
pub mod optimize;
pub mod parse;
pub mod predict;
pub mod program;
mod program_file;
pub mod report;
pub mod sim;
pub mod worker;
