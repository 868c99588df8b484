use super::*;

#[test]
fn latency_quantiles_come_from_the_buckets() {
    let m = Metrics::default();
    for _ in 0..98 {
        m.record_latency(3);
    }
    m.record_latency(1000);
    m.record_latency(1000);
    let l = m.latency();
    assert_eq!((l.count, l.p50_us, l.p99_us), (100, 4, 1024));
}

#[test]
fn subject_rows_are_bounded() {
    let m = Metrics::default();
    for i in 0..MAX_SUBJECTS + 10 {
        Metrics::published(&m.subject(&format!("s.{i}")), 1, 0, 0);
    }
    let rows = m.subjects();
    assert_eq!(rows.len(), MAX_SUBJECTS + 1);
    assert_eq!(
        rows.iter().find(|r| r.subject == OTHER).unwrap().messages,
        10
    );
}
