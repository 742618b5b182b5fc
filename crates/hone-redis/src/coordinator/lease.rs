//! The run's lease: one coordinator drives a run at a time.

use std::time::{Duration, Instant};

use super::CoordinatorConfig;
use crate::conn::Redis;
use crate::error::Error;

/// The run's lease, held while a coordinator drives it.
pub(super) struct Lease {
    pub(super) key: String,
    run: String,
    token: String,
    ttl: Duration,
    renewed: Instant,
}

/// Extends the lease only while it still holds our token.
const RENEW: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then \
    return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end";
/// Deletes the lease only while it still holds our token.
const RELEASE: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then \
    return redis.call('DEL', KEYS[1]) else return 0 end";

impl Lease {
    /// Takes the run's lease, waiting up to one lease time for another holder's to expire.
    pub(super) async fn acquire(redis: &Redis, config: &CoordinatorConfig) -> Result<Lease, Error> {
        let ttl = config.lease.max(Duration::from_millis(100));
        let key = redis.keys().coordinator(&config.run);
        let token = format!("pid {} epoch {}", std::process::id(), new_epoch());
        let started = Instant::now();
        let deadline = started + ttl + Duration::from_millis(500);
        let mut announced = false;
        loop {
            let mut set = redis::cmd("SET");
            set.arg(&key)
                .arg(&token)
                .arg("NX")
                .arg("PX")
                .arg(ttl.as_millis() as u64);
            let taken: Option<String> = redis.query("SET", &key, &set).await?;
            if taken.is_some() {
                return Ok(Lease {
                    key,
                    run: config.run.to_string(),
                    token,
                    ttl,
                    renewed: Instant::now(),
                });
            }
            let mut get = redis::cmd("GET");
            get.arg(&key);
            let holder: Option<String> = redis.query("GET", &key, &get).await?;
            if Instant::now() >= deadline {
                return Err(Error::RunTaken {
                    run: config.run.to_string(),
                    holder: holder.unwrap_or_else(|| "unknown".into()),
                    waited: started.elapsed(),
                });
            }
            if !announced {
                announced = true;
                tracing::info!(
                    run = %config.run,
                    holder = holder.as_deref().unwrap_or("unknown"),
                    "another coordinator holds the run's lease; waiting for it to expire"
                );
            }
            tokio::time::sleep(Duration::from_millis(100).min(ttl / 4)).await;
        }
    }

    pub(super) fn renew_every(&self) -> Duration {
        self.ttl / 3
    }

    /// Renews the lease when a third of it has passed; fails if another coordinator has it.
    pub(super) async fn renew_if_due(&mut self, redis: &Redis) -> Result<(), Error> {
        if self.renewed.elapsed() < self.renew_every() {
            return Ok(());
        }
        let mut eval = redis::cmd("EVAL");
        eval.arg(RENEW)
            .arg(1)
            .arg(&self.key)
            .arg(&self.token)
            .arg(self.ttl.as_millis() as u64);
        let renewed: i64 = redis.query("EVAL", &self.key, &eval).await?;
        if renewed == 1 {
            self.renewed = Instant::now();
            return Ok(());
        }
        // The lease expired (Redis or this process stalled longer than the lease) and nobody
        // took it: take it again and go on, rather than stop a run no one else drives.
        let mut set = redis::cmd("SET");
        set.arg(&self.key)
            .arg(&self.token)
            .arg("NX")
            .arg("PX")
            .arg(self.ttl.as_millis() as u64);
        let taken: Option<String> = redis.query("SET", &self.key, &set).await?;
        if taken.is_some() {
            tracing::info!(run = %self.run, "the run's lease had expired; took it again");
            self.renewed = Instant::now();
            return Ok(());
        }
        let mut get = redis::cmd("GET");
        get.arg(&self.key);
        let holder: Option<String> = redis.query("GET", &self.key, &get).await?;
        Err(Error::LeaseLost {
            run: self.run.clone(),
            holder: holder.unwrap_or_else(|| "nobody".into()),
        })
    }

    /// Gives the lease up (if it is still ours).
    pub(super) async fn release(&self, redis: &Redis) -> Result<(), Error> {
        let mut eval = redis::cmd("EVAL");
        eval.arg(RELEASE).arg(1).arg(&self.key).arg(&self.token);
        let _: i64 = redis.query("EVAL", &self.key, &eval).await?;
        Ok(())
    }
}

pub(super) fn new_epoch() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    // 53 bits, so JSON readers with f64 numbers keep it exact.
    ((nanos as u64) ^ (u64::from(std::process::id()) << 20)) & ((1u64 << 53) - 1)
}
