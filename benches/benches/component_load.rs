//! Loading an extension from the compiled-component cache against compiling
//! the same component with Cranelift.

use criterion::{criterion_group, criterion_main};
use symphony_benches::{compare, component, criterion, raw};
use symphony_host::Host;
use wasmtime::component::Component;

fn bench(c: &mut criterion::Criterion) {
    let path = component("mock_llm");
    let bytes = std::fs::read(&path).unwrap();
    let cache = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    // Warm the cache once.
    Host::builder()
        .home(home.path())
        .compile_cache(cache.path())
        .build()
        .unwrap()
        .load(&path)
        .unwrap();
    let host = Host::builder()
        .home(home.path())
        .compile_cache(cache.path())
        .build()
        .unwrap();
    let engine = raw::engine();

    let mut group = c.benchmark_group("component_load");
    group.sample_size(10);
    group.bench_function("ours", |b| {
        b.iter_batched(
            || {
                Host::builder()
                    .home(home.path())
                    .compile_cache(cache.path())
                    .build()
                    .unwrap()
            },
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
    assert!(host.cache_stats().compiled == 0);
    compare("extension_load_cached_vs_compile", "component_load");
}

fn config() -> criterion::Criterion {
    criterion()
}

criterion_group! { name = benches; config = config(); targets = bench }
criterion_main!(benches);
