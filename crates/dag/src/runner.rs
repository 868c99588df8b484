//! How the tracker reaches extensions: through a [`NodeRunner`] its caller
//! implements (the host, with its loaded extensions), so the DAG Tracker
//! never depends on the runtime that calls them.

use std::time::Instant;

use serde::Serialize;
use symphony_bus::Interrupt;
use symphony_workflow::{Node, Workflow};

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

/// Why a node's call failed: its kind, which the recovery policy goes by,
/// and a message for people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct NodeError {
    /// What kind of failure it was.
    pub kind: NodeErrorKind,
    /// What happened, naming the extension and function where known.
    pub message: String,
}

impl NodeError {
    /// A failure of `kind` saying `message`.
    pub fn new(kind: NodeErrorKind, message: impl Into<String>) -> Self {
        NodeError {
            kind,
            message: message.into(),
        }
    }
}

/// The kinds of node failure. The guest's own `ext-error` kinds are kept
/// apart from traps, deadlines and the workflow's own checks, because they
/// call for different recovery: a retry cannot fix input the extension
/// refused, a missing grant or a bad config, but may get past a trap, an
/// unavailable model or a timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NodeErrorKind {
    /// The extension refused its input (`invalid-input`).
    InvalidInput,
    /// The extension refused its configuration (`invalid-config`), or the
    /// node's config does not fit the extension's manifest.
    InvalidConfig,
    /// A capability the extension lacks (`denied`).
    Denied,
    /// Something the extension needs is not available (`unavailable`), or
    /// the extension is not loaded or is quarantined.
    Unavailable,
    /// The extension reported another failure (`failed`).
    Failed,
    /// The guest trapped: a crash, fuel or memory exhausted, a broken
    /// contract.
    Trap,
    /// A deadline passed: the extension's, the node's or the run's.
    Timeout,
    /// The run was cancelled while the node ran.
    Interrupted,
    /// The workflow's own checks: a port type, an expression, a map's list.
    Workflow,
}

impl NodeErrorKind {
    /// Whether a node's recovery policy retries a failure of this kind
    /// unless the policy says otherwise: everything but `invalid-input`,
    /// `invalid-config`, `denied` and a cancelled run, which another
    /// attempt with the same input cannot change.
    pub fn retried_by_default(self) -> bool {
        !matches!(
            self,
            NodeErrorKind::InvalidInput
                | NodeErrorKind::InvalidConfig
                | NodeErrorKind::Denied
                | NodeErrorKind::Interrupted
        )
    }

    /// The kind's name, as it appears in events and reports:
    /// `invalid-input`, `trap`, `timeout`...
    pub fn as_str(self) -> &'static str {
        match self {
            NodeErrorKind::InvalidInput => "invalid-input",
            NodeErrorKind::InvalidConfig => "invalid-config",
            NodeErrorKind::Denied => "denied",
            NodeErrorKind::Unavailable => "unavailable",
            NodeErrorKind::Failed => "failed",
            NodeErrorKind::Trap => "trap",
            NodeErrorKind::Timeout => "timeout",
            NodeErrorKind::Interrupted => "interrupted",
            NodeErrorKind::Workflow => "workflow",
        }
    }
}

/// What stops a node's calls into extensions: a deadline, and the run's
/// interrupt (set when the run is cancelled or fails).
#[derive(Debug, Clone, Default)]
pub struct Bounds {
    /// When its calls must stop, if sooner than the extension's own deadline.
    pub deadline: Option<Deadline>,
    /// Set when the run is cancelled or fails.
    pub interrupt: Option<Interrupt>,
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
