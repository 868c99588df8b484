use super::*;
use crate::run_store::RunStore;

fn record(node: &str, seq: u64, state: Finish) -> NodeCheckpoint {
    NodeCheckpoint {
        node: node.into(),
        seq,
        state,
        outcome: (state != Finish::Failed).then(|| format!("{{\"output\":{seq}}}")),
        attempts: 1,
        duration_ms: Some(0.25),
        error: (state == Finish::Failed).then(|| "it broke".into()),
    }
}

/// A store with run `r`, its first batch of records `first` stored.
fn store_with_run(first: &[NodeCheckpoint]) -> (tempfile::TempDir, RunStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = RunStore::open(dir.path().join("runs.db")).unwrap();
    store
        .begin(&crate::run_store::NewRun {
            id: "r",
            workflow_id: "wf",
            workflow_name: "wf",
            total: 4,
        })
        .unwrap();
    append(&store.lock(), "r", first).unwrap();
    (dir, store)
}

/// Run `r`'s (completed, failed, skipped) counts.
fn counts(conn: &rusqlite::Connection) -> (u64, u64, u64) {
    conn.query_row(
        "SELECT completed, failed, skipped FROM runs WHERE id = 'r'",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )
    .unwrap()
}

#[test]
fn batches_load_back_in_finish_order_with_their_counts() {
    let (_dir, store) = store_with_run(&[
        record("b", 1, Finish::Completed),
        record("a", 0, Finish::Skipped),
    ]);
    let conn = store.lock();
    append(&conn, "r", &[record("c", 2, Finish::Failed)]).unwrap();
    append(&conn, "r", &[]).unwrap();
    let loaded = load(&conn, "r").unwrap();
    let order: Vec<_> = loaded.iter().map(|r| r.node.as_str()).collect();
    assert_eq!(order, ["a", "b", "c"]);
    assert_eq!(loaded[2], record("c", 2, Finish::Failed));
    assert_eq!(counts(&conn), (1, 1, 1));
    let rows: i64 = conn
        .query_row("SELECT count(*) FROM node_records", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 2, "an empty batch stores nothing");
}

#[test]
fn a_node_recorded_twice_keeps_its_later_record() {
    let (_dir, store) = store_with_run(&[
        record("a", 0, Finish::Failed),
        record("b", 1, Finish::Completed),
    ]);
    let conn = store.lock();
    append(&conn, "r", &[record("a", 2, Finish::Completed)]).unwrap();
    let loaded = load(&conn, "r").unwrap();
    assert_eq!(
        loaded,
        [
            record("b", 1, Finish::Completed),
            record("a", 2, Finish::Completed)
        ]
    );
}

#[test]
fn replacing_a_runs_records_resets_its_counts() {
    let (_dir, store) = store_with_run(&[
        record("a", 0, Finish::Failed),
        record("b", 1, Finish::Completed),
    ]);
    let conn = store.lock();
    replace(&conn, "r", &[record("b", 1, Finish::Completed)]).unwrap();
    assert_eq!(
        load(&conn, "r").unwrap(),
        [record("b", 1, Finish::Completed)]
    );
    assert_eq!(counts(&conn), (1, 0, 0));
}

#[test]
fn unreadable_records_are_reported_as_corrupt_with_the_run() {
    let (_dir, store) = store_with_run(&[]);
    let conn = store.lock();
    conn.execute(
        "INSERT INTO node_records (run_id, records) VALUES ('r', x'c1ffee')",
        [],
    )
    .unwrap();
    let error = load(&conn, "r").unwrap_err().to_string();
    assert!(
        error.starts_with("run 'r': stored record of its nodes is unreadable"),
        "{error}"
    );
}
