//! Run ids and the Redis key layout.
//!
//! Every key starts with a prefix (`hone` unless [`Keys::with_prefix`] says otherwise):
//!
//! | key | type | what |
//! |---|---|---|
//! | `hone:runs` | set | run ids a coordinator is serving; workers started for "all runs" poll it |
//! | `hone:<run>:jobs` | stream | jobs of one run, one entry per job; consumer group `workers` |
//! | `hone:<run>:results` | stream | results of one run, read by its coordinator |
//! | `hone:<run>:dead` | stream | dead letters of one run: messages that could not be processed, with a reason |
//!
//! A run's keys are created by its coordinator (the jobs stream and its group first, then the
//! run is added to `hone:runs`) and removed by it when the run is done (the dead-letter stream is
//! kept for inspection). Workers never create a run's keys.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// The consumer group workers read a run's jobs stream through.
pub const WORKERS_GROUP: &str = "workers";

/// The default key prefix.
pub const DEFAULT_PREFIX: &str = "hone";

/// Identifies one optimization run; several runs share one Redis and one worker pool.
///
/// One to 64 characters from `A-Z a-z 0-9 . _ -`, so it can sit in a key between colons.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RunId(String);

impl RunId {
    /// Checks and wraps a run id.
    pub fn new(id: impl Into<String>) -> Result<RunId, Error> {
        let id = id.into();
        let ok = !id.is_empty()
            && id.len() <= 64
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if ok {
            Ok(RunId(id))
        } else {
            Err(Error::Config {
                message: format!(
                    "invalid run id {id:?}: use 1 to 64 characters from A-Z, a-z, 0-9, `.`, `_` and `-`"
                ),
            })
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for RunId {
    type Error = Error;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        RunId::new(value)
    }
}

impl From<RunId> for String {
    fn from(id: RunId) -> String {
        id.0
    }
}

impl std::str::FromStr for RunId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RunId::new(s)
    }
}

/// Builds the keys of the layout above.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys {
    prefix: String,
}

impl Default for Keys {
    fn default() -> Self {
        Keys {
            prefix: DEFAULT_PREFIX.to_owned(),
        }
    }
}

impl Keys {
    /// Keys under another prefix (to share one Redis between separate deployments or tests).
    pub fn with_prefix(prefix: impl Into<String>) -> Keys {
        Keys {
            prefix: prefix.into(),
        }
    }

    /// The prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The set of active run ids.
    pub fn runs(&self) -> String {
        format!("{}:runs", self.prefix)
    }

    /// A run's jobs stream.
    pub fn jobs(&self, run: &RunId) -> String {
        format!("{}:{run}:jobs", self.prefix)
    }

    /// A run's results stream.
    pub fn results(&self, run: &RunId) -> String {
        format!("{}:{run}:results", self.prefix)
    }

    /// A run's coordinator lease: the token of the coordinator driving the run, expiring
    /// unless renewed.
    pub fn coordinator(&self, run: &RunId) -> String {
        format!("{}:{run}:coordinator", self.prefix)
    }

    /// A run's dead-letter stream.
    pub fn dead(&self, run: &RunId) -> String {
        format!("{}:{run}:dead", self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_are_checked_and_keys_follow_the_layout() {
        let run = RunId::new("exp-1.a_b").expect("valid");
        let keys = Keys::default();
        assert_eq!(keys.jobs(&run), "hone:exp-1.a_b:jobs");
        assert_eq!(keys.results(&run), "hone:exp-1.a_b:results");
        assert_eq!(keys.dead(&run), "hone:exp-1.a_b:dead");
        assert_eq!(keys.runs(), "hone:runs");
        assert!(RunId::new("").is_err());
        assert!(RunId::new("a:b").is_err());
        assert!(RunId::new("x".repeat(65)).is_err());
    }
}
