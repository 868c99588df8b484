use std::collections::HashMap;

use serde_json::json;

use super::*;
use crate::Edge;

fn known() -> BTreeMap<String, ExtensionKind> {
    BTreeMap::from([
        ("llm".to_string(), ExtensionKind::Instrument),
        ("op".to_string(), ExtensionKind::Operator),
        ("panel".to_string(), ExtensionKind::Addon),
    ])
}

fn workflow(nodes: &[(&str, &str, &str)], edges: &[(&str, &str)]) -> Workflow {
    let doc = json!({
        "schema_version": 1,
        "name": "t",
        "nodes": nodes.iter().map(|(id, kind, ext)| json!({"id": id, "kind": kind, "extension": ext})).collect::<Vec<_>>(),
        "edges": edges.iter().map(|(f, t)| json!({"from": f, "to": t})).collect::<Vec<_>>(),
    });
    Workflow::from_json(&doc.to_string(), "t").unwrap()
}

fn problems(wf: &Workflow) -> Vec<String> {
    match wf.validate(&known()) {
        Err(WorkflowError::Invalid { problems, .. }) => {
            problems.iter().map(ToString::to_string).collect()
        }
        other => panic!("expected problems, got {other:?}"),
    }
}

#[test]
fn order_is_topological_with_ties_broken_by_id() {
    let wf = workflow(
        &[
            ("d", "operator", "op"),
            ("b", "operator", "op"),
            ("a", "instrument", "llm"),
            ("c", "operator", "op"),
        ],
        &[("a", "c"), ("b", "c"), ("c", "d")],
    );
    let plan = wf.validate(&known()).unwrap();
    let ids: Vec<_> = plan.ordered(&wf).iter().map(|n| n.id.as_str()).collect();
    assert_eq!(ids, ["a", "b", "c", "d"]);
    assert_eq!(plan.sinks, [0]);
    assert_eq!(plan.incoming.of(3), [(2, 0), (1, 1)]);
}

#[test]
fn cycles_are_reported_with_their_path() {
    let wf = workflow(
        &[
            ("a", "operator", "op"),
            ("b", "operator", "op"),
            ("c", "operator", "op"),
            ("s", "operator", "op"),
        ],
        &[("a", "b"), ("b", "c"), ("c", "a"), ("s", "s")],
    );
    assert_eq!(
        problems(&wf),
        [
            "node 'a': is part of a cycle: a -> b -> c -> a",
            "node 's': is part of a cycle: s -> s"
        ]
    );
}

#[test]
fn every_problem_is_reported_and_names_its_node_or_edge() {
    let wf = workflow(
        &[
            ("a", "instrument", "nope"),
            ("a", "operator", "op"),
            ("b", "operator", "llm"),
            ("c", "control", ""),
        ],
        &[("a", "zz"), ("a", "b"), ("a", "b")],
    );
    let found = problems(&wf);
    let expected = [
        "node 'a': unknown extension 'nope' (loaded: llm, op, panel)",
        "node 'a': the id is used by more than one node",
        "node 'b': is an operator node, but 'llm' is an instrument",
        "node 'c': a control node says what it does",
        "node 'c': is an orphan",
        "edge 0 (a -> zz): there is no node 'zz'",
        "edge 2 (a -> b): duplicates edge 1",
    ];
    for e in expected {
        assert!(
            found.iter().any(|f| f.starts_with(e)),
            "missing {e:?} in {found:#?}"
        );
    }
}

proptest::proptest! {
    /// Random DAGs (edges only from lower to higher positions, ids
    /// shuffled) always validate, and every edge runs forward.
    #[test]
    fn order_respects_every_edge_of_a_random_dag(
        n in 1usize..40,
        edges in proptest::collection::vec((0usize..40, 0usize..40), 0..120),
        rotate in 0usize..40,
    ) {
        let ids: Vec<String> = (0..n).map(|i| format!("n{}", (i + rotate) % n)).collect();
        let nodes: Vec<_> = ids.iter().map(|id| (id.as_str(), "operator", "op")).collect();
        // Each node after the first hangs off an earlier one, so none
        // is an orphan; the rest of the edges are random.
        let mut pairs: Vec<(usize, usize)> = edges
            .iter()
            .map(|&(a, b)| (a % n, b % n))
            .filter(|(a, b)| a < b)
            .chain((1..n).map(|b| (edges.get(b).map_or(0, |e| e.0) % b, b)))
            .collect();
        pairs.sort_unstable();
        pairs.dedup();
        let edge_ids: Vec<_> = pairs.iter().map(|&(a, b)| (ids[a].as_str(), ids[b].as_str())).collect();
        let wf = workflow(&nodes, &edge_ids);
        let plan = wf.validate(&known()).unwrap();
        let position: HashMap<usize, usize> = plan.order.iter().enumerate().map(|(pos, &i)| (i, pos)).collect();
        proptest::prop_assert_eq!(plan.order.len(), n);
        for (a, b) in pairs {
            proptest::prop_assert!(position[&a] < position[&b]);
        }
    }

    /// Adding one backward edge to a chain always yields a cycle error
    /// naming that cycle.
    #[test]
    fn an_injected_cycle_is_always_caught(n in 2usize..30, from in 0usize..30, to in 0usize..30) {
        let (lo, hi) = ((from % n).min(to % n), (from % n).max(to % n));
        let ids: Vec<String> = (0..n).map(|i| format!("n{i:02}")).collect();
        let nodes: Vec<_> = ids.iter().map(|id| (id.as_str(), "operator", "op")).collect();
        let mut edges: Vec<_> = ids.windows(2).map(|w| (w[0].as_str(), w[1].as_str())).collect();
        edges.push((ids[hi].as_str(), ids[lo].as_str()));
        let found = problems(&workflow(&nodes, &edges));
        let expected = format!("node '{}': is part of a cycle: {}", ids[lo], ids[lo..=hi].join(" -> ") + " -> " + &ids[lo]);
        proptest::prop_assert_eq!(found, vec![expected]);
    }
}

#[test]
fn each_repeated_edge_names_the_first_of_its_kind() {
    let mut wf = workflow(
        &[("a", "operator", "op"), ("b", "operator", "op")],
        &[("a", "b"), ("a", "b"), ("a", "b")],
    );
    let ported = |port: &str| Edge {
        to_port: Some(port.into()),
        ..Edge::data("a", "b")
    };
    wf.edges.extend([ported("x"), ported("y"), ported("x")]);
    assert_eq!(
        problems(&wf),
        [
            "edge 1 (a -> b): duplicates edge 0",
            "edge 2 (a -> b): duplicates edge 0",
            "edge 5 (a -> b): duplicates edge 3",
        ]
    );
}

#[test]
fn repeated_ported_edges_into_a_crowded_node_name_the_first_too() {
    // Twenty sources into one target: past the pairwise comparison.
    let ids: Vec<String> = (0..20).map(|i| format!("s{i}")).collect();
    let mut nodes: Vec<(&str, &str, &str)> = ids
        .iter()
        .map(|id| (id.as_str(), "operator", "op"))
        .collect();
    nodes.push(("t", "operator", "op"));
    let mut wf = workflow(&nodes, &[]);
    let ported = |from: &str, port: &str| Edge {
        to_port: Some(port.into()),
        ..Edge::data(from, "t")
    };
    wf.edges = ids.iter().map(|id| ported(id, id)).collect();
    wf.edges.push(ported("s3", "s3"));
    wf.edges.push(ported("s3", "other"));
    wf.edges.push(ported("s3", "s3"));
    let found = problems(&wf);
    let repeats: Vec<_> = found.iter().filter(|p| p.contains("duplicates")).collect();
    assert_eq!(
        repeats,
        [
            "edge 20 (s3 -> t): duplicates edge 3",
            "edge 22 (s3 -> t): duplicates edge 3",
        ],
        "{found:#?}"
    );
}

#[test]
fn control_edges_order_nodes_without_feeding_them() {
    let mut wf = workflow(
        &[
            ("a", "operator", "op"),
            ("b", "operator", "op"),
            ("c", "operator", "op"),
        ],
        &[("a", "c")],
    );
    // b runs after c but takes the run's input, not c's output.
    wf.edges.push(Edge::control("c", "b"));
    let plan = wf.validate(&known()).unwrap();
    let ids: Vec<&str> = plan.ordered(&wf).iter().map(|n| n.id.as_str()).collect();
    assert_eq!(ids, ["a", "c", "b"]);
    assert_eq!(plan.incoming.of(1), [(2, 1)]);
    // c feeds nobody data, so both c and b make up the output.
    assert_eq!(plan.sinks, [1, 2]);
}

#[test]
fn conditional_edges_need_an_expression_that_parses() {
    let mut wf = workflow(
        &[
            ("a", "operator", "op"),
            ("b", "operator", "op"),
            ("c", "operator", "op"),
        ],
        &[],
    );
    let edge = |to: &str, kind, when: Option<&str>| Edge {
        kind,
        when: when.map(String::from),
        ..Edge::data("a", to)
    };
    wf.edges = vec![
        edge("b", EdgeKind::Conditional, Some("score > `")),
        edge("c", EdgeKind::Conditional, None),
    ];
    let found = problems(&wf);
    assert!(
        found[0].starts_with("edge 0 (a -> b): \"when\" does not parse"),
        "{found:?}"
    );
    assert!(found[1].contains("needs a \"when\""), "{found:?}");
    wf.edges = vec![edge("b", EdgeKind::Data, Some("x"))];
    assert!(problems(&wf)[0].contains("only conditional edges take"));
    wf.edges = vec![
        Edge::conditional("a", "b", "sentiment.label == 'negative'"),
        Edge::data("a", "c"),
    ];
    let plan = wf.validate(&known()).unwrap();
    assert_eq!(plan.sinks, [1, 2], "a conditional edge carries data");
}

#[test]
fn unsupported_schema_and_addon_views_are_checked() {
    let mut wf = workflow(&[("a", "operator", "op")], &[]);
    wf.schema_version = 7;
    wf.addons = vec![super::super::AddonView {
        extension: "op".into(),
    }];
    let found = problems(&wf);
    assert!(
        found
            .iter()
            .any(|p| p.contains("schema_version 7 in memory"))
    );
    assert!(
        found
            .iter()
            .any(|p| p.contains("is an operator, not an addon"))
    );
}
