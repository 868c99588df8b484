//! Questions about a workflow's graph: what a node depends on, what
//! depends on it, and which layer it runs in.

use std::collections::{HashMap, VecDeque};

use super::adjacency::{Adjacency, IdIndex};
use super::order::topological_order;
use super::{Node, Workflow};

/// Who points at whom, by node index; edges naming a node that does not
/// exist (which validation reports) are left out.
struct Links<'w> {
    index: IdIndex<'w>,
    /// Per node, the nodes its edges lead to.
    outgoing: Adjacency<usize>,
    /// Per node, the nodes whose edges lead to it, in edge order.
    incoming: Adjacency<usize>,
}

impl<'w> Links<'w> {
    fn of(workflow: &'w Workflow) -> Self {
        let n = workflow.nodes.len();
        let mut index = IdIndex::with_capacity(n);
        for (i, node) in workflow.nodes.iter().enumerate() {
            index.insert(&node.id, i);
        }
        let joins: Vec<(usize, usize)> = workflow
            .edges
            .iter()
            .filter_map(|edge| Some((index.get(&edge.from)?, index.get(&edge.to)?)))
            .collect();
        Links {
            outgoing: Adjacency::group(n, joins.iter().copied()),
            incoming: Adjacency::group(n, joins.iter().map(|&(from, to)| (to, from))),
            index,
        }
    }

    /// Every node reachable from `start` along `next`, sorted by id.
    fn reach(
        &self,
        workflow: &'w Workflow,
        start: usize,
        next: &Adjacency<usize>,
    ) -> Vec<&'w Node> {
        let mut seen = vec![false; workflow.nodes.len()];
        seen[start] = true;
        let mut found = Vec::new();
        let mut queue = VecDeque::from([start]);
        while let Some(at) = queue.pop_front() {
            for &there in next.of(at) {
                if !std::mem::replace(&mut seen[there], true) {
                    found.push(&workflow.nodes[there]);
                    queue.push_back(there);
                }
            }
        }
        found.sort_unstable_by(|a, b| a.id.cmp(&b.id));
        found
    }
}

impl Workflow {
    /// The nodes `id` directly depends on (through data or control edges),
    /// each once, in edge order; `None` if there is no such node.
    pub fn dependencies(&self, id: &str) -> Option<Vec<&Node>> {
        let graph = Links::of(self);
        let at = graph.index.get(id)?;
        let mut found: Vec<&Node> = Vec::new();
        // Two nodes joined on several ports are one dependency.
        for &i in graph.incoming.of(at) {
            if !found.iter().any(|n| std::ptr::eq(*n, &self.nodes[i])) {
                found.push(&self.nodes[i]);
            }
        }
        Some(found)
    }

    /// The nodes `id` depends on, directly or through others, sorted by id;
    /// `None` if there is no such node.
    pub fn ancestors(&self, id: &str) -> Option<Vec<&Node>> {
        let graph = Links::of(self);
        let at = graph.index.get(id)?;
        Some(graph.reach(self, at, &graph.incoming))
    }

    /// The nodes that depend on `id`, directly or through others, sorted by
    /// id; `None` if there is no such node.
    pub fn descendants(&self, id: &str) -> Option<Vec<&Node>> {
        let graph = Links::of(self);
        let at = graph.index.get(id)?;
        Some(graph.reach(self, at, &graph.outgoing))
    }

    /// The node with this id.
    pub fn node(&self, id: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.id == id)
    }

    /// Each node's layer: 0 for nodes with no incoming edge, else one more
    /// than the deepest node it depends on. Nodes on a cycle (which
    /// validation reports) get no layer.
    pub fn layers(&self) -> HashMap<&str, usize> {
        let graph = Links::of(self);
        let mut layer = vec![0; self.nodes.len()];
        let order = topological_order(&self.nodes, &graph.outgoing);
        for &i in &order {
            for &next in graph.outgoing.of(i) {
                layer[next] = layer[next].max(layer[i] + 1);
            }
        }
        order
            .into_iter()
            .map(|i| (self.nodes[i].id.as_str(), layer[i]))
            .collect()
    }
}

#[cfg(test)]
mod tests;
