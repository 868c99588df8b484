//! Per-node lists packed into one array, and the node-id index they are
//! built with. A 100k-node workflow has 100k small lists; as one array they
//! cost two allocations instead of 100k, and walking them stays in cache.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

/// Lists of `T` per node: node `i`'s items are
/// `items[offsets[i]..offsets[i + 1]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adjacency<T> {
    offsets: Vec<usize>,
    items: Vec<T>,
}

impl<T: Copy + Default> Adjacency<T> {
    /// Groups `(node, item)` pairs by node, keeping their order within each
    /// node. Every node is below `nodes`.
    pub fn group<I>(nodes: usize, pairs: I) -> Self
    where
        I: Iterator<Item = (usize, T)> + Clone,
    {
        let mut offsets = vec![0; nodes + 1];
        for (node, _) in pairs.clone() {
            offsets[node + 1] += 1;
        }
        for i in 1..offsets.len() {
            offsets[i] += offsets[i - 1];
        }
        let mut items = vec![T::default(); offsets[nodes]];
        let mut next = offsets.clone();
        for (node, item) in pairs {
            items[next[node]] = item;
            next[node] += 1;
        }
        Adjacency { offsets, items }
    }
}

impl<T> Adjacency<T> {
    /// Node `node`'s list.
    pub fn of(&self, node: usize) -> &[T] {
        &self.items[self.offsets[node]..self.offsets[node + 1]]
    }
}

/// Node ids to node indices. Ids of up to 15 bytes (nearly all of them) are
/// packed into the key itself, so a lookup compares two words rather than
/// following a pointer to every candidate's id, and an entry takes 24
/// bytes: on a 100k-node workflow, cache misses in this index were most of
/// validation's time. (foldhash rather than Fx: Fx leaves the trailing bytes
/// of packed ids like `n000123` out of the bits hashbrown probes with.)
#[derive(Debug)]
pub struct IdIndex<'a> {
    short: HashMap<[u64; 2], usize, foldhash::fast::RandomState>,
    long: HashMap<&'a str, usize, foldhash::fast::RandomState>,
}

/// The id's bytes, then zeros, with its length in the last byte; `None`
/// for ids of 16 bytes or more. Built from whole-word loads: copying the
/// bytes out and reading them back stalled every lookup.
fn packed(id: &str) -> Option<[u64; 2]> {
    let bytes = id.as_bytes();
    if bytes.len() >= 16 {
        return None;
    }
    let (lo, hi) = bytes.split_at(bytes.len().min(8));
    Some([word(lo), word(hi) | (bytes.len() as u64) << 56])
}

/// Up to 8 bytes as a little-endian word, zero-extended. Short inputs are
/// read as two overlapping loads whose overlap holds the same bytes.
fn word(bytes: &[u8]) -> u64 {
    let n = bytes.len();
    let le4 = |b: &[u8]| u64::from(u32::from_le_bytes(b.try_into().unwrap_or_default()));
    match n {
        0 => 0,
        1..=3 => {
            u64::from(bytes[0])
                | u64::from(bytes[n / 2]) << (n / 2 * 8)
                | u64::from(bytes[n - 1]) << ((n - 1) * 8)
        }
        4..=7 => le4(&bytes[..4]) | le4(&bytes[n - 4..]) << ((n - 4) * 8),
        _ => u64::from_le_bytes(bytes[..8].try_into().unwrap_or_default()),
    }
}

impl<'a> IdIndex<'a> {
    /// An empty index with room for `nodes` ids.
    pub fn with_capacity(nodes: usize) -> Self {
        IdIndex {
            short: HashMap::with_capacity_and_hasher(nodes, Default::default()),
            long: HashMap::default(),
        }
    }

    /// Files `id` under `index`; returns the index it had before, if any
    /// (and then keeps that one).
    pub fn insert(&mut self, id: &'a str, index: usize) -> Option<usize> {
        fn first<K>(entry: Entry<'_, K, usize>, index: usize) -> Option<usize> {
            match entry {
                Entry::Occupied(first) => Some(*first.get()),
                Entry::Vacant(slot) => {
                    slot.insert(index);
                    None
                }
            }
        }
        match packed(id) {
            Some(key) => first(self.short.entry(key), index),
            None => first(self.long.entry(id), index),
        }
    }

    /// The index filed under `id`.
    pub fn get(&self, id: &str) -> Option<usize> {
        match packed(id) {
            Some(key) => self.short.get(&key).copied(),
            None => self.long.get(id).copied(),
        }
    }
}

#[cfg(test)]
mod tests;
