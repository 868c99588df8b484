//! The Stale Manager's error type.

use std::io;
use std::path::PathBuf;

use super::Tier;

/// Why a Stale Manager operation failed. Every message names the artifact,
/// path or policy field involved.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StaleError {
    /// The id is not an artifact id.
    #[error("'{0}' is not an artifact id (64 lowercase hex digits)")]
    BadId(String),
    /// A retention policy is not valid TOML or has an unknown field.
    #[error("retention policy {origin}: {message}")]
    PolicyParse {
        /// Where the policy came from: a file path or "(inline)".
        origin: String,
        /// The parser's message, naming the line and key.
        message: String,
    },
    /// A retention policy field has a value it cannot have.
    #[error("retention policy field `{field}` = {value}: {expected}")]
    PolicyField {
        /// The field, e.g. `min_quality` or `weights.recency`.
        field: &'static str,
        /// The offending value as written.
        value: String,
        /// What the field accepts.
        expected: String,
    },
    /// A file-system operation failed.
    #[error("{action} {}: {source}", path.display())]
    Io {
        /// What was being done, e.g. "reading artifact file".
        action: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The cold object store failed.
    #[error("cold tier {action} for artifact {id}: {source}")]
    ObjectStore {
        /// What was being done, e.g. "upload".
        action: &'static str,
        /// The artifact involved.
        id: String,
        /// The underlying error.
        #[source]
        source: object_store::Error,
    },
    /// A tier copy does not match the file it was made from; the copy was
    /// removed and the original kept.
    #[error(
        "artifact {id}: the {tier} copy does not match the original ({reason}); \
         the original was kept"
    )]
    Verify {
        /// The artifact.
        id: String,
        /// The tier written to.
        tier: Tier,
        /// What differed.
        reason: String,
    },
    /// The artifact has no copy in the tier it was looked for in.
    #[error("artifact {id} is not in the {tier} tier")]
    NotInTier {
        /// The artifact.
        id: String,
        /// The tier looked in.
        tier: Tier,
    },
    /// The tier asked for cannot hold archived copies (the hot tier).
    #[error("artifact {id}: cannot archive into the {tier} tier; use warm or cold")]
    BadTier {
        /// The artifact.
        id: String,
        /// The tier asked for.
        tier: Tier,
    },
    /// The artifact is not in the trash.
    #[error("artifact {0} is not in the trash (never trashed, already restored or purged)")]
    NotInTrash(String),
    /// The undo window for a trashed artifact has closed.
    #[error(
        "artifact {id} was trashed at {trashed_at_ms} ms, more than {trash_days} days ago; \
         its undo window has closed"
    )]
    UndoExpired {
        /// The artifact.
        id: String,
        /// When it was trashed, unix milliseconds.
        trashed_at_ms: i64,
        /// The undo window in days.
        trash_days: u32,
    },
    /// Restoring would overwrite an existing file.
    #[error("artifact {id}: {} already exists; not overwriting it", path.display())]
    Exists {
        /// The artifact.
        id: String,
        /// The path that exists.
        path: PathBuf,
    },
    /// A trash manifest cannot be read.
    #[error("trash manifest {}: {message}", path.display())]
    Manifest {
        /// The manifest file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// The shelf (the artifact store) failed.
    #[error("artifact store: {0}")]
    Shelf(String),
    /// The cold tier could not be configured.
    #[error("cold tier configuration: {0}")]
    ColdConfig(String),
}

impl StaleError {
    /// An [`StaleError::Io`] for `action` on `path`.
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        StaleError::Io {
            action,
            path: path.into(),
            source,
        }
    }
}
