use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use proptest::prelude::*;

use super::*;
use PoolState::*;

fn nz(n: usize) -> NonZeroUsize {
    NonZeroUsize::new(n).unwrap()
}

/// Records every transition it is told about.
fn recorder(listeners: &Listeners) -> (ListenerId, Arc<Mutex<Vec<PoolTransition>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    let id = listeners.subscribe(Box::new(move |t| sink.lock().unwrap().push(t.clone())));
    (id, seen)
}

#[test]
fn exactly_the_documented_edges_are_allowed() {
    let allowed: Vec<_> = PoolState::ALL
        .iter()
        .flat_map(|&from| PoolState::ALL.iter().map(move |&to| (from, to)))
        .filter(|&(from, to)| from.can_become(to))
        .collect();
    let expected = [
        (Cold, Warming),
        (Warming, Hot),
        (Warming, Failed),
        (Hot, Cooling),
        (Hot, Failed),
        (Cooling, Cold),
        (Cooling, Failed),
        (Failed, Cold),
    ];
    assert_eq!(allowed.len(), expected.len());
    for edge in expected {
        assert!(allowed.contains(&edge), "{edge:?}");
    }
}

#[test]
fn invalid_transition_is_rejected_and_changes_nothing() {
    let listeners = Listeners::new();
    let (_, seen) = recorder(&listeners);
    let mut life = InstanceLifecycle::new("ocr#1", listeners);
    let err = life.transition(Hot, "skip warming").unwrap_err();
    assert_eq!((err.from, err.to, &*err.instance), (Cold, Hot, "ocr#1"));
    assert_eq!(
        err.to_string(),
        "instance 'ocr#1': invalid transition from cold to hot"
    );
    assert_eq!(life.state(), Cold);
    assert_eq!(life.history().len(), 0);
    assert_eq!(life.transition_count(), 0);
    assert!(seen.lock().unwrap().is_empty());
}

#[test]
fn full_cycle_with_failure_and_recovery_is_recorded() {
    let listeners = Listeners::new();
    let (_, seen) = recorder(&listeners);
    let mut life = InstanceLifecycle::new("llm", listeners);
    let steps = [
        (Warming, "prewarm"),
        (Hot, "loaded"),
        (Failed, "health check"),
        (Cold, "recovered"),
        (Warming, "retry"),
        (Hot, "loaded"),
        (Cooling, "evicted"),
        (Cold, "drained"),
    ];
    for (i, (to, reason)) in steps.into_iter().enumerate() {
        let t = life.transition_at(to, reason, 1000 + i as u64).unwrap();
        assert_eq!(
            (t.to, t.reason.as_str(), t.at_ms),
            (to, reason, 1000 + i as u64)
        );
    }
    let history: Vec<_> = life.history().cloned().collect();
    assert_eq!(history, *seen.lock().unwrap());
    assert_eq!(history[2].from, Hot);
    assert_eq!(life.last_transition().unwrap().reason, "drained");
    assert!(life.transition(Warming, "now").unwrap().at_ms > 1_600_000_000_000);
}

#[test]
fn history_keeps_the_most_recent_transitions() {
    let mut life = InstanceLifecycle::with_history("x", Listeners::new(), 3);
    for round in 0..5 {
        for to in [Warming, Hot, Cooling, Cold] {
            life.transition(to, format!("round {round}")).unwrap();
        }
    }
    assert_eq!(life.transition_count(), 20);
    let kept: Vec<_> = life.history().map(|t| (t.from, t.to)).collect();
    assert_eq!(kept, [(Warming, Hot), (Hot, Cooling), (Cooling, Cold)]);
    // A limit of zero still keeps the last one.
    let mut tiny = InstanceLifecycle::with_history("y", Listeners::new(), 0);
    tiny.transition(Warming, "go").unwrap();
    assert_eq!(tiny.history().len(), 1);
}

#[test]
fn listeners_unsubscribe_share_and_reenter() {
    let listeners = Listeners::new();
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    let id = listeners.subscribe(Box::new(move |_| {
        counter.fetch_add(1, Ordering::Relaxed);
    }));
    // A listener that subscribes another from inside the callback.
    let registry = listeners.clone();
    let nested = listeners.subscribe(Box::new(move |_| {
        let inner = registry.subscribe(Box::new(|_| {}));
        registry.unsubscribe(inner);
    }));
    let mut a = InstanceLifecycle::new("a", listeners.clone());
    let mut b = InstanceLifecycle::new("b", listeners.clone());
    a.transition(Warming, "").unwrap();
    b.transition(Warming, "").unwrap();
    assert_eq!(calls.load(Ordering::Relaxed), 2);
    assert_eq!(listeners.len(), 2);
    assert!(listeners.unsubscribe(id));
    assert!(!listeners.unsubscribe(id));
    assert!(listeners.unsubscribe(nested));
    a.transition(Hot, "").unwrap();
    assert_eq!(calls.load(Ordering::Relaxed), 2);
    assert!(listeners.is_empty());
}

#[test]
fn listeners_are_thread_safe() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Listeners>();
    assert_send_sync::<InstanceLifecycle>();
    let listeners = Listeners::new();
    let calls = Arc::new(AtomicUsize::new(0));
    std::thread::scope(|scope| {
        for n in 0..4 {
            let listeners = listeners.clone();
            let calls = Arc::clone(&calls);
            scope.spawn(move || {
                let counter = Arc::clone(&calls);
                let id = listeners.subscribe(Box::new(move |_| {
                    counter.fetch_add(1, Ordering::Relaxed);
                }));
                let mut life = InstanceLifecycle::new(format!("i{n}"), listeners.clone());
                for to in [Warming, Hot, Cooling, Cold] {
                    life.transition(to, "").unwrap();
                }
                listeners.unsubscribe(id);
            });
        }
    });
    assert!(listeners.is_empty());
    // Each thread's own listener saw at least its own four transitions.
    assert!(calls.load(Ordering::Relaxed) >= 16);
}

#[test]
fn transitions_serialise_as_json() {
    let mut life = InstanceLifecycle::new("tts", Listeners::new());
    let t = life.transition_at(Warming, "prewarm", 7).unwrap();
    assert_eq!(
        serde_json::to_string(t).unwrap(),
        r#"{"instance":"tts","from":"cold","to":"warming","reason":"prewarm","at_ms":7}"#
    );
}

#[test]
fn hot_set_refuses_an_entry_larger_than_the_budget() {
    let mut hot = HotSet::new(nz(4), 100);
    hot.insert("a", 50).unwrap();
    let err = hot.insert("b", 101).unwrap_err();
    assert_eq!(
        err,
        HotSetError::TooLarge {
            bytes: 101,
            budget: 100
        }
    );
    assert!(err.to_string().contains("101 bytes"), "{err}");
    // Growing an existing entry past the budget is refused too, unchanged.
    assert!(hot.insert("a", 101).is_err());
    assert_eq!(
        (hot.len(), hot.used_bytes(), hot.size_of("a")),
        (1, 50, Some(50))
    );
    assert!(hot.insert("c", 100).unwrap() == [("a", 50)]);
}

#[test]
fn hot_set_evicts_by_count_and_by_bytes() {
    let mut hot = HotSet::new(nz(2), 1000);
    hot.insert(1, 10).unwrap();
    hot.insert(2, 10).unwrap();
    assert_eq!(hot.insert(3, 10).unwrap(), [(1, 10)]);
    let mut hot = HotSet::new(nz(10), 100);
    for k in 0..4 {
        hot.insert(k, 25).unwrap();
    }
    assert!(hot.touch(&0));
    assert!(!hot.touch(&9));
    assert_eq!(hot.peek_lru(), Some((&1, 25)));
    assert_eq!(hot.insert(4, 40).unwrap(), [(1, 25), (2, 25)]);
    // Growing an entry evicts others, never itself.
    assert_eq!(hot.insert(4, 75).unwrap(), [(3, 25)]);
    assert_eq!(hot.iter().collect::<Vec<_>>(), [(&4, 75), (&0, 25)]);
    assert_eq!(hot.remove(&0), Some(25));
    assert_eq!(hot.remove(&0), None);
    assert_eq!(hot.pop_lru(), Some((4, 75)));
    assert!(hot.is_empty());
    let stats = hot.stats();
    assert_eq!((stats.hits, stats.misses, stats.evictions), (1, 1, 3));
    assert_eq!(hot.hit_rate(), 0.5);
}

#[test]
fn hot_set_evicting_only_unspared_entries_leaves_it_unchanged_when_they_cannot_make_room() {
    let mut hot = HotSet::new(nz(3), 100);
    for k in 0..3 {
        hot.insert(k, 30).unwrap();
    }
    // 0 is the least recently used but spared: 1 goes instead.
    assert_eq!(hot.insert_sparing(3, 30, |k| *k == 0).unwrap(), [(1, 30)]);
    // Room for 60 bytes would take 0 and 2; with both spared, nothing moves.
    let before: Vec<_> = hot.iter().map(|(k, b)| (*k, b)).collect();
    assert_eq!(
        hot.insert_sparing(4, 60, |k| *k != 3),
        Err(HotSetError::Spared { spared: 2 })
    );
    assert_eq!(hot.iter().map(|(k, b)| (*k, b)).collect::<Vec<_>>(), before);
    assert_eq!(hot.used_bytes(), 90);
    // Nothing spared: the least recently used go first.
    assert_eq!(
        hot.insert_sparing(4, 60, |_| false).unwrap(),
        [(0, 30), (2, 30)]
    );
}

#[test]
fn hot_set_limits_can_shrink() {
    let mut hot = HotSet::new(nz(8), 100);
    for k in ["a", "b", "c", "d"] {
        hot.insert(k.to_string(), 20).unwrap();
    }
    assert!(hot.touch("a"));
    let evicted = hot.set_limits(nz(2), 30);
    assert_eq!(
        evicted,
        [("b".into(), 20), ("c".into(), 20), ("d".into(), 20)]
    );
    assert_eq!(
        (hot.len(), hot.used_bytes(), hot.budget(), hot.max_count()),
        (1, 20, 30, 2)
    );
    assert!(hot.contains("a"));
}

#[test]
fn hot_set_stats_serialise_and_start_at_zero() {
    let hot: HotSet<u32> = HotSet::new(nz(3), 64);
    let stats = hot.stats();
    assert_eq!(stats.hit_rate(), 0.0);
    assert_eq!(
        serde_json::to_value(stats).unwrap(),
        serde_json::json!({"len": 0, "max_count": 3, "used_bytes": 0, "budget_bytes": 64,
                           "hits": 0, "misses": 0, "evictions": 0})
    );
}

proptest! {
    #[test]
    fn random_transitions_follow_allowed_edges_and_chain(
        targets in proptest::collection::vec(0..5usize, 0..200),
        limit in 1..10usize,
    ) {
        let listeners = Listeners::new();
        let (_, seen) = recorder(&listeners);
        let mut life = InstanceLifecycle::with_history("p", listeners, limit);
        for (i, to) in targets.into_iter().map(|i| PoolState::ALL[i]).enumerate() {
            let before = life.state();
            match life.transition_at(to, format!("step {i}"), i as u64) {
                Ok(t) => {
                    prop_assert!(before.can_become(to));
                    prop_assert_eq!((t.from, t.to), (before, to));
                    prop_assert_eq!(life.state(), to);
                }
                Err(err) => {
                    prop_assert!(!before.can_become(to));
                    prop_assert_eq!((err.from, err.to), (before, to));
                    prop_assert_eq!(life.state(), before);
                }
            }
        }
        let all = seen.lock().unwrap();
        prop_assert_eq!(all.len() as u64, life.transition_count());
        if let Some(first) = all.first() {
            prop_assert_eq!(first.from, Cold);
        }
        for pair in all.windows(2) {
            prop_assert_eq!(pair[0].to, pair[1].from);
            prop_assert!(pair[0].at_ms < pair[1].at_ms);
        }
        prop_assert!(all.iter().all(|t| t.from.can_become(t.to)));
        prop_assert_eq!(all.last().map_or(Cold, |t| t.to), life.state());
        // The history is the tail of everything the listener saw.
        let kept: Vec<_> = life.history().cloned().collect();
        prop_assert_eq!(kept.len(), all.len().min(limit));
        prop_assert_eq!(&kept[..], &all[all.len() - kept.len()..]);
    }
}

#[derive(Debug, Clone)]
enum Op {
    Insert(u8, usize),
    Touch(u8),
    Remove(u8),
    Limits(usize, usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..12u8, 0..=40usize).prop_map(|(k, b)| Op::Insert(k, b)),
        4 => (0..12u8).prop_map(Op::Touch),
        1 => (0..12u8).prop_map(Op::Remove),
        1 => (1..=6usize, 0..=120usize).prop_map(|(c, b)| Op::Limits(c, b)),
    ]
}

/// The reference: entries least recently used first.
struct Model {
    entries: Vec<(u8, usize)>,
    max_count: usize,
    budget: usize,
}

impl Model {
    fn used(&self) -> usize {
        self.entries.iter().map(|e| e.1).sum()
    }

    fn take(&mut self, key: u8) -> Option<usize> {
        let at = self.entries.iter().position(|e| e.0 == key)?;
        Some(self.entries.remove(at).1)
    }

    fn shrink(&mut self, extra_count: usize, extra_bytes: usize) -> Vec<(u8, usize)> {
        let mut evicted = Vec::new();
        while !self.entries.is_empty()
            && (self.entries.len() + extra_count > self.max_count
                || self.used() + extra_bytes > self.budget)
        {
            evicted.push(self.entries.remove(0));
        }
        evicted
    }
}

proptest! {
    #[test]
    fn hot_set_matches_a_vec_model_within_its_limits(
        max_count in 1..=6usize,
        budget in 0..=120usize,
        ops in proptest::collection::vec(op(), 0..300),
    ) {
        let mut hot = HotSet::new(nz(max_count), budget);
        let mut model = Model { entries: Vec::new(), max_count, budget };
        let (mut lookups, mut evictions) = (0u64, 0u64);
        for op in ops {
            match op {
                Op::Insert(k, b) => {
                    let got = hot.insert(k, b);
                    if b > model.budget {
                        prop_assert!(got.is_err());
                    } else {
                        let evicted = if let Some(at) = model.entries.iter().position(|e| e.0 == k) {
                            model.entries.remove(at);
                            model.entries.push((k, b));
                            model.shrink(0, 0)
                        } else {
                            let evicted = model.shrink(1, b);
                            model.entries.push((k, b));
                            evicted
                        };
                        prop_assert!(!evicted.iter().any(|e| e.0 == k));
                        evictions += evicted.len() as u64;
                        prop_assert_eq!(got.unwrap(), evicted);
                    }
                }
                Op::Touch(k) => {
                    lookups += 1;
                    let present = model.take(k).map(|b| model.entries.push((k, b))).is_some();
                    prop_assert_eq!(hot.touch(&k), present);
                }
                Op::Remove(k) => prop_assert_eq!(hot.remove(&k), model.take(k)),
                Op::Limits(c, b) => {
                    (model.max_count, model.budget) = (c, b);
                    let evicted = model.shrink(0, 0);
                    evictions += evicted.len() as u64;
                    prop_assert_eq!(hot.set_limits(nz(c), b), evicted);
                }
            }
            prop_assert!(hot.len() <= hot.max_count());
            prop_assert!(hot.used_bytes() <= hot.budget());
            prop_assert_eq!(hot.used_bytes(), model.used());
            let order: Vec<_> = hot.iter().map(|(k, b)| (*k, b)).collect();
            let expected: Vec<_> = model.entries.iter().rev().copied().collect();
            prop_assert_eq!(order, expected);
            let stats = hot.stats();
            prop_assert_eq!(stats.hits + stats.misses, lookups);
            prop_assert_eq!(stats.lookups(), lookups);
            prop_assert_eq!(stats.evictions, evictions);
            prop_assert_eq!((stats.len, stats.used_bytes), (hot.len(), hot.used_bytes()));
        }
    }
}

/// A manager keeping at most `max` instances Hot, and who asks by default.
fn manager_of(max: usize) -> (PoolManager, symphony_arbitration::Requester) {
    let settings = PoolSettings {
        max_instances: max,
        ..PoolSettings::default()
    };
    let manager = PoolManager::new(settings, symphony_bus::Bus::new());
    let requester = manager.default_requester().clone();
    (manager, requester)
}

fn key(instance: u64) -> InstanceKey {
    InstanceKey { pool: 1, instance }
}

#[test]
fn touching_the_most_recent_instance_again_after_another_was_admitted_still_reorders() {
    let (manager, requester) = manager_of(2);
    assert!(manager.admit(key(1), 10, &requester, "a").is_empty());
    manager.touch(key(1), 0);
    // Admitting 2 makes it the most recent: touching 1 now is no no-op.
    assert!(manager.admit(key(2), 10, &requester, "a").is_empty());
    manager.touch(key(1), 0);
    manager.touch(key(1), 0);
    let evicted = manager.admit(key(3), 10, &requester, "a");
    assert_eq!(evicted, vec![(key(2), 10)], "the least recently used goes");
}

#[test]
fn an_instance_evicted_after_its_touch_is_not_kept_by_the_lock_free_check() {
    let (manager, requester) = manager_of(1);
    assert!(manager.admit(key(1), 10, &requester, "a").is_empty());
    manager.touch(key(1), 0);
    assert!(matches!(manager.keep(key(1), 10, 10), Keep::Kept(e) if e.is_empty()));
    manager.touch(key(1), 0);
    // Another instance takes the only place while 1 is in a call.
    assert_eq!(
        manager.admit(key(2), 10, &requester, "a"),
        vec![(key(1), 10)]
    );
    assert!(matches!(manager.keep(key(1), 10, 10), Keep::Evicted));
}
