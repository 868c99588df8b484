//! Workflows of trivial control nodes in three shapes, for measuring what
//! the DAG Tracker itself costs per node (and comparing with dask on the
//! same graphs). Every node is a `merge: first` step (sources are branches
//! whose one case always holds), so a node's work is a few microseconds of
//! bookkeeping and the values passed along stay small.

use serde_json::{Value, json};
use symphony_host::workflow::Workflow;

/// The shapes measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Each node waits on the two before it: no parallelism at all.
    Chain,
    /// Two sources, every node in the middle fed by both, one node joining
    /// them all.
    FanOutIn,
    /// Layers of 100 nodes, each fed by the node above it and a random
    /// one of the layer before.
    Layered,
}

impl Shape {
    /// Every shape.
    pub const ALL: [Shape; 3] = [Shape::Chain, Shape::FanOutIn, Shape::Layered];

    /// Its name in bench ids and file names.
    pub fn name(self) -> &'static str {
        match self {
            Shape::Chain => "chain",
            Shape::FanOutIn => "fan",
            Shape::Layered => "layered",
        }
    }
}

fn id(i: usize) -> String {
    format!("n{i}")
}

fn source(i: usize) -> Value {
    json!({"id": id(i), "kind": "control",
           "control": {"branch": {"cases": [{"port": "out", "when": "`true`"}]}}})
}

fn merge(i: usize) -> Value {
    json!({"id": id(i), "kind": "control", "control": {"merge": "first"}})
}

/// An edge from node `from` (a source's edges leave its `out` port).
fn edge(from: usize, to: usize, sources: usize) -> Value {
    if from < sources {
        json!({"from": id(from), "to": id(to), "from_port": "out"})
    } else {
        json!({"from": id(from), "to": id(to)})
    }
}

/// The workflow document (JSON) of `shape` with `n` nodes (at least 5).
pub fn document(shape: Shape, n: usize) -> Value {
    let n = n.max(5);
    let width = 100.min(n / 2).max(2);
    let sources = match shape {
        Shape::Layered => width,
        _ => 2,
    };
    let nodes: Vec<Value> = (0..n)
        .map(|i| if i < sources { source(i) } else { merge(i) })
        .collect();
    let mut edges = Vec::with_capacity(2 * n);
    let mut random = crate::xorshift();
    match shape {
        Shape::Chain => {
            for i in 2..n {
                edges.push(edge(i - 1, i, sources));
                edges.push(edge(i - 2, i, sources));
            }
        }
        Shape::FanOutIn => {
            for i in 2..n - 1 {
                edges.push(edge(0, i, sources));
                edges.push(edge(1, i, sources));
                edges.push(edge(i, n - 1, sources));
            }
        }
        Shape::Layered => {
            for i in width..n {
                // One parent in the same column (so every node feeds the
                // next layer), one at random.
                let layer_start = (i / width - 1) * width;
                let a = layer_start + i % width;
                let mut b = layer_start + random(width);
                if b == a {
                    b = layer_start + (a - layer_start + 1) % width;
                }
                edges.push(edge(a, i, sources));
                edges.push(edge(b, i, sources));
            }
        }
    }
    json!({"schema_version": 2, "id": format!("{}-{n}", shape.name()),
           "name": format!("{} of {n}", shape.name()), "version": "1.0.0",
           "nodes": nodes, "edges": edges})
}

/// The workflow of `shape` with `n` nodes.
pub fn workflow(shape: Shape, n: usize) -> Workflow {
    Workflow::from_json(&document(shape, n).to_string(), shape.name())
        .expect("generated workflows parse")
}

#[cfg(test)]
mod tests;
