//! Workflows beyond the demo: every example, fan-in, failures, events.

use std::time::Duration;

use serde_json::json;
use symphony_host::{
    runs::{ExecutionState, NodeState},
    workflow::Workflow,
};
use symphony_tests::{assert_completed, examples_dir, host, node_report};

#[test]
fn every_example_workflow_validates_and_runs() {
    let host = host();
    let mut ran = 0;
    for entry in std::fs::read_dir(examples_dir().join("workflows")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if name.ends_with("-input.json") || !name.ends_with(".json") {
            continue;
        }
        let workflow = Workflow::from_file(&path).unwrap();
        let report = host
            .run(
                &workflow,
                &json!({"text": "Fast and reliable. Never slow."}),
            )
            .unwrap();
        assert_eq!(
            report.state,
            ExecutionState::Completed,
            "{name}: {:?}",
            report.error
        );
        ran += 1;
    }
    assert!(ran >= 2, "expected the example workflows, ran {ran}");
}

#[test]
fn a_node_with_two_inputs_gets_them_keyed_by_node_id() {
    let host = host();
    let workflow =
        Workflow::from_file(examples_dir().join("workflows/review-triage.json")).unwrap();
    let report = host
        .run(
            &workflow,
            &json!("The editor is fast and great. Search is fast."),
        )
        .unwrap();
    assert_eq!(
        report.output,
        Some(json!({"tags": ["fast", "editor", "great"], "sentiment": "positive", "score": 1.0}))
    );
    let order: Vec<_> = report.nodes.iter().map(|n| n.id.as_str()).collect();
    assert_eq!(order, ["tone", "topics", "triage"]);
}

#[test]
fn a_failing_node_fails_the_run_and_skips_the_rest() {
    let host = host();
    let workflow = Workflow::from_json(
        &json!({
            "schema_version": 1, "name": "broken",
            "nodes": [
                {"id": "llm", "kind": "instrument", "extension": "mock-llm"},
                {"id": "shape", "kind": "operator", "extension": "json-transform",
                 "config": {"spec": {"require_input": ["$.nothing"], "steps": []}}},
                {"id": "after", "kind": "operator", "extension": "json-transform", "config": {"spec": {"steps": []}}}
            ],
            "edges": [{"from": "llm", "to": "shape"}, {"from": "shape", "to": "after"}]
        })
        .to_string(),
        "broken.json",
    )
    .unwrap();
    let report = host.run(&workflow, &json!("Some text.")).unwrap();
    assert_eq!(report.state, ExecutionState::Failed);
    let states: Vec<_> = report.nodes.iter().map(|n| n.state).collect();
    assert_eq!(
        states,
        [NodeState::Completed, NodeState::Failed, NodeState::Skipped]
    );
    let error = report.error.unwrap();
    assert!(
        error.starts_with("node 'shape' failed: json-transform.validate-input returned an error"),
        "{error}"
    );
    assert!(error.contains("nothing at '$.nothing'"), "{error}");
    assert_eq!(report.output, None);
}

#[test]
fn run_events_are_published_on_the_bus() {
    let host = host();
    let events = host.bus().subscribe("exec.>").unwrap();
    let workflow = Workflow::from_file(examples_dir().join("workflows/demo.json")).unwrap();
    let report = host.run(&workflow, &json!("Short text.")).unwrap();
    let messages: Vec<_> =
        std::iter::from_fn(|| events.recv_timeout(Duration::from_millis(200))).collect();
    let prefix = format!("exec.{}", report.run_id);
    let subjects: Vec<&str> = messages.iter().map(|m| m.subject.as_str()).collect();
    let expected: Vec<String> = [
        "started",
        "node.started",
        "node.completed",
        "node.started",
        "node.completed",
        "progress",
        "state",
    ]
    .iter()
    .map(|event| format!("{prefix}.{event}"))
    .collect();
    assert_eq!(subjects, expected);
    // Each payload is the event as JSON; the last says how the run ended.
    let last: serde_json::Value = serde_json::from_slice(&messages[6].payload).unwrap();
    assert_eq!(last["event"], "state");
    assert_eq!(last["state"], "completed");
    let first: serde_json::Value = serde_json::from_slice(&messages[1].payload).unwrap();
    assert_eq!(first["node"], "summarise");
    assert_eq!(first["attempt"], 1);
}

#[test]
fn invalid_workflows_list_every_problem() {
    let host = host();
    let workflow = Workflow::from_json(
        &json!({
            "schema_version": 1, "name": "bad",
            "nodes": [
                {"id": "a", "kind": "instrument", "extension": "nope"},
                {"id": "b", "kind": "operator", "extension": "json-transform"},
                {"id": "c", "kind": "operator", "extension": "json-transform"}
            ],
            "edges": [{"from": "b", "to": "c"}, {"from": "c", "to": "b"}, {"from": "a", "to": "zz"}]
        })
        .to_string(),
        "bad.json",
    )
    .unwrap();
    let message = host.validate(&workflow).unwrap_err().to_string();
    for expected in [
        "workflow 'bad' is invalid:",
        "node 'a': unknown extension 'nope'",
        "edge 2 (a -> zz): there is no node 'zz'",
        "node 'b': is part of a cycle: b -> c -> b",
    ] {
        assert!(
            message.contains(expected),
            "missing {expected:?} in:\n{message}"
        );
    }
}

#[test]
fn the_foundations_version_1_files_upgrade_to_the_current_examples() {
    let v1_dir = examples_dir().join("../tests/fixtures/workflows-v1");
    for name in ["demo.json", "review-triage.json"] {
        let upgraded = Workflow::from_file(v1_dir.join(name)).unwrap();
        let mut current = Workflow::from_file(examples_dir().join("workflows").join(name)).unwrap();
        // The examples add authorship, tags and an editor's `$schema`;
        // version 1 had none.
        current.metadata = Default::default();
        current.schema = None;
        assert_eq!(upgraded, current, "{name}");
    }
}

#[test]
fn an_example_runs_the_same_from_msgpack() {
    let host = host();
    let path = examples_dir().join("workflows/demo.json");
    let workflow = Workflow::from_file(&path).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let packed = dir.path().join("demo.msgpack");
    std::fs::write(&packed, workflow.to_msgpack()).unwrap();
    let from_msgpack = Workflow::from_file(&packed).unwrap();
    assert_eq!(from_msgpack, workflow);
    let input = json!({"text": "Msgpack is compact. Workflows travel well."});
    let a = host.run(&workflow, &input).unwrap();
    let b = host.run(&from_msgpack, &input).unwrap();
    assert_eq!(a.output, b.output);
}

#[test]
fn conditional_edges_run_one_branch_and_skip_the_other_with_its_dependents() {
    let host = host();
    let label = json!({"spec": {"steps": [{"select": {"label": "$.sentiment.label"}}]}});
    let workflow = Workflow::builder("triage-branches")
        .instrument("tone", "mock-llm")
        .config(json!({"tasks": ["sentiment"]}))
        .operator("escalate", "json-transform")
        .config(label.clone())
        .operator("archive", "json-transform")
        .config(label)
        .operator("notify", "json-transform")
        .config(json!({"spec": {"steps": [{"select": {"urgent": "$.label"}}]}}))
        .connect_when("tone", "escalate", "sentiment.label == 'negative'")
        .connect_when("tone", "archive", "sentiment.label != 'negative'")
        .connect("escalate", "notify")
        .build()
        .unwrap();
    for (text, negative) in [
        ("This is terrible. Broken, awful, the worst.", true),
        ("Lovely work, great and wonderful, thank you.", false),
    ] {
        let report = host.run(&workflow, &json!({"text": text})).unwrap();
        assert_completed(&report);
        let state = |id: &str| node_report(&report, id).state;
        let states = (state("escalate"), state("notify"), state("archive"));
        let output = report.output.clone().unwrap();
        if negative {
            assert_eq!(
                states,
                (
                    NodeState::Completed,
                    NodeState::Completed,
                    NodeState::Skipped
                )
            );
            assert_eq!(output, json!({"notify": {"urgent": "negative"}}));
        } else {
            assert_eq!(
                states,
                (NodeState::Skipped, NodeState::Skipped, NodeState::Completed)
            );
            assert_ne!(output["archive"]["label"], "negative");
            assert!(output.get("notify").is_none(), "{output}");
        }
    }
}

#[test]
fn node_configs_that_do_not_fit_the_manifest_are_refused_before_running() {
    let host = host();
    let workflow = Workflow::from_json(
        r#"{"schema_version": 2, "id": "w", "name": "w", "version": "1.0.0",
            "nodes": [
              {"id": "model", "kind": "instrument", "extension": "mock-llm",
               "config": {"summary_sentences": 50, "temperature": 1}},
              {"id": "shape", "kind": "operator", "extension": "json-transform"}
            ],
            "edges": [{"from": "model", "to": "shape"}]}"#,
        "test",
    )
    .unwrap();
    let message = host.validate(&workflow).unwrap_err().to_string();
    for needle in [
        "node 'model': config 'summary_sentences': must be 1 to 20, got 50",
        "node 'model': config 'temperature': unknown key (this extension takes: keywords, \
         summary_sentences, tasks)",
        "node 'shape': config 'spec'",
    ] {
        assert!(message.contains(needle), "{needle} in {message}");
    }
    let error = host.run(&workflow, &json!("text")).unwrap_err();
    assert!(error.to_string().contains("summary_sentences"), "{error}");
}

#[test]
fn node_configs_inside_a_map_body_are_checked_too() {
    let host = host();
    let workflow = Workflow::from_json(
        r#"{"schema_version": 2, "id": "w", "name": "w", "version": "1.0.0",
            "nodes": [
              {"id": "each", "kind": "control", "control": {"map": {
                "nodes": [{"id": "weigh", "kind": "instrument", "extension": "mock-llm",
                           "config": {"keywords": -1}}]
              }}}
            ]}"#,
        "test",
    )
    .unwrap();
    let message = host.validate(&workflow).unwrap_err().to_string();
    assert!(
        message.contains("node 'each' > node 'weigh': config 'keywords': must be 0 to 50, got -1"),
        "{message}"
    );
}
