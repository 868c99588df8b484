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
mod tests {
    use super::*;

    #[test]
    fn grouped_lists_keep_their_order_and_empty_nodes_stay_empty() {
        let lists = Adjacency::group(4, [(2, 'a'), (0, 'b'), (2, 'c'), (3, 'd')].into_iter());
        assert_eq!(lists.of(0), ['b']);
        assert!(lists.of(1).is_empty());
        assert_eq!(lists.of(2), ['a', 'c']);
        assert_eq!(lists.of(3), ['d']);
    }

    #[test]
    fn short_and_long_ids_are_found_and_told_apart() {
        let long = "a-node-id-longer-than-fifteen-bytes";
        let ids = ["", "a", "a\0", "fifteen-bytes-x", "sixteen-bytes-xx", long];
        let mut index = IdIndex::with_capacity(ids.len());
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(index.insert(id, i), None, "{id:?}");
        }
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(index.get(id), Some(i), "{id:?}");
        }
        assert_eq!(index.insert("a", 9), Some(1), "the first index is kept");
        assert_eq!(index.get("a"), Some(1));
        for missing in ["b", "a\0\0", &long[..20], "fifteen-bytes-"] {
            assert_eq!(index.get(missing), None, "{missing:?}");
        }
    }

    #[test]
    fn words_hold_each_byte_in_place() {
        for n in 0..=8 {
            let bytes: Vec<u8> = (1..=n as u8).collect();
            let mut expected = [0u8; 8];
            expected[..n].copy_from_slice(&bytes);
            assert_eq!(word(&bytes), u64::from_le_bytes(expected), "{n} bytes");
        }
    }

    proptest::proptest! {
        /// The index agrees with a plain map of strings.
        #[test]
        fn lookups_agree_with_a_string_map(
            ids in proptest::collection::vec("[a\\x00-]{0,20}", 0..40),
            probes in proptest::collection::vec("[a\\x00-]{0,20}", 0..40),
        ) {
            let mut index = IdIndex::with_capacity(ids.len());
            let mut plain = std::collections::HashMap::new();
            for (i, id) in ids.iter().enumerate() {
                proptest::prop_assert_eq!(index.insert(id, i), plain.get(id.as_str()).copied());
                plain.entry(id.as_str()).or_insert(i);
            }
            for id in ids.iter().chain(&probes) {
                proptest::prop_assert_eq!(index.get(id), plain.get(id.as_str()).copied());
            }
        }
    }
}
