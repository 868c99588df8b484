//! Loading an extension from the compiled-component cache against compiling
//! the same component with Cranelift.

use criterion::{criterion_group, criterion_main};
use symphony_benches::{compare, component, criterion, host_with_cache, raw};
use symphony_host::extension::CacheStats;
use wasmtime::component::Component;

fn bench(c: &mut criterion::Criterion) {
    let path = component("mock_llm");
    let bytes = std::fs::read(&path).unwrap();
    let cache = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let new_host = || host_with_cache(home.path(), cache.path());
    // Warm the cache, then check that a second host really loads from it,
    // so "ours" below measures cache hits and never a compile.
    new_host().load(&path).unwrap();
    let check = new_host();
    check.load(&path).unwrap();
    assert_eq!(
        check.cache_stats(),
        CacheStats {
            compiled: 0,
            hits: 1
        }
    );
    let engine = raw::engine();

    let mut group = c.benchmark_group("component_load");
    group.sample_size(10);
    group.bench_function("ours", |b| {
        b.iter_batched(
            new_host,
            |fresh| {
                fresh.load(&path).unwrap();
                // Returned so that dropping the engine is not timed.
                fresh
            },
            criterion::BatchSize::PerIteration,
        )
    });
    group.bench_function("baseline", |b| {
        b.iter(|| Component::new(&engine, &bytes).unwrap())
    });
    group.finish();
    compare("extension_load_cached_vs_compile", "component_load");
}

criterion_group! { name = benches; config = criterion(); targets = bench }
criterion_main!(benches);
