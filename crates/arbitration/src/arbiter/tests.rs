use std::sync::Arc;
use std::time::{Duration, Instant};

use super::*;

#[test]
fn tenants_are_interned_with_their_configured_weight_and_budget() {
    let config =
        ArbitrationConfig::parse("[tenants.alice]\nweight = 3\nbudget = 1.0\n", "t").unwrap();
    let arbiter = Arbiter::new(config, None, None);
    let alice = arbiter.tenant("alice");
    assert_eq!(arbiter.tenant("alice"), alice);
    assert_ne!(arbiter.tenant("bob").id(), alice.id());
    assert_eq!(arbiter.inner.shared.ledger.lock().weight(alice.id()), 3.0);
    assert_eq!(arbiter.budgets().get("tenant:alice"), Some((0.0, 1.0)));
}

#[test]
fn a_call_past_a_budget_fails_with_budget_exhausted_naming_it() {
    let config = ArbitrationConfig::parse("[tenants.alice]\nbudget = 1.0\n", "t").unwrap();
    let arbiter = Arbiter::new(config, None, None);
    arbiter.budgets().set("run:r1", 10.0, None);
    let alice = arbiter.requester("alice").label("node summarise");
    arbiter
        .charge(&alice, Some("run:r1"), 0.75, None, None)
        .unwrap();
    let refused = arbiter
        .charge(&alice, Some("run:r1"), 0.5, None, None)
        .unwrap_err();
    assert_eq!(refused.budget, "tenant:alice");
    assert_eq!(refused.label, "node summarise");
    // A tenant without a budget is not limited.
    arbiter
        .charge(&arbiter.requester("bob"), None, 1e9, None, None)
        .unwrap();
}

#[test]
fn a_budget_that_refills_in_time_is_waited_for() {
    let config = ArbitrationConfig::parse(
        "[tenants.alice]\nbudget = 1.0\nbudget_window_secs = 1\n",
        "t",
    )
    .unwrap();
    let arbiter = Arbiter::new(config, None, None);
    let alice = arbiter.requester("alice");
    arbiter.charge(&alice, None, 1.0, None, None).unwrap();
    let began = Instant::now();
    let soon = Some(began + Duration::from_millis(100));
    assert!(
        arbiter.charge(&alice, None, 0.5, soon, None).is_err(),
        "refills too late"
    );
    arbiter
        .charge(
            &alice,
            None,
            0.5,
            Some(began + Duration::from_secs(5)),
            None,
        )
        .unwrap();
    assert!(began.elapsed() >= Duration::from_millis(800));
}

#[test]
fn fair_share_on_one_resource_counts_what_a_tenant_got_of_another() {
    let config =
        ArbitrationConfig::parse("[extensions.llm]\nstrategy = \"fair-share\"\n", "t").unwrap();
    let arbiter = Arbiter::new(config, None, None);
    let gpu = arbiter.units("gpu", 2, StrategyKind::FairShare);
    let heavy = arbiter.requester("heavy");
    let light = arbiter.requester("light");
    // `heavy` waits for and wins the whole gpu.
    let a = gpu.try_acquire(&heavy, 2).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    {
        let gpu = Arc::clone(&gpu);
        let heavy = heavy.clone();
        let light = light.clone();
        std::thread::spawn(move || {
            let h = gpu.acquire_blocking(&heavy, 2, None, None).unwrap();
            tx.send("heavy").unwrap();
            drop(h);
            let l = gpu.acquire_blocking(&light, 2, None, None).unwrap();
            drop(l);
        });
    }
    while gpu.usage().2 == 0 {
        std::thread::yield_now();
    }
    drop(a);
    assert_eq!(rx.recv().unwrap(), "heavy");
    // Now both wait for the one llm instance: `light` goes first, as
    // `heavy`'s dominant share (of the gpu) is larger.
    let line: Arc<Handoff<u8>> = arbiter.instances("llm", 1);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let h = line.enqueue(&heavy);
    let l = line.enqueue(&light);
    line.offer(1).unwrap();
    let got = rt.block_on(async {
        tokio::select! {
            biased;
            r = l.wait(None, None) => ("light", r.unwrap()),
            r = h.wait(None, None) => ("heavy", r.unwrap()),
        }
    });
    assert_eq!(got, ("light", 1));
}

#[test]
fn stats_report_every_resource_and_tenant() {
    let arbiter = Arbiter::default();
    let _line: Arc<Handoff<u8>> = arbiter.instances("llm", 4);
    drop(
        arbiter
            .slots()
            .try_acquire(&arbiter.requester("x"), 1)
            .unwrap(),
    );
    let stats = arbiter.stats();
    let names: Vec<&str> = stats.resources.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["slots", "instances:llm"]);
    assert_eq!(stats.tenants[0].tenant, "x");
    assert_eq!(stats.tenants[0].free_grants, 1);
    assert_eq!(stats.resources[0].free_grants, 1);
}

#[test]
fn tenants_past_the_bound_share_one_entry() {
    let arbiter = Arbiter::default();
    for i in 0..MAX_TENANTS {
        arbiter.tenant(&format!("t{i}"));
    }
    let late = arbiter.tenant("one-too-many");
    assert_eq!(late.name(), OTHER_TENANTS);
    assert_eq!(arbiter.tenant("and-another"), late);
    assert_eq!(arbiter.tenant("t7").name(), "t7", "known ones keep theirs");
}
