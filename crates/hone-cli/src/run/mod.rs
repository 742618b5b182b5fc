//! Running declarative programs: single predictions, evaluations, and optimization runs that
//! live in a run directory.
//!
//! # The run directory
//!
//! | file | what |
//! |---|---|
//! | `run.json` | the run record ([`RunRecord`]): status, optimizer, LMs, dataset, scores, trials with best-so-far, the optimizer's log, timing, usage and cost |
//! | `program.toml` | a copy of the program file |
//! | `checkpoint.json` | the optimizer's checkpoint (`hone resume RUN_DIR` continues from it) |
//! | `baseline.json` | the program's state before optimization |
//! | `program.json` | the best state found (with `program.toml`, a deployable program); for a call-time module (`knn_few_shot`, `ensemble`), the program it wraps, its settings in `run.json` |
//! | `results.jsonl` | per-example dev results of the baseline and the best program |
//! | `lock` | the pid of the process driving the run, while one does |
//!
//! `hone resume` trusts the directory, not the current files: it reads `program.toml`, uses the
//! LMs (model, base URL) `run.json` recorded unless `--lm`/`--base-url` name others, checks the
//! dataset against `dataset_sha256` and the checkpoint's optimizer against the run's.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use hone_core::state::ProgramState;
use hone_eval::driver::events::RunObserver;
use hone_eval::{CancellationToken, DriverProgress, Progress};
use hone_modules::Module;
use serde::{Deserialize, Serialize};

use crate::dataset::DataOverrides;
use crate::error::{Error, Result};
use crate::program::{LmOverrides, Pipeline};

mod clock;
mod drive;
mod events;
mod loaded;
mod lock;
mod record;
mod session;

pub use events::EventLines;
pub use loaded::Loaded;
pub use lock::RunLock;
pub use record::{LmRecord, RunRecord, ScoreRecord, TrialPoint, UsageTotals, trial_points};
pub use session::{Outcome, dataset_fingerprint, optimize, resume};

/// The run record's `format`.
pub const RUN_FORMAT: &str = "hone-run";

/// File names inside a run directory.
pub mod files {
    /// The run record.
    pub const RUN: &str = "run.json";
    /// The copy of the program file.
    pub const PROGRAM_TOML: &str = "program.toml";
    /// The optimizer checkpoint.
    pub const CHECKPOINT: &str = "checkpoint.json";
    /// The state before optimization.
    pub const BASELINE: &str = "baseline.json";
    /// The best state.
    pub const BEST: &str = "program.json";
    /// Per-example dev results.
    pub const RESULTS: &str = "results.jsonl";
}

/// Reads a program state file (hone's or DSPy's format) for `pipeline`.
pub fn read_state(path: &Path, pipeline: &Pipeline) -> Result<ProgramState> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io("read", path, e))?;
    ProgramState::from_json_str_with(&text, &pipeline.structure()).map_err(|e| {
        crate::FileError::new(path, format!("not a state of this program: {e}"))
            .hint("give the program.json written by `hone optimize` for this program file")
            .into()
    })
}

/// Options shared by the commands that call LMs.
#[derive(Clone, Default)]
pub struct Options {
    /// LM overrides (`--lm`, `--base-url`, `--no-cache`).
    pub lms: LmOverrides,
    /// Data overrides (`--dataset`, `--limit`).
    pub data: DataOverrides,
    /// A state file to start from (`--state`).
    pub state: Option<PathBuf>,
    /// Concurrency (`--concurrency`; default: the optimizer's, else 8).
    pub concurrency: Option<usize>,
    /// Stops the work; an optimization then writes its checkpoint.
    pub cancel: CancellationToken,
    /// Progress of evaluations.
    pub eval_progress: Option<Arc<dyn Progress>>,
    /// Progress of optimizations.
    pub run_progress: Option<Arc<dyn DriverProgress>>,
    /// Observes an optimization's [events](hone_eval::driver::events) (`--events`), beside
    /// what run.json takes from them.
    pub events: Option<Arc<dyn RunObserver>>,
    /// Run the optimization's jobs on `hone worker` processes through Redis (`--redis`).
    pub redis: Option<RedisTarget>,
    /// `--max-errors`: an evaluation stops once this many examples failed, an optimization
    /// once this many examples or jobs in a row failed (default [`DEFAULT_MAX_ERRORS`]).
    pub max_errors: Option<usize>,
    /// `--lease-secs`: how long a distributed run's coordinator lease lasts without renewal.
    pub lease: Option<std::time::Duration>,
}

/// DSPy's default `max_errors` (`dspy.settings.max_errors`).
pub const DEFAULT_MAX_ERRORS: usize = hone_optimize::DEFAULT_MAX_ERRORS;

impl Options {
    /// `max_errors`, or the default.
    pub fn max_errors(&self) -> usize {
        self.max_errors.unwrap_or(DEFAULT_MAX_ERRORS)
    }
}

/// Where a distributed run's jobs go: a Redis server and the run's id there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedisTarget {
    /// `redis://HOST:PORT[/DB]` or `unix:///PATH/redis.sock`.
    pub url: String,
    /// The run id (letters, digits, `-`, `_`, `.`); workers serve it by this name.
    pub run_id: String,
}

impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("lms", &self.lms)
            .field("data", &self.data)
            .field("state", &self.state)
            .field("concurrency", &self.concurrency)
            .field("redis", &self.redis)
            .field("max_errors", &self.max_errors)
            .finish_non_exhaustive()
    }
}
