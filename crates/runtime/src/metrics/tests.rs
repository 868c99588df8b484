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

#[test]
fn counters_add_up_by_kind() {
    let m = ExtensionMetrics::default();
    m.record_call(us(10), 500, None);
    m.record_call(us(10), 700, None);
    let trap = CallError::Trap {
        extension: "x".into(),
        function: "process",
        message: "unreachable".into(),
    };
    let fuel = CallError::OutOfFuel {
        extension: "x".into(),
        function: "process",
        fuel: 1000,
    };
    m.record_call(us(10), 0, Some(&trap));
    m.record_call(us(10), 1000, Some(&fuel));
    m.record_denial();
    m.record_memory(1 << 20);
    m.record_memory(1 << 16);
    let s = m.snapshot();
    assert_eq!(s.calls, 4);
    assert_eq!(
        (s.errors.trap, s.errors.out_of_fuel, s.errors.total()),
        (1, 1, 2)
    );
    assert_eq!(s.denials, 1);
    assert_eq!(s.fuel_used, 2200);
    assert_eq!(s.memory_high_water, 1 << 20);
    assert_eq!(s.latency.count, 4);
}
