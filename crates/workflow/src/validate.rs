//! Checking a workflow against the loaded extensions and ordering its nodes.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;

use super::adjacency::{Adjacency, IdIndex};
use super::control::Control;
mod node;

use node::{ANY, output_type, target_port};

use super::expr;
use super::model::SCHEMA_VERSION;
use super::order::{cycles, topological_order};
use super::{Edge, EdgeKind, Node, NodeKind, Problem, Workflow, WorkflowError};
use crate::RecoveryPolicy;
use symphony_manifest::ExtensionKind;

/// A valid workflow's execution order and data flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Node indices in topological order; ties go to the smaller node id.
    pub order: Vec<usize>,
    /// For each node, its incoming edges as (upstream node, edge) indices,
    /// in edge order.
    pub incoming: Adjacency<(usize, usize)>,
    /// Nodes with no outgoing data edge (their outputs make up the run's
    /// output), in node order.
    pub sinks: Vec<usize>,
    /// The plans of map nodes' sub-graphs, by node index.
    pub bodies: BTreeMap<usize, Plan>,
    /// Fallback nodes joined by no edge, which run only in place of a
    /// failed node.
    pub standby: Vec<usize>,
}

impl Plan {
    /// The plan of a graph refused before it was walked.
    fn empty() -> Plan {
        Plan {
            order: Vec::new(),
            incoming: Adjacency::group(0, std::iter::empty()),
            sinks: Vec::new(),
            bodies: BTreeMap::new(),
            standby: Vec::new(),
        }
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
        self.check(Some(known), &BTreeMap::new())
    }

    /// Like [`Workflow::validate`], and a node naming one of the extensions
    /// that `failed` to load (name → why) is a problem saying so.
    pub fn validate_loaded(
        &self,
        known: &BTreeMap<String, ExtensionKind>,
        failed: &BTreeMap<String, String>,
    ) -> Result<Plan, WorkflowError> {
        self.check(Some(known), failed)
    }

    /// Checks the workflow's shape alone (ids, edges, ports, cycles),
    /// without asking which extensions exist.
    pub fn validate_structure(&self) -> Result<Plan, WorkflowError> {
        self.check(None, &BTreeMap::new())
    }

    fn check(
        &self,
        known: Option<&BTreeMap<String, ExtensionKind>>,
        failed: &BTreeMap<String, String>,
    ) -> Result<Plan, WorkflowError> {
        let mut checker = Checker {
            known,
            failed,
            problems: Vec::new(),
            depth: 0,
        };
        if self.schema_version != SCHEMA_VERSION {
            checker.problem(
                "workflow".into(),
                format!(
                    "schema_version {} in memory; load documents with Workflow::from_json or \
                     from_file, which upgrade them to {SCHEMA_VERSION}",
                    self.schema_version
                ),
            );
        }
        if self.id.trim().is_empty() {
            checker.problem("workflow".into(), "has an empty id".into());
        }
        let plan = checker.graph(&self.nodes, &self.edges, "");
        for (i, view) in self.addons.iter().enumerate() {
            let Some(known) = known else { break };
            let at = format!("addon {i} ('{}')", view.extension);
            match known.get(&view.extension) {
                None => {
                    let message = checker.absent(&view.extension, known);
                    checker.problem(at, message);
                }
                Some(ExtensionKind::Addon) => {}
                Some(kind) => checker.problem(at, format!("is an {kind}, not an addon")),
            }
        }
        if !checker.problems.is_empty() {
            return Err(WorkflowError::Invalid {
                name: self.name.clone(),
                problems: checker.problems,
            });
        }
        Ok(plan)
    }
}

/// An edge's two nodes by index (`MISSING` for an id no node has) and
/// whether it names a port: read in one pass over the edges, so the later
/// checks walk 12 bytes an edge rather than the edges themselves (128
/// bytes each, strings behind pointers) again and again.
#[derive(Debug, Clone, Copy)]
struct Ends {
    from: u32,
    to: u32,
    ported: bool,
}

impl Ends {
    const MISSING: u32 = u32::MAX;

    fn of(edge: &Edge, index: &IdIndex<'_>) -> Ends {
        let at = |id: &str| {
            index
                .get(id)
                .and_then(|i| u32::try_from(i).ok())
                .unwrap_or(Ends::MISSING)
        };
        Ends {
            from: at(&edge.from),
            to: at(&edge.to),
            ported: edge.from_port.is_some() || edge.to_port.is_some(),
        }
    }

    /// Whether both ends name a node.
    fn joins(&self) -> bool {
        self.from != Ends::MISSING && self.to != Ends::MISSING
    }

    /// Both ends, when both name a node.
    fn nodes(&self) -> Option<(usize, usize)> {
        self.joins()
            .then_some((self.from as usize, self.to as usize))
    }
}

/// Each edge that joins the same two nodes on the same ports as an earlier
/// one, with the first such edge: `(later, first)`, in edge order. Edges
/// are grouped by target; port-less ones (nearly all) are told apart with
/// one mark per source node, which costs far less than hashing every pair.
fn duplicates(nodes: usize, edges: &[Edge], ends: &[Ends]) -> Vec<(usize, usize)> {
    let joined = |ported: bool| {
        (ends.iter().enumerate())
            .filter(move |(_, ends)| ends.joins() && ends.ported == ported)
            .map(|(e, ends)| (ends.to as usize, (ends.from as usize, e)))
    };
    let by_target = Adjacency::group(nodes, joined(false));
    // Per source node: the target it was last seen joining, and that edge.
    let mut last = vec![(usize::MAX, 0); nodes];
    let mut found = Vec::new();
    for to in 0..nodes {
        for &(from, e) in by_target.of(to) {
            if last[from].0 == to {
                found.push((e, last[from].1));
            } else {
                last[from] = (to, e);
            }
        }
    }
    // Edges with ports, grouped by target too: nearly every target has a
    // handful, compared pairwise; a target with many gets a map of its own.
    // (One map over every ported edge, hashing its port names, was most of
    // validating a 100k-node fan-out.)
    let ported = Adjacency::group(nodes, joined(true));
    let ports = |e: usize| (edges[e].from_port.as_deref(), edges[e].to_port.as_deref());
    type Ends<'e> = (usize, Option<&'e str>, Option<&'e str>);
    let mut seen: FxHashMap<Ends<'_>, usize> = FxHashMap::default();
    for to in 0..nodes {
        let group = ported.of(to);
        if group.len() <= 16 {
            for (j, &(from, e)) in group.iter().enumerate() {
                let earlier = group[..j]
                    .iter()
                    .find(|&&(f, i)| f == from && ports(i) == ports(e));
                if let Some(&(_, first)) = earlier {
                    found.push((e, first));
                }
            }
            continue;
        }
        seen.clear();
        for &(from, e) in group {
            let (from_port, to_port) = ports(e);
            match seen.entry((from, from_port, to_port)) {
                std::collections::hash_map::Entry::Occupied(first) => found.push((e, *first.get())),
                std::collections::hash_map::Entry::Vacant(slot) => {
                    slot.insert(e);
                }
            }
        }
    }
    found.sort_unstable();
    found
}

fn loaded(known: &BTreeMap<String, ExtensionKind>) -> String {
    if known.is_empty() {
        "no extensions are loaded; pass --ext-dir".to_string()
    } else {
        format!(
            "loaded: {}",
            known.keys().cloned().collect::<Vec<_>>().join(", ")
        )
    }
}

/// Collects every problem of a graph and its map bodies. Where-strings are
/// built only for problems: on a valid 100k-node workflow, formatting them
/// would cost more than the checks.
struct Checker<'k> {
    known: Option<&'k BTreeMap<String, ExtensionKind>>,
    /// Extensions that failed to load, and why.
    failed: &'k BTreeMap<String, String>,
    problems: Vec<Problem>,
    /// How many map bodies deep the graph being checked is.
    depth: usize,
}

impl Checker<'_> {
    fn problem(&mut self, at: String, message: String) {
        self.problems.push(Problem { at, message });
    }

    /// Why `name`, which is not among the `known` extensions, cannot be
    /// used: it failed to load, or there is none of that name.
    fn absent(&self, name: &str, known: &BTreeMap<String, ExtensionKind>) -> String {
        match self.failed.get(name) {
            Some(reason) => format!("extension '{name}' failed to load: {reason}"),
            None => format!("unknown extension '{name}' ({})", loaded(known)),
        }
    }

    /// Checks one graph; `scope` prefixes where-strings inside map bodies
    /// (`node 'each' > `). The plan is only meaningful when no problem was
    /// found.
    fn graph(&mut self, nodes: &[Node], edges: &[Edge], scope: &str) -> Plan {
        let node_at = |node: &Node| format!("{scope}node '{}'", node.id);
        if nodes.is_empty() {
            let at = if scope.is_empty() {
                "workflow"
            } else {
                scope.trim_end_matches(" > ")
            };
            self.problem(at.into(), "has no nodes".into());
        }
        // Node indices are 32-bit inside validation (`Ends`), with the
        // largest kept for "no such node".
        if nodes.len() >= Ends::MISSING as usize {
            let at = if scope.is_empty() {
                "workflow"
            } else {
                scope.trim_end_matches(" > ")
            };
            let most = Ends::MISSING - 1;
            self.problem(
                at.into(),
                format!("has {} nodes; a graph holds at most {most}", nodes.len()),
            );
            return Plan::empty();
        }
        let mut bodies = BTreeMap::new();
        let mut typed = Vec::with_capacity(nodes.len());
        let mut index = IdIndex::with_capacity(nodes.len());
        for (i, node) in nodes.iter().enumerate() {
            if node.id.trim().is_empty() {
                self.problem(format!("{scope}node {i}"), "has an empty id".into());
            } else if index.insert(&node.id, i).is_some() {
                self.problem(node_at(node), "the id is used by more than one node".into());
            }
            typed.push(
                !node.inputs.is_empty() || !node.outputs.is_empty() || node.control.is_some(),
            );
            if let Some(body) = self.node(node, &node_at) {
                bodies.insert(i, body);
            }
        }
        for node in nodes {
            if scope.is_empty() {
                self.recovery(node, nodes, &index, &node_at);
            } else if node.recovery.is_some() || node.timeout_ms.is_some() {
                self.problem(
                    node_at(node),
                    "a map body's nodes take no recovery or timeout_ms of their own; \
                     set them on the map node"
                        .into(),
                );
            }
        }

        let ends: Vec<Ends> = edges.iter().map(|edge| Ends::of(edge, &index)).collect();
        let mut duplicates = duplicates(nodes.len(), edges, &ends).into_iter().peekable();

        // Every edge (data or control) orders; data and conditional edges
        // also feed.
        // (from, to, edge) of the edges that join two nodes, once each.
        let mut joins = Vec::with_capacity(edges.len());
        let mut feeds = vec![false; nodes.len()];
        let mut data_in = vec![0usize; nodes.len()];
        // (node, input key) → the edge feeding it, for edges that touch
        // ports.
        // (Sized up front for the edges checked below: growing it one
        // rehash at a time was a fifth of validating a 100k-node fan-in.)
        // Most nodes declare no ports: their edges carry `any`, and the
        // nodes themselves stay out of the cache.
        let checks_ports = |ends: &Ends| {
            ends.joins() && (ends.ported || typed[ends.from as usize] || typed[ends.to as usize])
        };
        let checked = ends.iter().filter(|ends| checks_ports(ends)).count();
        let mut fed: FxHashMap<(usize, &str), usize> =
            FxHashMap::with_capacity_and_hasher(checked, Default::default());
        for (i, (edge, &ends)) in edges.iter().zip(&ends).enumerate() {
            let edge_at = || format!("{scope}edge {i} ({} -> {})", edge.from, edge.to);
            let Some((from, to)) = ends.nodes() else {
                for id in [&edge.from, &edge.to] {
                    if index.get(id).is_none() {
                        self.problem(edge_at(), format!("there is no node '{id}'"));
                    }
                }
                continue;
            };
            match (edge.kind, &edge.when) {
                (EdgeKind::Conditional, None) => self.problem(
                    edge_at(),
                    "a conditional edge needs a \"when\" expression".into(),
                ),
                (EdgeKind::Conditional, Some(when)) => {
                    if let Err(e) = expr::compile(when) {
                        self.problem(edge_at(), format!("\"when\" does not parse: {e}"));
                    }
                }
                (kind, Some(_)) => self.problem(
                    edge_at(),
                    format!("only conditional edges take \"when\"; this one is {kind:?}"),
                ),
                (_, None) => {}
            }
            if let Some((_, first)) = duplicates.next_if(|&(later, _)| later == i) {
                self.problem(edge_at(), format!("duplicates edge {first}"));
                continue;
            }
            joins.push((from, to, i));
            if edge.kind == EdgeKind::Control {
                if edge.from_port.is_some() || edge.to_port.is_some() {
                    self.problem(
                        edge_at(),
                        "a control edge carries no data, so it takes no ports".into(),
                    );
                }
                continue;
            }
            feeds[from] = true;
            data_in[to] += 1;
            if checks_ports(&ends) {
                self.ports(nodes, edge, (from, to), &edge_at, &mut fed, i);
            }
        }

        // A ported edge keyed by a node id (an edge naming no input port)
        // must not collide with a port-less data edge from that node, which
        // the run keys the same way.
        // Looked up from each port-less data edge, rather than by building
        // a map of them all.
        let mut clashes: Vec<(usize, usize, &str)> = Vec::new();
        if !fed.is_empty() {
            for &(from, to, e) in &joins {
                let edge = &edges[e];
                if edge.kind == EdgeKind::Control
                    || edge.from_port.is_some()
                    || edge.to_port.is_some()
                    || typed[to]
                {
                    continue;
                }
                // Edges into a typed node are all in `fed` already.
                let key = nodes[from].id.as_str();
                if let Some(&other) = fed.get(&(to, key))
                    && other != e
                {
                    clashes.push((e.max(other), e.min(other), key));
                }
            }
        }
        clashes.sort_unstable();
        for (later, first, key) in clashes {
            let edge = &edges[later];
            self.problem(
                format!("{scope}edge {later} ({} -> {})", edge.from, edge.to),
                format!(
                    "'{}' would receive two values under '{key}' (this edge and edge {first}); \
                     name a distinct \"to_port\"",
                    edge.to
                ),
            );
        }

        let incoming = Adjacency::group(
            nodes.len(),
            joins.iter().map(|&(from, to, e)| (to, (from, e))),
        );
        let downstream =
            Adjacency::group(nodes.len(), joins.iter().map(|&(from, to, _)| (from, to)));
        // Nodes only named as another's fallback, joined by no edge: they
        // run in place of a failed node, never on their own.
        let fallbacks: FxHashMap<&str, ()> = nodes
            .iter()
            .filter_map(|node| match &node.recovery {
                Some(RecoveryPolicy::FallbackNode(id)) => Some((id.as_str(), ())),
                _ => None,
            })
            .collect();
        let standby: Vec<usize> = (0..nodes.len())
            .filter(|&i| {
                incoming.of(i).is_empty()
                    && downstream.of(i).is_empty()
                    && fallbacks.contains_key(nodes[i].id.as_str())
            })
            .collect();
        for (i, node) in nodes.iter().enumerate() {
            let data_in = data_in[i];
            if data_in > 0 {
                for port in node.inputs.iter().filter(|p| p.required) {
                    if !fed.contains_key(&(i, port.name.as_str())) {
                        self.problem(
                            node_at(node),
                            format!("required input '{}' is fed by no edge", port.name),
                        );
                    }
                }
            }
            let merge = matches!(node.control, Some(Control::Merge(_)));
            if merge && node.kind == NodeKind::Control && data_in < 2 {
                self.problem(
                    node_at(node),
                    format!("a merge joins two or more data edges; it has {data_in}"),
                );
            }
            if nodes.len() > 1
                && incoming.of(i).is_empty()
                && downstream.of(i).is_empty()
                && !standby.contains(&i)
            {
                self.problem(
                    node_at(node),
                    "is an orphan: no edge connects it to the rest of the graph".into(),
                );
            }
        }

        let order = topological_order(nodes, &downstream);
        if order.len() < nodes.len() {
            for cycle in cycles(nodes, &downstream) {
                self.problem(
                    format!("{scope}node '{}'", cycle[0]),
                    format!("is part of a cycle: {}", cycle.join(" -> ")),
                );
            }
        }
        let sinks = (0..nodes.len())
            .filter(|&i| !feeds[i] && !standby.contains(&i))
            .collect();
        Plan {
            order,
            incoming,
            sinks,
            bodies,
            standby,
        }
    }

    /// Checks the ports an edge joins: that they exist, that their types
    /// agree, and that no input port is fed twice (`fed` records who feeds
    /// each named input).
    fn ports<'g>(
        &mut self,
        nodes: &'g [Node],
        edge: &'g Edge,
        (from, to): (usize, usize),
        edge_at: &dyn Fn() -> String,
        fed: &mut FxHashMap<(usize, &'g str), usize>,
        i: usize,
    ) {
        let (source, target) = (&nodes[from], &nodes[to]);
        let carried = output_type(source, edge.from_port.as_deref());
        let port = match target_port(target, edge.to_port.as_deref()) {
            Ok(port) => port,
            Err(message) => {
                self.problem(edge_at(), message);
                return;
            }
        };
        let accepted = port.map_or(&ANY, |p| &p.ty);
        match carried {
            Err(message) => self.problem(edge_at(), message),
            Ok(carried) if !accepted.accepts(&carried) => self.problem(
                edge_at(),
                format!(
                    "'{}'{} carries {carried}, but '{}'{} takes {accepted}",
                    edge.from,
                    edge.from_port
                        .as_ref()
                        .map(|p| format!(".{p}"))
                        .unwrap_or_default(),
                    edge.to,
                    port.map(|p| format!(".{}", p.name)).unwrap_or_default(),
                ),
            ),
            Ok(_) => {}
        }
        // The key the run files this edge's value under in the node's
        // input object.
        let key = port
            .map(|p| p.name.as_str())
            .or(edge.to_port.as_deref())
            .unwrap_or(edge.from.as_str());
        if let Some(first) = fed.insert((to, key), i) {
            self.problem(
                edge_at(),
                format!(
                    "input '{key}' of '{}' is already fed by edge {first}",
                    edge.to
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests;
