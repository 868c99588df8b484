//! An LRU cache of recently read artifacts, bounded in bytes, so hot reads
//! skip the disk, the decryption and the hash check.

use std::sync::{Arc, Mutex};

use lru::LruCache;

/// Recently read content by id.
pub(crate) struct ReadCache {
    inner: Mutex<Inner>,
    /// The most bytes held.
    budget: usize,
    /// Larger artifacts are not cached: one would push out many hot ones.
    max_item: usize,
}

struct Inner {
    entries: LruCache<String, Arc<[u8]>>,
    bytes: usize,
}

impl ReadCache {
    /// A cache holding at most `budget` bytes, none of them from an
    /// artifact larger than a sixteenth of it.
    pub(crate) fn new(budget: usize) -> ReadCache {
        ReadCache {
            inner: Mutex::new(Inner {
                entries: LruCache::unbounded(),
                bytes: 0,
            }),
            budget,
            max_item: budget / 16,
        }
    }

    /// The cached content of `id`, marking it recently used.
    pub(crate) fn get(&self, id: &str) -> Option<Arc<[u8]>> {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.entries.get(id).cloned()
    }

    /// Caches `content` as `id`'s, evicting the least recently used entries
    /// to stay within the budget.
    pub(crate) fn insert(&self, id: &str, content: Arc<[u8]>) {
        if content.len() > self.max_item || self.budget == 0 {
            return;
        }
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(old) = inner.entries.put(id.to_string(), content.clone()) {
            inner.bytes -= old.len();
        }
        inner.bytes += content.len();
        while inner.bytes > self.budget {
            match inner.entries.pop_lru() {
                Some((_, evicted)) => inner.bytes -= evicted.len(),
                None => break,
            }
        }
    }

    /// Drops `id` (its content moved or went away).
    pub(crate) fn remove(&self, id: &str) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(old) = inner.entries.pop(id) {
            inner.bytes -= old.len();
        }
    }

    /// Entries and bytes held.
    #[cfg(test)]
    pub(crate) fn usage(&self) -> (usize, usize) {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        (inner.entries.len(), inner.bytes)
    }
}

#[cfg(test)]
mod tests;
