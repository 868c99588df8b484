use super::*;

#[test]
fn ratio_counts_offered_bytes_per_kept_byte() {
    assert_eq!(DedupStats::new(1, 1, 10, 0).dedup_ratio, 1.0);
    assert_eq!(DedupStats::new(4, 2, 30, 30).dedup_ratio, 2.0);
    assert_eq!(DedupStats::new(0, 0, 0, 0).dedup_ratio, 1.0);
}
