//! An on-disk store in SQLite, shared safely by many tasks and processes.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::{CacheKey, CacheStore};
use crate::error::LmError;
use crate::lm::BoxFuture;

/// A SQLite store bounded in bytes, evicting least-recently-used rows.
///
/// The database runs in WAL mode with a busy timeout, so many tasks and many processes can
/// read and write one file at once. Rows hold only the key (a hash) and the response JSON.
///
/// ```no_run
/// use hone_lm::{CacheLayer, SqliteCache};
/// let store = SqliteCache::open("lm-cache.sqlite", 1 << 30)?;
/// let layer = CacheLayer::new(store);
/// # Ok::<(), hone_lm::LmError>(())
/// ```
#[derive(Debug, Clone)]
pub struct SqliteCache {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    path: PathBuf,
    max_bytes: u64,
    conn: Mutex<Connection>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS hone_lm_cache (
    key TEXT PRIMARY KEY NOT NULL,
    value BLOB NOT NULL,
    size INTEGER NOT NULL,
    last_used INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS hone_lm_cache_last_used ON hone_lm_cache (last_used);
";

fn now_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}

impl SqliteCache {
    /// Opens (creating if needed) the database at `path`, keeping at most `max_bytes` of
    /// responses.
    pub fn open(path: impl AsRef<Path>, max_bytes: u64) -> Result<Self, LmError> {
        let path = path.as_ref().to_path_buf();
        let fail = |what: &str, e: rusqlite::Error| {
            LmError::Cache(format!(
                "{what} {}: {e}; check the path is writable and not on a network drive",
                path.display()
            ))
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                LmError::Cache(format!("cannot create directory {}: {e}", dir.display()))
            })?;
        }
        let conn = Connection::open(&path).map_err(|e| fail("cannot open", e))?;
        conn.busy_timeout(Duration::from_secs(30))
            .map_err(|e| fail("cannot configure", e))?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(|e| fail("cannot enable WAL on", e))?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(|e| fail("cannot configure", e))?;
        conn.execute_batch(SCHEMA)
            .map_err(|e| fail("cannot create the cache table in", e))?;
        Ok(SqliteCache {
            inner: Arc::new(Inner {
                path,
                max_bytes,
                conn: Mutex::new(conn),
            }),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Number of stored responses and their total size in bytes.
    pub async fn stats(&self) -> Result<(u64, u64), LmError> {
        self.blocking(|conn| {
            conn.query_row(
                "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM hone_lm_cache",
                [],
                |row| Ok((row.get::<_, i64>(0)? as u64, row.get::<_, i64>(1)? as u64)),
            )
        })
        .await
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, LmError> {
        let inner = self.inner.clone();
        let joined = tokio::task::spawn_blocking(move || {
            let mut conn = match inner.conn.lock() {
                Ok(guard) => guard,
                Err(poisoned) => poisoned.into_inner(),
            };
            f(&mut conn)
                .map_err(|e| LmError::Cache(format!("SQLite cache {}: {e}", inner.path.display())))
        })
        .await;
        match joined {
            Ok(result) => result,
            Err(e) => Err(LmError::Cache(format!("SQLite cache task failed: {e}"))),
        }
    }
}

impl CacheStore for SqliteCache {
    fn get<'a>(&'a self, key: &'a CacheKey) -> BoxFuture<'a, Result<Option<Vec<u8>>, LmError>> {
        let key = key.as_str().to_owned();
        Box::pin(self.blocking(move |conn| {
            conn.query_row(
                "UPDATE hone_lm_cache SET last_used = ?1 WHERE key = ?2 RETURNING value",
                params![now_micros(), key],
                |row| row.get::<_, Vec<u8>>(0),
            )
            .optional()
        }))
    }

    fn put<'a>(&'a self, key: &'a CacheKey, value: Vec<u8>) -> BoxFuture<'a, Result<(), LmError>> {
        let key = key.as_str().to_owned();
        let max_bytes = self.inner.max_bytes.min(i64::MAX as u64) as i64;
        Box::pin(self.blocking(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute(
                "INSERT INTO hone_lm_cache (key, value, size, last_used) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value, size = excluded.size,
                 last_used = excluded.last_used",
                params![key, value, value.len() as i64, now_micros()],
            )?;
            let total: i64 = tx.query_row(
                "SELECT COALESCE(SUM(size), 0) FROM hone_lm_cache",
                [],
                |row| row.get(0),
            )?;
            if total > max_bytes {
                tx.execute(
                    "DELETE FROM hone_lm_cache WHERE key IN (
                        SELECT key FROM (
                            SELECT key, SUM(size) OVER (ORDER BY last_used DESC, key) AS running
                            FROM hone_lm_cache)
                        WHERE running > ?1)",
                    params![max_bytes],
                )?;
            }
            tx.commit()
        }))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::types::message::Message;
    use crate::types::request::ChatRequest;

    fn key(n: u32) -> CacheKey {
        CacheKey::chat("u", &ChatRequest::new(vec![Message::user(n.to_string())]))
    }

    fn temp_db(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "hone-lm-unit-{name}-{}-{}",
            std::process::id(),
            now_micros()
        ));
        dir.join("cache.sqlite")
    }

    #[tokio::test]
    async fn round_trip_and_lru_eviction_by_bytes() {
        let path = temp_db("lru");
        let cache = SqliteCache::open(&path, 25).unwrap();
        cache.put(&key(1), vec![1; 10]).await.unwrap();
        tokio::time::sleep(Duration::from_millis(2)).await;
        cache.put(&key(2), vec![2; 10]).await.unwrap();
        tokio::time::sleep(Duration::from_millis(2)).await;
        assert_eq!(cache.get(&key(1)).await.unwrap(), Some(vec![1; 10]));
        tokio::time::sleep(Duration::from_millis(2)).await;
        cache.put(&key(3), vec![3; 10]).await.unwrap();
        assert_eq!(
            cache.get(&key(2)).await.unwrap(),
            None,
            "2 was least recently used"
        );
        assert!(cache.get(&key(1)).await.unwrap().is_some());
        assert!(cache.get(&key(3)).await.unwrap().is_some());
        assert_eq!(cache.stats().await.unwrap(), (2, 20));
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[test]
    fn open_fails_with_the_path_in_the_message() {
        let err = SqliteCache::open("/proc/definitely/not/here.sqlite", 1).unwrap_err();
        assert!(err.to_string().contains("/proc/definitely/not"), "{err}");
    }
}
