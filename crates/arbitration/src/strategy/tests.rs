use std::time::{Duration, Instant};

use super::*;

fn entry(tenant: u32, priority: i32, since: Instant, seq: u64) -> Entry {
    Entry {
        tenant,
        priority,
        deadline: None,
        units: 1,
        since,
        seq,
    }
}

fn context<'a>(
    now: Instant,
    weight: &'a dyn Fn(u32) -> f64,
    service: &'a dyn Fn(u32) -> f64,
) -> Context<'a> {
    Context {
        now,
        epoch: now,
        tenants: 3,
        capacity: 1,
        weight,
        service,
    }
}

#[test]
fn aging_lifts_a_waiting_request_one_level_per_step() {
    let t0 = Instant::now();
    let aging = PriorityAging {
        step: Duration::from_millis(100),
    };
    let old = entry(0, 0, t0, 0);
    let new = entry(1, 3, t0 + Duration::from_millis(350), 1);
    let (w, s) = (|_| 1.0, |_| 0.0);
    let at = t0 + Duration::from_millis(350);
    // 3.5 levels of aging beat a fresh priority 3.
    assert!(aging.key(&old, 0, &context(at, &w, &s)) < aging.key(&new, 0, &context(at, &w, &s)));
    let before = t0 + Duration::from_millis(250);
    assert!(
        aging.key(&old, 0, &context(before, &w, &s)) > aging.key(&new, 0, &context(before, &w, &s))
    );
}

#[test]
fn round_robin_starts_after_the_tenant_served_last() {
    let t0 = Instant::now();
    let mut rr = RoundRobin::default();
    let (w, s) = (|_| 1.0, |_| 0.0);
    let ctx = context(t0, &w, &s);
    rr.served(&entry(1, 0, t0, 0), &ctx);
    let keys: Vec<f64> = (0..3)
        .map(|t| rr.key(&entry(t, 0, t0, 0), 0, &ctx))
        .collect();
    assert_eq!(keys, [1.0, 2.0, 0.0], "tenant 2 is next, then 0, then 1");
    // A tenant's second request waits a whole round.
    assert_eq!(rr.key(&entry(2, 0, t0, 0), 1, &ctx), 3.0);
}

#[test]
fn fair_share_ranks_by_dominant_share_over_weight_across_resources() {
    let t0 = Instant::now();
    // Tenant 0 already holds a large share of another resource.
    let service = |t: u32| if t == 0 { 0.8 } else { 0.1 };
    let weight = |t: u32| if t == 1 { 2.0 } else { 1.0 };
    let ctx = context(t0, &weight, &service);
    let fair = FairShare;
    let heavy = fair.key(&entry(0, 0, t0, 0), 0, &ctx);
    let light = fair.key(&entry(2, 0, t0, 1), 0, &ctx);
    let weighted = fair.key(&entry(1, 0, t0, 2), 0, &ctx);
    assert!(
        weighted < light && light < heavy,
        "{weighted} {light} {heavy}"
    );
}

#[test]
fn earliest_deadline_puts_requests_without_one_last() {
    let t0 = Instant::now();
    let (w, s) = (|_| 1.0, |_| 0.0);
    let ctx = context(t0, &w, &s);
    let soon = Entry {
        deadline: Some(t0 + Duration::from_millis(5)),
        ..entry(0, 0, t0, 1)
    };
    let late = Entry {
        deadline: Some(t0 + Duration::from_secs(5)),
        ..entry(0, 0, t0, 0)
    };
    let none = entry(0, 9, t0, 2);
    let edf = EarliestDeadline;
    assert!(edf.key(&soon, 0, &ctx) < edf.key(&late, 0, &ctx));
    assert_eq!(edf.key(&none, 0, &ctx), f64::INFINITY);
}

#[test]
fn every_strategy_is_built_from_its_name() {
    for kind in StrategyKind::ALL {
        assert_eq!(kind.build(Duration::from_secs(1)).kind(), kind);
        let json = serde_json::to_string(&kind).unwrap();
        assert_eq!(json, format!("\"{}\"", kind.name()));
    }
}
