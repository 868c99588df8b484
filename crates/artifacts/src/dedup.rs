//! Deduplication statistics.

use serde::Serialize;

/// How much storing by content saves, over the store's whole life (the
/// counters are kept in the catalog).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct DedupStats {
    /// Puts, including ones that stored nothing new.
    pub puts: u64,
    /// Distinct artifacts in the store (trashed ones not counted).
    pub unique_objects: u64,
    /// Content bytes of the distinct artifacts (plaintext size, before any
    /// encryption overhead).
    pub bytes_stored: u64,
    /// Content bytes put that were already stored.
    pub bytes_saved: u64,
    /// Bytes offered to the store per byte kept, `(bytes_stored + bytes_saved)
    /// / bytes_stored`; 1.0 means no savings (and for an empty store).
    pub dedup_ratio: f64,
}

impl DedupStats {
    /// Statistics from the raw counts, with the ratio worked out.
    pub(crate) fn new(
        puts: u64,
        unique_objects: u64,
        bytes_stored: u64,
        bytes_saved: u64,
    ) -> DedupStats {
        let dedup_ratio = if bytes_stored == 0 {
            1.0
        } else {
            (bytes_stored + bytes_saved) as f64 / bytes_stored as f64
        };
        DedupStats {
            puts,
            unique_objects,
            bytes_stored,
            bytes_saved,
            dedup_ratio,
        }
    }
}

#[cfg(test)]
mod tests;
