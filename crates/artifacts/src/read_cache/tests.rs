use super::*;

fn bytes(n: usize) -> Arc<[u8]> {
    vec![0; n].into()
}

#[test]
fn eviction_drops_the_least_recently_used_to_stay_within_the_budget() {
    let cache = ReadCache::new(1600);
    cache.insert("a", bytes(100));
    cache.insert("b", bytes(100));
    assert!(cache.get("a").is_some()); // a is now the most recent
    for i in 0..14 {
        cache.insert(&format!("x{i}"), bytes(100));
    }
    assert_eq!(cache.usage(), (16, 1600));
    cache.insert("c", bytes(100));
    assert!(cache.get("b").is_none(), "b was least recently used");
    assert!(cache.get("a").is_some());
    assert_eq!(cache.usage(), (16, 1600));
}

#[test]
fn large_items_are_not_cached_and_replacing_keeps_the_byte_count() {
    let cache = ReadCache::new(1600);
    cache.insert("big", bytes(101));
    assert!(cache.get("big").is_none());
    cache.insert("a", bytes(50));
    cache.insert("a", bytes(80));
    assert_eq!(cache.usage(), (1, 80));
    cache.remove("a");
    assert_eq!(cache.usage(), (0, 0));
}
