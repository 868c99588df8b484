//! Running a validated workflow, node by node in topological order.

mod walk;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde_json::Value;

use super::expr::Compiled;
use super::{Node, NodeKind, Plan, Workflow};
use crate::Error;
use crate::host::HostInner;
use walk::{Failure, Graph, Watch};

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
    /// Not run: an earlier node failed, or the path to it was not taken
    /// (a condition or branch chose another, or a node it needs was
    /// skipped).
    Skipped,
}

/// What happened to one node.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NodeReport {
    /// The node's id.
    pub id: String,
    /// Its kind.
    pub kind: NodeKind,
    /// The extension it called, or a control node's step (`branch`,
    /// `merge`, `map`).
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
                    extension: node.runs().to_string(),
                    state: NodeState::Pending,
                    duration_ms: None,
                    error: None,
                }
            })
            .collect(),
        output: None,
        error: None,
    };
    let expressions = Compiled::default();
    let graph = Graph {
        nodes: &workflow.nodes,
        edges: &workflow.edges,
        plan,
        expressions: &expressions,
    };
    let events = Events {
        host,
        prefix: format!("exec.{}", report.run_id),
    };
    let mut reporter = Reporter {
        report: &mut report,
        observer,
        events: &events,
    };
    match graph.walk(host, input, &mut reporter) {
        Ok(outcomes) => {
            report.state = RunState::Completed;
            report.output = Some(graph.output(&outcomes));
        }
        Err(Failure { position, message }) => fail_run(&mut report, position, message),
    }
    report.elapsed_ms = started.elapsed().as_secs_f64() * 1e3;
    events.publish("finished", report.to_json().into_bytes());
    Ok(report)
}

/// Publishes a run's events on `exec.<run-id>.<event>`.
struct Events<'h> {
    host: &'h HostInner,
    prefix: String,
}

impl Events<'_> {
    fn publish(&self, event: &str, payload: Vec<u8>) {
        // Run ids and event names are valid subject tokens, so this only
        // fails if that stops being true; the run itself goes on.
        if let Err(e) = self
            .host
            .bus
            .publish(&format!("{}.{event}", self.prefix), payload)
        {
            tracing::warn!("cannot publish run event {event}: {e}");
        }
    }
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

/// Keeps the run's report, tells the observer and publishes run events.
struct Reporter<'r, 'e> {
    report: &'r mut RunReport,
    observer: &'r mut dyn FnMut(RunEvent<'_>),
    events: &'e Events<'e>,
}

impl Watch for Reporter<'_, '_> {
    fn started(&mut self, position: usize, node: &Node) {
        let entry = &mut self.report.nodes[position];
        entry.state = NodeState::Running;
        (self.observer)(RunEvent::NodeStarted { node: entry });
        self.events
            .publish("node.started", node.id.clone().into_bytes());
    }

    fn skipped(&mut self, position: usize, node: &Node, reason: &str) {
        let entry = &mut self.report.nodes[position];
        entry.state = NodeState::Skipped;
        tracing::debug!(node = %node.id, "skipped: {reason}");
        (self.observer)(RunEvent::NodeFinished { node: entry });
        self.events
            .publish("node.skipped", node.id.clone().into_bytes());
    }

    fn finished(&mut self, position: usize, node: &Node, elapsed: Duration, error: Option<&str>) {
        let entry = &mut self.report.nodes[position];
        entry.duration_ms = Some(elapsed.as_secs_f64() * 1e3);
        let event = match error {
            // The failure itself is recorded by `fail_run`.
            Some(_) => "node.failed",
            None => {
                entry.state = NodeState::Completed;
                (self.observer)(RunEvent::NodeFinished { node: entry });
                "node.completed"
            }
        };
        self.events.publish(event, node.id.clone().into_bytes());
    }
}
