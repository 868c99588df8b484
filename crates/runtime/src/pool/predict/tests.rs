use super::*;

#[test]
fn a_use_after_the_follow_window_starts_afresh() {
    let mut history = UsageHistory::with_follow_window(Duration::from_secs(60));
    assert!(history.record("a", 0));
    assert!(!history.record("a", 30), "a repeat within the window");
    assert!(history.record("b", 200), "too late to follow a");
    assert!(history.successors("a").is_empty());
    assert!(history.record("a", 210));
    assert_eq!(history.successors("b"), [("a".to_string(), 1.0)]);
    assert_eq!((history.calls("a"), history.calls("b")), (3, 1));
}

#[test]
fn sessions_that_end_lower_the_odds_of_a_successor() {
    let mut history = UsageHistory::new();
    // a → b twice; a alone twice (days apart, so nothing follows).
    for (day, next) in [(0, Some("b")), (1, None), (2, Some("b")), (3, None)] {
        let t = day * 86_400;
        history.record("a", t);
        if let Some(next) = next {
            history.record(next, t + 1);
        }
    }
    assert_eq!(history.successors("a"), [("b".to_string(), 0.5)]);
    assert_eq!(history.likely_successors("a", 0.6), Vec::<String>::new());
}

#[test]
fn predictions_put_successors_first_and_leave_out_the_last_used() {
    let mut history = UsageHistory::new();
    let nine = 9 * 3600;
    for day in 0..3 {
        let t = day * 86_400 + nine;
        history.record("a", t);
        history.record("b", t + 1);
        history.record("c", t + 2);
    }
    history.record("b", 5 * 86_400 + nine);
    // Right after b: c follows it; a and c are the hour's other busiest.
    assert_eq!(history.predict(5 * 86_400 + nine + 1, 0.5, 2), ["c", "a"]);
    // Much later, only the hour counts; b is no longer "just used".
    let later = 6 * 86_400 + nine;
    assert_eq!(history.predict(later, 0.5, 2), ["b", "a"]);
    assert!(history.busiest_at(24, 3).is_empty(), "no such hour");
    assert_eq!(history.last(), Some(("b", 5 * 86_400 + nine)));
}
