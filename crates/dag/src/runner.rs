//! How the tracker reaches extensions: through a [`NodeRunner`] its caller
//! implements (the host, with its loaded extensions), so the DAG Tracker
//! never depends on the runtime that calls them.

use std::time::Instant;

use symphony_arbitration::Requester;
use symphony_bus::Interrupt;
use symphony_workflow::{FailureKind, Node, Workflow};

/// Calls the extensions a workflow's nodes name. Implemented by the host;
/// the tracker calls it from its worker threads.
pub trait NodeRunner: Sync {
    /// Calls the extension `node` names on `input` (JSON text), within
    /// `bounds`, and returns its output (JSON text).
    fn call(&self, node: &Node, input: &str, bounds: &Bounds) -> Result<String, NodeError>;

    /// Starts instances of the extensions `workflow` calls in the
    /// background, so nodes deep in the graph find theirs warm. Default:
    /// nothing.
    fn prewarm(&self, workflow: &Workflow) {
        let _ = workflow;
    }
}

/// Why a node failed: its kind, which its recovery policy goes by, and a
/// message for people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct NodeError {
    /// What kind of failure it was.
    pub kind: FailureKind,
    /// What happened, naming the extension and function where known.
    pub message: String,
}

impl NodeError {
    /// A failure of `kind` saying `message`.
    pub fn new(kind: FailureKind, message: impl Into<String>) -> Self {
        NodeError {
            kind,
            message: message.into(),
        }
    }

    /// A failure of the workflow's own checks (a port, an expression).
    pub(crate) fn workflow(message: String) -> Self {
        NodeError::new(FailureKind::Workflow, message)
    }
}

/// What stops a node's calls into extensions: a deadline, and the run's
/// interrupt (set when the run is cancelled or fails); and who asks, for
/// the Arbitration Engine.
#[derive(Debug, Clone, Default)]
pub struct Bounds {
    /// When its calls must stop, if sooner than the extension's own deadline.
    pub deadline: Option<Deadline>,
    /// Set when the run is cancelled or fails.
    pub interrupt: Option<Interrupt>,
    /// The run's tenant and priority, the node's deadline and label, and
    /// who to tell when it waits (set when the tracker has an arbiter).
    pub requester: Option<Requester>,
    /// The run's budget, if it was given one (`run:<id>`).
    pub budget: Option<std::sync::Arc<str>>,
}

/// When calls into extensions must stop, and what set that time.
#[derive(Debug, Clone, Copy)]
pub struct Deadline {
    /// The time.
    pub at: Instant,
    /// What set it.
    pub cause: DeadlineCause,
}

/// What set a [`Deadline`].
#[derive(Debug, Clone, Copy)]
pub enum DeadlineCause {
    /// The node's `timeout_ms`.
    Node(u64),
    /// The workflow's `timeout_ms` (or the run's timeout).
    Workflow(u128),
}

impl std::fmt::Display for DeadlineCause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DeadlineCause::Node(ms) => write!(f, "the node's {ms} ms timeout"),
            DeadlineCause::Workflow(ms) => write!(f, "the workflow's {ms} ms timeout"),
        }
    }
}
