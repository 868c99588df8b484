//! Exit codes a script can tell apart, and errors as JSON for `--json`.
//!
//! | code | meaning |
//! | --- | --- |
//! | 0 | success |
//! | 1 | failed (anything not below, e.g. an extension call that failed) |
//! | 2 | usage: an unknown command or flag, a missing argument |
//! | 3 | a run ended failed or cancelled |
//! | 65 | invalid input: a workflow, manifest, config, input or request that does not parse or validate |
//! | 66 | not found: no such file, run, extension or artifact |
//! | 69 | unavailable: no service answers, or it is shutting down |
//! | 70 | internal error (a bug) |
//! | 74 | I/O error |
//! | 77 | denied: a permission, grant or access check refused |

use std::process::ExitCode;

use symphony_host::artifacts::ArtifactError;
use symphony_host::protocol::client::ClientError;
use symphony_host::runs::{ResumeRefusal, RunError, RunStoreError};
use symphony_host::workflow::WorkflowError;
use symphony_service::CallError;
use symphony_service::api::ErrorKind;

/// Why the command failed, as its exit code says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Anything not below.
    Failed = 1,
    /// A run ended failed or cancelled.
    RunFailed = 3,
    /// Something given does not parse or validate.
    InvalidInput = 65,
    /// No such file, run, extension or artifact.
    NotFound = 66,
    /// No service answers, or it is shutting down.
    Unavailable = 69,
    /// A bug.
    Internal = 70,
    /// Reading or writing failed.
    Io = 74,
    /// A permission or access check refused.
    Denied = 77,
}

/// A run that ended failed or cancelled: its report was printed; this
/// carries the line that says why.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct RunEnded(pub String);

impl Exit {
    /// The code the process exits with.
    pub fn code(self) -> ExitCode {
        ExitCode::from(self as u8)
    }

    /// The kind's name in a JSON error.
    pub fn name(self) -> &'static str {
        match self {
            Exit::Failed => "failed",
            Exit::RunFailed => "run_failed",
            Exit::InvalidInput => "invalid_input",
            Exit::NotFound => "not_found",
            Exit::Unavailable => "unavailable",
            Exit::Internal => "internal",
            Exit::Io => "io",
            Exit::Denied => "denied",
        }
    }

    /// What `error` is: the first cause in its chain that says.
    pub fn of(error: &anyhow::Error) -> Exit {
        error.chain().find_map(classify).unwrap_or(Exit::Failed)
    }
}

/// What one cause says, if anything; `None` lets a deeper cause decide
/// (an unreadable workflow file is whatever its I/O error is).
fn classify(cause: &(dyn std::error::Error + 'static)) -> Option<Exit> {
    if cause.is::<RunEnded>() {
        return Some(Exit::RunFailed);
    }
    if let Some(error) = cause.downcast_ref::<std::io::Error>() {
        return Some(match error.kind() {
            std::io::ErrorKind::NotFound => Exit::NotFound,
            std::io::ErrorKind::PermissionDenied => Exit::Denied,
            _ => Exit::Io,
        });
    }
    if cause.is::<serde_json::Error>() {
        return Some(Exit::InvalidInput);
    }
    if let Some(error) = cause.downcast_ref::<CallError>() {
        return match error {
            CallError::Service(reply) => Some(match reply.kind {
                ErrorKind::NotFound => Exit::NotFound,
                ErrorKind::Denied => Exit::Denied,
                ErrorKind::ShuttingDown => Exit::Unavailable,
                ErrorKind::Internal => Exit::Internal,
                ErrorKind::Artifact => Exit::Io,
                _ => Exit::InvalidInput,
            }),
            CallError::Bus(_) => Some(Exit::Unavailable),
            _ => None,
        };
    }
    if let Some(error) = cause.downcast_ref::<ClientError>() {
        return Some(match error {
            ClientError::Refused { .. } => Exit::Denied,
            ClientError::Connect { source, .. }
                if source.kind() == std::io::ErrorKind::PermissionDenied =>
            {
                Exit::Denied
            }
            ClientError::InvalidSubject(_) | ClientError::Protocol(_) => Exit::InvalidInput,
            ClientError::Io(_) => Exit::Io,
            _ => Exit::Unavailable,
        });
    }
    if let Some(error) = cause.downcast_ref::<WorkflowError>() {
        return match error {
            WorkflowError::Io { source, .. } => classify(source),
            _ => Some(Exit::InvalidInput),
        };
    }
    if let Some(error) = cause.downcast_ref::<RunStoreError>() {
        return match error {
            RunStoreError::NotFound(_) => Some(Exit::NotFound),
            _ => None,
        };
    }
    if let Some(error) = cause.downcast_ref::<RunError>() {
        // Wrapped errors are often `transparent`, which hides them from
        // the chain: look inside here.
        return match error {
            RunError::Store(inner) => classify(inner),
            RunError::Resume { refusal, .. } => match refusal {
                ResumeRefusal::Store(inner) => classify(inner),
                _ => Some(Exit::InvalidInput),
            },
            _ => Some(Exit::Failed),
        };
    }
    if let Some(error) = cause.downcast_ref::<ArtifactError>() {
        return match error {
            ArtifactError::NotFound(_) => Some(Exit::NotFound),
            ArtifactError::BadId(_) => Some(Exit::InvalidInput),
            _ => None,
        };
    }
    if let Some(error) = cause.downcast_ref::<symphony_host::arbitration::ConfigError>() {
        use symphony_host::arbitration::ConfigError as E;
        return Some(match error {
            E::Read { .. } => Exit::Io,
            E::Parse { .. } | E::Invalid { .. } => Exit::InvalidInput,
        });
    }
    if let Some(error) = cause.downcast_ref::<symphony_host::Error>() {
        use symphony_host::Error as E;
        return match error {
            E::UnknownExtension { .. } | E::NotLoaded { .. } | E::ComponentMissing { .. } => {
                Some(Exit::NotFound)
            }
            E::Permission(_) => Some(Exit::Denied),
            E::Workflow(inner) => classify(inner),
            E::Run(inner) => classify(inner),
            E::Arbitration(inner) => classify(inner),
            E::Setup(_) => Some(Exit::Io),
            E::Call(_) | E::Activate(_) => Some(Exit::Failed),
            _ => Some(Exit::InvalidInput),
        };
    }
    None
}

/// Whether the command line asked for JSON output.
pub fn json_requested() -> bool {
    std::env::args_os().any(|arg| arg == "--json")
}

/// The error as one JSON document: `{"error": {"code", "kind",
/// "message"}}`.
pub fn to_json(exit: Exit, message: &str) -> serde_json::Value {
    serde_json::json!({
        "error": {"code": exit as u8, "kind": exit.name(), "message": message}
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes_decide_the_code_from_the_outside_in() {
        let missing = anyhow::Error::new(std::io::Error::from(std::io::ErrorKind::NotFound))
            .context("reading the input");
        assert_eq!(Exit::of(&missing), Exit::NotFound);
        let ended = anyhow::Error::new(RunEnded("node x failed".into()));
        assert_eq!(Exit::of(&ended), Exit::RunFailed);
        let bad: anyhow::Error = serde_json::from_str::<serde_json::Value>("{")
            .unwrap_err()
            .into();
        assert_eq!(Exit::of(&bad), Exit::InvalidInput);
        assert_eq!(Exit::of(&anyhow::anyhow!("something")), Exit::Failed);
    }

    #[test]
    fn json_errors_have_one_shape() {
        let doc = to_json(Exit::NotFound, "no run 'x'");
        assert_eq!(
            doc,
            serde_json::json!({"error": {"code": 66, "kind": "not_found", "message": "no run 'x'"}})
        );
    }
}
