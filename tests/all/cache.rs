//! The compile cache: a second load of the same component does not compile.

use symphony_host::{Host, extension::CacheStats};
use symphony_tests::component;

fn host_with_cache(cache: &std::path::Path, home: &std::path::Path) -> Host {
    Host::builder()
        .home(home)
        .compile_cache(cache)
        .build()
        .unwrap()
}

#[test]
fn second_load_of_a_component_comes_from_the_cache() {
    let cache = tempfile::tempdir().unwrap();
    let (home_a, home_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());

    let first = host_with_cache(cache.path(), home_a.path());
    first.load(component("mock_llm")).unwrap();
    assert_eq!(
        first.cache_stats(),
        CacheStats {
            compiled: 1,
            hits: 0
        }
    );

    let second = host_with_cache(cache.path(), home_b.path());
    second.load(component("mock_llm")).unwrap();
    assert_eq!(
        second.cache_stats(),
        CacheStats {
            compiled: 0,
            hits: 1
        }
    );
    let out = second
        .instrument("mock-llm")
        .unwrap()
        .invoke(&Default::default(), "\"Cached code runs.\"")
        .unwrap();
    assert!(out.contains("\"model\":\"mock-llm\""), "{out}");
}

#[test]
fn a_corrupt_cache_entry_is_recompiled() {
    let cache = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    host_with_cache(cache.path(), home.path())
        .load(component("status_panel"))
        .unwrap();
    for entry in std::fs::read_dir(cache.path()).unwrap() {
        std::fs::write(entry.unwrap().path(), b"garbage").unwrap();
    }
    let host = host_with_cache(cache.path(), home.path());
    host.load(component("status_panel")).unwrap();
    assert_eq!(
        host.cache_stats(),
        CacheStats {
            compiled: 1,
            hits: 0
        }
    );
    assert!(
        host.addon("status-panel")
            .unwrap()
            .get_state()
            .unwrap()
            .contains("details")
    );
}
