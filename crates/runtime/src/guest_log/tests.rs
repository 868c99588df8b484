use super::*;

fn limiter(lines_per_second: u32, burst: u32, line_bytes: usize) -> LogLimiter {
    LogLimiter::new(
        "chatty".into(),
        LogLimits {
            lines_per_second,
            burst,
            line_bytes,
        },
    )
}

#[test]
fn a_burst_passes_then_lines_are_dropped_and_counted() {
    let log = limiter(1, 3, 100);
    let passed = (0..10).filter(|_| log.admit("line").is_some()).count();
    // The burst, and at most one refilled token in the meantime.
    assert!((3..=4).contains(&passed), "{passed}");
    // Dropped lines are counted until their note.
    assert_eq!(log.dropped.load(Ordering::Relaxed), 10 - passed as u64);
}

#[test]
fn the_rate_refills_the_bucket() {
    let log = limiter(1000, 1, 100);
    assert!(log.admit("a").is_some());
    assert!(log.admit("b").is_none());
    std::thread::sleep(Duration::from_millis(5));
    assert!(log.admit("c").is_some());
}

#[test]
fn long_lines_are_cut_at_a_char_boundary() {
    let log = limiter(10, 10, 5);
    assert_eq!(log.admit("short").unwrap(), "short");
    let cut = log.admit("ééééé").unwrap();
    assert_eq!(cut, "éé… (6 more bytes cut)");
}

#[test]
fn flush_writes_the_pending_note_once() {
    let log = limiter(1, 1, 100);
    assert!(log.admit("a").is_some());
    assert!(log.admit("b").is_none());
    assert!(log.admit("c").is_none());
    log.flush();
    assert_eq!(log.dropped.load(Ordering::Relaxed), 0);
}
