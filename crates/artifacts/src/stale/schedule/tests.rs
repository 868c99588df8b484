use super::*;

const H: i64 = 3_600_000;
const M: i64 = 60_000;

fn schedule(interval: &str, window: Option<&str>) -> Schedule {
    Schedule {
        interval: parse_interval(interval).unwrap(),
        off_peak: window.map(|w| OffPeakWindow::parse(w).unwrap()),
    }
}

#[test]
fn intervals_and_windows_parse() {
    assert_eq!(parse_interval("90s"), Some(Duration::from_secs(90)));
    assert_eq!(parse_interval("6h"), Some(Duration::from_secs(6 * 3600)));
    assert_eq!(parse_interval("1d"), Some(Duration::from_secs(86_400)));
    for bad in ["", "6", "h", "0h", "6w", "-1h", "1.5h"] {
        assert_eq!(parse_interval(bad), None, "{bad}");
    }
    let w = OffPeakWindow::parse("01:00-05:30").unwrap();
    assert_eq!((w.start_minute, w.end_minute), (60, 330));
    for bad in [
        "",
        "01:00",
        "24:00-01:00",
        "01:60-02:00",
        "03:00-03:00",
        "1-2",
    ] {
        assert_eq!(OffPeakWindow::parse(bad), None, "{bad}");
    }
}

#[test]
fn next_run_without_a_window_is_one_interval_later() {
    let s = schedule("6h", None);
    assert_eq!(s.next_run(0), 6 * H);
    assert_eq!(s.next_run(10 * DAY_MS + 7), 10 * DAY_MS + 7 + 6 * H);
}

#[test]
fn next_run_waits_for_the_window() {
    let s = schedule("1h", Some("01:00-05:00"));
    let day = 20_000 * DAY_MS;
    // 00:30 + 1h = 01:30: inside.
    assert_eq!(s.next_run(day + 30 * M), day + 90 * M);
    // 22:00 + 1h = 23:00: outside, before midnight: tomorrow 01:00.
    assert_eq!(s.next_run(day + 22 * H), day + DAY_MS + H);
    // 04:30 + 1h = 05:30: past the end: tomorrow 01:00.
    assert_eq!(s.next_run(day + 4 * H + 30 * M), day + DAY_MS + H);
    // The end is exclusive: 04:00 + 1h = 05:00 is outside.
    assert_eq!(s.next_run(day + 4 * H), day + DAY_MS + H);
    // Start is inclusive: 00:00 + 1h = 01:00.
    assert_eq!(s.next_run(day), day + H);
}

#[test]
fn next_run_with_a_window_crossing_midnight() {
    let s = schedule("30m", Some("23:00-02:00"));
    let day = 20_000 * DAY_MS;
    // 23:40 + 30m = 00:10 next day: inside (after midnight).
    assert_eq!(s.next_run(day + 23 * H + 40 * M), day + DAY_MS + 10 * M);
    // 22:50 + 30m = 23:20: inside (before midnight).
    assert_eq!(s.next_run(day + 22 * H + 50 * M), day + 23 * H + 20 * M);
    // 01:45 + 30m = 02:15: outside: 23:00 the same day.
    assert_eq!(s.next_run(day + H + 45 * M), day + 23 * H);
    // 12:00 + 30m: outside: 23:00 today.
    assert_eq!(s.next_run(day + 12 * H), day + 23 * H);
    // A long interval lands on another day, still in its window.
    let weekly = schedule("7d", Some("23:00-02:00"));
    assert_eq!(weekly.next_run(day + 12 * H), day + 7 * DAY_MS + 23 * H);
}

#[test]
fn next_run_before_1970_and_at_the_limit_do_not_panic() {
    let s = schedule("1h", Some("01:00-05:00"));
    assert_eq!(s.next_run(-DAY_MS), -DAY_MS + H);
    let _ = schedule("1d", None).next_run(i64::MAX);
    let _ = s.next_run(i64::MAX - 1);
}

#[test]
fn manager_runs_on_schedule_and_stops_on_drop() {
    use crate::stale::cleaner::tests::TestShelf;
    use crate::stale::{ArtifactFacts, Placement, Tier};

    let dir = tempfile::tempdir().unwrap();
    let shelf = Arc::new(TestShelf::new(dir.path()));
    let id = shelf.add(
        b"old",
        ArtifactFacts {
            id: String::new(),
            size: 0,
            content_type: None,
            created_ms: 0,
            last_access_ms: None,
            access_count: 0,
            quality: 0.0,
            tags: vec![],
            pinned: false,
            references: 0,
            copies: 1,
            tier: Tier::Hot,
        },
    );
    let policy =
        RetentionPolicy::from_toml_str("max_age_days = 1\n[schedule]\ninterval = \"1s\"").unwrap();
    let tiers = Arc::new(TierStore::local(dir.path().join("w"), dir.path().join("c")).unwrap());
    let trash = Arc::new(Trash::open(dir.path().join("t"), 7).unwrap());
    let manager = StaleManager::start(shelf.clone(), policy, tiers, trash.clone()).unwrap();
    // Not a timing assertion: wait (generously) for the first run.
    for _ in 0..200 {
        if trash.contains(&id) {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(manager);
    assert!(trash.contains(&id));
    assert!(matches!(
        shelf.placements()[0],
        (_, Placement::Trashed { .. })
    ));

    // Stopping before the first run returns promptly (a day-long wait is cut short).
    let idle = RetentionPolicy::default();
    let shelf: Arc<dyn Shelf> = shelf;
    let tiers = Arc::new(TierStore::local(dir.path().join("w2"), dir.path().join("c2")).unwrap());
    StaleManager::start(shelf, idle, tiers, trash)
        .unwrap()
        .stop();
}
