use serde_json::{Value, json};

use crate::{Workflow, WorkflowError};
use symphony_manifest::ExtensionKind;

fn load(nodes: Value, edges: Value) -> Workflow {
    let doc = json!({"schema_version": 2, "id": "t", "name": "t", "version": "1.0.0",
                     "nodes": nodes, "edges": edges});
    Workflow::from_json(&doc.to_string(), "t").unwrap()
}

fn problems(wf: &Workflow) -> Vec<String> {
    let known = std::collections::BTreeMap::from([
        ("llm".to_string(), ExtensionKind::Instrument),
        ("op".to_string(), ExtensionKind::Operator),
    ]);
    match wf.validate(&known) {
        Err(WorkflowError::Invalid { problems, .. }) => {
            problems.iter().map(ToString::to_string).collect()
        }
        other => panic!("expected problems, got {other:?}"),
    }
}

fn assert_all(found: &[String], expected: &[&str]) {
    for e in expected {
        assert!(
            found.iter().any(|f| f.starts_with(e)),
            "missing {e:?} in {found:#?}"
        );
    }
    assert_eq!(found.len(), expected.len(), "{found:#?}");
}

fn op(id: &str, extra: Value) -> Value {
    let mut node = json!({"id": id, "kind": "operator", "extension": "op"});
    node.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    node
}

#[test]
fn port_types_and_names_are_checked_on_every_edge() {
    let wf = load(
        json!([
            op(
                "a",
                json!({"outputs": [{"name": "n", "type": "number"},
                                       {"name": "tags", "type": "list<string>"}]})
            ),
            op(
                "b",
                json!({"inputs": [{"name": "t", "type": "string"},
                                      {"name": "words", "type": "list<string>"},
                                      {"name": "note", "type": "string", "required": false},
                                      {"name": "must", "type": "any"}]})
            ),
            op(
                "c",
                json!({"inputs": [{"name": "x", "type": "bool"}, {"name": "x"}]})
            ),
        ]),
        json!([
            {"from": "a", "from_port": "n", "to": "b", "to_port": "t"},
            {"from": "a", "from_port": "tags", "to": "b", "to_port": "words"},
            {"from": "a", "from_port": "nope", "to": "c", "to_port": "x"},
            {"from": "b", "to": "c", "to_port": "y"},
            {"from": "b", "to": "a", "kind": "control", "to_port": "n"},
        ]),
    );
    assert_all(
        &problems(&wf),
        &[
            "node 'c': input port 'x' is declared twice",
            "edge 0 (a -> b): 'a'.n carries number, but 'b'.t takes string",
            "edge 2 (a -> c): 'a' has no output port 'nope' (its outputs: n, tags)",
            "edge 3 (b -> c): 'c' has no input port 'y' (its inputs: x, x)",
            "edge 4 (b -> a): a control edge carries no data",
            "node 'b': required input 'must' is fed by no edge",
            "node 'a': is part of a cycle: a -> b -> a",
        ],
    );
}

#[test]
fn a_port_fed_twice_or_an_ambiguous_edge_is_reported() {
    let wf = load(
        json!([
            op("a", json!({})),
            op("b", json!({})),
            op("c", json!({"inputs": [{"name": "x"}, {"name": "y"}]})),
            op(
                "d",
                json!({"inputs": [{"name": "only", "type": "object{k: string}"}]})
            ),
        ]),
        json!([
            {"from": "a", "to": "c", "to_port": "x"},
            {"from": "b", "to": "c", "to_port": "x"},
            {"from": "c", "to": "d"},
            {"from": "a", "to": "d"},
            {"from": "b", "to": "d", "to_port": "other"},
        ]),
    );
    assert_all(
        &problems(&wf),
        &[
            "edge 1 (b -> c): input 'x' of 'c' is already fed by edge 0",
            "edge 3 (a -> d): input 'only' of 'd' is already fed by edge 2",
            "edge 4 (b -> d): 'd' has no input port 'other' (its inputs: only)",
            "node 'c': required input 'y' is fed by no edge",
        ],
    );
    let wf = load(
        json!([
            op("a", json!({})),
            op("c", json!({"inputs": [{"name": "x"}, {"name": "y"}]}))
        ]),
        json!([{"from": "a", "to": "c"}]),
    );
    assert_all(
        &problems(&wf),
        &[
            "edge 0 (a -> c): 'c' has several inputs (x, y); say which this edge feeds",
            "node 'c': required input 'x' is fed by no edge",
            "node 'c': required input 'y' is fed by no edge",
        ],
    );
}

#[test]
fn nodes_must_match_their_kind_and_connect() {
    let wf = load(
        json!([
            {"id": "i", "kind": "instrument", "extension": ""},
            {"id": "o", "kind": "operator", "extension": "op", "control": {"merge": "all"}},
            {"id": "c", "kind": "control", "extension": "op", "control": {"merge": "all"}},
            {"id": "lonely", "kind": "operator", "extension": "op"},
        ]),
        json!([{"from": "i", "to": "o"}, {"from": "o", "to": "c"}]),
    );
    assert_all(
        &problems(&wf),
        &[
            "node 'i': an instrument node names the extension it calls",
            "node 'o': only control nodes take \"control\"",
            "node 'c': a control node calls no extension; remove \"extension\": \"op\"",
            "node 'c': a merge joins two or more data edges; it has 1",
            "node 'lonely': is an orphan",
        ],
    );
}

#[test]
fn branches_need_cases_and_edges_that_name_them() {
    let branch = |cases: Value| {
        json!({"id": "route", "kind": "control",
               "control": {"branch": {"cases": cases, "otherwise": "rest"}}})
    };
    let wf = load(
        json!([
            op("a", json!({})),
            branch(json!([{"port": "hot", "when": "t > `"}, {"port": "rest", "when": "x"}])),
            op("b", json!({})),
            op("c", json!({})),
            op("d", json!({})),
        ]),
        json!([
            {"from": "a", "to": "route"},
            {"from": "route", "to": "b"},
            {"from": "route", "from_port": "cold", "to": "c"},
            {"from": "route", "from_port": "hot", "to": "d"},
        ]),
    );
    assert_all(
        &problems(&wf),
        &[
            "node 'route': branch port 'rest' is named twice",
            "node 'route': case 0 ('hot'): \"when\" does not parse",
            "edge 1 (route -> b): an edge out of branch 'route' names the port it follows as \"from_port\" (one of: hot, rest, rest)",
            "edge 2 (route -> c): branch 'route' has no port 'cold'",
        ],
    );
    let wf = load(
        json!([op("a", json!({})), branch(json!([]))]),
        json!([{"from": "a", "to": "route"}]),
    );
    assert_all(
        &problems(&wf),
        &["node 'route': a branch needs at least one case"],
    );
}

#[test]
fn map_bodies_are_checked_like_workflows_and_named_by_path() {
    let wf = load(
        json!([
            op("a", json!({})),
            {"id": "each", "kind": "control", "control": {"map": {"over": "items[", "nodes": [
                {"id": "x", "kind": "instrument", "extension": "ghost"},
                op("y", json!({})),
                op("z", json!({})),
            ], "edges": [{"from": "x", "to": "y"}, {"from": "y", "to": "x"}]}}},
        ]),
        json!([{"from": "a", "to": "each"}]),
    );
    assert_all(
        &problems(&wf),
        &[
            "node 'each': \"over\" does not parse",
            "node 'each' > node 'x': unknown extension 'ghost' (loaded: llm, op)",
            "node 'each' > node 'z': is an orphan",
            "node 'each' > node 'x': is part of a cycle: x -> y -> x",
        ],
    );
    let wf = load(
        json!([{"id": "each", "kind": "control", "control": {"map": {"nodes": []}}}]),
        json!([]),
    );
    assert_all(&problems(&wf), &["node 'each': has no nodes"]);
}

#[test]
fn inputs_that_would_share_a_key_are_reported() {
    let wf = load(
        json!([op("a", json!({})), op("b", json!({})), op("c", json!({}))]),
        json!([
            {"from": "a", "from_port": "x", "to": "c"},
            {"from": "a", "from_port": "y", "to": "c"},
            {"from": "b", "to": "c"},
            {"from": "a", "to": "c", "to_port": "b"},
        ]),
    );
    assert_all(
        &problems(&wf),
        &[
            "edge 1 (a -> c): input 'a' of 'c' is already fed by edge 0",
            "edge 3 (a -> c): 'c' would receive two values under 'b' (this edge and edge 2)",
        ],
    );
}

#[test]
fn merges_and_maps_take_no_ports_they_cannot_honour() {
    let map = json!({"id": "m", "kind": "control", "outputs": [{"name": "o"}],
                     "control": {"map": {"nodes": [op("x", json!({}))]}}});
    let merge = json!({"id": "j", "kind": "control", "inputs": [{"name": "i"}],
                       "control": {"merge": "first"}});
    let wf = load(
        json!([op("a", json!({})), map, merge, op("b", json!({}))]),
        json!([
            {"from": "a", "to": "m"},
            {"from": "m", "from_port": "o", "to": "j", "to_port": "i"},
            {"from": "a", "to": "j"},
            {"from": "j", "from_port": "z", "to": "b"},
        ]),
    );
    assert_all(
        &problems(&wf),
        &[
            "node 'm': a map outputs the list of its body's results",
            "node 'j': a merge passes on what reaches it",
            "edge 1 (m -> j): map 'm' has no output ports",
            "edge 2 (a -> j): input 'i' of 'j' is already fed by edge 1",
            "edge 3 (j -> b): merge 'j' has no output ports",
        ],
    );
}

#[test]
fn hostile_expressions_and_nesting_are_refused() {
    let deep = "!".repeat(100_000) + "a";
    let wf = load(
        json!([op("a", json!({})), op("b", json!({}))]),
        json!([{"from": "a", "to": "b", "kind": "conditional", "when": deep}]),
    );
    assert_all(
        &problems(&wf),
        &["edge 0 (a -> b): \"when\" does not parse: the expression is"],
    );

    let mut node = op("leaf", json!({}));
    for level in 0..20 {
        node = json!({"id": format!("m{level}"), "kind": "control",
                      "control": {"map": {"nodes": [node]}}});
    }
    let found = problems(&load(json!([node]), json!([])));
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].ends_with("maps nest more than 16 deep"),
        "{found:?}"
    );
}

#[test]
fn compatible_ports_validate_and_plan_map_bodies() {
    let wf = load(
        json!([
            op("a", json!({"outputs": [{"name": "rec", "type": "object{title: string, n: number}"}]})),
            op("b", json!({"inputs": [{"name": "r", "type": "object{title: string}"}]})),
            {"id": "each", "kind": "control", "control": {"map": {"nodes": [op("x", json!({}))]}}},
        ]),
        json!([
            {"from": "a", "from_port": "rec", "to": "b"},
            {"from": "a", "to": "each"},
        ]),
    );
    let plan = wf.validate_structure().unwrap();
    assert_eq!(plan.bodies[&2].order, [0]);
}
