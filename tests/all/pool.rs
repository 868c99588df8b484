//! The Pool Manager on the real call path: hits and misses, the host-wide
//! hot budget and eviction, health checks, graceful drain, prewarming and
//! the transitions every instance goes through.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use symphony_host::{
    Host,
    extension::{CallError, Instrument, LifecycleState, LoadOptions, NodeConfig},
    pool::{PoolState, PoolTransition, PrewarmOutcome},
    workflow::Workflow,
};
use symphony_tests::{TestHost, bare_host, bare_host_with, call, component, fixture, with_hostile};

/// Loads the flaky-llm fixture (an Instrument whose health breaks on
/// request).
fn flaky(host: &Host) -> Instrument {
    host.load(fixture("flaky_llm")).unwrap();
    host.instrument("flaky-llm").unwrap()
}

fn invoke(llm: &Instrument, input: Value) -> Result<String, CallError> {
    llm.invoke(&NodeConfig::default(), &input.to_string())
}

/// How many calls the instance serving this call has served, this one
/// included: 1 means a fresh instance.
fn calls(llm: &Instrument) -> u64 {
    invoke(llm, json!({"mode": "calls"}))
        .unwrap()
        .parse()
        .unwrap()
}

/// Every transition the host's instances take from now on.
fn record(host: &Host) -> Arc<Mutex<Vec<PoolTransition>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    host.pool_listeners()
        .subscribe(Box::new(move |t| sink.lock().unwrap().push(t.clone())));
    seen
}

fn steps(seen: &Mutex<Vec<PoolTransition>>, instance_prefix: &str) -> Vec<(PoolState, PoolState)> {
    seen.lock()
        .unwrap()
        .iter()
        .filter(|t| t.instance.starts_with(instance_prefix))
        .map(|t| (t.from, t.to))
        .collect()
}

/// Polls `done` for up to five seconds.
fn eventually(mut done: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + Duration::from_secs(5);
    while Instant::now() < until {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    done()
}

#[test]
fn calls_after_activation_hit_the_warm_instance() {
    let host = bare_host();
    let seen = record(&host);
    let llm = flaky(&host);
    let stats = host.pool_stats();
    assert_eq!((stats.totals.hot_count, stats.totals.load.count), (1, 1));
    assert!(stats.totals.hot_bytes > 0, "linear memory is counted");
    assert_eq!(
        steps(&seen, "flaky-llm#"),
        [
            (PoolState::Cold, PoolState::Warming),
            (PoolState::Warming, PoolState::Hot)
        ]
    );
    assert_eq!((calls(&llm), calls(&llm)), (1, 2));
    let stats = host.pool_stats();
    let ext = &stats.extensions[0];
    assert_eq!((ext.counts.hits, ext.counts.misses, ext.idle), (2, 0, 1));
    assert_eq!(ext.counts.hit_rate, 1.0);
    assert_eq!(stats.totals.hits, 2);
    let json = serde_json::to_value(&stats).unwrap();
    assert_eq!(json["extensions"][0]["name"], "flaky-llm");
    assert_eq!(json["hot_count"], 1);
}

#[test]
fn the_count_budget_cools_the_least_recently_used_idle_instance() {
    let host = bare_host_with(|b| b.pool_budget(2, 1 << 30));
    let seen = record(&host);
    let transitions = host.bus().subscribe("pool.>").unwrap();
    let llm = flaky(&host);
    host.load(component("mock_llm")).unwrap();
    assert_eq!(host.pool_stats().totals.hot_count, 2);
    // A third extension's first instance pushes out the least recently
    // used: flaky-llm's, as mock-llm started after it.
    let (host, _op) = with_hostile(host, LoadOptions::default());
    let stats = host.pool_stats();
    assert_eq!((stats.totals.hot_count, stats.totals.evictions), (2, 1));
    let flaky_stats = stats.extensions.iter().find(|e| e.name == "flaky-llm");
    assert_eq!(
        flaky_stats.map(|e| (e.idle, e.counts.evictions)),
        Some((0, 1))
    );
    let cooled = steps(&seen, "flaky-llm#");
    assert_eq!(
        cooled[2..],
        [
            (PoolState::Hot, PoolState::Cooling),
            (PoolState::Cooling, PoolState::Cold)
        ]
    );
    let reason = (seen.lock().unwrap().iter())
        .find(|t| t.instance.starts_with("flaky-llm#") && t.to == PoolState::Cooling)
        .map(|t| t.reason.clone())
        .unwrap();
    assert!(reason.contains("evicted"), "{reason}");
    // Calling it again is a miss: a fresh instance, which evicts mock-llm.
    assert_eq!(calls(&llm), 1);
    let stats = host.pool_stats();
    assert_eq!((stats.totals.misses, stats.totals.evictions), (1, 2));
    assert_eq!(stats.totals.hot_count, 2);
    // Each transition went out on the bus too.
    let first = transitions.recv_timeout(Duration::from_secs(2)).unwrap();
    assert_eq!(first.subject, "pool.flaky-llm.transition");
    let body: Value = serde_json::from_slice(&first.payload).unwrap();
    assert_eq!(
        (body["from"].as_str(), body["to"].as_str()),
        (Some("cold"), Some("warming"))
    );
}

#[test]
fn an_instance_that_outgrows_the_memory_budget_cools_after_its_call() {
    let probe = bare_host();
    flaky(&probe);
    let base = probe.pool_stats().totals.hot_bytes;
    // Room for the instance as it starts, not for 8 MiB more.
    let host = bare_host_with(|b| b.pool_budget(8, base + (4 << 20)));
    let llm = flaky(&host);
    assert_eq!(host.pool_stats().totals.hot_bytes, base);
    invoke(&llm, json!({"mode": "hold", "mb": 8})).unwrap();
    let stats = host.pool_stats();
    assert_eq!((stats.totals.hot_count, stats.totals.hot_bytes), (0, 0));
    assert_eq!(stats.extensions[0].idle, 0);
    assert_eq!(calls(&llm), 1, "the next call starts a fresh instance");
    // Growth within the budget is tracked.
    invoke(&llm, json!({"mode": "hold", "mb": 1})).unwrap();
    assert!(host.pool_stats().totals.hot_bytes >= base + (1 << 20));
}

#[test]
fn an_unhealthy_idle_instance_is_replaced_by_a_health_check() {
    let host = bare_host();
    let seen = record(&host);
    let llm = flaky(&host);
    invoke(&llm, json!({"mode": "sicken-quietly"})).unwrap();
    let report = host.check_health();
    assert_eq!((report.checked, report.replaced), (1, 1), "{report:?}");
    assert!(report.problems[0].contains("unhealthy"), "{report:?}");
    let failed = steps(&seen, "flaky-llm#");
    assert_eq!(
        failed[2..],
        [
            (PoolState::Hot, PoolState::Failed),
            (PoolState::Failed, PoolState::Cold)
        ]
    );
    assert_eq!(calls(&llm), 1, "replaced on demand");
    let counts = host.pool_stats().totals;
    assert_eq!(
        (counts.health_checks, counts.unhealthy, counts.failures),
        (1, 1, 1)
    );
    // A degraded instance keeps serving; a healthy one too.
    invoke(&llm, json!({"mode": "degrade"})).unwrap();
    let report = host.check_health();
    assert_eq!((report.degraded, report.replaced), (1, 0));
    assert_eq!(calls(&llm), 3);
}

#[test]
fn a_guest_error_is_followed_by_a_health_check_that_discards_the_sick() {
    let host = bare_host();
    let llm = flaky(&host);
    let error = invoke(&llm, json!({"mode": "fail"})).unwrap_err();
    assert!(matches!(error, CallError::Guest { .. }), "{error}");
    assert_eq!(calls(&llm), 2, "still healthy, so kept");
    let error = invoke(&llm, json!({"mode": "sicken"})).unwrap_err();
    assert!(error.to_string().contains("sickened"), "{error}");
    assert_eq!(calls(&llm), 1, "unhealthy after the error, so replaced");
    let counts = host.pool_stats().totals;
    assert_eq!((counts.health_checks, counts.unhealthy), (2, 1));
}

#[test]
fn a_trap_takes_the_instance_from_hot_through_failed_to_cold() {
    let host = bare_host();
    let seen = record(&host);
    let llm = flaky(&host);
    let error = invoke(&llm, json!({"mode": "panic"})).unwrap_err();
    assert!(error.is_crash(), "{error}");
    let path = steps(&seen, "flaky-llm#");
    assert_eq!(
        path[2..],
        [
            (PoolState::Hot, PoolState::Failed),
            (PoolState::Failed, PoolState::Cold)
        ]
    );
    let stats = host.pool_stats();
    assert_eq!((stats.totals.hot_count, stats.totals.failures), (0, 1));
}

#[test]
fn background_health_checks_replace_unhealthy_instances() {
    let host = bare_host_with(|b| b.health_interval(Duration::from_millis(20)));
    let llm = flaky(&host);
    invoke(&llm, json!({"mode": "sicken-quietly"})).unwrap();
    assert!(eventually(|| host.pool_stats().totals.unhealthy == 1));
    assert_eq!(calls(&llm), 1);
    // Shutting down stops the thread; the host stays usable for reads.
    host.shutdown();
    let checks = host.pool_stats().totals.health_checks;
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(host.pool_stats().totals.health_checks, checks);
}

/// Starts a hostile call sleeping `ms` on another thread.
fn sleep_call(host: &TestHost, ms: u64) -> std::thread::JoinHandle<Result<String, CallError>> {
    let op = host.operator("hostile").unwrap();
    let handle = std::thread::spawn(move || call(&op, json!({"mode": "sleep", "ms": ms})));
    let busy = || host.pool_stats().extensions.iter().any(|e| e.busy == 1);
    assert!(eventually(busy), "the call started");
    handle
}

#[test]
fn drain_lets_calls_in_flight_finish_and_refuses_new_ones() {
    let (host, op) = with_hostile(bare_host(), LoadOptions::default());
    let seen = record(&host);
    let running = sleep_call(&host, 300);
    let report = host.drain("hostile", Duration::from_secs(5)).unwrap();
    assert_eq!(
        (report.cooled, report.finished, report.still_busy),
        (0, 1, 0),
        "{report:?}"
    );
    assert!(report.waited_ms >= 200, "{report:?}");
    assert!(
        running.join().unwrap().is_ok(),
        "the call in flight finished"
    );
    let error = call(&op, json!({"mode": "echo", "value": 1})).unwrap_err();
    assert!(error.to_string().contains("drained"), "{error}");
    assert_eq!(
        host.extension("hostile").unwrap().state,
        LifecycleState::Inactive
    );
    let cooled = steps(&seen, "hostile#");
    assert!(cooled.ends_with(&[
        (PoolState::Hot, PoolState::Cooling),
        (PoolState::Cooling, PoolState::Cold)
    ]));
    assert_eq!(host.pool_stats().totals.hot_count, 0);
    host.activate("hostile").unwrap();
    assert_eq!(call(&op, json!({"mode": "echo", "value": 1})).unwrap(), "1");
}

#[test]
fn drain_reports_calls_still_busy_when_the_timeout_passes() {
    let (host, _op) = with_hostile(bare_host(), LoadOptions::default());
    let running = sleep_call(&host, 600);
    let report = host.drain("hostile", Duration::from_millis(50)).unwrap();
    assert_eq!((report.finished, report.still_busy), (0, 1), "{report:?}");
    assert!(running.join().unwrap().is_ok());
    assert_eq!(host.pool_stats().extensions[0].busy, 0, "cooled on return");
}

fn workflow(nodes: Value) -> Workflow {
    let text = json!({"schema_version": 1, "name": "w", "nodes": nodes}).to_string();
    Workflow::from_json(&text, "w.json").unwrap()
}

#[test]
fn prewarm_starts_what_a_workflow_needs_and_has_no_idle_instance_of() {
    let host = bare_host();
    let llm = flaky(&host);
    let (host, _op) = with_hostile(host, LoadOptions::default());
    invoke(&llm, json!({"mode": "sicken-quietly"})).unwrap();
    host.check_health();
    let flow = workflow(json!([
        {"id": "a", "kind": "instrument", "extension": "flaky-llm"},
        {"id": "b", "kind": "operator", "extension": "hostile"},
        {"id": "c", "kind": "operator", "extension": "missing"},
        {"id": "d", "kind": "instrument", "extension": "flaky-llm"}
    ]));
    let report = host.prewarm(&flow);
    let outcomes: Vec<_> = report
        .entries
        .iter()
        .map(|e| (e.extension.as_str(), &e.outcome))
        .collect();
    assert!(
        matches!(outcomes[0], ("flaky-llm", PrewarmOutcome::Started { .. })),
        "{report:?}"
    );
    assert_eq!(
        outcomes[1..],
        [
            ("hostile", &PrewarmOutcome::AlreadyHot),
            ("missing", &PrewarmOutcome::Unknown)
        ]
    );
    assert_eq!(report.started(), 1);
    let stats = host.pool_stats();
    assert_eq!(stats.totals.prewarmed, 1);
    assert_eq!(calls(&llm), 1, "the prewarmed instance serves the call");
    assert_eq!(host.pool_stats().totals.misses, 0);
}

#[test]
fn a_likely_successor_is_started_in_the_background() {
    let host = bare_host_with(|b| b.predictive_prewarm(true));
    let llm = flaky(&host);
    let (host, op) = with_hostile(host, LoadOptions::default());
    // flaky-llm is followed by hostile, every time.
    for _ in 0..3 {
        calls(&llm);
        call(&op, json!({"mode": "echo", "value": 1})).unwrap();
    }
    let history = host.usage_history();
    assert_eq!(history.likely_successors("flaky-llm", 0.5), ["hostile"]);
    let hostile_idle = || {
        let stats = host.pool_stats();
        let hostile = stats.extensions.iter().find(|e| e.name == "hostile");
        hostile.map_or(0, |e| e.idle)
    };
    // Training may have started spare instances (a background start
    // racing the next call): let those starts end (each takes about a
    // millisecond), then start over with one instance.
    std::thread::sleep(Duration::from_millis(200));
    host.drain("hostile", Duration::from_secs(5)).unwrap();
    host.activate("hostile").unwrap();
    let prewarmed = host.pool_stats().totals.prewarmed;
    // A call in flight holds hostile's only instance; the next run of
    // flaky-llm starts a second one in the background.
    let running = sleep_call(&host, 300);
    assert_eq!(hostile_idle(), 0);
    calls(&llm);
    assert!(eventually(
        || host.pool_stats().totals.prewarmed == prewarmed + 1
    ));
    assert!(eventually(|| hostile_idle() == 1));
    assert!(running.join().unwrap().is_ok());
    let stats = host.pool_stats();
    assert_eq!(stats.totals.misses, 0, "{stats:#?}");
}

#[test]
fn prewarm_predicted_starts_the_likely_successor_of_the_last_used() {
    let host = bare_host();
    let llm = flaky(&host);
    let (host, op) = with_hostile(host, LoadOptions::default());
    for _ in 0..3 {
        calls(&llm);
        call(&op, json!({"mode": "echo", "value": 1})).unwrap();
    }
    let running = sleep_call(&host, 300);
    calls(&llm);
    let report = host.prewarm_predicted(std::time::SystemTime::now());
    let hostile = report.entries.iter().find(|e| e.extension == "hostile");
    assert!(
        matches!(
            hostile.map(|e| &e.outcome),
            Some(PrewarmOutcome::Started { .. })
        ),
        "{report:?}"
    );
    assert!(running.join().unwrap().is_ok());
    assert_eq!(host.pool_stats().totals.prewarmed, 1);
}

mod properties {
    //! Random sequences of calls, traps, unhealthy instances, health
    //! checks, prewarms, drains and memory growth against real instances:
    //! the budget is never exceeded, and every instance's recorded
    //! transitions form a valid path from Cold.

    use std::collections::BTreeMap;
    use std::sync::OnceLock;

    use proptest::prelude::*;

    use super::*;

    /// The budget: two instances, and room for two at their starting size
    /// plus a few MiB of growth.
    fn budget_bytes() -> usize {
        static BYTES: OnceLock<usize> = OnceLock::new();
        *BYTES.get_or_init(|| {
            let probe = bare_host();
            flaky(&probe);
            probe.load(component("mock_llm")).unwrap();
            let (probe, _) = with_hostile(probe, LoadOptions::default());
            let stats = probe.pool_stats();
            let largest = stats.extensions.iter().map(|e| e.counts.hot_bytes).max();
            2 * largest.unwrap() + (3 << 20)
        })
    }

    const NAMES: [&str; 3] = ["flaky-llm", "hostile", "mock-llm"];

    fn act(host: &Host, ext: usize, op: usize) {
        let name = NAMES[ext];
        // Results are not the point: whatever happens, the pool's
        // invariants must hold afterwards.
        let _ = match (op, ext) {
            (0 | 1 | 2 | 6, 0) => {
                let mode = ["calls", "panic", "sicken", "", "", "", "hold"][op];
                let llm = host.instrument(name).unwrap();
                invoke(&llm, json!({"mode": mode, "mb": 2})).map(drop)
            }
            (0 | 2 | 6, 1) => {
                let op = host.operator(name).unwrap();
                call(&op, json!({"mode": "echo", "value": 1})).map(drop)
            }
            (1, 1) => call(&host.operator(name).unwrap(), json!({"mode": "panic"})).map(drop),
            (0 | 2 | 6, _) => {
                let llm = host.instrument(name).unwrap();
                invoke(&llm, json!({"text": "One. Two."})).map(drop)
            }
            (1, _) => invoke(&host.instrument(name).unwrap(), json!(42)).map(drop),
            (3, _) => {
                host.check_health();
                Ok(())
            }
            (4, _) => {
                let kind = if ext == 1 { "operator" } else { "instrument" };
                host.prewarm(&workflow(
                    json!([{"id": "n", "kind": kind, "extension": name}]),
                ));
                Ok(())
            }
            _ => {
                let _ = host.drain(name, Duration::from_secs(1));
                let _ = host.activate(name);
                Ok(())
            }
        };
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

        #[test]
        fn the_budget_holds_and_every_path_is_valid(
            ops in prop::collection::vec((0..3usize, 0..7usize), 1..40)
        ) {
            let bytes = budget_bytes();
            let host = bare_host_with(|b| b.pool_budget(2, bytes));
            let seen = record(&host);
            flaky(&host);
            host.load(component("mock_llm")).unwrap();
            let (host, _) = with_hostile(host, LoadOptions::default());
            for (ext, op) in ops {
                act(&host, ext, op);
                let stats = host.pool_stats();
                prop_assert!(stats.totals.hot_count <= 2, "{stats:?}");
                prop_assert!(stats.totals.hot_bytes <= bytes, "{stats:?}");
                let by_extension: usize = stats.extensions.iter().map(|e| e.counts.hot_count).sum();
                prop_assert_eq!(by_extension, stats.totals.hot_count);
                // No call is in flight, so an instance is Hot exactly while
                // it is in the hot set.
                let mut last: BTreeMap<String, PoolState> = BTreeMap::new();
                for t in seen.lock().unwrap().iter() {
                    let from = last.get(&*t.instance).copied().unwrap_or(PoolState::Cold);
                    prop_assert_eq!(t.from, from, "{:?}", t);
                    prop_assert!(t.from.can_become(t.to), "{:?}", t);
                    last.insert(t.instance.to_string(), t.to);
                }
                let hot = last.values().filter(|s| **s == PoolState::Hot).count();
                prop_assert_eq!(hot, stats.totals.hot_count);
                prop_assert!(last.values().all(|s| matches!(s, PoolState::Hot | PoolState::Cold)));
            }
        }
    }
}

#[test]
fn pool_settings_that_cannot_work_are_refused_by_name() {
    let home = tempfile::tempdir().unwrap();
    let build = |builder: symphony_host::HostBuilder| {
        builder
            .home(home.path())
            .build()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    };
    let error = build(Host::builder().pool_budget(0, 1 << 20));
    assert!(error.contains("at least one instance"), "{error}");
    let error = build(Host::builder().health_interval(Duration::ZERO));
    assert!(
        error.contains("health_interval must be at least"),
        "{error}"
    );
    let error = build(Host::builder().prewarm_interval(Duration::from_millis(1)));
    assert!(
        error.contains("prewarm_interval must be at least"),
        "{error}"
    );
}
