use super::*;

#[test]
fn a_charge_past_the_limit_is_refused_naming_the_budget_and_nothing_is_spent() {
    let budgets = Budgets::default();
    budgets.set("run:r1", 1.0, None);
    budgets.set("tenant:alice", 10.0, None);
    let now = Instant::now();
    for _ in 0..4 {
        budgets
            .charge(&["run:r1", "tenant:alice"], 0.25, "node a", now)
            .unwrap();
    }
    let Err(Shortfall::Exhausted(refused)) =
        budgets.charge(&["tenant:alice", "run:r1"], 0.25, "node a", now)
    else {
        panic!("the fifth charge should be refused")
    };
    assert_eq!(refused.budget, "run:r1");
    assert_eq!(
        refused.to_string(),
        "budget 'run:r1' is exhausted: node a costs 0.25 but only 0 of 1 is left"
    );
    // All or nothing: the tenant's budget was not charged for the refusal.
    assert_eq!(budgets.get("tenant:alice"), Some((1.0, 10.0)));
}

#[test]
fn a_windowed_budget_says_when_it_refills_and_refills() {
    let budgets = Budgets::default();
    let window = Duration::from_secs(60);
    budgets.set("tenant:bob", 1.0, Some(window));
    let start = Instant::now();
    budgets.charge(&["tenant:bob"], 0.6, "a", start).unwrap();
    let later = start + Duration::from_secs(10);
    budgets.charge(&["tenant:bob"], 0.4, "b", later).unwrap();
    match budgets.charge(&["tenant:bob"], 0.5, "c", later) {
        Err(Shortfall::RefillsAt(at, _)) => assert_eq!(at, start + window),
        other => panic!("expected a refill time, got {other:?}"),
    }
    budgets
        .charge(&["tenant:bob"], 0.5, "c", start + window)
        .unwrap();
}

#[test]
fn passing_ninety_percent_is_reported_once() {
    let budgets = Budgets::default();
    budgets.set("b", 1.0, None);
    let now = Instant::now();
    let near = |cost| budgets.charge(&["b"], cost, "x", now).unwrap()[0].near_end;
    assert!(!near(0.5));
    assert!(near(0.45));
    assert!(!near(0.01));
}
