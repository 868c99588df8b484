//! The set of Hot instances: least recently used first out, bounded by a
//! count and by a memory budget.

use std::borrow::Borrow;
use std::hash::Hash;
use std::num::NonZeroUsize;

use lru::LruCache;
use serde::Serialize;

/// A refused [`HotSet::insert`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HotSetError {
    /// The entry alone is larger than the whole memory budget.
    #[error("an entry of {bytes} bytes cannot fit the hot set's memory budget of {budget} bytes")]
    TooLarge {
        /// The entry's size.
        bytes: usize,
        /// The hot set's budget.
        budget: usize,
    },
    /// Room could only be made by evicting entries the caller spares.
    #[error("no room without evicting {spared} spared entries")]
    Spared {
        /// Entries that would have had to go.
        spared: usize,
    },
}

/// A snapshot of a [`HotSet`]'s occupancy and counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct HotSetStats {
    /// Entries held.
    pub len: usize,
    /// The most entries it may hold.
    pub max_count: usize,
    /// Bytes held by its entries.
    pub used_bytes: usize,
    /// The most bytes its entries may hold.
    pub budget_bytes: usize,
    /// Lookups ([`HotSet::touch`]) that found their entry.
    pub hits: u64,
    /// Lookups that did not.
    pub misses: u64,
    /// Entries evicted to make room.
    pub evictions: u64,
}

impl HotSetStats {
    /// All lookups: hits plus misses.
    pub fn lookups(&self) -> u64 {
        self.hits + self.misses
    }

    /// Hits per lookup, 0 to 1; 0 before the first lookup.
    pub fn hit_rate(&self) -> f64 {
        match self.lookups() {
            0 => 0.0,
            lookups => self.hits as f64 / lookups as f64,
        }
    }
}

/// Hot entries in least-recently-used order, never more than `max_count`
/// of them and never more than `budget` bytes in all.
///
/// [`insert`](Self::insert) evicts the least recently used entries until
/// the new one fits and hands them back for the caller to cool;
/// [`touch`](Self::touch) is a lookup that marks a hit as most recently
/// used and allocates nothing.
pub struct HotSet<K> {
    entries: LruCache<K, usize, foldhash::fast::RandomState>,
    max_count: NonZeroUsize,
    budget: usize,
    used: usize,
    hits: u64,
    misses: u64,
    evictions: u64,
}

impl<K: Hash + Eq> HotSet<K> {
    /// An empty set holding at most `max_count` entries of at most
    /// `budget` bytes in all.
    pub fn new(max_count: NonZeroUsize, budget: usize) -> Self {
        Self {
            entries: LruCache::unbounded_with_hasher(Default::default()),
            max_count,
            budget,
            used: 0,
            hits: 0,
            misses: 0,
            evictions: 0,
        }
    }

    /// Adds a new `key` of `bytes` like [`insert`](Self::insert), but
    /// evicts only entries `spare` does not protect, least recently used
    /// first; when those cannot make room the set is left unchanged and
    /// [`HotSetError::Spared`] says how many protected entries stood in the
    /// way. (An existing `key` is updated as by `insert`.)
    pub fn insert_sparing(
        &mut self,
        key: K,
        bytes: usize,
        spare: impl Fn(&K) -> bool,
    ) -> Result<Vec<(K, usize)>, HotSetError>
    where
        K: Clone,
    {
        if bytes > self.budget {
            return Err(HotSetError::TooLarge {
                bytes,
                budget: self.budget,
            });
        }
        if self.entries.contains(&key) {
            return self.insert(key, bytes);
        }
        let fits =
            |len: usize, used: usize| len < self.max_count.get() && used + bytes <= self.budget;
        let (mut len, mut used) = (self.entries.len(), self.used);
        let mut victims = Vec::new();
        let mut spared = 0;
        for (k, size) in self.entries.iter().rev() {
            if fits(len, used) {
                break;
            }
            if spare(k) {
                spared += 1;
                continue;
            }
            victims.push(k.clone());
            len -= 1;
            used -= size;
        }
        if !fits(len, used) {
            return Err(HotSetError::Spared { spared });
        }
        let mut evicted = Vec::with_capacity(victims.len());
        for victim in victims {
            if let Some(size) = self.entries.pop(&victim) {
                self.used -= size;
                self.evictions += 1;
                evicted.push((victim, size));
            }
        }
        self.used += bytes;
        self.entries.put(key, bytes);
        Ok(evicted)
    }

    /// Adds `key` of `bytes` as the most recently used entry (or updates
    /// its size and recency if present), evicting least recently used
    /// entries until both limits hold. Returns the evicted entries, least
    /// recent first, for the caller to cool; `key` itself is never among
    /// them. An entry larger than the whole budget is refused and the set
    /// is left unchanged.
    pub fn insert(&mut self, key: K, bytes: usize) -> Result<Vec<(K, usize)>, HotSetError> {
        if bytes > self.budget {
            return Err(HotSetError::TooLarge {
                bytes,
                budget: self.budget,
            });
        }
        let mut evicted = Vec::new();
        if let Some(size) = self.entries.get_mut(&key) {
            // Now the most recent entry: eviction reaches it only after
            // every other, and it fits alone.
            self.used = self.used - *size + bytes;
            *size = bytes;
        } else {
            while self.entries.len() >= self.max_count.get() || self.used + bytes > self.budget {
                let Some(entry) = self.evict_one() else { break };
                evicted.push(entry);
            }
            self.used += bytes;
            self.entries.put(key, bytes);
        }
        while self.used > self.budget {
            let Some(entry) = self.evict_one() else { break };
            evicted.push(entry);
        }
        Ok(evicted)
    }

    fn evict_one(&mut self) -> Option<(K, usize)> {
        let (key, bytes) = self.entries.pop_lru()?;
        self.used -= bytes;
        self.evictions += 1;
        Some((key, bytes))
    }

    /// Looks `key` up: on a hit marks it most recently used and returns
    /// `true`; on a miss returns `false`. Counts the hit or miss.
    pub fn touch<Q>(&mut self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hit = self.entries.promote(key);
        if hit {
            self.hits += 1;
        } else {
            self.misses += 1;
        }
        hit
    }

    /// Whether `key` is present, without counting a lookup or changing
    /// its recency.
    pub fn contains<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.entries.contains(key)
    }

    /// The size of `key`'s entry, without counting a lookup or changing
    /// its recency.
    pub fn size_of<Q>(&self, key: &Q) -> Option<usize>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.entries.peek(key).copied()
    }

    /// Removes `key` (not an eviction); returns its size if it was present.
    pub fn remove<Q>(&mut self, key: &Q) -> Option<usize>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let bytes = self.entries.pop(key)?;
        self.used -= bytes;
        Some(bytes)
    }

    /// Removes and returns the least recently used entry (not an
    /// eviction), for example to drain the set on shutdown.
    pub fn pop_lru(&mut self) -> Option<(K, usize)> {
        let (key, bytes) = self.entries.pop_lru()?;
        self.used -= bytes;
        Some((key, bytes))
    }

    /// The least recently used entry, the next to be evicted.
    pub fn peek_lru(&self) -> Option<(&K, usize)> {
        self.entries.peek_lru().map(|(key, bytes)| (key, *bytes))
    }

    /// Changes the limits, evicting least recently used entries until both
    /// hold; returns them, least recent first.
    pub fn set_limits(&mut self, max_count: NonZeroUsize, budget: usize) -> Vec<(K, usize)> {
        self.max_count = max_count;
        self.budget = budget;
        let mut evicted = Vec::new();
        while self.entries.len() > max_count.get() || self.used > budget {
            let Some(entry) = self.evict_one() else { break };
            evicted.push(entry);
        }
        evicted
    }

    /// The entries with their sizes, most recently used first.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&K, usize)> {
        self.entries.iter().map(|(key, bytes)| (key, *bytes))
    }

    /// How many entries it holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether it holds no entry.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The most entries it may hold.
    pub fn max_count(&self) -> usize {
        self.max_count.get()
    }

    /// Bytes held by its entries.
    pub fn used_bytes(&self) -> usize {
        self.used
    }

    /// The most bytes its entries may hold.
    pub fn budget(&self) -> usize {
        self.budget
    }

    /// Hits per lookup, 0 to 1; 0 before the first lookup.
    pub fn hit_rate(&self) -> f64 {
        self.stats().hit_rate()
    }

    /// Occupancy and counters.
    pub fn stats(&self) -> HotSetStats {
        HotSetStats {
            len: self.entries.len(),
            max_count: self.max_count.get(),
            used_bytes: self.used,
            budget_bytes: self.budget,
            hits: self.hits,
            misses: self.misses,
            evictions: self.evictions,
        }
    }
}

impl<K: Hash + Eq + std::fmt::Debug> std::fmt::Debug for HotSet<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HotSet")
            .field("entries", &self.entries.iter().collect::<Vec<_>>())
            .field("stats", &self.stats())
            .finish()
    }
}
