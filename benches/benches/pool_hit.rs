//! A pool hit: checking an idle instance out of its extension's pool and
//! back in, as every warm call does around the guest's work (the idle
//! stack, the host-wide hot set's LRU touch and size check, the hit
//! counter; the usage history is recorded per call, not per checkout, so
//! it is not included), against the least any
//! pool can do: popping the same kind of instance (a wasmtime store with
//! its bindings) off a `Mutex<Vec<_>>` and pushing it back, locking once
//! for each.
//!
//! The full warm call against a raw call is `extension_call`'s concern.

use std::sync::Mutex;

use criterion::{criterion_group, criterion_main};
use symphony_benches::raw::RawOperator;
use symphony_benches::{bench_pair, component, criterion, percentiles};
use symphony_host::__internal::checkout_checkin;
use symphony_host::Host;

fn bench(c: &mut criterion::Criterion) {
    let home = tempfile::tempdir().unwrap();
    let host = Host::builder().home(home.path()).build().unwrap();
    host.load(component("json_transform")).unwrap();
    let name = "json-transform";
    checkout_checkin(&host, name).unwrap();
    let hits = host.pool_stats().totals.hits;
    assert_eq!((hits, host.pool_stats().totals.misses), (1, 0), "a hit");

    let raw = RawOperator::new(&component("json_transform"), "{}");
    let bare = Mutex::new(vec![raw.instantiate()]);
    let bare_round_trip = || {
        let instance = bare.lock().unwrap().pop().unwrap();
        bare.lock().unwrap().push(std::hint::black_box(instance));
    };
    bench_pair(
        c,
        "pool_hit",
        || checkout_checkin(&host, name).unwrap(),
        bare_round_trip,
    );
    percentiles("pool_hit", 100_000, || {
        checkout_checkin(&host, name).unwrap()
    });
    let stats = host.pool_stats();
    assert_eq!(stats.totals.misses, 0, "every round trip was a hit");
}

criterion_group! { name = benches; config = criterion(); targets = bench }
criterion_main!(benches);
