//! The subcommands.

pub mod conformance;
