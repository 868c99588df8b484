//! Running a validated workflow, node by node in topological order.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde_json::{Map, Value};

use super::{EdgeKind, Plan, Workflow};
use crate::extension::{ExtensionKind, NodeConfig};
use crate::host::HostInner;
use crate::{CallError, Error};

/// Where a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RunState {
    /// Nodes are still running.
    Running,
    /// Every node finished.
    Completed,
    /// A node failed; later nodes did not run.
    Failed,
}

/// Where one node stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeState {
    /// Not started yet.
    Pending,
    /// Running now.
    Running,
    /// Finished with an output.
    Completed,
    /// Failed; see the error.
    Failed,
    /// Not run because an earlier node failed.
    Skipped,
}

/// What happened to one node.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NodeReport {
    /// The node's id.
    pub id: String,
    /// Its kind.
    pub kind: ExtensionKind,
    /// The extension it called.
    pub extension: String,
    /// Its state.
    pub state: NodeState,
    /// How long it ran, in milliseconds.
    pub duration_ms: Option<f64>,
    /// Why it failed.
    pub error: Option<String>,
}

/// The result of a run: per-node reports and the final output. This is
/// also the status Addons render.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunReport {
    /// Unique per run.
    pub run_id: String,
    /// The workflow's name.
    pub workflow: String,
    /// How the run ended.
    pub state: RunState,
    /// Wall-clock time of the whole run, in milliseconds.
    pub elapsed_ms: f64,
    /// One report per node, in execution order.
    pub nodes: Vec<NodeReport>,
    /// The run's output when it completed.
    pub output: Option<Value>,
    /// Why the run failed.
    pub error: Option<String>,
}

impl RunReport {
    /// The report as JSON text, the input Addons render.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Progress reported while a run executes.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum RunEvent<'a> {
    /// A node started.
    NodeStarted {
        /// The node.
        node: &'a NodeReport,
    },
    /// A node completed or failed.
    NodeFinished {
        /// The node, with its duration and error.
        node: &'a NodeReport,
    },
}

fn new_run_id() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{:x}-{:x}", nanos, COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// Parses a guest's JSON output; output that is not JSON is kept as a string.
fn to_value(json: &str) -> Value {
    serde_json::from_str(json).unwrap_or_else(|_| Value::String(json.to_string()))
}

/// Runs every node of `workflow` in `plan` order, passing outputs along
/// edges. A node failure ends the run; the report says which and why.
pub(crate) fn execute(
    host: &HostInner,
    workflow: &Workflow,
    plan: &Plan,
    input: &Value,
    observer: &mut dyn FnMut(RunEvent<'_>),
) -> Result<RunReport, Error> {
    let started = Instant::now();
    let mut report = RunReport {
        run_id: new_run_id(),
        workflow: workflow.name.clone(),
        state: RunState::Running,
        elapsed_ms: 0.0,
        nodes: plan
            .order
            .iter()
            .map(|&i| {
                let node = &workflow.nodes[i];
                NodeReport {
                    id: node.id.clone(),
                    kind: node.kind,
                    extension: node.extension.clone(),
                    state: NodeState::Pending,
                    duration_ms: None,
                    error: None,
                }
            })
            .collect(),
        output: None,
        error: None,
    };
    let input_text = input.to_string();
    let mut outputs: Vec<Option<String>> = vec![None; workflow.nodes.len()];
    let events = format!("exec.{}", report.run_id);
    let emit = |event: &str, payload: Vec<u8>| {
        // Run ids and event names are valid subject tokens, so this only
        // fails if that stops being true; the run itself goes on.
        if let Err(e) = host.bus.publish(&format!("{events}.{event}"), payload) {
            tracing::warn!("cannot publish run event {event}: {e}");
        }
    };

    let mut skipped = vec![false; workflow.nodes.len()];

    for (position, &index) in plan.order.iter().enumerate() {
        let node = &workflow.nodes[index];
        let result = match gate(workflow, plan, index, &skipped, &outputs) {
            Ok(Some(reason)) => {
                skipped[index] = true;
                let entry = &mut report.nodes[position];
                entry.state = NodeState::Skipped;
                tracing::debug!(node = %node.id, "skipped: {reason}");
                observer(RunEvent::NodeFinished { node: entry });
                emit("node.skipped", node.id.clone().into_bytes());
                continue;
            }
            Err(message) => Err(message),
            Ok(None) => {
                let upstream: Vec<usize> = plan.upstream(workflow, index).collect();
                let node_input = match upstream.as_slice() {
                    [] => input_text.clone(),
                    [single] => outputs[*single].clone().unwrap_or_default(),
                    several => {
                        let mut map = Map::new();
                        for &up in several {
                            map.insert(
                                workflow.nodes[up].id.clone(),
                                to_value(outputs[up].as_deref().unwrap_or("null")),
                            );
                        }
                        Value::Object(map).to_string()
                    }
                };
                report.nodes[position].state = NodeState::Running;
                observer(RunEvent::NodeStarted {
                    node: &report.nodes[position],
                });
                emit("node.started", node.id.clone().into_bytes());

                let config = NodeConfig::new(node.config.clone());
                let began = Instant::now();
                let result = call_node(host, node.kind, &node.extension, &config, &node_input);
                report.nodes[position].duration_ms = Some(began.elapsed().as_secs_f64() * 1e3);
                result.map_err(|e| e.to_string())
            }
        };
        match result {
            Ok(output) => {
                let entry = &mut report.nodes[position];
                entry.state = NodeState::Completed;
                outputs[index] = Some(output);
                observer(RunEvent::NodeFinished { node: entry });
                emit("node.completed", node.id.clone().into_bytes());
            }
            Err(message) => {
                fail_run(&mut report, position, message);
                observer(RunEvent::NodeFinished {
                    node: &report.nodes[position],
                });
                emit("node.failed", node.id.clone().into_bytes());
                break;
            }
        }
    }

    if report.state == RunState::Running {
        report.state = RunState::Completed;
        let output = |i: usize| to_value(outputs[i].as_deref().unwrap_or("null"));
        // Skipped nodes have no output: a lone skipped sink gives null, and
        // skipped sinks are left out of the object.
        report.output = Some(match plan.sinks.as_slice() {
            [single] if skipped[*single] => Value::Null,
            [single] => output(*single),
            several => Value::Object(
                several
                    .iter()
                    .filter(|&&i| !skipped[i])
                    .map(|&i| (workflow.nodes[i].id.clone(), output(i)))
                    .collect(),
            ),
        });
    }
    report.elapsed_ms = started.elapsed().as_secs_f64() * 1e3;
    emit("finished", report.to_json().into_bytes());
    Ok(report)
}

/// Marks the node at `position` failed and every later one skipped: the
/// run has failed.
fn fail_run(report: &mut RunReport, position: usize, message: String) {
    let entry = &mut report.nodes[position];
    entry.state = NodeState::Failed;
    report.error = Some(format!("node '{}' failed: {message}", entry.id));
    entry.error = Some(message);
    for later in &mut report.nodes[position + 1..] {
        later.state = NodeState::Skipped;
    }
    report.state = RunState::Failed;
}

/// Whether a node runs, by its incoming edges: `Ok(None)` to run,
/// `Ok(Some(why))` to skip it (an upstream node was skipped or a condition
/// does not hold), `Err` when a condition cannot be evaluated.
fn gate(
    workflow: &Workflow,
    plan: &Plan,
    index: usize,
    skipped: &[bool],
    outputs: &[Option<String>],
) -> Result<Option<String>, String> {
    for &(from, e) in &plan.incoming[index] {
        let edge = &workflow.edges[e];
        if skipped[from] {
            return Ok(Some(format!("'{}' was skipped", edge.from)));
        }
        let (EdgeKind::Conditional, Some(when)) = (edge.kind, &edge.when) else {
            continue;
        };
        // Validation compiled it too; an expression holds a non-Send
        // reference count, so the plan cannot keep it.
        let upstream = to_value(outputs[from].as_deref().unwrap_or("null"));
        let holds = jmespath::compile(when)
            .and_then(|expression| expression.search(&upstream))
            .map(|result| result.is_truthy())
            .map_err(|e| {
                format!(
                    "the condition on the edge from '{}' cannot be evaluated: {e}",
                    edge.from
                )
            })?;
        if !holds {
            return Ok(Some(format!(
                "the condition on the edge from '{}' does not hold: {when}",
                edge.from
            )));
        }
    }
    Ok(None)
}

fn call_node(
    host: &HostInner,
    kind: ExtensionKind,
    extension: &str,
    config: &NodeConfig,
    input: &str,
) -> Result<String, Error> {
    Ok(match kind {
        ExtensionKind::Instrument => host.instrument(extension)?.invoke(config, input)?,
        ExtensionKind::Operator => {
            let operator = host.operator(extension)?;
            operator.validate_input(config, input)?;
            let output = operator.process(config, input)?;
            operator.validate_output(config, &output)?;
            output
        }
        ExtensionKind::Addon => {
            return Err(Error::Call(CallError::Instantiate {
                extension: extension.to_string(),
                message: "addons cannot run as workflow nodes".into(),
            }));
        }
    })
}
