//! Questions about a workflow's graph: what a node depends on, what
//! depends on it, and which layer it runs in.

use std::collections::{HashMap, HashSet, VecDeque};

use super::{Node, Workflow};

impl Workflow {
    /// The nodes `id` directly depends on (through data or control edges),
    /// in edge order; `None` if there is no such node.
    pub fn dependencies(&self, id: &str) -> Option<Vec<&Node>> {
        self.node(id)?;
        Some(
            self.edges
                .iter()
                .filter(|e| e.to == id)
                .filter_map(|e| self.node(&e.from))
                .collect(),
        )
    }

    /// The nodes `id` depends on, directly or through others, sorted by id;
    /// `None` if there is no such node.
    pub fn ancestors(&self, id: &str) -> Option<Vec<&Node>> {
        self.reach(id, |e| (&e.to, &e.from))
    }

    /// The nodes that depend on `id`, directly or through others, sorted by
    /// id; `None` if there is no such node.
    pub fn descendants(&self, id: &str) -> Option<Vec<&Node>> {
        self.reach(id, |e| (&e.from, &e.to))
    }

    /// The node with this id.
    pub fn node(&self, id: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.id == id)
    }

    /// Each node's layer: 0 for nodes with no incoming edge, else one more
    /// than the deepest node it depends on. Nodes on a cycle (which
    /// validation reports) get no layer.
    pub fn layers(&self) -> HashMap<&str, usize> {
        let mut incoming: HashMap<&str, usize> =
            self.nodes.iter().map(|n| (n.id.as_str(), 0)).collect();
        let mut outgoing: HashMap<&str, Vec<&str>> = HashMap::new();
        for edge in &self.edges {
            if let Some(count) = incoming.get_mut(edge.to.as_str()) {
                *count += 1;
                outgoing.entry(&edge.from).or_default().push(&edge.to);
            }
        }
        let mut layer: HashMap<&str, usize> = HashMap::new();
        let mut ready: VecDeque<&str> = incoming
            .iter()
            .filter(|(_, n)| **n == 0)
            .map(|(&id, _)| id)
            .collect();
        for &id in &ready {
            layer.insert(id, 0);
        }
        while let Some(id) = ready.pop_front() {
            let next_layer = layer[id] + 1;
            for &next in outgoing.get(id).into_iter().flatten() {
                let entry = layer.entry(next).or_insert(0);
                *entry = (*entry).max(next_layer);
                if let Some(count) = incoming.get_mut(next) {
                    *count -= 1;
                    if *count == 0 {
                        ready.push_back(next);
                    }
                }
            }
        }
        layer.retain(|id, _| incoming.get(id) == Some(&0));
        layer
    }

    /// Breadth-first over edges seen through `ends` (which end is "here",
    /// which is "next").
    fn reach<'w>(
        &'w self,
        id: &str,
        ends: impl Fn(&'w super::Edge) -> (&'w String, &'w String),
    ) -> Option<Vec<&'w Node>> {
        self.node(id)?;
        let mut next: HashMap<&str, Vec<&str>> = HashMap::new();
        for edge in &self.edges {
            let (here, there) = ends(edge);
            next.entry(here).or_default().push(there);
        }
        let mut seen: HashSet<&str> = HashSet::new();
        let mut queue = VecDeque::from([id]);
        while let Some(at) = queue.pop_front() {
            for &there in next.get(at).into_iter().flatten() {
                if there != id && seen.insert(there) {
                    queue.push_back(there);
                }
            }
        }
        let mut seen: Vec<&str> = seen.into_iter().collect();
        seen.sort_unstable();
        Some(seen.into_iter().filter_map(|id| self.node(id)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// a → b → d, a → c → d, c ⇢ e (control)
    fn diamond() -> Workflow {
        Workflow::from_json(
            r#"{"schema_version": 2, "id": "d", "name": "d", "version": "1.0.0",
                "nodes": [
                  {"id": "a", "kind": "operator", "extension": "op"},
                  {"id": "b", "kind": "operator", "extension": "op"},
                  {"id": "c", "kind": "operator", "extension": "op"},
                  {"id": "d", "kind": "operator", "extension": "op"},
                  {"id": "e", "kind": "operator", "extension": "op"}],
                "edges": [{"from": "a", "to": "b"}, {"from": "a", "to": "c"},
                          {"from": "b", "to": "d"}, {"from": "c", "to": "d"},
                          {"from": "c", "to": "e", "kind": "control"}]}"#,
            "diamond",
        )
        .unwrap()
    }

    fn ids(nodes: Option<Vec<&Node>>) -> Vec<&str> {
        nodes.unwrap().into_iter().map(|n| n.id.as_str()).collect()
    }

    #[test]
    fn dependencies_ancestors_and_descendants_follow_every_edge() {
        let wf = diamond();
        assert_eq!(ids(wf.dependencies("d")), ["b", "c"]);
        assert_eq!(ids(wf.ancestors("d")), ["a", "b", "c"]);
        assert_eq!(ids(wf.ancestors("e")), ["a", "c"]);
        assert_eq!(ids(wf.descendants("a")), ["b", "c", "d", "e"]);
        assert_eq!(ids(wf.descendants("d")), Vec::<&str>::new());
        assert!(wf.ancestors("nope").is_none());
    }

    #[test]
    fn layers_count_the_longest_path_from_a_source() {
        let wf = diamond();
        let layers = wf.layers();
        assert_eq!(
            ["a", "b", "c", "d", "e"].map(|id| layers[id]),
            [0, 1, 1, 2, 2]
        );
    }
}
