use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::{Arbiter, ArbitrationConfig};

#[test]
fn decisions_and_usage_reach_the_log_bounded_and_give_stats() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("arbitration.db");
    let log = SqliteLog::new(&path, 5);
    let config =
        ArbitrationConfig::parse("[slots]\ncapacity = 1\nstrategy = \"fifo\"\n", "t").unwrap();
    let arbiter = Arbiter::new(
        config,
        None,
        Some(Arc::clone(&log) as Arc<dyn DecisionSink>),
    );
    let slots = arbiter.slots();
    let holder = slots.try_acquire(&arbiter.requester("a"), 1).unwrap();
    let waiter = {
        let slots = Arc::clone(slots);
        let b = arbiter.requester("b").label("node late");
        std::thread::spawn(move || slots.acquire_blocking(&b, 1, None, None).map(drop))
    };
    while slots.usage().2 == 0 {
        std::thread::yield_now();
    }
    std::thread::sleep(Duration::from_millis(3));
    drop(holder);
    waiter.join().unwrap().unwrap();
    arbiter.flush_usage();
    log.flush();
    let rows = SqliteLog::read(&path, &LogQuery::default()).unwrap();
    let verdicts: Vec<&str> = rows.iter().map(|d| d.verdict.name()).collect();
    assert_eq!(verdicts, ["granted", "queued"], "newest first");
    assert_eq!(&*rows[0].label, "node late");
    assert!(rows[0].waited_us >= 3000, "{rows:?}");
    assert!(rows[1].reason.contains("1st in line"), "{}", rows[1].reason);
    let only_b = SqliteLog::read(
        &path,
        &LogQuery {
            tenant: Some("a".into()),
            ..LogQuery::default()
        },
    )
    .unwrap();
    assert!(only_b.is_empty());

    let stats = SqliteLog::stats(&path, Duration::from_secs(60), |_| 1.0).unwrap();
    let b = stats.tenants.iter().find(|t| t.tenant == "b").unwrap();
    assert_eq!((b.waited, b.free_grants), (1, 0));
    assert!(b.wait_p50_ms >= 3.0, "{b:?}");
    let a = stats.tenants.iter().find(|t| t.tenant == "a").unwrap();
    assert_eq!((a.waited, a.free_grants), (0, 1), "a's grant was free");

    // Bounded: past max_rows, the oldest go.
    for i in 0..(PRUNE_EVERY + 10) {
        log.record(Decision::now(
            &"r".into(),
            &"t".into(),
            &format!("{i}").into(),
            Verdict::Refused,
            String::new(),
            Duration::ZERO,
        ));
    }
    log.flush();
    let all = SqliteLog::read(
        &path,
        &LogQuery {
            limit: Some(10_000),
            ..LogQuery::default()
        },
    )
    .unwrap();
    assert!(all.len() <= 5 + 512, "{} rows kept", all.len());
    assert_eq!(&*all[0].label, &*format!("{}", PRUNE_EVERY + 9));
}

#[test]
fn a_log_not_written_yet_reads_as_no_decisions_and_a_broken_one_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let none = dir.path().join("none.db");
    assert!(
        SqliteLog::read(&none, &LogQuery::default())
            .unwrap()
            .is_empty()
    );
    let stats = SqliteLog::stats(&none, Duration::from_secs(60), |_| 1.0).unwrap();
    assert!(stats.resources.is_empty() && stats.tenants.is_empty());
    let broken = dir.path().join("broken.db");
    std::fs::write(&broken, b"not a database at all, just text").unwrap();
    let err = SqliteLog::read(&broken, &LogQuery::default()).unwrap_err();
    assert!(
        err.to_string()
            .starts_with(&format!("arbitration log {}", broken.display())),
        "{err}"
    );
}
