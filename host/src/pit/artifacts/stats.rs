//! Deduplication statistics.

/// How much storing by content saves.
///
/// `unique_objects` and `bytes_stored` describe what is on disk (counted when
/// the store opens, then kept up to date); `puts` and `bytes_saved` count the
/// puts made since the store was opened.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct DedupStats {
    /// Puts since the store was opened, including ones that stored nothing new.
    pub puts: u64,
    /// Distinct objects in the store.
    pub unique_objects: u64,
    /// Content bytes of the distinct objects (plaintext size, before any
    /// encryption overhead).
    pub bytes_stored: u64,
    /// Content bytes put since opening that were already stored.
    pub bytes_saved: u64,
    /// Bytes offered to the store per byte kept, `(bytes_stored + bytes_saved)
    /// / bytes_stored`; 1.0 means no savings (and for an empty store).
    pub dedup_ratio: f64,
}

/// The running counters behind [`DedupStats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    puts: u64,
    unique_objects: u64,
    bytes_stored: u64,
    bytes_saved: u64,
}

impl Counters {
    /// Counters for a store already holding objects of these content sizes.
    pub(crate) fn from_sizes(sizes: impl IntoIterator<Item = u64>) -> Counters {
        let mut counters = Counters::default();
        for size in sizes {
            counters.unique_objects += 1;
            counters.bytes_stored += size;
        }
        counters
    }

    /// Records one put of `size` content bytes, `fresh` when it stored a new
    /// object.
    pub(crate) fn record(&mut self, size: u64, fresh: bool) {
        self.puts += 1;
        if fresh {
            self.unique_objects += 1;
            self.bytes_stored += size;
        } else {
            self.bytes_saved += size;
        }
    }

    /// A snapshot.
    pub(crate) fn snapshot(&self) -> DedupStats {
        let dedup_ratio = if self.bytes_stored == 0 {
            1.0
        } else {
            (self.bytes_stored + self.bytes_saved) as f64 / self.bytes_stored as f64
        };
        DedupStats {
            puts: self.puts,
            unique_objects: self.unique_objects,
            bytes_stored: self.bytes_stored,
            bytes_saved: self.bytes_saved,
            dedup_ratio,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratio_counts_offered_bytes_per_kept_byte() {
        let mut counters = Counters::from_sizes([10]);
        assert_eq!(counters.snapshot().dedup_ratio, 1.0);
        counters.record(10, false);
        counters.record(20, true);
        counters.record(20, false);
        let stats = counters.snapshot();
        assert_eq!((stats.puts, stats.unique_objects), (3, 2));
        assert_eq!((stats.bytes_stored, stats.bytes_saved), (30, 30));
        assert_eq!(stats.dedup_ratio, 2.0);
        assert_eq!(Counters::default().snapshot().dedup_ratio, 1.0);
    }
}
