use super::*;

#[test]
fn an_unlimited_deadline_does_not_overflow() {
    assert!(deadline(Duration::MAX) > Instant::now() + Duration::from_secs(3600));
}

#[test]
fn a_stamp_measures_from_its_last_mark() {
    let stamp = Stamp::new();
    std::thread::sleep(Duration::from_millis(50));
    let before = stamp.elapsed();
    assert!(before >= Duration::from_millis(50));
    stamp.mark();
    assert!(stamp.elapsed() < before);
}
