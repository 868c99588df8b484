//! What a workflow run reports: per-node reports, the run's state,
//! output and metrics.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{ExecutionState, Progress};
use symphony_workflow::NodeKind;

/// Where one node stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// How long its last attempt ran, in milliseconds.
    pub duration_ms: Option<f64>,
    /// When its last attempt started, in milliseconds since the run
    /// started.
    pub started_ms: Option<f64>,
    /// Attempts it took (0 when it never ran or was restored).
    pub attempts: u32,
    /// It finished in an earlier execution of this run and was restored
    /// from the checkpoint, not run again.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub restored: bool,
    /// How its recovery policy handled a failure (a fallback, or a skip
    /// with a default), with the failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recovered: Option<String>,
    /// Why it failed.
    pub error: Option<String>,
    /// The Artifact Store id of its output (extension and map nodes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artifact: Option<String>,
    /// The last time it had to wait for a contended resource: what for,
    /// its place in line and the expected wait.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waited: Option<String>,
}

/// The result of a run: per-node reports and the final output. This is
/// also the status Addons render.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    /// Unique per run; `symphony status` and `symphony run --resume` take
    /// it.
    pub run_id: String,
    /// The workflow's name.
    pub workflow: String,
    /// How the run ended: completed, failed or cancelled.
    pub state: ExecutionState,
    /// Wall-clock time of this execution, in milliseconds.
    pub elapsed_ms: f64,
    /// One report per node, in the plan's order.
    pub nodes: Vec<NodeReport>,
    /// The run's output when it completed.
    pub output: Option<Value>,
    /// Why the run failed or stopped.
    pub error: Option<String>,
    /// Nodes done out of the total.
    pub progress: Progress,
    /// Durations, throughput and errors by node kind.
    pub metrics: RunMetrics,
    /// It picked up a run that stopped earlier.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub resumed: bool,
    /// Problems that did not stop the run (a checkpoint that could not be
    /// written).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl RunReport {
    /// The report as JSON text, the input Addons render.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// A run's figures.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunMetrics {
    /// Nodes finished per second of the run's wall-clock time.
    pub nodes_per_second: f64,
    /// Figures per node kind (`instrument`, `operator`, `control`).
    pub by_kind: BTreeMap<String, KindMetrics>,
}

/// The figures of one kind of node in a run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KindMetrics {
    /// Nodes of this kind that ran in this execution.
    pub nodes: usize,
    /// Attempts that failed (retried or not).
    pub errors: usize,
    /// Their total running time, in milliseconds.
    pub total_ms: f64,
    /// The longest, in milliseconds.
    pub max_ms: f64,
}

impl RunMetrics {
    /// Adds one node's attempt.
    pub(crate) fn record(&mut self, kind: NodeKind, duration_ms: f64, failed: bool) {
        // Looked up by &str first: no key allocated per node.
        let entry = match self.by_kind.get_mut(kind.as_str()) {
            Some(entry) => entry,
            None => self.by_kind.entry(kind.as_str().to_string()).or_default(),
        };
        entry.nodes += usize::from(!failed);
        entry.errors += usize::from(failed);
        entry.total_ms += duration_ms;
        entry.max_ms = entry.max_ms.max(duration_ms);
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
    /// A node waits for a contended resource.
    NodeWaiting {
        /// The node.
        node: &'a NodeReport,
        /// What it waits for, its place in line and the expected wait.
        explanation: &'a symphony_arbitration::Explanation,
    },
}
