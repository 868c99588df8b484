//! A `symphony run` killed with SIGKILL mid-run, then resumed with
//! `symphony run --resume RUN_ID`: the finished nodes are not run again
//! and the output is the same as an uninterrupted run's.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use symphony_host::runs::{ExecutionState, RunStore};

use super::{BIN, built, text};

/// A test fixture component: `$SYMPHONY_FIXTURES`, else `<target>/fixtures`.
pub(super) fn fixture(name: &str) -> PathBuf {
    let path = built("SYMPHONY_FIXTURES", "fixtures").join(format!("{name}.wasm"));
    assert!(
        path.is_file(),
        "{} missing: run `cargo xtask test`",
        path.display()
    );
    path
}

pub(super) fn symphony(home: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("--home")
        .arg(home)
        .args(args)
        .env_remove("SYMPHONY_LOG")
        .output()
        .expect("symphony runs")
}

/// Five 250 ms nodes in a chain, each also feeding a merge of them all.
pub(super) fn chain_workflow(dir: &Path) -> PathBuf {
    let ids = ["a", "b", "c", "d", "e"];
    let mut nodes: Vec<Value> = ids
        .iter()
        .map(|id| {
            json!({"id": id, "kind": "operator", "extension": "hostile",
                   "config": {"mode": "sleep", "ms": 250, "label": format!("label-{id}")}})
        })
        .collect();
    nodes.push(json!({"id": "all", "kind": "control", "control": {"merge": "all"}}));
    let mut edges: Vec<Value> = ids
        .windows(2)
        .map(|pair| json!({"from": pair[0], "to": pair[1], "kind": "control"}))
        .collect();
    edges.extend(ids.iter().map(|id| json!({"from": id, "to": "all"})));
    let doc = json!({"schema_version": 2, "id": "chain", "name": "chain", "version": "1.0.0",
                     "nodes": nodes, "edges": edges});
    let path = dir.join("chain.json");
    std::fs::write(&path, doc.to_string()).unwrap();
    path
}

pub(super) fn report(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "symphony failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn a_run_killed_mid_way_resumes_without_rerunning_finished_nodes() {
    let work = tempfile::tempdir().unwrap();
    let extensions = work.path().join("ext");
    std::fs::create_dir_all(&extensions).unwrap();
    std::fs::copy(fixture("hostile"), extensions.join("hostile.wasm")).unwrap();
    let workflow = chain_workflow(work.path());
    let (workflow, extensions) = (workflow.to_str().unwrap(), extensions.to_str().unwrap());
    let run_args = ["run", workflow, "--ext-dir", extensions, "--json"];

    // One home for both runs: the second finds the component compiled
    // (a cold compile on a loaded machine can take many seconds).
    let home = work.path().join("home");
    let uninterrupted = report(&symphony(&home, &run_args));
    assert_eq!(uninterrupted["state"], "completed");

    // Start the run again and kill it once two of its nodes are
    // checkpointed.
    let mut child = Command::new(BIN)
        .arg("--home")
        .arg(&home)
        .args(run_args)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(work.path().join("stderr")).unwrap())
        .spawn()
        .unwrap();
    let first_id = uninterrupted["run_id"].as_str().unwrap().to_string();
    let store_path = home.join("runs.db");
    let until = Instant::now() + Duration::from_secs(180);
    let run_id = loop {
        assert!(
            Instant::now() < until,
            "the run never checkpointed two nodes"
        );
        if let Some(status) = child.try_wait().unwrap() {
            let stderr = std::fs::read_to_string(work.path().join("stderr")).unwrap_or_default();
            panic!("the run ended ({status}) before two nodes were checkpointed: {stderr}");
        }
        std::thread::sleep(Duration::from_millis(10));
        if !store_path.exists() {
            continue;
        }
        let Ok(store) = RunStore::open(&store_path) else {
            continue;
        };
        let runs = store.runs(10).unwrap_or_default();
        if let Some(run) = runs.iter().find(|r| r.id != first_id && r.completed >= 2) {
            break run.id.clone();
        }
    };
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();

    let store = RunStore::open(&store_path).unwrap();
    let killed = store.status(&run_id).unwrap();
    assert_eq!(killed.summary.state, ExecutionState::Running);
    assert!(killed.summary.interrupted, "{:?}", killed.summary);
    let finished_before: Vec<String> = killed.nodes.iter().map(|n| n.node.clone()).collect();
    assert!(
        (2..5).contains(&finished_before.len()),
        "killed after {finished_before:?}"
    );
    let listed = text(&symphony(&home, &["runs"]).stdout);
    assert!(
        listed.contains(&run_id) && listed.contains("interrupted"),
        "{listed}"
    );

    let resumed = report(&symphony(
        &home,
        &[
            "run",
            "--resume",
            &run_id,
            "--ext-dir",
            extensions,
            "--json",
        ],
    ));
    assert_eq!(resumed["state"], "completed");
    assert_eq!(resumed["resumed"], true);
    assert_eq!(resumed["output"], uninterrupted["output"]);
    for node in resumed["nodes"].as_array().unwrap() {
        let id = node["id"].as_str().unwrap();
        let restored = node["restored"] == true;
        assert_eq!(
            restored,
            finished_before.iter().any(|f| f == id),
            "node {id}: {node}"
        );
        if restored {
            assert_eq!(node["attempts"], 0, "node {id} ran again");
        }
    }

    let status = symphony(&home, &["status", &run_id, "--json"]);
    let status: Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["state"], "completed");
    assert_eq!(status["resumes"], 1);
    assert_eq!(status["output"], uninterrupted["output"]);
    let again = symphony(
        &home,
        &["run", "--resume", &run_id, "--ext-dir", extensions],
    );
    assert!(!again.status.success());
    assert!(
        text(&again.stderr).contains("the run is completed"),
        "{}",
        text(&again.stderr)
    );
}
