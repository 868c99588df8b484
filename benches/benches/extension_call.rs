//! A warm Operator call through the host API against the same export called
//! through raw wasmtime bindings, and instantiation from the pool.

use criterion::{criterion_group, criterion_main};
use serde_json::json;
use symphony_benches::raw::RawOperator;
use symphony_benches::{compare, component, criterion};
use symphony_host::{Host, NodeConfig};

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
    let config = NodeConfig::try_from(json!({"spec": spec()})).unwrap();
    let input = input();
    let raw = RawOperator::new(&component("json_transform"), &spec().to_string());
    let (mut store, bindings) = raw.instantiate();
    let expected = op.process(&config, &input).unwrap();
    let raw_out = bindings
        .symphony_extension_operator()
        .call_process(&mut store, &input)
        .unwrap()
        .unwrap();
    assert_eq!(expected, raw_out, "both paths compute the same thing");

    let mut group = c.benchmark_group("operator_call_1k");
    group.bench_function("ours", |b| b.iter(|| op.process(&config, &input).unwrap()));
    group.bench_function("baseline", |b| {
        b.iter(|| {
            let api = bindings.symphony_extension_operator();
            // Refill fuel per call as the host does; it costs nothing measurable.
            store.set_fuel(u64::MAX).unwrap();
            api.call_process(&mut store, &input).unwrap().unwrap()
        })
    });
    group.finish();

    let mut group = c.benchmark_group("instantiate");
    group.bench_function("ours", |b| {
        b.iter(|| host.check_start("json-transform").unwrap())
    });
    // The host runs `on-load` and `on-activate` on every new instance, so
    // the baseline does too.
    group.bench_function("baseline", |b| {
        b.iter(|| {
            let (mut store, bindings) = raw.instantiate();
            let lifecycle = bindings.symphony_extension_lifecycle();
            lifecycle.call_on_load(&mut store).unwrap().unwrap();
            lifecycle.call_on_activate(&mut store).unwrap().unwrap();
        })
    });
    group.finish();

    compare("operator_call_1k", "operator_call_1k");
    compare("instantiate_from_pool", "instantiate");
}

fn config() -> criterion::Criterion {
    criterion()
}

criterion_group! { name = benches; config = config(); targets = bench }
criterion_main!(benches);
