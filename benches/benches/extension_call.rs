//! A warm Operator call through the host API against the same export called
//! through raw wasmtime bindings, and instantiation from the pool.
//!
//! Where the host's time goes on a small call (perf, issue 22: the host
//! adds 0.40–0.47 µs to a 2.1 µs no-op call, about 1.2×; nothing at 1 KiB
//! of work): no single part, but about two dozen atomic read-modify-writes
//! (the pool's lock at check-out and check-in, pool and call counters,
//! the usage recorder, the latency histogram, entering the I/O runtime's
//! context) and two clock reads (the deadline and the call's time). Gone
//! in earlier rounds: a copy of the call's kilobytes-large future on every
//! call (it is pinned where it is made), the serving version's `RwLock`
//! (an `ArcSwap`), and the hot set's lock at both ends of a call that
//! reuses the instance it used last. Gone in the last (1.22 → 1.17–1.20):
//! the input's allocation (the bindings take `&String`; it is copied into
//! a buffer the instance keeps), the configuration's clone when a call
//! repeats the last one's, and two `fetch_max`es that rarely move.

use criterion::{criterion_group, criterion_main};
use serde_json::json;
use symphony_benches::raw::{RawAsyncOperator, RawOperator, ready};
use symphony_benches::{bench_pair, component, criterion};
use symphony_host::{Host, extension::NodeConfig};

fn spec() -> serde_json::Value {
    json!({"steps": [
        {"select": {"title": "$.title", "tags": {"all": "$.items[*].tag"}}},
        {"map": {"path": "$.tags[*]", "op": "uppercase"}}
    ]})
}

/// About 1 KiB of JSON input.
fn input() -> String {
    let items: Vec<_> = (0..16)
        .map(|i| json!({"tag": format!("tag-{i}"), "score": i as f64 / 16.0}))
        .collect();
    json!({"title": "a benchmark document", "items": items}).to_string()
}

fn bench(c: &mut criterion::Criterion) {
    let home = tempfile::tempdir().unwrap();
    let host = Host::builder().home(home.path()).build().unwrap();
    host.load(component("json_transform")).unwrap();
    let op = host.operator("json-transform").unwrap();

    for (name, spec, input) in [
        ("operator_call_1k", spec(), input()),
        // Guest work is tiny here, so the host's own cost shows.
        (
            "operator_call_small",
            json!({"steps": []}),
            r#"{"a":1}"#.to_string(),
        ),
    ] {
        let config = NodeConfig::try_from(json!({"spec": spec})).unwrap();
        let raw = RawOperator::new(&component("json_transform"), &spec.to_string());
        let (mut store, bindings) = raw.instantiate();
        let mut raw_call = || {
            // Refill fuel per call as the host does.
            store.set_fuel(u64::MAX).unwrap();
            bindings
                .symphony_extension_operator()
                .call_process(&mut store, &input)
                .unwrap()
                .unwrap()
        };
        assert_eq!(
            op.process(&config, &input).unwrap(),
            raw_call(),
            "both compute the same"
        );
        bench_pair(c, name, || op.process(&config, &input).unwrap(), raw_call);

        // The same against raw wasmtime with async bindings: the floor for
        // calls that can be stopped while waiting in a host call.
        let raw_async = RawAsyncOperator::new(&component("json_transform"), &spec.to_string());
        let (mut store, bindings) = raw_async.instantiate();
        let raw_async_call = || {
            store.set_fuel(u64::MAX).unwrap();
            ready(
                bindings
                    .symphony_extension_operator()
                    .call_process(&mut store, &input),
            )
            .unwrap()
            .unwrap()
        };
        bench_pair(
            c,
            &format!("{name}_vs_async_raw"),
            || op.process(&config, &input).unwrap(),
            raw_async_call,
        );
    }

    // The host runs `on-load` and `on-activate` on every new instance, so
    // the baseline does too.
    let raw = RawOperator::new(&component("json_transform"), &spec().to_string());
    bench_pair(
        c,
        "instantiate_from_pool",
        || host.check_start("json-transform").unwrap(),
        || {
            let (mut store, bindings) = raw.instantiate();
            let lifecycle = bindings.symphony_extension_lifecycle();
            lifecycle.call_on_load(&mut store).unwrap().unwrap();
            lifecycle.call_on_activate(&mut store).unwrap().unwrap();
        },
    );
}

criterion_group! { name = benches; config = criterion(); targets = bench }
criterion_main!(benches);
