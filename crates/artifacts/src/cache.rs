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
mod tests {
    use super::*;

    fn bytes(n: usize) -> Arc<[u8]> {
        vec![0; n].into()
    }

    #[test]
    fn eviction_drops_the_least_recently_used_to_stay_within_the_budget() {
        let cache = ReadCache::new(1600);
        cache.insert("a", bytes(100));
        cache.insert("b", bytes(100));
        assert!(cache.get("a").is_some()); // a is now the most recent
        for i in 0..14 {
            cache.insert(&format!("x{i}"), bytes(100));
        }
        assert_eq!(cache.usage(), (16, 1600));
        cache.insert("c", bytes(100));
        assert!(cache.get("b").is_none(), "b was least recently used");
        assert!(cache.get("a").is_some());
        assert_eq!(cache.usage(), (16, 1600));
    }

    #[test]
    fn large_items_are_not_cached_and_replacing_keeps_the_byte_count() {
        let cache = ReadCache::new(1600);
        cache.insert("big", bytes(101));
        assert!(cache.get("big").is_none());
        cache.insert("a", bytes(50));
        cache.insert("a", bytes(80));
        assert_eq!(cache.usage(), (1, 80));
        cache.remove("a");
        assert_eq!(cache.usage(), (0, 0));
    }
}
