//! Settings of `Ensemble`: several programs answer each call and a majority vote picks one
//! answer (DSPy's `dspy.Ensemble(reduce_fn=dspy.majority, size=...)`). The module itself runs
//! programs, so it lives with the executors (`hone_eval::Ensemble`); this crate only holds what
//! a program file or a Python call chooses.

use serde::{Deserialize, Serialize};

/// What an ensemble is made of and how it votes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EnsembleConfig {
    /// The saved programs (hone or DSPy JSON, e.g. earlier runs' `best.json`) that vote, as
    /// paths; a program file resolves them relative to itself. Empty: the program as it is,
    /// once.
    pub programs: Vec<String>,
    /// Programs that answer each call (DSPy's `size`); all of them when `None`.
    pub size: Option<usize>,
    /// Seed of the subset choice with `size`, mixed with the call's inputs (default 0).
    pub seed: u64,
    /// The output field the majority vote compares; the last output field when `None`.
    pub field: Option<String>,
}
