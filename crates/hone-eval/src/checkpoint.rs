//! Checkpoint files: an optimizer's state plus run metadata, written atomically.
//!
//! Format (JSON):
//!
//! ```json
//! {
//!   "format": "hone-checkpoint",
//!   "version": 1,
//!   "optimizer": "bootstrap_few_shot_with_random_search",
//!   "tells": 42,
//!   "lm_calls": 910,
//!   "metadata": { "...": "whatever the caller put in DriverConfig::metadata" },
//!   "state": { "optimizer": "bootstrap_few_shot_with_random_search", "...": "..." }
//! }
//! ```
//!
//! `state` is the optimizer's [`Optimizer::state`](hone_optimize::Optimizer::state),
//! self-contained (configuration, datasets, progress, pending jobs). A file is written to a
//! temporary sibling and renamed over the target, so a reader sees the old or the new
//! checkpoint, never half of one.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::DriverError;

/// The `format` value of a checkpoint file.
pub const CHECKPOINT_FORMAT: &str = "hone-checkpoint";

/// The checkpoint version this build writes and reads.
pub const CHECKPOINT_VERSION: u64 = 1;

/// A checkpoint's content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Always [`CHECKPOINT_FORMAT`].
    pub format: String,
    /// [`CHECKPOINT_VERSION`].
    pub version: u64,
    /// The optimizer's name (the registry key to restore it).
    pub optimizer: String,
    /// Results told so far (over every run of this optimizer, resumed ones included).
    pub tells: u64,
    /// LM calls reported by those results.
    pub lm_calls: u64,
    /// The caller's metadata (dataset names, model, git revision...).
    #[serde(default)]
    pub metadata: Value,
    /// The optimizer's state.
    pub state: Value,
}

impl Checkpoint {
    /// A checkpoint of `state`.
    pub fn new(optimizer: &str, tells: u64, lm_calls: u64, metadata: Value, state: Value) -> Self {
        Checkpoint {
            format: CHECKPOINT_FORMAT.into(),
            version: CHECKPOINT_VERSION,
            optimizer: optimizer.into(),
            tells,
            lm_calls,
            metadata,
            state,
        }
    }

    /// Reads and checks a checkpoint file.
    pub fn read(path: &Path) -> Result<Checkpoint, DriverError> {
        let err = |message: String| DriverError::CheckpointRead {
            path: path.to_owned(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        let checkpoint: Checkpoint =
            serde_json::from_str(&text).map_err(|e| err(format!("not a hone checkpoint ({e})")))?;
        if checkpoint.format != CHECKPOINT_FORMAT {
            return Err(err(format!(
                "`format` is {:?}, not {CHECKPOINT_FORMAT:?}",
                checkpoint.format
            )));
        }
        if checkpoint.version > CHECKPOINT_VERSION {
            return Err(err(format!(
                "version {} is newer than this build reads ({CHECKPOINT_VERSION}); upgrade hone",
                checkpoint.version
            )));
        }
        Ok(checkpoint)
    }
}

/// Writes `bytes` to `path` atomically: a temporary sibling, then a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), DriverError> {
    let tmp = temp_path(path);
    let err = |source| DriverError::CheckpointWrite {
        path: path.to_owned(),
        source,
    };
    std::fs::write(&tmp, bytes).map_err(err)?;
    std::fs::rename(&tmp, path).map_err(err)
}

fn temp_path(path: &Path) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| "checkpoint".into());
    name.push(".tmp");
    path.with_file_name(name)
}
