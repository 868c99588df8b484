use super::*;

fn us(n: u64) -> Duration {
    Duration::from_micros(n)
}

#[test]
fn durations_land_in_the_smallest_bucket_that_holds_them() {
    let table = [
        (0, 0),
        (1, 0),
        (2, 1),
        (3, 2),
        (4, 2),
        (5, 3),
        (1024, 10),
        (1025, 11),
        (1 << 26, 26),
        ((1 << 26) + 1, 27),
        (u64::MAX, 27),
    ];
    for (micros, bucket) in table {
        assert_eq!(bucket_of(micros), bucket, "{micros} µs");
        if let Some(bound) = upper_bound(bucket) {
            assert!(micros <= bound, "{micros} µs above bucket {bucket}");
        }
    }
    assert_eq!(upper_bound(0), Some(1));
    assert_eq!(upper_bound(26), Some(67_108_864));
    assert_eq!(upper_bound(27), None);
}

#[test]
fn snapshot_lists_every_bucket_with_its_count() {
    let h = Histogram::default();
    h.record(us(3));
    h.record(us(4));
    h.record(Duration::from_secs(100));
    let s = h.snapshot();
    assert_eq!(s.buckets.len(), BUCKETS);
    assert_eq!(
        s.buckets[2],
        LatencyBucket {
            le_us: Some(4),
            count: 2
        }
    );
    assert_eq!(
        s.buckets[27],
        LatencyBucket {
            le_us: None,
            count: 1
        }
    );
    assert_eq!(s.buckets.iter().map(|b| b.count).sum::<u64>(), 3);
    assert_eq!(s.max_us, 100_000_000);
}

#[test]
fn percentiles_come_from_the_buckets_and_stay_under_the_maximum() {
    let h = Histogram::default();
    // 90 calls of 100 µs (bucket 64..128), 9 of 1000 µs (512..1024),
    // 1 of 50 ms (32768..65536).
    for _ in 0..90 {
        h.record(us(100));
    }
    for _ in 0..9 {
        h.record(us(1000));
    }
    h.record(us(50_000));
    let s = h.snapshot();
    assert_eq!(s.count, 100);
    assert!((64..=128).contains(&s.p50_us), "{}", s.p50_us);
    assert!((64..=128).contains(&s.p90_us), "{}", s.p90_us);
    assert!((512..=1024).contains(&s.p99_us), "{}", s.p99_us);
    assert_eq!(s.max_us, 50_000);
    assert_eq!(s.mean_us, (90 * 100 + 9 * 1000 + 50_000) / 100);

    // A single call: every percentile is that call, capped at it.
    let one = Histogram::default();
    one.record(us(100));
    let s = one.snapshot();
    assert_eq!(
        (s.p50_us, s.p90_us, s.p99_us, s.max_us),
        (100, 100, 100, 100)
    );
}

#[test]
fn an_empty_histogram_reads_zero() {
    let s = Histogram::default().snapshot();
    assert_eq!(
        (s.count, s.mean_us, s.p50_us, s.p99_us, s.max_us),
        (0, 0, 0, 0, 0)
    );
}
