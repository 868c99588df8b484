use super::*;

#[test]
fn short_waits_keep_a_budget_and_long_ones_spend_it() {
    let spin = Spin::default();
    for _ in 0..64 {
        spin.learn(Some(Duration::from_millis(3)));
    }
    assert_eq!(spin.budget(), Duration::ZERO);
    spin.learn(None);
    assert_eq!(spin.budget(), Duration::ZERO);
    // Waits of a partner woken from sleep are short: polling comes back.
    for _ in 0..64 {
        spin.learn(Some(Duration::from_micros(40)));
    }
    assert!(spin.budget() >= MAX * 9 / 10, "{:?}", spin.budget());
}

#[test]
fn polling_stops_at_the_budget_or_when_ready() {
    let spin = Spin::default();
    let start = Instant::now();
    assert!(spin.poll(start, start + MAX, || true));
    let spun = spin.poll(start, start + Duration::from_secs(1), || false);
    assert!(!spun);
    // Bounded by the budget, not by `until`, whatever the core count.
    assert!(start.elapsed() < Duration::from_millis(500));
}

#[test]
fn a_wait_that_ends_while_polling_is_learned_as_short() {
    let spin = Spin::default();
    for _ in 0..64 {
        spin.learn(None);
    }
    assert_eq!(spin.budget(), Duration::ZERO);
    let start = Instant::now();
    for _ in 0..64 {
        assert!(spin.poll(start, start + MAX, || true));
    }
    assert!(spin.budget() >= MAX * 9 / 10, "{:?}", spin.budget());
}
