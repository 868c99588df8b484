//! Walking a graph: gathering each node's input along its edges, running
//! it (an extension call or a control step) and checking its ports.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use serde_json::Value;

use symphony_workflow::expr;
use symphony_workflow::{Control, Edge, EdgeKind, MapBody, MergeMode, Node, Plan, kind_of};

use crate::runner::{Bounds, NodeError, NodeRunner};

/// Parses a guest's JSON output; output that is not JSON is kept as a string.
fn to_value(json: &str) -> Value {
    serde_json::from_str(json).unwrap_or_else(|_| Value::String(json.to_string()))
}

/// Hears what happens to each node of a graph, by its position in the
/// plan's order.
pub(super) trait Watch {
    fn started(&mut self, position: usize, node: &Node);
    fn skipped(&mut self, position: usize, node: &Node, reason: &str);
    fn finished(&mut self, position: usize, node: &Node, elapsed: Duration, error: Option<&str>);
}

/// A map body's nodes are not reported one by one; the map node is.
struct Quiet;

impl Watch for Quiet {
    fn started(&mut self, _: usize, _: &Node) {}
    fn skipped(&mut self, _: usize, _: &Node, _: &str) {}
    fn finished(&mut self, _: usize, _: &Node, _: Duration, _: Option<&str>) {}
}

/// What became of a node; checkpointed as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Outcome {
    /// Not reached yet, or skipped.
    Skipped,
    /// It ran and produced this output.
    Output(Value),
    /// A branch sent its input out of this port (none: no case held).
    Routed(Option<String>, Value),
}

/// What flows along one edge.
enum Carried {
    Value(Value),
    /// Nothing: the edge's source was skipped, or the edge not taken.
    Nothing(String),
}

/// A node that failed, by position in the plan's order.
pub(crate) struct Failure {
    pub(crate) position: usize,
    pub(crate) error: NodeError,
}

/// One graph to walk: the workflow's, or a map node's body.
pub(crate) struct Graph<'a> {
    pub(crate) nodes: &'a [Node],
    pub(crate) edges: &'a [Edge],
    pub(crate) plan: &'a Plan,
    /// The run's compiled expressions, shared with map bodies.
    pub(crate) expressions: &'a expr::Compiled<'a>,
}

impl<'a> Graph<'a> {
    /// Runs the graph's nodes in order on `input`; stops at the first that
    /// fails.
    pub(super) fn walk(
        &self,
        runner: &dyn NodeRunner,
        input: &Value,
        bounds: &Bounds,
        watch: &mut dyn Watch,
    ) -> Result<Vec<Outcome>, Failure> {
        let mut outcomes = vec![Outcome::Skipped; self.nodes.len()];
        // Where each node ran in the order, for `merge: first`.
        let mut ran_at = vec![usize::MAX; self.nodes.len()];
        for (position, &index) in self.plan.order.iter().enumerate() {
            let node = &self.nodes[index];
            let fail = |error| Failure { position, error };
            let node_input = match self.gather(index, input, &outcomes, &ran_at) {
                Ok(Ok(value)) => value,
                Ok(Err(reason)) => {
                    watch.skipped(position, node, &reason);
                    continue;
                }
                Err(message) => {
                    watch.finished(position, node, Duration::ZERO, Some(&message));
                    return Err(fail(NodeError::workflow(message)));
                }
            };
            watch.started(position, node);
            let began = Instant::now();
            let result = self.run_node(runner, index, node_input, bounds);
            let elapsed = began.elapsed();
            match result {
                Ok(outcome) => {
                    watch.finished(position, node, elapsed, None);
                    outcomes[index] = outcome;
                    ran_at[index] = position;
                }
                Err(error) => {
                    watch.finished(position, node, elapsed, Some(&error.message));
                    return Err(fail(error));
                }
            }
        }
        Ok(outcomes)
    }

    /// The graph's output: its sink's, or an object of its sinks' keyed by
    /// id. Skipped nodes have no output: a lone skipped sink gives null,
    /// and skipped sinks are left out of the object.
    pub(crate) fn output(&self, outcomes: &[Outcome]) -> Value {
        let value = |i: usize| match &outcomes[i] {
            Outcome::Skipped => None,
            Outcome::Output(value) | Outcome::Routed(_, value) => Some(value.clone()),
        };
        match self.plan.sinks.as_slice() {
            [single] => value(*single).unwrap_or(Value::Null),
            several => Value::Object(
                several
                    .iter()
                    .filter_map(|&i| Some((self.nodes[i].id.clone(), value(i)?)))
                    .collect(),
            ),
        }
    }

    /// The input for node `index`, `Ok(Err(why))` when it is to be skipped,
    /// or `Err` when an edge's condition cannot be evaluated.
    pub(crate) fn gather(
        &self,
        index: usize,
        run_input: &Value,
        outcomes: &[Outcome],
        ran_at: &[usize],
    ) -> Result<Result<Value, String>, String> {
        let node = &self.nodes[index];
        let merge = match &node.control {
            Some(Control::Merge(mode)) => Some(*mode),
            _ => None,
        };
        // (upstream node, edge, value) of each edge that carried data.
        let mut arrived: Vec<(usize, usize, Value)> = Vec::new();
        let mut missed = None;
        for &(from, e) in self.plan.incoming.of(index) {
            let edge: &'a Edge = &self.edges[e];
            // Control edges only order: whatever became of `from`, it is done.
            if edge.kind == EdgeKind::Control {
                continue;
            }
            match self.carried(from, &outcomes[from], edge)? {
                Carried::Value(value) => arrived.push((from, e, value)),
                Carried::Nothing(reason) if merge.is_none() => return Ok(Err(reason)),
                Carried::Nothing(reason) => missed = missed.or(Some(reason)),
            }
        }
        if let Some(mode) = merge {
            if arrived.is_empty() {
                let why = missed.unwrap_or_else(|| "no input arrived".into());
                return Ok(Err(format!("every input was skipped ({why})")));
            }
            if mode == MergeMode::First {
                let first = (0..arrived.len())
                    .min_by_key(|&i| ran_at[arrived[i].0])
                    .unwrap_or(0);
                return Ok(Ok(arrived.swap_remove(first).2));
            }
        }
        let keyed = merge.is_some()
            || !node.inputs.is_empty()
            || arrived
                .iter()
                .any(|(_, e, _)| self.edges[*e].to_port.is_some());
        let value = match arrived.len() {
            // A node with one input port takes the whole run input there.
            0 => match node.inputs.as_slice() {
                [only] => Value::Object(
                    [(only.name.clone(), run_input.clone())]
                        .into_iter()
                        .collect(),
                ),
                _ => run_input.clone(),
            },
            1 if !keyed => arrived.pop().map(|(_, _, v)| v).unwrap_or_default(),
            _ => Value::Object(
                arrived
                    .into_iter()
                    .map(|(_, e, value)| {
                        let edge = &self.edges[e];
                        let key = match (&edge.to_port, node.inputs.as_slice()) {
                            (Some(port), _) => port,
                            (None, [only]) => &only.name,
                            (None, _) => &edge.from,
                        };
                        (key.clone(), value)
                    })
                    .collect(),
            ),
        };
        Ok(Ok(value))
    }

    /// Runs one node on its gathered input, checking declared ports. Calls
    /// into extensions stop at the `bounds`' deadline or interrupt.
    pub(crate) fn run_node(
        &self,
        runner: &dyn NodeRunner,
        index: usize,
        input: Value,
        bounds: &Bounds,
    ) -> Result<Outcome, NodeError> {
        let node: &'a Node = &self.nodes[index];
        check_ports(node, Side::Input, &input).map_err(NodeError::workflow)?;
        let outcome = match &node.control {
            None => Outcome::Output(to_value(&runner.call(node, &input.to_string(), bounds)?)),
            Some(Control::Branch(branch)) => {
                let mut port = branch.otherwise.clone();
                for case in &branch.cases {
                    if self.expressions.holds(&case.when, &input).map_err(|e| {
                        NodeError::workflow(format!(
                            "case '{}' cannot be evaluated: {e}",
                            case.port
                        ))
                    })? {
                        port = Some(case.port.clone());
                        break;
                    }
                }
                Outcome::Routed(port, input)
            }
            Some(Control::Merge(_)) => Outcome::Output(input),
            Some(Control::Map(body)) => {
                Outcome::Output(self.map(runner, index, body, &input, bounds)?)
            }
        };
        if let Outcome::Output(output) = &outcome {
            check_ports(node, Side::Output, output).map_err(NodeError::workflow)?;
        }
        Ok(outcome)
    }

    /// What flows along `edge` from a node with this outcome.
    fn carried(&self, from: usize, outcome: &Outcome, edge: &'a Edge) -> Result<Carried, String> {
        let source = &self.nodes[from];
        let value = match (outcome, &edge.from_port) {
            (Outcome::Skipped, _) => {
                return Ok(Carried::Nothing(format!("'{}' was skipped", edge.from)));
            }
            (Outcome::Routed(taken, value), port) => {
                if taken.is_none() || taken != port {
                    return Ok(Carried::Nothing(match taken {
                        Some(taken) => format!("branch '{}' took '{taken}'", edge.from),
                        None => format!("no case of branch '{}' held", edge.from),
                    }));
                }
                value
            }
            (Outcome::Output(value), None) => value,
            (Outcome::Output(value), Some(port)) => match value.get(port) {
                Some(value) => value,
                // The output check let it be absent: the port is optional.
                None if source.outputs.iter().any(|p| &p.name == port) => {
                    return Ok(Carried::Nothing(format!(
                        "'{}' gave no '{port}' (an optional output)",
                        edge.from
                    )));
                }
                None => {
                    return Err(format!(
                        "'{}' has no output '{port}': its output is {}",
                        edge.from,
                        describe(value)
                    ));
                }
            },
        };
        if let (EdgeKind::Conditional, Some(when)) = (edge.kind, &edge.when) {
            let holds = self.expressions.holds(when, value).map_err(|e| {
                format!(
                    "the condition on the edge from '{}' cannot be evaluated: {e}",
                    edge.from
                )
            })?;
            if !holds {
                return Ok(Carried::Nothing(format!(
                    "the condition on the edge from '{}' does not hold: {when}",
                    edge.from
                )));
            }
        }
        Ok(Carried::Value(value.clone()))
    }

    /// Runs a map node's body once per element of its list.
    fn map(
        &self,
        runner: &dyn NodeRunner,
        index: usize,
        body: &'a MapBody,
        input: &Value,
        bounds: &Bounds,
    ) -> Result<Value, NodeError> {
        let list = match &body.over {
            None => input.clone(),
            Some(over) => {
                let found = self.expressions.search(over, input).map_err(|e| {
                    NodeError::workflow(format!("\"over\" cannot be evaluated: {e}"))
                })?;
                serde_json::to_value(&*found).map_err(|e| NodeError::workflow(e.to_string()))?
            }
        };
        let Value::Array(items) = list else {
            return Err(NodeError::workflow(format!(
                "map takes a list{}, but got {}",
                body.over
                    .as_ref()
                    .map(|o| format!(" at \"{o}\""))
                    .unwrap_or_default(),
                kind_of(&list)
            )));
        };
        let Some(plan) = self.plan.bodies.get(&index) else {
            return Err(NodeError::workflow(
                "the map's body has no plan; validate the workflow first".into(),
            ));
        };
        let graph = Graph {
            nodes: &body.nodes,
            edges: &body.edges,
            plan,
            expressions: self.expressions,
        };
        let mut results = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            match graph.walk(runner, item, bounds, &mut Quiet) {
                Ok(outcomes) => results.push(graph.output(&outcomes)),
                Err(Failure { position, error }) => {
                    // The body node's kind is the map node's: a refused
                    // element fails the map the way it failed the node.
                    let id = &body.nodes[plan.order[position]].id;
                    return Err(NodeError::new(
                        error.kind,
                        format!("element {i}: node '{id}' failed: {}", error.message),
                    ));
                }
            }
        }
        Ok(Value::Array(results))
    }
}

/// Which side of a node a value is checked on.
#[derive(Clone, Copy, PartialEq)]
enum Side {
    Input,
    Output,
}

/// Checks a node's input or output against its declared ports: an object
/// holding every required port, each value of the port's type.
fn check_ports(node: &Node, side: Side, value: &Value) -> Result<(), String> {
    let (ports, what) = match side {
        Side::Input => (&node.inputs, "input"),
        Side::Output => (&node.outputs, "output"),
    };
    if ports.is_empty() {
        return Ok(());
    }
    let Value::Object(fields) = value else {
        return Err(match side {
            Side::Input => format!(
                "declares inputs, so it takes an object; got {}",
                describe(value)
            ),
            Side::Output => format!(
                "declares outputs, so it must return an object; it returned {}",
                describe(value)
            ),
        });
    };
    for port in ports {
        match fields.get(&port.name) {
            None if port.required => {
                return Err(format!("required {what} '{}' is missing", port.name));
            }
            None => {}
            Some(value) => port
                .ty
                .check(value)
                .map_err(|e| format!("{what} '{}': {e}", port.name))?,
        }
    }
    Ok(())
}

/// A value's kind, with the fields of an object, for error messages.
fn describe(value: &Value) -> String {
    match value {
        Value::Object(map) => format!(
            "an object with {}",
            if map.is_empty() {
                "no fields".to_string()
            } else {
                map.keys()
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        ),
        other => kind_of(other).to_string(),
    }
}
