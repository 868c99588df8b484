//! Workflow validation and topological ordering of large generated DAGs
//! against petgraph's bare `toposort` of the same graph, and a 1,000-node
//! workflow in msgpack against JSON (time and size).
//!
//! Validating 100k nodes (issue 22: 85 ms, 10× nodes → 16× time; 58 ms
//! before this round, 40–44 ms after): the checks walked the 128-byte
//! edges (strings behind pointers) five times over — resolving their
//! ends, counting the ones with ports, grouping for duplicates (twice per
//! group) — which on 200k edges is 25 MB streamed through the cache each
//! time. Now one pass resolves every edge to a 12-byte record (32-bit node
//! indices and whether it names a port) that the later checks read. The
//! id index lookups (random, in a table larger than the L2 cache) are the
//! largest part left.

use std::collections::BTreeMap;

use criterion::{criterion_group, criterion_main};
use petgraph::graph::DiGraph;
use serde_json::{Map, json};
use symphony_benches::{bench_pair, compare_sizes, criterion};
use symphony_host::{
    extension::ExtensionKind,
    workflow::{Edge, Metadata, Node, NodeKind, Workflow},
};

/// `n` operator nodes; node i gets one or two edges from earlier nodes, so
/// the graph is a DAG with long chains and wide fans.
fn dag(n: usize, config: impl Fn(usize) -> Map<String, serde_json::Value>) -> Workflow {
    let mut next = symphony_benches::xorshift();
    let id = |i: usize| format!("n{i:06}");
    let nodes = (0..n)
        .map(|i| Node {
            config: config(i),
            ..Node::extension(id(i), NodeKind::Operator, "json-transform")
        })
        .collect();
    let mut edges = Vec::with_capacity(2 * n);
    for i in 1..n {
        let a = next(i);
        edges.push(Edge::data(id(a), id(i)));
        let b = next(i);
        if b != a {
            edges.push(Edge::data(id(b), id(i)));
        }
    }
    Workflow {
        schema: None,
        schema_version: 2,
        id: format!("generated-{n}"),
        name: format!("generated {n}"),
        version: semver::Version::new(1, 0, 0),
        description: None,
        metadata: Metadata::default(),
        nodes,
        edges,
        addons: Vec::new(),
        timeout_ms: None,
    }
}

fn petgraph_toposort(workflow: &Workflow) -> usize {
    let mut graph = DiGraph::<(), ()>::with_capacity(workflow.nodes.len(), workflow.edges.len());
    let index: std::collections::HashMap<&str, _> = workflow
        .nodes
        .iter()
        .map(|n| (n.id.as_str(), graph.add_node(())))
        .collect();
    for edge in &workflow.edges {
        graph.add_edge(index[edge.from.as_str()], index[edge.to.as_str()], ());
    }
    petgraph::algo::toposort(&graph, None).unwrap().len()
}

fn bench(c: &mut criterion::Criterion) {
    let known = BTreeMap::from([("json-transform".to_string(), ExtensionKind::Operator)]);
    for (name, n) in [
        ("workflow_validate_10k", 10_000),
        ("workflow_validate_100k", 100_000),
    ] {
        let workflow = dag(n, |_| Map::new());
        bench_pair(
            c,
            name,
            || workflow.validate(&known).unwrap(),
            || petgraph_toposort(&workflow),
        );
    }

    let workflow = dag(1_000, |i| {
        let config = json!({"spec": {"steps": [
            {"select": {"headline": "$.summary", "score": "$.sentiment.score"}},
            {"map": {"path": "$.headline", "op": "truncate", "max": 80 + i % 40}}
        ]}});
        config.as_object().cloned().unwrap_or_default()
    });
    bench_pair(
        c,
        "workflow_1k_nodes_msgpack_vs_json",
        || Workflow::from_msgpack(&workflow.to_msgpack(), "bench").unwrap(),
        || Workflow::from_json(&serde_json::to_string(&workflow).unwrap(), "bench").unwrap(),
    );
    let ours = workflow.to_msgpack().len();
    let baseline = serde_json::to_string(&workflow).unwrap().len();
    compare_sizes("workflow_1k_nodes_size_msgpack_vs_json", ours, baseline);
}

criterion_group! { name = benches; config = criterion(); targets = bench }
criterion_main!(benches);
