//! Typed ports and control nodes (branch, merge, map) run on the example
//! extensions.

use serde_json::{Value, json};
use symphony_host::{
    runs::{ExecutionState, NodeState, RunReport},
    workflow::{MergeMode, Workflow},
};
use symphony_tests::{assert_completed, examples_dir, host, node_report};

fn state(report: &RunReport, id: &str) -> NodeState {
    node_report(report, id).state
}

fn select(fields: Value) -> Value {
    json!({"spec": {"steps": [{"select": fields}]}})
}

#[test]
fn the_router_example_branches_merges_and_maps() {
    let host = host();
    let workflow =
        Workflow::from_file(examples_dir().join("workflows/review-router.json")).unwrap();
    for (text, action, ran, skipped) in [
        (
            "This editor is terrible. Broken and awful.",
            "negative",
            "escalate",
            "thank",
        ),
        (
            "A great editor, lovely and fast.",
            "positive",
            "thank",
            "escalate",
        ),
    ] {
        let report = host.run(&workflow, &json!({"text": text})).unwrap();
        assert_completed(&report);
        assert_eq!(state(&report, ran), NodeState::Completed);
        assert_eq!(state(&report, skipped), NodeState::Skipped);
        assert_eq!(state(&report, "reply"), NodeState::Completed);
        let output = report.output.unwrap();
        assert_eq!(output["action"], action, "{output}");
        let moods = output["keyword_moods"].as_array().unwrap();
        assert_eq!(moods.len(), 3, "one mood per keyword: {output}");
    }
}

#[test]
fn port_edges_feed_named_inputs_and_types_are_checked() {
    let host = host();
    let build = |keywords: &str, words: &str| {
        Workflow::builder("ports")
            .instrument("llm", "mock-llm")
            .config(json!({"tasks": ["keywords", "sentiment"], "keywords": 2}))
            .output("keywords", keywords)
            .output("sentiment", "object{label: string, score: number}")
            .operator("shape", "json-transform")
            .config(select(
                json!({"words": {"all": "$.words[*]"}, "mood": "$.mood.label"}),
            ))
            .input("words", words)
            .input("mood", "object{label: string}")
            .connect("llm", "shape")
            .from_port("keywords")
            .to_port("words")
            .connect("llm", "shape")
            .from_port("sentiment")
            .to_port("mood")
            .build()
    };
    let workflow = build("list<string>", "list<string>").unwrap();
    let report = host
        .run(
            &workflow,
            &json!({"text": "Rust makes fast tools. Fast tools help."}),
        )
        .unwrap();
    assert_completed(&report);
    let output = report.output.unwrap();
    assert_eq!(output["words"].as_array().unwrap().len(), 2, "{output}");
    assert_eq!(output["mood"], "positive");

    // A mismatch the types show is caught before anything runs...
    let err = build("number", "list<string>").unwrap_err().to_string();
    assert!(
        err.contains("edge 0 (llm -> shape): 'llm'.keywords carries number, but 'shape'.words takes list<string>"),
        "{err}"
    );
    // ... and one only the values show, when the node returns them.
    let workflow = build("list<number>", "list").unwrap();
    let report = host
        .run(&workflow, &json!({"text": "Some words."}))
        .unwrap();
    assert_eq!(report.state, ExecutionState::Failed);
    assert_eq!(
        report.error.as_deref(),
        Some("node 'llm' failed: output 'keywords': [0] is a string, expected number")
    );
}

#[test]
fn a_merge_of_all_keeps_the_paths_that_ran() {
    let host = host();
    let workflow = Workflow::builder("merge-all")
        .instrument("tone", "mock-llm")
        .config(json!({"tasks": ["sentiment"]}))
        .branch(
            "route",
            &[("sad", "sentiment.label == 'negative'")],
            Some("fine"),
        )
        .operator("comfort", "json-transform")
        .config(select(json!({"comfort": "$.sentiment.label"})))
        .operator("cheer", "json-transform")
        .config(select(json!({"cheer": "$.sentiment.label"})))
        .merge("join", MergeMode::All)
        .connect("tone", "route")
        .connect("route", "comfort")
        .from_port("sad")
        .connect("route", "cheer")
        .from_port("fine")
        .connect("comfort", "join")
        .connect("cheer", "join")
        .build()
        .unwrap();
    let report = host
        .run(&workflow, &json!({"text": "Awful, broken, terrible."}))
        .unwrap();
    assert_completed(&report);
    assert_eq!(
        report.output,
        Some(json!({"comfort": {"comfort": "negative"}}))
    );
}

#[test]
fn a_map_runs_its_body_per_element_and_names_the_element_that_fails() {
    let host = host();
    let body = Workflow::builder("body")
        .instrument("tone", "mock-llm")
        .config(json!({"tasks": ["sentiment"]}))
        .operator("label", "json-transform")
        .config(json!({"spec": {"require_input": ["$.sentiment"], "steps": [
            {"select": {"label": "$.sentiment.label"}}]}}))
        .connect("tone", "label")
        .build()
        .unwrap();
    let workflow = Workflow::builder("per-review")
        .map("each", Some("reviews"), body)
        .build()
        .unwrap();
    let report = host
        .run(
            &workflow,
            &json!({"reviews": ["Great and lovely.", "Terrible, broken.", ""]}),
        )
        .unwrap();
    assert_completed(&report);
    assert_eq!(
        report.output,
        Some(json!([{"label": "positive"}, {"label": "negative"}, {"label": "neutral"}]))
    );

    let report = host
        .run(&workflow, &json!({"reviews": ["Fine.", {"no": "text"}]}))
        .unwrap();
    assert_eq!(report.state, ExecutionState::Failed);
    let error = report.error.unwrap();
    assert!(
        error.starts_with("node 'each' failed: element 1: node 'tone' failed:"),
        "{error}"
    );

    let report = host
        .run(&workflow, &json!({"reviews": "not a list"}))
        .unwrap();
    let error = report.error.unwrap();
    assert!(
        error.contains("map takes a list at \"reviews\", but got a string"),
        "{error}"
    );
}

#[test]
fn when_no_case_holds_the_branch_feeds_nobody_but_still_orders() {
    let host = host();
    let workflow = Workflow::builder("no-case")
        .instrument("tone", "mock-llm")
        .config(json!({"tasks": ["sentiment"]}))
        .branch("route", &[("sad", "sentiment.label == 'negative'")], None)
        .operator("escalate", "json-transform")
        .config(select(json!({"mood": "$.sentiment.label"})))
        .operator("audit", "json-transform")
        .config(select(json!({"seen": "$.text"})))
        .connect("tone", "route")
        .connect("route", "escalate")
        .from_port("sad")
        .after("route", "audit")
        .build()
        .unwrap();
    let report = host
        .run(&workflow, &json!({"text": "Lovely and great."}))
        .unwrap();
    assert_completed(&report);
    assert_eq!(state(&report, "escalate"), NodeState::Skipped);
    assert_eq!(state(&report, "audit"), NodeState::Completed);
    assert_eq!(
        report.output,
        Some(json!({"audit": {"seen": "Lovely and great."}}))
    );
}

#[test]
fn an_absent_optional_output_skips_its_path_and_control_edges_still_order() {
    let host = host();
    let workflow = Workflow::builder("optional")
        .instrument("llm", "mock-llm")
        .config(json!({"tasks": ["sentiment"]}))
        .output("sentiment", "object{label: string}")
        .output("summary", "string")
        .operator("mood", "json-transform")
        .config(select(json!({"mood": "$.feeling.label"})))
        .input("feeling", "object{label: string}")
        .operator("shorten", "json-transform")
        .config(select(json!({"short": "$"})))
        .operator("tidy", "json-transform")
        .config(select(json!({"text": "$.text"})))
        .connect("llm", "mood")
        .from_port("sentiment")
        .connect("llm", "shorten")
        .from_port("summary")
        .after("shorten", "tidy")
        .build();
    // `summary` is required, so a run where the model skips it fails...
    let workflow = workflow.unwrap();
    let report = host.run(&workflow, &json!({"text": "Fine work."})).unwrap();
    assert_eq!(
        report.error.as_deref(),
        Some("node 'llm' failed: required output 'summary' is missing")
    );
    // ... and an optional one skips the nodes fed by it, not those after.
    let mut workflow = workflow;
    workflow.nodes[0].outputs[1].required = false;
    let report = host.run(&workflow, &json!({"text": "Fine work."})).unwrap();
    assert_completed(&report);
    assert_eq!(state(&report, "shorten"), NodeState::Skipped);
    assert_eq!(state(&report, "tidy"), NodeState::Completed);
    assert_eq!(
        report.output,
        Some(json!({"mood": {"mood": "positive"}, "tidy": {"text": "Fine work."}}))
    );
}

#[test]
fn a_root_with_one_input_port_takes_the_run_input_there() {
    let host = host();
    let body = Workflow::builder("body")
        .operator("wrap", "json-transform")
        .config(select(json!({"word": "$.word"})))
        .input("word", "string")
        .build()
        .unwrap();
    let workflow = Workflow::builder("words")
        .map("each", None, body)
        .build()
        .unwrap();
    let report = host.run(&workflow, &json!(["a", "b"])).unwrap();
    assert_completed(&report);
    assert_eq!(report.output, Some(json!([{"word": "a"}, {"word": "b"}])));
    let report = host.run(&workflow, &json!(["a", 2])).unwrap();
    assert_eq!(
        report.error.as_deref(),
        Some(
            "node 'each' failed: element 1: node 'wrap' failed: input 'word': the value is a number, expected string"
        )
    );
}
