//! What a run tells its subscribers as it goes.

use std::sync::Arc;

use serde::Serialize;

use crate::{ExecutionState, Progress};

/// One event of a run, as [`RunControl::subscribe`](super::RunControl::subscribe)
/// delivers it and as the bus carries it (JSON on `exec.<run>.<event>`,
/// where `<event>` is [`ExecEvent::name`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ExecEvent {
    /// The run started (or resumed, with `restored` nodes taken from its
    /// checkpoint).
    Started {
        /// The run's id.
        run: Arc<str>,
        /// Nodes in the workflow.
        total: usize,
        /// Nodes restored from the checkpoint.
        restored: usize,
    },
    /// A node started an attempt.
    NodeStarted {
        /// The run's id.
        run: Arc<str>,
        /// The node's id.
        node: Arc<str>,
        /// Its attempt, from 1.
        attempt: u32,
    },
    /// A node finished with an output (or a recovery policy gave it one).
    NodeCompleted {
        /// The run's id.
        run: Arc<str>,
        /// The node's id.
        node: Arc<str>,
        /// How long its last attempt ran, in milliseconds.
        duration_ms: f64,
    },
    /// A node was skipped.
    NodeSkipped {
        /// The run's id.
        run: Arc<str>,
        /// The node's id.
        node: Arc<str>,
        /// Why.
        reason: String,
    },
    /// A node's attempt failed and it will run again after a delay.
    NodeRetried {
        /// The run's id.
        run: Arc<str>,
        /// The node's id.
        node: Arc<str>,
        /// The attempt that failed.
        attempt: u32,
        /// Why it failed.
        error: String,
        /// The wait before the next attempt, in milliseconds.
        delay_ms: f64,
    },
    /// A node failed for good.
    NodeFailed {
        /// The run's id.
        run: Arc<str>,
        /// The node's id.
        node: Arc<str>,
        /// Why.
        error: String,
    },
    /// A node waits for a contended resource (a parallel slot, an
    /// instance of its extension), and where it stands in line.
    NodeWaiting {
        /// The run's id.
        run: Arc<str>,
        /// The node's id.
        node: Arc<str>,
        /// The resource (`slots`, `instances:<extension>`).
        resource: Arc<str>,
        /// Its place in line, from 1.
        position: usize,
        /// Requests waiting in all.
        waiting: usize,
        /// The expected wait, in milliseconds, from observed service
        /// times (absent before any was observed).
        #[serde(skip_serializing_if = "Option::is_none")]
        estimate_ms: Option<f64>,
        /// The whole explanation, for people.
        explanation: String,
    },
    /// How far the run has come.
    Progress {
        /// The run's id.
        run: Arc<str>,
        /// The counts.
        progress: Progress,
    },
    /// The run's state changed (paused, resumed, cancelled) or it ended.
    State {
        /// The run's id.
        run: Arc<str>,
        /// The new state.
        state: ExecutionState,
    },
}

impl ExecEvent {
    /// Every [`name`](Self::name), in the order of the variants.
    pub const NAMES: [&'static str; 9] = [
        "started",
        "node.started",
        "node.completed",
        "node.skipped",
        "node.retried",
        "node.failed",
        "progress",
        "state",
        "node.waiting",
    ];

    /// The last tokens of its bus subject: `started`, `node.started`,
    /// `node.completed`, `node.skipped`, `node.retried`, `node.failed`,
    /// `node.waiting`, `progress`, or `state`.
    pub fn name(&self) -> &'static str {
        let index = match self {
            ExecEvent::Started { .. } => 0,
            ExecEvent::NodeStarted { .. } => 1,
            ExecEvent::NodeCompleted { .. } => 2,
            ExecEvent::NodeSkipped { .. } => 3,
            ExecEvent::NodeRetried { .. } => 4,
            ExecEvent::NodeFailed { .. } => 5,
            ExecEvent::Progress { .. } => 6,
            ExecEvent::State { .. } => 7,
            ExecEvent::NodeWaiting { .. } => 8,
        };
        Self::NAMES[index]
    }
}
