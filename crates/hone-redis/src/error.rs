//! Errors of the coordinator, the workers and the connection.

use std::path::PathBuf;
use std::time::Duration;

use hone_optimize::OptimizerError;

/// A failure of distributed optimization.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A setting cannot work.
    #[error("{message}")]
    Config {
        /// What is wrong and what to do.
        message: String,
    },
    /// The Redis URL cannot be used.
    #[error(
        "cannot use the Redis URL {url}: {source}. Use redis://HOST:PORT[/DB] or unix:///PATH/redis.sock"
    )]
    Url {
        /// The URL, without credentials.
        url: String,
        /// The client's error.
        #[source]
        source: redis::RedisError,
    },
    /// Redis stayed unreachable (or kept timing out) for longer than the retry policy allows.
    #[error(
        "Redis at {url} was unreachable for {elapsed:?} ({attempts} attempt(s)) during {op} on `{key}`: \
         {source}. Check that redis-server is running and reachable, or raise the retry policy's `give_up_after`"
    )]
    Unavailable {
        /// The URL, without credentials.
        url: String,
        /// The command.
        op: &'static str,
        /// The key it was for.
        key: String,
        /// Attempts made.
        attempts: u32,
        /// Time spent retrying.
        elapsed: Duration,
        /// The last error.
        #[source]
        source: redis::RedisError,
    },
    /// Redis answered a command with an error that retrying does not fix.
    #[error("Redis rejected {op} on `{key}`: {source}")]
    Command {
        /// The command.
        op: &'static str,
        /// The key it was for.
        key: String,
        /// Redis' answer.
        #[source]
        source: redis::RedisError,
    },
    /// The optimizer failed (a bad configuration, too many failed jobs...).
    #[error(transparent)]
    Optimizer(#[from] OptimizerError),
    /// A job of the run is for another program or metric than the worker's.
    #[error(
        "job {job} of run `{run}` must run with program and metric {wanted}, but this worker \
         serves {serves}: the worker's --program (or its metric) differs from the coordinator's. \
         Start the worker with the coordinator's program file; the job was left for a worker \
         that fits"
    )]
    WrongProgram {
        /// The run.
        run: String,
        /// The job's id.
        job: u64,
        /// The fingerprint the job carries.
        wanted: String,
        /// The worker's.
        serves: String,
    },
    /// Examples or jobs kept failing (see [`hone_eval::FailureWatch`]).
    #[error(transparent)]
    Failures(Box<hone_eval::DriverError>),
    /// A checkpoint could not be read or written.
    #[error("checkpoint {}: {message}", path.display())]
    Checkpoint {
        /// The file.
        path: PathBuf,
        /// What failed.
        message: String,
    },
    /// The optimizer is not done but has no job queued, none in Redis and none pending.
    #[error(
        "{optimizer} (run {run}) is not done but has no job to publish and none outstanding; \
         the run cannot continue (its state was checkpointed, if a checkpoint path is set)"
    )]
    Stalled {
        /// The run.
        run: String,
        /// The optimizer.
        optimizer: String,
    },
    /// Another coordinator holds the run's lease.
    #[error(
        "run `{run}` is driven by another coordinator ({holder}); after waiting {waited:?} it \
         still renews its lease. Stop that coordinator first, or give this run another id"
    )]
    RunTaken {
        /// The run.
        run: String,
        /// The other coordinator's lease token (process id and start time).
        holder: String,
        /// How long this coordinator waited for the lease.
        waited: Duration,
    },
    /// The coordinator's lease expired and another coordinator took the run over.
    #[error(
        "run `{run}`: this coordinator lost its lease to another one ({holder}); it stops so \
         that only one drives the run (its checkpoint is written)"
    )]
    LeaseLost {
        /// The run.
        run: String,
        /// Who holds the lease now, if anyone.
        holder: String,
    },
    /// A local redis-server could not be started.
    #[error("could not start redis-server ({binary}): {message}")]
    Server {
        /// The binary tried.
        binary: String,
        /// What failed and what to do.
        message: String,
    },
}

/// Strips credentials from a Redis URL for messages.
pub(crate) fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://***@{}", &url[..scheme], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn urls_lose_their_credentials() {
        assert_eq!(
            redact_url("redis://user:secret@host:6379/0"),
            "redis://***@host:6379/0"
        );
        assert_eq!(
            redact_url("redis://127.0.0.1:6379"),
            "redis://127.0.0.1:6379"
        );
    }
}
