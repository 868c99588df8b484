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
            total: 3,
        })
        .unwrap();
}

fn node(name: &str, seq: u64, state: Finish) -> NodeCheckpoint {
    NodeCheckpoint {
        node: name.into(),
        seq,
        state,
        outcome: (state != Finish::Failed).then(|| r#"{"output":1}"#.into()),
        attempts: 1,
        duration_ms: Some(1.5),
        error: (state == Finish::Failed).then(|| "it broke".into()),
    }
}

#[test]
fn checkpoints_are_listed_in_finish_order_with_the_runs_end() {
    let (_dir, store) = store();
    begin(&store, "r1");
    let writer = store.writer("r1", false).unwrap();
    writer.node(node("b", 0, Finish::Completed));
    writer.node(node("a", 1, Finish::Skipped));
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
    let writer = store.writer("r2", true).unwrap();
    writer.documents("{}".into(), "null".into());
    writer.node(node("a", 0, Finish::Completed));
    writer.node(node("b", 1, Finish::Failed));
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
            total: 1,
        })
        .unwrap_err()
        .to_string();
    assert!(taken.contains("run id 'done' is taken"), "{taken}");
    store
        .writer("done", false)
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

/// The tables Symphony wrote before schema version 2.
const VERSION_1: &str = "
CREATE TABLE runs (
    id TEXT PRIMARY KEY, workflow_id TEXT NOT NULL, workflow_name TEXT NOT NULL,
    workflow TEXT NOT NULL, input TEXT NOT NULL, state TEXT NOT NULL, pid INTEGER NOT NULL,
    started_ms INTEGER NOT NULL, finished_ms INTEGER, elapsed_ms REAL, total INTEGER NOT NULL,
    output TEXT, error TEXT, resumes INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE nodes (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE, node TEXT NOT NULL,
    seq INTEGER NOT NULL, state TEXT NOT NULL, outcome TEXT, attempts INTEGER NOT NULL,
    duration_ms REAL, error TEXT, PRIMARY KEY (run_id, node)
) WITHOUT ROWID;
CREATE INDEX runs_by_start ON runs(started_ms);
INSERT INTO runs VALUES ('old', 'wf', 'Old', '{\"id\":\"wf\"}', '7', 'failed', 1, 1000, 2000,
                         5.0, 3, NULL, 'node c failed', 0);
INSERT INTO runs VALUES ('twin', 'wf', 'Old', '{\"id\":\"wf\"}', '8', 'completed', 1, 3000,
                         4000, 1.0, 1, '[1]', NULL, 0);
INSERT INTO nodes VALUES ('old', 'b', 1, 'skipped', '\"skipped\"', 0, NULL, NULL);
INSERT INTO nodes VALUES ('old', 'a', 0, 'completed', '{\"output\":1}', 1, 2.5, NULL);
INSERT INTO nodes VALUES ('old', 'c', 2, 'failed', NULL, 3, 1.0, 'it broke');
INSERT INTO nodes VALUES ('twin', 'a', 0, 'completed', '{\"output\":1}', 1, 0.5, NULL);
PRAGMA user_version = 1;
";

#[test]
fn a_version_1_store_is_upgraded_with_every_run_and_node_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch(VERSION_1)
        .unwrap();
    let store = RunStore::open(&path).unwrap();

    let status = store.status("old").unwrap();
    assert_eq!(status.summary.state, ExecutionState::Failed);
    assert_eq!(
        (
            status.summary.completed,
            status.summary.skipped,
            status.summary.failed
        ),
        (1, 1, 1)
    );
    let nodes: Vec<_> = (status.nodes.iter())
        .map(|n| (n.node.as_str(), n.state.as_str(), n.attempts))
        .collect();
    assert_eq!(
        nodes,
        [
            ("a", "completed", 1),
            ("b", "skipped", 0),
            ("c", "failed", 3)
        ]
    );
    assert_eq!(status.nodes[2].error.as_deref(), Some("it broke"));
    assert_eq!(store.workflow("old").unwrap(), r#"{"id":"wf"}"#);
    let checkpoint = store.checkpoint("old").unwrap();
    assert_eq!(checkpoint.input, "7");
    assert_eq!(
        checkpoint.finished,
        [
            ("a".to_string(), 0, r#"{"output":1}"#.to_string()),
            ("b".to_string(), 1, r#""skipped""#.to_string())
        ]
    );
    let runs: Vec<_> = store.runs(10).unwrap().into_iter().map(|r| r.id).collect();
    assert_eq!(runs, ["twin", "old"]);
    assert_eq!(
        store.status("twin").unwrap().output,
        Some(serde_json::json!([1]))
    );

    // The two runs of one workflow share its document; the old tables are gone.
    let conn = store.lock();
    let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(count("SELECT count(*) FROM documents"), 3);
    assert_eq!(
        count("SELECT count(*) FROM sqlite_master WHERE name IN ('nodes', 'runs_v1')"),
        0
    );
    assert_eq!(
        count(
            "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'runs' AND name = 'runs_by_start'"
        ),
        1
    );
    assert_eq!(count("PRAGMA user_version"), 2);
}

#[test]
fn runs_of_the_same_workflow_store_it_once() {
    let (_dir, store) = store();
    for run in ["one", "two"] {
        begin(&store, run);
        let writer = store.writer(run, true).unwrap();
        writer.documents(r#"{"id":"wf"}"#.into(), "null".into());
        writer
            .finish(ExecutionState::Failed, None, None, 1.0)
            .unwrap();
        assert_eq!(store.workflow(run).unwrap(), r#"{"id":"wf"}"#);
    }
    let documents: i64 = (store.lock())
        .query_row("SELECT count(*) FROM documents", [], |r| r.get(0))
        .unwrap();
    assert_eq!(documents, 2, "the workflow and the input, once each");
}

#[test]
fn no_node_is_recorded_before_the_runs_documents() {
    let (_dir, store) = store();
    begin(&store, "late");
    let writer = store.writer("late", true).unwrap();
    writer.node(node("a", 0, Finish::Completed));
    std::thread::sleep(std::time::Duration::from_millis(20));
    // Killed here, the run could not be resumed, and it records nothing a
    // resume would need.
    assert!(store.finished("late").unwrap().is_empty());
    let refusal = store.checkpoint("late").err().unwrap().to_string();
    assert_eq!(
        refusal,
        "run 'late' stopped before its workflow was recorded, so it cannot be resumed; start it again"
    );
    writer.documents("{}".into(), "1".into());
    writer.flush();
    assert_eq!(store.finished("late").unwrap().len(), 1);
    assert_eq!(store.checkpoint("late").unwrap().input, "1");
    writer
        .finish(ExecutionState::Failed, None, None, 1.0)
        .unwrap();
}

#[test]
fn runs_begun_at_once_by_many_connections_all_record() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    RunStore::open(&path).unwrap();
    std::thread::scope(|scope| {
        for t in 0..8 {
            let path = &path;
            scope.spawn(move || {
                // A store per thread: a connection each, as processes have.
                let store = RunStore::open(path).unwrap();
                for r in 0..10 {
                    let id = format!("t{t}-r{r}");
                    begin(&store, &id);
                    let writer = store.writer(&id, true).unwrap();
                    writer.documents(format!("{{\"n\":{r}}}"), "null".into());
                    writer.node(node("a", 0, Finish::Completed));
                    writer
                        .finish(ExecutionState::Completed, None, None, 1.0)
                        .unwrap();
                }
            });
        }
    });
    let store = RunStore::open(&path).unwrap();
    let runs = store.runs(100).unwrap();
    assert_eq!(runs.len(), 80);
    assert!(runs.iter().all(|r| r.completed == 1), "{runs:?}");
}
