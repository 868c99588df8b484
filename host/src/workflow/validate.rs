//! Checking a workflow against the loaded extensions and ordering its nodes.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap, VecDeque};

use rustc_hash::FxHashMap;

use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};

use super::model::SCHEMA_VERSION;
use super::{EdgeKind, Node, Problem, Workflow, WorkflowError};
use crate::extension::ExtensionKind;

/// A valid workflow's execution order and data flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Node indices in topological order; ties go to the smaller node id.
    pub(crate) order: Vec<usize>,
    /// For each node, its incoming edges as (upstream node, edge) indices.
    pub(crate) incoming: Vec<Vec<(usize, usize)>>,
    /// Nodes with no outgoing data edge (their outputs make up the run's
    /// output), in node order.
    pub(crate) sinks: Vec<usize>,
}

impl Plan {
    /// The nodes feeding `node` data (over data and conditional edges), in
    /// edge order.
    pub(crate) fn upstream<'p>(
        &'p self,
        workflow: &'p Workflow,
        node: usize,
    ) -> impl Iterator<Item = usize> + 'p {
        self.incoming[node]
            .iter()
            .filter(|&&(_, edge)| workflow.edges[edge].kind != EdgeKind::Control)
            .map(|&(from, _)| from)
    }

    /// The workflow's nodes in the order they run.
    pub fn ordered<'w>(&self, workflow: &'w Workflow) -> Vec<&'w Node> {
        self.order.iter().map(|&i| &workflow.nodes[i]).collect()
    }
}

impl Workflow {
    /// Checks the workflow against the extensions `known` (name → kind) and
    /// returns its plan, or every problem found.
    pub fn validate(&self, known: &BTreeMap<String, ExtensionKind>) -> Result<Plan, WorkflowError> {
        self.check(Some(known))
    }

    /// Checks the workflow's shape alone (ids, edges, cycles), without
    /// asking which extensions exist.
    pub fn validate_structure(&self) -> Result<Plan, WorkflowError> {
        self.check(None)
    }

    fn check(
        &self,
        known: Option<&BTreeMap<String, ExtensionKind>>,
    ) -> Result<Plan, WorkflowError> {
        let mut problems = Vec::new();
        let mut problem = |at: String, message: String| problems.push(Problem { at, message });
        let loaded = |known: &BTreeMap<String, ExtensionKind>| {
            if known.is_empty() {
                "no extensions are loaded; pass --ext-dir".to_string()
            } else {
                format!(
                    "loaded: {}",
                    known.keys().cloned().collect::<Vec<_>>().join(", ")
                )
            }
        };

        if self.schema_version != SCHEMA_VERSION {
            problem(
                "workflow".into(),
                format!(
                    "schema_version {} in memory; load documents with Workflow::from_json or \
                     from_file, which upgrade them to {SCHEMA_VERSION}",
                    self.schema_version
                ),
            );
        }
        if self.id.trim().is_empty() {
            problem("workflow".into(), "has an empty id".into());
        }
        if self.nodes.is_empty() {
            problem("workflow".into(), "has no nodes".into());
        }

        // Where-strings are built only for problems: on a valid 100k-node
        // workflow, formatting them would cost more than the checks.
        let node_at = |node: &Node| format!("node '{}'", node.id);
        let mut index: FxHashMap<&str, usize> = FxHashMap::default();
        index.reserve(self.nodes.len());
        for (i, node) in self.nodes.iter().enumerate() {
            if node.id.trim().is_empty() {
                problem(format!("node {i}"), "has an empty id".into());
            } else if index.insert(&node.id, i).is_some() {
                problem(node_at(node), "the id is used by more than one node".into());
            }
            if node.kind == ExtensionKind::Addon {
                problem(
                    node_at(node),
                    "kind 'addon' cannot be a node: addons render a run's status; list them under \"addons\"".into(),
                );
                continue;
            }
            let Some(known) = known else { continue };
            match known.get(&node.extension) {
                None => problem(
                    node_at(node),
                    format!("unknown extension '{}' ({})", node.extension, loaded(known)),
                ),
                Some(&kind) if kind != node.kind => problem(
                    node_at(node),
                    format!(
                        "is an {} node, but '{}' is an {kind}",
                        node.kind, node.extension
                    ),
                ),
                Some(_) => {}
            }
        }

        // Data sources per node; every edge (data or control) orders.
        let mut downstream = vec![Vec::new(); self.nodes.len()];
        let mut feeds = vec![false; self.nodes.len()];
        let mut incoming = vec![Vec::new(); self.nodes.len()];
        let mut seen: FxHashMap<(usize, usize), usize> = FxHashMap::default();
        seen.reserve(self.edges.len());
        for (i, edge) in self.edges.iter().enumerate() {
            let edge_at = || format!("edge {i} ({} -> {})", edge.from, edge.to);
            let (from, to) = (index.get(edge.from.as_str()), index.get(edge.to.as_str()));
            for (end, id) in [(from, &edge.from), (to, &edge.to)] {
                if end.is_none() {
                    problem(edge_at(), format!("there is no node '{id}'"));
                }
            }
            let (Some(&from), Some(&to)) = (from, to) else {
                continue;
            };
            if let Some(first) = seen.insert((from, to), i) {
                problem(edge_at(), format!("duplicates edge {first}"));
                continue;
            }
            match (edge.kind, &edge.when) {
                (EdgeKind::Conditional, None) => problem(
                    edge_at(),
                    "a conditional edge needs a \"when\" expression".into(),
                ),
                (EdgeKind::Conditional, Some(when)) => {
                    if let Err(e) = jmespath::compile(when) {
                        problem(edge_at(), format!("\"when\" does not parse: {e}"));
                    }
                }
                (kind, Some(_)) => problem(
                    edge_at(),
                    format!("only conditional edges take \"when\"; this one is {kind:?}"),
                ),
                (_, None) => {}
            }
            incoming[to].push((from, i));
            if edge.kind != EdgeKind::Control {
                feeds[from] = true;
            }
            downstream[from].push(to);
        }

        for (i, view) in self.addons.iter().enumerate() {
            let Some(known) = known else { break };
            let at = format!("addon {i} ('{}')", view.extension);
            match known.get(&view.extension) {
                None => problem(at, format!("unknown extension ({})", loaded(known))),
                Some(ExtensionKind::Addon) => {}
                Some(kind) => problem(at, format!("is an {kind}, not an addon")),
            }
        }

        let order = topological_order(&self.nodes, &incoming, &downstream);
        if order.len() < self.nodes.len() {
            for cycle in cycles(&self.nodes, &downstream) {
                problem(
                    format!("node '{}'", cycle[0]),
                    format!("is part of a cycle: {}", cycle.join(" -> ")),
                );
            }
        }

        if !problems.is_empty() {
            return Err(WorkflowError::Invalid {
                name: self.name.clone(),
                problems,
            });
        }
        let sinks = (0..self.nodes.len()).filter(|&i| !feeds[i]).collect();
        Ok(Plan {
            order,
            incoming,
            sinks,
        })
    }
}

/// Kahn's algorithm over `downstream` (each node's successors) and
/// `incoming` (each node's incoming edges), always taking the ready node
/// with the smallest id. Returns fewer nodes than there are when a cycle
/// blocks the rest.
pub(super) fn topological_order<T>(
    nodes: &[Node],
    incoming: &[Vec<T>],
    downstream: &[Vec<usize>],
) -> Vec<usize> {
    let mut waiting: Vec<usize> = incoming.iter().map(Vec::len).collect();
    // Compare ids once, up front; the heap then orders plain ranks.
    let mut by_id: Vec<usize> = (0..nodes.len()).collect();
    by_id.sort_unstable_by(|&a, &b| nodes[a].id.cmp(&nodes[b].id));
    let mut rank = vec![0usize; nodes.len()];
    for (r, &i) in by_id.iter().enumerate() {
        rank[i] = r;
    }
    let mut ready: BinaryHeap<Reverse<usize>> = (0..nodes.len())
        .filter(|&i| waiting[i] == 0)
        .map(|i| Reverse(rank[i]))
        .collect();
    let mut order = Vec::with_capacity(nodes.len());
    while let Some(Reverse(r)) = ready.pop() {
        let i = by_id[r];
        order.push(i);
        for &next in &downstream[i] {
            waiting[next] -= 1;
            if waiting[next] == 0 {
                ready.push(Reverse(rank[next]));
            }
        }
    }
    order
}

/// One cycle per strongly connected component that has one, as node ids
/// starting and ending at the component's smallest id.
fn cycles(nodes: &[Node], downstream: &[Vec<usize>]) -> Vec<Vec<String>> {
    let mut graph = DiGraph::<usize, ()>::with_capacity(nodes.len(), 0);
    let ids: Vec<NodeIndex> = (0..nodes.len()).map(|i| graph.add_node(i)).collect();
    for (from, tos) in downstream.iter().enumerate() {
        for &to in tos {
            graph.add_edge(ids[from], ids[to], ());
        }
    }
    let mut found = Vec::new();
    for scc in tarjan_scc(&graph) {
        let members: BTreeSet<usize> = scc.iter().map(|n| graph[*n]).collect();
        let self_loop = scc.len() == 1 && downstream[graph[scc[0]]].contains(&graph[scc[0]]);
        if scc.len() < 2 && !self_loop {
            continue;
        }
        let Some(&start) = members.iter().min_by_key(|&&i| &nodes[i].id) else {
            continue;
        };
        // Breadth-first from `start` inside the component back to `start`.
        let mut parent: HashMap<usize, usize> = HashMap::new();
        let mut queue = VecDeque::from([start]);
        'search: while let Some(at) = queue.pop_front() {
            for &next in &downstream[at] {
                if !members.contains(&next) {
                    continue;
                }
                if next == start {
                    let mut path = vec![at];
                    let mut cur = at;
                    while cur != start {
                        cur = parent[&cur];
                        path.push(cur);
                    }
                    path.reverse();
                    path.push(start);
                    found.push(path.into_iter().map(|i| nodes[i].id.clone()).collect());
                    break 'search;
                }
                if let std::collections::hash_map::Entry::Vacant(slot) = parent.entry(next) {
                    slot.insert(at);
                    queue.push_back(next);
                }
            }
        }
    }
    found.sort();
    found
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::workflow::Edge;

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
        assert_eq!(plan.upstream(&wf, 3).collect::<Vec<_>>(), [2, 1]);
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
                ("p", "addon", "panel"),
            ],
            &[("a", "zz"), ("a", "b"), ("a", "b")],
        );
        let found = problems(&wf);
        let expected = [
            "node 'a': unknown extension 'nope' (loaded: llm, op, panel)",
            "node 'a': the id is used by more than one node",
            "node 'b': is an operator node, but 'llm' is an instrument",
            "node 'p': kind 'addon' cannot be a node",
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
            let mut pairs: Vec<(usize, usize)> = edges
                .into_iter()
                .map(|(a, b)| (a % n, b % n))
                .filter(|(a, b)| a < b)
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
        assert!(plan.upstream(&wf, 1).next().is_none());
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
            from: "a".into(),
            to: to.into(),
            kind,
            when: when.map(String::from),
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
        wf.edges = vec![Edge::conditional("a", "b", "sentiment.label == 'negative'")];
        let plan = wf.validate(&known()).unwrap();
        assert_eq!(
            plan.upstream(&wf, 1).collect::<Vec<_>>(),
            [0],
            "a conditional edge carries data"
        );
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
}
