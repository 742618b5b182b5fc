//! The connection to Redis: a reconnecting connection manager plus bounded retries.
//!
//! [`Redis`] wraps the `redis` crate's [`ConnectionManager`], which reconnects in the
//! background after a dropped connection. A command that fails because the connection is down
//! (I/O error, timeout, refused connection, a server still loading its data) is retried with
//! exponential backoff until [`RetryPolicy::give_up_after`] has passed; any other error (a wrong
//! type, a missing consumer group) is returned at once. Blocking reads (`XREAD`/`XREADGROUP`
//! with `BLOCK`) get a connection of their own, so they never hold up other commands.

use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{ErrorKind, FromRedisValue, ServerErrorKind};

use crate::error::{Error, redact_url};
use crate::keys::Keys;

/// How long and how often to retry while Redis is unreachable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The first wait after a failure (doubled on each further failure).
    pub initial: Duration,
    /// The longest wait between attempts.
    pub max: Duration,
    /// Give up (with [`Error::Unavailable`]) once a command has failed for this long.
    pub give_up_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(5),
            give_up_after: Duration::from_secs(300),
        }
    }
}

/// How to connect.
#[derive(Debug, Clone)]
pub struct RedisOptions {
    /// The key layout (its prefix).
    pub keys: Keys,
    /// Retries while Redis is unreachable.
    pub retry: RetryPolicy,
    /// How long a (non-blocking) command may take before it counts as failed and is retried.
    pub response_timeout: Duration,
}

impl Default for RedisOptions {
    fn default() -> Self {
        RedisOptions {
            keys: Keys::default(),
            retry: RetryPolicy::default(),
            response_timeout: Duration::from_secs(10),
        }
    }
}

/// A connection to Redis for a coordinator or a worker. Cheap to clone (clones share the
/// connection); not shared between processes.
#[derive(Clone)]
pub struct Redis {
    client: redis::Client,
    url: String,
    conn: ConnectionManager,
    options: RedisOptions,
}

impl std::fmt::Debug for Redis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redis")
            .field("url", &self.url)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// Whether retrying can fix the error (the connection is down or the server is not ready).
pub(crate) fn is_transient(e: &redis::RedisError) -> bool {
    e.is_io_error()
        || e.is_timeout()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || matches!(
            e.kind(),
            ErrorKind::Server(
                ServerErrorKind::BusyLoading
                    | ServerErrorKind::TryAgain
                    | ServerErrorKind::MasterDown
                    | ServerErrorKind::ClusterDown
            )
        )
}

/// Whether the error is Redis' `NOGROUP` (the stream or its consumer group does not exist).
pub(crate) fn is_no_group(e: &Error) -> bool {
    matches!(e, Error::Command { source, .. } if matches!(source.code(), Some("NOGROUP" | "UNBLOCKED")))
}

impl Redis {
    /// Connects with default options, retrying while the server is unreachable.
    ///
    /// `url` is `redis://[user:password@]HOST:PORT[/DB]` or `unix:///PATH/redis.sock`.
    pub async fn connect(url: &str) -> Result<Redis, Error> {
        Redis::connect_with(url, RedisOptions::default()).await
    }

    /// Connects with `options`, retrying while the server is unreachable.
    pub async fn connect_with(url: &str, options: RedisOptions) -> Result<Redis, Error> {
        let shown = redact_url(url);
        let client = redis::Client::open(url).map_err(|source| Error::Url {
            url: shown.clone(),
            source,
        })?;
        let conn = connect_manager(&client, &shown, &options, options.response_timeout).await?;
        Ok(Redis {
            client,
            url: shown,
            conn,
            options,
        })
    }

    /// The key layout.
    pub fn keys(&self) -> &Keys {
        &self.options.keys
    }

    /// The options it was connected with.
    pub fn options(&self) -> &RedisOptions {
        &self.options
    }

    /// The URL, without credentials.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A separate connection for blocking reads of up to `block`.
    pub(crate) async fn blocking(&self, block: Duration) -> Result<Redis, Error> {
        let timeout = block + self.options.response_timeout;
        let conn = connect_manager(&self.client, &self.url, &self.options, timeout).await?;
        Ok(Redis {
            client: self.client.clone(),
            url: self.url.clone(),
            conn,
            options: self.options.clone(),
        })
    }

    /// Runs a command, retrying while the connection is down.
    pub(crate) async fn query<T: FromRedisValue>(
        &self,
        op: &'static str,
        key: &str,
        cmd: &redis::Cmd,
    ) -> Result<T, Error> {
        self.retrying(op, key, |mut conn| async move {
            cmd.query_async::<T>(&mut conn).await
        })
        .await
    }

    /// Runs a pipeline (atomically when built with `.atomic()`), retrying while the connection
    /// is down.
    pub(crate) async fn query_pipe<T: FromRedisValue>(
        &self,
        op: &'static str,
        key: &str,
        pipe: &redis::Pipeline,
    ) -> Result<T, Error> {
        self.retrying(op, key, |mut conn| async move {
            pipe.query_async::<T>(&mut conn).await
        })
        .await
    }

    /// Runs `run` on a connection, again with backoff while the failure is transient.
    async fn retrying<T, Fut>(
        &self,
        op: &'static str,
        key: &str,
        run: impl Fn(ConnectionManager) -> Fut,
    ) -> Result<T, Error>
    where
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        let mut backoff = Backoff::new(self.options.retry);
        loop {
            match run(self.conn.clone()).await {
                Ok(v) => return Ok(v),
                Err(e) if is_transient(&e) => {
                    if let Some(wait) = backoff.next_wait() {
                        tracing::warn!(op, key, error = %e, ?wait, "redis unreachable; retrying");
                        tokio::time::sleep(wait).await;
                    } else {
                        return Err(backoff.give_up(&self.url, op, key, e));
                    }
                }
                Err(source) => {
                    return Err(Error::Command {
                        op,
                        key: key.to_owned(),
                        source,
                    });
                }
            }
        }
    }
}

async fn connect_manager(
    client: &redis::Client,
    url: &str,
    options: &RedisOptions,
    response_timeout: Duration,
) -> Result<ConnectionManager, Error> {
    let config = ConnectionManagerConfig::new()
        .set_response_timeout(Some(response_timeout))
        .set_connection_timeout(Some(options.response_timeout))
        .set_max_delay(options.retry.max)
        .set_number_of_retries(6);
    let mut backoff = Backoff::new(options.retry);
    loop {
        match ConnectionManager::new_with_config(client.clone(), config.clone()).await {
            Ok(conn) => return Ok(conn),
            Err(e) if is_transient(&e) => match backoff.next_wait() {
                Some(wait) => {
                    tracing::warn!(url, error = %e, ?wait, "cannot connect to redis; retrying");
                    tokio::time::sleep(wait).await;
                }
                None => return Err(backoff.give_up(url, "CONNECT", "", e)),
            },
            Err(source) => {
                return Err(Error::Command {
                    op: "CONNECT",
                    key: String::new(),
                    source,
                });
            }
        }
    }
}

/// Exponential backoff bounded by a total time.
pub(crate) struct Backoff {
    policy: RetryPolicy,
    started: Instant,
    next: Duration,
    attempts: u32,
}

impl Backoff {
    pub(crate) fn new(policy: RetryPolicy) -> Self {
        Backoff {
            policy,
            started: Instant::now(),
            next: policy.initial,
            attempts: 0,
        }
    }

    /// The wait before the next attempt, or `None` once the policy's time is up.
    pub(crate) fn next_wait(&mut self) -> Option<Duration> {
        self.attempts += 1;
        if self.started.elapsed() >= self.policy.give_up_after {
            return None;
        }
        let wait = self.next;
        self.next = (self.next * 2).min(self.policy.max);
        Some(wait)
    }

    fn give_up(&self, url: &str, op: &'static str, key: &str, source: redis::RedisError) -> Error {
        Error::Unavailable {
            url: url.to_owned(),
            op,
            key: key.to_owned(),
            attempts: self.attempts,
            elapsed: self.started.elapsed(),
            source,
        }
    }
}
