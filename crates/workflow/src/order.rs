//! Ordering a workflow's nodes: a deterministic topological order, and the
//! cycles that prevent one.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashMap, VecDeque};

use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};

use super::Node;
use super::adjacency::Adjacency;

/// Kahn's algorithm over `downstream` (each node's successors), always
/// taking the ready node with the smallest id. Returns fewer nodes than
/// there are when a cycle blocks the rest.
pub(super) fn topological_order(nodes: &[Node], downstream: &Adjacency<usize>) -> Vec<usize> {
    // Counts, ranks and positions are 32-bit: half the memory to fill and
    // walk. A workflow past `u32::MAX` nodes (which validation refuses)
    // gets an empty order rather than a wrong one.
    if u32::try_from(nodes.len()).is_err() {
        return Vec::new();
    }
    let mut waiting = vec![0u32; nodes.len()];
    for i in 0..nodes.len() {
        for &next in downstream.of(i) {
            waiting[next] += 1;
        }
    }
    // Compare ids once, up front; the heap then orders plain ranks. The
    // sort compares each id's first 16 bytes as a number held in the array
    // (the same order as the bytes'), reading the ids themselves only for
    // a tie: following 100k pointers to scattered ids for every comparison
    // was a sixth of validating a 100k-node workflow.
    let mut by_id: Vec<(u128, u32)> = (nodes.iter().enumerate())
        .map(|(i, node)| (prefix(&node.id), i as u32))
        .collect();
    by_id.sort_unstable_by(|&(pa, a), &(pb, b)| {
        pa.cmp(&pb)
            .then_with(|| nodes[a as usize].id.cmp(&nodes[b as usize].id))
    });
    let by_id: Vec<u32> = by_id.into_iter().map(|(_, i)| i).collect();
    let mut rank = vec![0u32; nodes.len()];
    for (r, &i) in by_id.iter().enumerate() {
        rank[i as usize] = r as u32;
    }
    let mut ready: BinaryHeap<Reverse<u32>> = (0..nodes.len())
        .filter(|&i| waiting[i] == 0)
        .map(|i| Reverse(rank[i]))
        .collect();
    let mut order = Vec::with_capacity(nodes.len());
    while let Some(Reverse(r)) = ready.pop() {
        let i = by_id[r as usize] as usize;
        order.push(i);
        for &next in downstream.of(i) {
            waiting[next] -= 1;
            if waiting[next] == 0 {
                ready.push(Reverse(rank[next]));
            }
        }
    }
    order
}

/// The first 16 bytes of `id`, zero-padded, as a big-endian number: ids
/// whose prefixes differ compare as their prefixes do.
fn prefix(id: &str) -> u128 {
    let mut bytes = [0u8; 16];
    let n = id.len().min(16);
    bytes[..n].copy_from_slice(&id.as_bytes()[..n]);
    u128::from_be_bytes(bytes)
}

/// One cycle per strongly connected component that has one, as node ids
/// starting and ending at the component's smallest id.
pub(super) fn cycles(nodes: &[Node], downstream: &Adjacency<usize>) -> Vec<Vec<String>> {
    let mut graph = DiGraph::<usize, ()>::with_capacity(nodes.len(), 0);
    let ids: Vec<NodeIndex> = (0..nodes.len()).map(|i| graph.add_node(i)).collect();
    for from in 0..nodes.len() {
        for &to in downstream.of(from) {
            graph.add_edge(ids[from], ids[to], ());
        }
    }
    let mut found = Vec::new();
    for scc in tarjan_scc(&graph) {
        let members: BTreeSet<usize> = scc.iter().map(|n| graph[*n]).collect();
        let self_loop = scc.len() == 1 && downstream.of(graph[scc[0]]).contains(&graph[scc[0]]);
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
            for &next in downstream.of(at) {
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
mod tests;
