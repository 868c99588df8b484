use serde_json::json;

use super::*;

#[test]
fn a_built_workflow_equals_the_same_document_loaded() {
    let built = Workflow::builder("demo")
        .version("1.0.0")
        .instrument("summarise", "mock-llm")
        .config(json!({"keywords": 4}))
        .operator("brief", "json-transform")
        .connect("summarise", "brief")
        .build()
        .unwrap();
    let loaded = Workflow::from_json(
        r#"{"schema_version": 2, "id": "demo", "name": "demo", "version": "1.0.0",
            "nodes": [{"id": "summarise", "kind": "instrument", "extension": "mock-llm", "config": {"keywords": 4}},
                      {"id": "brief", "kind": "operator", "extension": "json-transform"}],
            "edges": [{"from": "summarise", "to": "brief"}]}"#,
        "demo",
    )
    .unwrap();
    assert_eq!(built, loaded);
}

#[test]
fn build_reports_every_problem_at_once() {
    let err = Workflow::builder("broken")
        .version("one")
        .config(json!({}))
        .operator("a", "op")
        .config(json!([1]))
        .operator("a", "op")
        .connect("a", "ghost")
        .after("b", "a")
        .build()
        .unwrap_err();
    let WorkflowError::Invalid { problems, .. } = err else {
        panic!("expected problems");
    };
    let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
    for expected in [
        "version 'one'",
        "config() before any node",
        "config must be a JSON object",
        "used by more than one node",
        "no node 'ghost'",
        "no node 'b'",
    ] {
        assert!(
            text.iter().any(|p| p.contains(expected)),
            "{expected}: {text:?}"
        );
    }
}

#[test]
fn ports_and_control_steps_build_the_document_they_describe() {
    let body = Workflow::builder("body")
        .instrument("tone", "mock-llm")
        .build()
        .unwrap();
    let built = Workflow::builder("each")
        .map("each", Some("items"), body)
        .operator("count", "json-transform")
        .input("items", "list<object{label: string}>")
        .optional_input("note", "string")
        .connect("each", "count")
        .to_port("items")
        .build()
        .unwrap();
    let loaded = Workflow::from_json(
        r#"{"schema_version": 2, "id": "each", "name": "each", "version": "0.1.0",
            "nodes": [{"id": "each", "kind": "control", "control": {"map": {"over": "items",
                         "nodes": [{"id": "tone", "kind": "instrument", "extension": "mock-llm"}]}}},
                      {"id": "count", "kind": "operator", "extension": "json-transform",
                       "inputs": [{"name": "items", "type": "list<object{label: string}>"},
                                  {"name": "note", "type": "string", "required": false}]}],
            "edges": [{"from": "each", "to": "count", "to_port": "items"}]}"#,
        "each",
    )
    .unwrap();
    assert_eq!(built, loaded);

    let err = Workflow::builder("bad")
        .input("x", "string")
        .operator("a", "op")
        .output("y", "lst<string>")
        .from_port("y")
        .build()
        .unwrap_err()
        .to_string();
    for expected in [
        "port 'x' before any node",
        "node 'a': port 'y': port type 'lst<string>'",
        "from_port('y') before any edge",
    ] {
        assert!(err.contains(expected), "{expected}: {err}");
    }
}

#[test]
fn a_cycle_is_caught_at_build_time() {
    let err = Workflow::builder("loop")
        .operator("a", "op")
        .operator("b", "op")
        .connect("a", "b")
        .after("b", "a")
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("cycle: a -> b -> a"), "{err}");
}
