//! An in-memory LRU store bounded by entries and bytes.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use super::{CacheKey, CacheStore};
use crate::error::LmError;
use crate::lm::BoxFuture;

/// An in-memory least-recently-used store. Clones share the same entries.
///
/// ```
/// use hone_lm::{CacheLayer, MemoryCache};
/// let cache = CacheLayer::new(MemoryCache::new(10_000).max_bytes(256 << 20));
/// ```
#[derive(Debug, Clone)]
pub struct MemoryCache {
    state: Arc<Mutex<Lru>>,
}

#[derive(Debug)]
struct Lru {
    entries: HashMap<CacheKey, (u64, Arc<Vec<u8>>)>,
    order: BTreeMap<u64, CacheKey>,
    tick: u64,
    bytes: usize,
    max_entries: usize,
    max_bytes: usize,
}

impl MemoryCache {
    /// Holds at most `max_entries` responses (at least 1), with no byte bound.
    pub fn new(max_entries: usize) -> Self {
        MemoryCache {
            state: Arc::new(Mutex::new(Lru {
                entries: HashMap::new(),
                order: BTreeMap::new(),
                tick: 0,
                bytes: 0,
                max_entries: max_entries.max(1),
                max_bytes: usize::MAX,
            })),
        }
    }

    /// Also bounds the total size of stored responses in bytes.
    pub fn max_bytes(self, max_bytes: usize) -> Self {
        self.with(|lru| {
            lru.max_bytes = max_bytes;
            lru.evict();
        });
        self
    }

    /// Number of stored responses.
    pub fn len(&self) -> usize {
        self.with(|lru| lru.entries.len())
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn with<T>(&self, f: impl FnOnce(&mut Lru) -> T) -> T {
        match self.state.lock() {
            Ok(mut guard) => f(&mut guard),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }
}

impl Lru {
    fn touch(&mut self, key: &CacheKey) -> Option<Arc<Vec<u8>>> {
        self.tick += 1;
        let tick = self.tick;
        let (used, value) = self.entries.get_mut(key)?;
        self.order.remove(used);
        *used = tick;
        self.order.insert(tick, key.clone());
        Some(value.clone())
    }

    fn insert(&mut self, key: CacheKey, value: Vec<u8>) {
        self.tick += 1;
        let size = value.len();
        if let Some((used, old)) = self.entries.remove(&key) {
            self.order.remove(&used);
            self.bytes -= old.len();
        }
        self.bytes += size;
        self.order.insert(self.tick, key.clone());
        self.entries.insert(key, (self.tick, Arc::new(value)));
        self.evict();
    }

    fn evict(&mut self) {
        while self.entries.len() > self.max_entries || self.bytes > self.max_bytes {
            let Some((_, key)) = self.order.pop_first() else {
                break;
            };
            if let Some((_, value)) = self.entries.remove(&key) {
                self.bytes -= value.len();
            }
        }
    }
}

impl CacheStore for MemoryCache {
    fn get<'a>(&'a self, key: &'a CacheKey) -> BoxFuture<'a, Result<Option<Vec<u8>>, LmError>> {
        let value = self.with(|lru| lru.touch(key));
        Box::pin(async move { Ok(value.map(|v| v.as_ref().clone())) })
    }

    fn put<'a>(&'a self, key: &'a CacheKey, value: Vec<u8>) -> BoxFuture<'a, Result<(), LmError>> {
        self.with(|lru| lru.insert(key.clone(), value));
        Box::pin(async { Ok(()) })
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

    #[tokio::test]
    async fn evicts_least_recently_used() {
        let cache = MemoryCache::new(2);
        cache.put(&key(1), b"one".to_vec()).await.unwrap();
        cache.put(&key(2), b"two".to_vec()).await.unwrap();
        assert!(cache.get(&key(1)).await.unwrap().is_some());
        cache.put(&key(3), b"three".to_vec()).await.unwrap();
        assert!(cache.get(&key(2)).await.unwrap().is_none());
        assert_eq!(
            cache.get(&key(1)).await.unwrap().as_deref(),
            Some(&b"one"[..])
        );
        assert_eq!(cache.len(), 2);
    }

    #[tokio::test]
    async fn byte_bound() {
        let cache = MemoryCache::new(100).max_bytes(10);
        cache.put(&key(1), vec![0; 6]).await.unwrap();
        cache.put(&key(2), vec![0; 6]).await.unwrap();
        assert_eq!(cache.len(), 1);
        cache.put(&key(2), vec![0; 4]).await.unwrap();
        cache.put(&key(3), vec![0; 6]).await.unwrap();
        assert_eq!(cache.len(), 2);
    }
}
