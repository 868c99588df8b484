//! The indexer's parts: the bounded text cache and the wake signal.

use std::time::Duration;

use super::*;

#[test]
fn the_text_cache_keeps_texts_within_its_bounds_and_gives_each_back_once() {
    let cache = TextCache::default();
    let id = |i: usize| format!("{i:064x}");
    for i in 0..MAX_TEXTS + 10 {
        cache.insert(&id(i), Some("a few words".into()));
    }
    assert_eq!(cache.usage().0, MAX_TEXTS, "full: later texts are refused");
    assert_eq!(cache.take(&id(0)), Some(Some("a few words".into())));
    assert_eq!(cache.take(&id(0)), None, "taken once");
    assert_eq!(cache.take(&id(MAX_TEXTS)), None, "refused when full");
    cache.insert(&id(MAX_TEXTS), None);
    assert_eq!(cache.take(&id(MAX_TEXTS)), Some(None), "room again");

    cache.clear();
    assert_eq!(cache.usage(), (0, 0));
    let big = "x".repeat(MAX_TEXT_BYTES / 2);
    cache.insert(&id(1), Some(big.clone()));
    cache.insert(&id(2), Some(big.clone()));
    assert_eq!(cache.usage().0, 1, "the second would pass the byte bound");
    assert_eq!(
        cache.take(&id(1)).flatten().map(|t| t.len()),
        Some(big.len())
    );
    assert_eq!(cache.usage(), (0, 0), "bytes are given back");
}

#[test]
fn a_wake_is_kept_until_the_thread_looks_and_a_stop_ends_the_wait() {
    let signal = Signal::default();
    signal.wake();
    signal.wake();
    assert!(signal.wait(), "woken before it waited");
    std::thread::scope(|scope| {
        let waiter = scope.spawn(|| signal.wait());
        std::thread::sleep(Duration::from_millis(20));
        signal.wake();
        assert!(waiter.join().unwrap(), "woken while waiting");
        let waiter = scope.spawn(|| signal.wait());
        std::thread::sleep(Duration::from_millis(20));
        signal.stop();
        assert!(!waiter.join().unwrap(), "stopped while waiting");
    });
    signal.wake();
    assert!(!signal.wait(), "a stop outlasts later wakes");
}
