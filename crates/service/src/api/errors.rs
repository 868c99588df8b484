//! Typed failures: what every request may be answered with instead.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use symphony_host::protocol::Message;

/// What went wrong, by kind, so a client can tell cases apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorKind {
    /// The request is malformed or breaks a rule of its type.
    InvalidRequest,
    /// Its message type is not one the service knows.
    UnknownType,
    /// Its type is known, but not in this version.
    UnsupportedVersion,
    /// The peer may not do this.
    Denied,
    /// No such run, extension or artifact.
    NotFound,
    /// The workflow does not validate (every problem is listed).
    InvalidWorkflow,
    /// The run is in a state that does not allow this (resume a completed
    /// run, report a running one).
    InvalidState,
    /// An extension could not be loaded, reloaded or unloaded.
    Extension,
    /// The Artifact Store refused or failed.
    Artifact,
    /// The service is shutting down and takes no new work.
    ShuttingDown,
    /// Anything else: the message says what.
    Internal,
}

impl ErrorKind {
    /// The kind's name on the wire, e.g. `not_found`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidRequest => "invalid_request",
            ErrorKind::UnknownType => "unknown_type",
            ErrorKind::UnsupportedVersion => "unsupported_version",
            ErrorKind::Denied => "denied",
            ErrorKind::NotFound => "not_found",
            ErrorKind::InvalidWorkflow => "invalid_workflow",
            ErrorKind::InvalidState => "invalid_state",
            ErrorKind::Extension => "extension",
            ErrorKind::Artifact => "artifact",
            ErrorKind::ShuttingDown => "shutting_down",
            ErrorKind::Internal => "internal",
        }
    }

    /// The kind named `name` (an unknown name reads as `internal`), as a
    /// bus-level refusal's header carries it.
    pub fn from_name(name: &str) -> ErrorKind {
        serde_json::from_value(Value::String(name.to_string())).unwrap_or(ErrorKind::Internal)
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A request failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct ErrorReply {
    /// Which kind of failure.
    pub kind: ErrorKind,
    /// What was wrong, for a person.
    pub message: String,
}
message!(ErrorReply, "error");

impl ErrorReply {
    /// An error of `kind`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ErrorReply {
            kind,
            message: message.into(),
        }
    }
}
