//! The checks on one node: its kind against what it calls, its ports, its
//! control step; and the port types edges carry between nodes.

use std::borrow::Cow;
use std::collections::BTreeMap;

use super::super::control::{Control, MergeMode};
use super::super::expr;
use super::super::port::{Port, PortType};
use super::super::{Node, Plan};
use super::Checker;
use crate::RecoveryPolicy;
use crate::adjacency::IdIndex;

pub(super) static ANY: PortType = PortType::Any;

/// Maps inside maps inside maps...: a document nesting deeper is refused
/// rather than recursed into.
const MAX_MAP_DEPTH: usize = 16;

impl Checker<'_> {
    /// Checks one node on its own: its kind against what it calls, its
    /// ports, its control step. Returns a map node's body plan.
    pub(super) fn node(&mut self, node: &Node, node_at: &dyn Fn(&Node) -> String) -> Option<Plan> {
        for (ports, what) in [(&node.inputs, "input"), (&node.outputs, "output")] {
            for (i, port) in ports.iter().enumerate() {
                if port.name.trim().is_empty() {
                    self.problem(node_at(node), format!("{what} port {i} has an empty name"));
                } else if ports[..i].iter().any(|p| p.name == port.name) {
                    self.problem(
                        node_at(node),
                        format!("{what} port '{}' is declared twice", port.name),
                    );
                }
            }
        }
        let Some(expected) = node.kind.extension_kind() else {
            return self.control(node, node_at);
        };
        if node.control.is_some() {
            self.problem(
                node_at(node),
                format!(
                    "only control nodes take \"control\"; this one is an {}",
                    node.kind
                ),
            );
        }
        if node.extension.trim().is_empty() {
            self.problem(
                node_at(node),
                format!("an {} node names the extension it calls", node.kind),
            );
            return None;
        }
        let known = self.known?;
        match known.get(&node.extension) {
            None => {
                let message = self.absent(&node.extension, known);
                self.problem(node_at(node), message);
            }
            Some(&kind) if kind != expected => self.problem(
                node_at(node),
                format!(
                    "is an {} node, but '{}' is an {kind}",
                    node.kind, node.extension
                ),
            ),
            Some(_) => {}
        }
        None
    }

    /// Checks a node's timeout and recovery policy; a fallback node must
    /// be another extension node of the same graph.
    pub(super) fn recovery(
        &mut self,
        node: &Node,
        nodes: &[Node],
        index: &IdIndex,
        node_at: &dyn Fn(&Node) -> String,
    ) {
        if node.timeout_ms == Some(0) {
            self.problem(node_at(node), "timeout_ms must be at least 1".into());
        }
        let Some(policy) = &node.recovery else {
            return;
        };
        if let Err(e) = policy.validate() {
            self.problem(node_at(node), format!("recovery: {e}"));
        }
        if let RecoveryPolicy::FallbackNode(id) = policy {
            match index.get(id).map(|i| &nodes[i]) {
                _ if id == &node.id => self.problem(
                    node_at(node),
                    "recovery: a node cannot be its own fallback".into(),
                ),
                None if !id.trim().is_empty() => self.problem(
                    node_at(node),
                    format!("recovery: fallback node '{id}' is not a node of this graph"),
                ),
                Some(fallback) if fallback.kind.extension_kind().is_none() => self.problem(
                    node_at(node),
                    format!("recovery: fallback node '{id}' is a control node; it must call an extension"),
                ),
                _ => {}
            }
        }
    }

    fn control(&mut self, node: &Node, node_at: &dyn Fn(&Node) -> String) -> Option<Plan> {
        if !node.extension.is_empty() {
            self.problem(
                node_at(node),
                format!(
                    "a control node calls no extension; remove \"extension\": \"{}\"",
                    node.extension
                ),
            );
        }
        let Some(control) = &node.control else {
            self.problem(
                node_at(node),
                "a control node says what it does: \"control\": {\"branch\": ...}, {\"merge\": \"all\"} or {\"map\": ...}".into(),
            );
            return None;
        };
        match control {
            Control::Branch(branch) => {
                if branch.cases.is_empty() {
                    self.problem(node_at(node), "a branch needs at least one case".into());
                }
                if !node.outputs.is_empty() {
                    self.problem(
                        node_at(node),
                        "a branch's output ports are its cases; it declares no outputs".into(),
                    );
                }
                let ports: Vec<&str> = branch.ports().collect();
                for (i, port) in ports.iter().enumerate() {
                    if port.trim().is_empty() {
                        self.problem(node_at(node), "a branch port has an empty name".into());
                    } else if ports[..i].contains(port) {
                        self.problem(
                            node_at(node),
                            format!("branch port '{port}' is named twice"),
                        );
                    }
                }
                for (i, case) in branch.cases.iter().enumerate() {
                    if let Err(e) = expr::compile(&case.when) {
                        self.problem(
                            node_at(node),
                            format!("case {i} ('{}'): \"when\" does not parse: {e}", case.port),
                        );
                    }
                }
                None
            }
            Control::Merge(_) => {
                if !node.inputs.is_empty() || !node.outputs.is_empty() {
                    self.problem(
                        node_at(node),
                        "a merge passes on what reaches it; it declares no ports".into(),
                    );
                }
                None
            }
            Control::Map(body) => {
                if !node.outputs.is_empty() {
                    self.problem(
                        node_at(node),
                        "a map outputs the list of its body's results; it declares no outputs"
                            .into(),
                    );
                }
                if let Some(Err(e)) = body.over.as_deref().map(expr::compile) {
                    self.problem(node_at(node), format!("\"over\" does not parse: {e}"));
                }
                if self.depth >= MAX_MAP_DEPTH {
                    self.problem(
                        node_at(node),
                        format!("maps nest more than {MAX_MAP_DEPTH} deep"),
                    );
                    return None;
                }
                let scope = format!("{} > ", node_at(node));
                self.depth += 1;
                let plan = self.graph(&body.nodes, &body.edges, &scope);
                self.depth -= 1;
                Some(plan)
            }
        }
    }
}

/// The type an edge out of `node` carries: the named output port's, or
/// the whole output's.
pub(super) fn output_type<'n>(
    node: &'n Node,
    port: Option<&str>,
) -> Result<Cow<'n, PortType>, String> {
    if let Some(Control::Branch(branch)) = &node.control {
        let ports = || branch.ports().collect::<Vec<_>>().join(", ");
        return match port {
            Some(port) if branch.ports().any(|p| p == port) => Ok(Cow::Borrowed(&ANY)),
            Some(port) => Err(format!(
                "branch '{}' has no port '{port}' (its ports: {})",
                node.id,
                ports()
            )),
            None => Err(format!(
                "an edge out of branch '{}' names the port it follows as \"from_port\" (one of: {})",
                node.id,
                ports()
            )),
        };
    }
    if let (Some(port), Some(control @ (Control::Map(_) | Control::Merge(_)))) =
        (port, &node.control)
    {
        return Err(format!(
            "{} '{}' has no output ports; take its whole output (drop \"from_port\": \"{port}\")",
            control.name(),
            node.id
        ));
    }
    match (port, node.outputs.as_slice()) {
        (None, []) => Ok(Cow::Owned(match &node.control {
            Some(Control::Map(_)) => PortType::list(PortType::Any),
            Some(Control::Merge(MergeMode::All)) => PortType::Object(BTreeMap::new()),
            _ => PortType::Any,
        })),
        (None, outputs) => Ok(Cow::Owned(PortType::Object(
            outputs
                .iter()
                .map(|p| (p.name.clone(), p.ty.clone()))
                .collect(),
        ))),
        // Without declared outputs, a port is a field of the output.
        (Some(_), []) => Ok(Cow::Borrowed(&ANY)),
        (Some(port), outputs) => outputs
            .iter()
            .find(|p| p.name == port)
            .map(|p| Cow::Borrowed(&p.ty))
            .ok_or_else(|| {
                format!(
                    "'{}' has no output port '{port}' (its outputs: {})",
                    node.id,
                    names(outputs)
                )
            }),
    }
}

/// The declared input port an edge into `node` fills, if the node
/// declares inputs (a node with one input needs no `to_port`).
pub(super) fn target_port<'n>(
    node: &'n Node,
    port: Option<&str>,
) -> Result<Option<&'n Port>, String> {
    match (port, node.inputs.as_slice()) {
        (_, []) => Ok(None),
        (None, [only]) => Ok(Some(only)),
        (None, inputs) => Err(format!(
            "'{}' has several inputs ({}); say which this edge feeds as \"to_port\"",
            node.id,
            names(inputs)
        )),
        (Some(port), inputs) => inputs
            .iter()
            .find(|p| p.name == port)
            .map(Some)
            .ok_or_else(|| {
                format!(
                    "'{}' has no input port '{port}' (its inputs: {})",
                    node.id,
                    names(inputs)
                )
            }),
    }
}

fn names(ports: &[Port]) -> String {
    ports
        .iter()
        .map(|p| p.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
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
}
