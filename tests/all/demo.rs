//! The demo workflow end to end, output included.

use serde_json::{Value, json};
use symphony_host::{extension::render_text, runs::NodeState, workflow::Workflow};
use symphony_tests::{assert_completed, examples_dir, host};

fn demo_input() -> Value {
    let text = std::fs::read_to_string(examples_dir().join("workflows/demo-input.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn demo_workflow_produces_the_expected_brief() {
    let host = host();
    let workflow = Workflow::from_file(examples_dir().join("workflows/demo.json")).unwrap();
    let report = host.run(&workflow, &demo_input()).unwrap();

    assert_completed(&report);
    assert_eq!(
        report.output,
        Some(json!({
            "confidence": 0.333,
            "headline": "Each extension is a WebAssembly component with its own memory, fuel and deadline, \
                         so a broken or hostile extension cannot take the host down.",
            "mood": "positive",
            "topics": ["EXTENSION", "COMPONENT", "TAKE", "AI"]
        }))
    );
    let ids: Vec<_> = report
        .nodes
        .iter()
        .map(|n| (n.id.as_str(), n.state))
        .collect();
    assert_eq!(
        ids,
        [
            ("summarise", NodeState::Completed),
            ("brief", NodeState::Completed)
        ]
    );
    assert!(
        report
            .nodes
            .iter()
            .all(|n| n.duration_ms.is_some_and(|ms| ms > 0.0))
    );
}

#[test]
fn status_panel_renders_the_demo_run() {
    let host = host();
    let workflow = Workflow::from_file(examples_dir().join("workflows/demo.json")).unwrap();
    let report = host.run(&workflow, &demo_input()).unwrap();
    let panel = host.addon("status-panel").unwrap();
    let text = render_text(&panel.render(&report.to_json()).unwrap());
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("✓ demo: completed — 2/2 nodes in "),
        "{text}"
    );
    assert_eq!(lines[1], "[####################] 100%");
    assert!(
        lines[2].starts_with("✓ summarise") && lines[2].contains("mock-llm"),
        "{text}"
    );
    assert!(
        lines[3].starts_with("✓ brief") && lines[3].contains("json-transform"),
        "{text}"
    );
    assert_eq!(lines[4], "Show details");
}
