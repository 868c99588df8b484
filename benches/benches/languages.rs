//! The same small JSON transform (take the input's `value`, write it back)
//! in Python, JavaScript and C against Rust, in one run: component size,
//! cold compile, cached load, instantiation from the pool and the warm
//! call. Each guest is a fixture `cargo xtask build-examples` builds
//! (`tests/fixtures/{py,js,c}-misbehave`, the Rust one `hostile`).

use std::time::Instant;

use criterion::{criterion_group, criterion_main};
use serde_json::json;
use symphony_benches::{
    bench_pair, compare_sizes, compare_values, criterion, fixture, host_with_cache,
    interleaved_medians, raw,
};
use symphony_host::extension::{LoadOptions, NodeConfig};
use wasmtime::component::Component;

/// A guest, the input that makes it run the transform, and its name once
/// loaded.
struct Guest {
    language: &'static str,
    path: std::path::PathBuf,
    input: String,
    name: String,
}

/// `fixture_name`, asked to do `action` (under `key`) on a small document.
fn guest(language: &'static str, fixture_name: &str, key: &str, action: &str) -> Guest {
    let path = fixture(fixture_name)
        .unwrap_or_else(|| panic!("{fixture_name} is missing: run `cargo xtask bench`"));
    let value = json!({"title": "a small document", "tags": ["a", "b", "c"], "n": 3});
    // `value` last: the C guest finds it by scanning.
    let input = format!(r#"{{"{key}":"{action}","value":{value}}}"#);
    Guest {
        language,
        path,
        input,
        name: fixture_name.replace('_', "-"),
    }
}

fn bench(c: &mut criterion::Criterion) {
    let rust = guest("rust", "hostile", "mode", "echo");
    let others = [
        guest("python", "py_misbehave", "do", "value"),
        guest("js", "js_misbehave", "do", "value"),
        guest("c", "c_misbehave", "do", "value"),
    ];
    let cache = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let new_host = || host_with_cache(home.path(), cache.path());
    let engine = raw::engine();
    let compile = |g: &Guest| {
        let bytes = std::fs::read(&g.path).unwrap();
        let start = Instant::now();
        Component::new(&engine, &bytes).unwrap();
        start.elapsed().as_nanos() as f64
    };
    let rust_bytes = std::fs::metadata(&rust.path).unwrap().len() as usize;
    // Cold compiles take seconds for the interpreters: one each, in the
    // same sitting as Rust's.
    let rust_compile = compile(&rust);
    // One host serving all four, warm, for the calls.
    let host = new_host();
    for g in std::iter::once(&rust).chain(&others) {
        host.load_with(&g.path, LoadOptions::default()).unwrap();
    }
    let config = &NodeConfig::default();
    let call = |g: &Guest| {
        let op = host.operator(&g.name).unwrap();
        let input = g.input.clone();
        move || op.process(config, &input).unwrap()
    };
    let expected = call(&rust)();
    for g in &others {
        let lang = g.language;
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&call(g)()).unwrap(),
            serde_json::from_str::<serde_json::Value>(&expected).unwrap(),
            "{lang} computes what Rust does"
        );
        let bytes = std::fs::metadata(&g.path).unwrap().len() as usize;
        compare_sizes(&format!("language_size_{lang}_vs_rust"), bytes, rust_bytes);
        compare_values(
            &format!("language_cold_compile_{lang}_vs_rust"),
            compile(g),
            rust_compile,
        );
        // A fresh host loading from the warm compile cache.
        let load = |g: &Guest| {
            let fresh = new_host();
            fresh.load_with(&g.path, LoadOptions::default()).unwrap();
            fresh
        };
        let (ours, baseline) =
            interleaved_medians(7, 1, &mut || drop(load(g)), &mut || drop(load(&rust)));
        compare_values(
            &format!("language_cached_load_{lang}_vs_rust"),
            ours,
            baseline,
        );
        let (ours, baseline) = interleaved_medians(
            21,
            1,
            &mut || host.check_start(&g.name).unwrap(),
            &mut || host.check_start(&rust.name).unwrap(),
        );
        compare_values(
            &format!("language_instantiate_{lang}_vs_rust"),
            ours,
            baseline,
        );
        bench_pair(
            c,
            &format!("language_warm_call_{lang}_vs_rust"),
            call(g),
            call(&rust),
        );
    }
}

criterion_group! { name = benches; config = criterion(); targets = bench }
criterion_main!(benches);
