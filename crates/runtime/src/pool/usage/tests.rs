use std::sync::Arc;

use super::*;

fn calls(history: &UsageHistory, hour: usize, key: &str) -> u64 {
    history
        .busiest_at(hour, usize::MAX)
        .into_iter()
        .find(|(k, _)| k == key)
        .map_or(0, |(_, n)| n)
}

#[test]
fn a_streak_lands_in_the_history_as_every_use_recorded_alone() {
    let recorder = UsageRecorder::default();
    let at = recorder.epoch;
    let hour = (recorder.secs_at(at) / 3600 % 24) as usize;
    for _ in 0..100 {
        recorder.record(1, "a", at, |_| Some(()));
    }
    recorder.record(2, "b", at, |_| Some(()));
    let history = recorder.snapshot();
    assert_eq!(calls(&history, hour, "a"), 100);
    assert_eq!(calls(&history, hour, "b"), 1);
    // One run of `a`, followed by `b`.
    assert_eq!(history.successors("a"), vec![("b".to_string(), 1.0)]);
}

#[test]
fn only_a_use_that_starts_a_run_reaches_the_history() {
    let recorder = UsageRecorder::default();
    let at = recorder.epoch;
    let runs = (0..10)
        .filter(|_| recorder.record(7, "a", at, |_| Some(())).is_some())
        .count();
    assert_eq!(runs, 1);
    // After the follow window, the same extension starts a new run.
    let later = at + UsageHistory::DEFAULT_FOLLOW_WINDOW + Duration::from_secs(1);
    assert!(recorder.record(7, "a", later, |_| Some(())).is_some());
}

#[test]
fn racing_callers_of_two_extensions_lose_no_use() {
    let recorder = Arc::new(UsageRecorder::default());
    let at = recorder.epoch;
    let hour = (recorder.secs_at(at) / 3600 % 24) as usize;
    let threads: Vec<_> = (0..4u64)
        .map(|t| {
            let recorder = recorder.clone();
            std::thread::spawn(move || {
                let (pool, name) = if t % 2 == 0 { (1, "a") } else { (2, "b") };
                for _ in 0..20_000 {
                    recorder.record(pool, name, at, |_| Some(()));
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let history = recorder.snapshot();
    assert_eq!(calls(&history, hour, "a"), 40_000);
    assert_eq!(calls(&history, hour, "b"), 40_000);
}

#[test]
fn a_use_in_a_new_hour_is_counted_in_that_hour() {
    let recorder = UsageRecorder::default();
    let at = recorder.epoch;
    let secs = recorder.secs_at(at);
    let next_hour = at + Duration::from_secs(3600 - secs % 3600);
    recorder.record(1, "a", at, |_| Some(()));
    recorder.record(1, "a", at, |_| Some(()));
    recorder.record(1, "a", next_hour, |_| Some(()));
    let history = recorder.snapshot();
    let hour = (secs / 3600 % 24) as usize;
    assert_eq!(calls(&history, hour, "a"), 2);
    assert_eq!(calls(&history, (hour + 1) % 24, "a"), 1);
}

#[test]
fn after_the_base_is_read_again_a_streak_still_counts_without_the_lock() {
    let recorder = UsageRecorder::default();
    let later = recorder.epoch + REBASE * 2;
    recorder.record(1, "a", later, |_| Some(()));
    recorder.record(1, "a", later, |_| Some(()));
    recorder.record(1, "a", later, |_| Some(()));
    // Both repeats were counted in the streak word, not under the lock.
    assert_eq!(recorder.streak.load(Ordering::Acquire) & COUNT, 2);
    let hour = (recorder.secs_at(later) / 3600 % 24) as usize;
    assert_eq!(calls(&recorder.snapshot(), hour, "a"), 3);
}
