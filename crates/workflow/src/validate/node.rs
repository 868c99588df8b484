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
mod tests;
