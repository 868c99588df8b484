use super::*;

fn store() -> (tempfile::TempDir, RunStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = RunStore::open(dir.path().join("runs.db")).unwrap();
    (dir, store)
}

fn begin(store: &RunStore, id: &str) {
    store
        .begin(&NewRun {
            id,
            workflow_id: "wf",
            workflow_name: "A workflow",
            workflow: "{}",
            input: "null",
            total: 3,
        })
        .unwrap();
}

fn node(name: &str, seq: u64, state: &'static str) -> NodeCheckpoint {
    NodeCheckpoint {
        node: name.into(),
        seq,
        state,
        outcome: (state != "failed").then(|| r#"{"output":1}"#.into()),
        attempts: 1,
        duration_ms: Some(1.5),
        error: (state == "failed").then(|| "it broke".into()),
    }
}

#[test]
fn checkpoints_are_listed_in_finish_order_with_the_runs_end() {
    let (_dir, store) = store();
    begin(&store, "r1");
    let writer = store.writer("r1").unwrap();
    writer.node(node("b", 0, "completed"));
    writer.node(node("a", 1, "skipped"));
    writer.flush();
    assert_eq!(store.finished("r1").unwrap().len(), 2);
    writer
        .finish(ExecutionState::Completed, Some("[1]".into()), None, 12.5)
        .unwrap();

    let status = store.status("r1").unwrap();
    assert_eq!(status.summary.state, ExecutionState::Completed);
    assert!(!status.summary.interrupted);
    assert_eq!(
        (
            status.summary.completed,
            status.summary.skipped,
            status.summary.total
        ),
        (1, 1, 3)
    );
    assert_eq!(status.summary.elapsed_ms, Some(12.5));
    assert_eq!(status.output, Some(serde_json::json!([1])));
    let order: Vec<_> = status.nodes.iter().map(|n| n.node.as_str()).collect();
    assert_eq!(order, ["b", "a"]);
    assert_eq!(store.runs(10).unwrap()[0].id, "r1");
}

#[test]
fn a_failed_run_resumes_with_its_finished_nodes_and_forgets_its_failures() {
    let (_dir, store) = store();
    begin(&store, "r2");
    let writer = store.writer("r2").unwrap();
    writer.node(node("a", 0, "completed"));
    writer.node(node("b", 1, "failed"));
    writer
        .finish(
            ExecutionState::Failed,
            None,
            Some("node 'b' failed".into()),
            3.0,
        )
        .unwrap();

    let checkpoint = store.checkpoint("r2").unwrap();
    assert_eq!(checkpoint.state, ExecutionState::Failed);
    let finished: Vec<_> = checkpoint.finished.iter().map(|f| f.0.as_str()).collect();
    assert_eq!(finished, ["a"]);
    // Reading the checkpoint changes nothing; reopening does.
    assert_eq!(
        store.status("r2").unwrap().summary.state,
        ExecutionState::Failed
    );
    store.reopen("r2").unwrap();
    let status = store.status("r2").unwrap();
    assert_eq!(status.summary.state, ExecutionState::Running);
    assert_eq!((status.summary.failed, status.summary.resumes), (0, 1));
    assert_eq!(status.summary.error, None);
}

#[test]
fn finished_unknown_and_live_runs_are_not_resumed() {
    let (_dir, store) = store();
    begin(&store, "done");
    let taken = store
        .begin(&NewRun {
            id: "done",
            workflow_id: "wf",
            workflow_name: "again",
            workflow: "{}",
            input: "null",
            total: 1,
        })
        .unwrap_err()
        .to_string();
    assert!(taken.contains("run id 'done' is taken"), "{taken}");
    store
        .writer("done")
        .unwrap()
        .finish(ExecutionState::Completed, None, None, 1.0)
        .unwrap();
    let refusal = store.checkpoint("done").err().unwrap().to_string();
    assert_eq!(
        refusal,
        "the run is completed; only a failed or interrupted run can be resumed"
    );
    let refusal = store.checkpoint("nope").err().unwrap().to_string();
    assert!(refusal.contains("no run 'nope'"), "{refusal}");

    // A run this process started and is still running may be resumed by
    // it (a restart), but one whose process lives on is refused.
    begin(&store, "live");
    store
        .lock()
        .execute("UPDATE runs SET pid = 1 WHERE id = 'live'", [])
        .unwrap();
    let refusal = store.checkpoint("live").err().unwrap().to_string();
    assert_eq!(refusal, "process 1 is still running it");
}

#[test]
fn a_store_from_a_newer_symphony_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", 99).unwrap();
    drop(conn);
    let error = RunStore::open(&path).err().unwrap().to_string();
    assert!(error.contains("schema version 99"), "{error}");
    assert!(error.contains("upgrade Symphony"), "{error}");
}
