//! The artifact store's error type.

use std::io;
use std::path::PathBuf;

/// Why an artifact operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ArtifactError {
    /// The id is not a SHA-256 hex digest.
    #[error("'{0}' is not an artifact id (64 lowercase hex digits)")]
    BadId(String),
    /// No artifact has this id.
    #[error("no artifact with id {0}")]
    NotFound(String),
    /// The stored object fails verification: it was tampered with,
    /// truncated, reordered, or the store was opened with the wrong key.
    #[error(
        "artifact {id} failed its integrity check: {reason}; \
         the object is damaged or the key is wrong, and no data from it can be trusted"
    )]
    Integrity {
        /// The artifact that failed.
        id: String,
        /// What did not verify.
        reason: String,
    },
    /// An encryption key could not be read or parsed.
    #[error("artifact key {origin}: {problem}")]
    BadKey {
        /// Where the key came from (a file path or an environment variable).
        origin: String,
        /// What is wrong with it.
        problem: String,
    },
    /// The store was opened in a different mode than it was created with.
    #[error(
        "artifact store at {root} is {on_disk}, but it was opened {requested}; \
         open it the way it was created (the key comes from a key file or SYMPHONY_ARTIFACT_KEY)"
    )]
    ModeMismatch {
        /// The store's root directory.
        root: PathBuf,
        /// The mode recorded on disk, e.g. "encrypted".
        on_disk: &'static str,
        /// The mode asked for, e.g. "without a key".
        requested: &'static str,
    },
    /// Reading the content being stored failed.
    #[error("reading the content to store: {0}")]
    Input(#[source] io::Error),
    /// Writing an artifact's content to its destination failed.
    #[error("writing out artifact {id}: {source}")]
    Output {
        /// The artifact being written out.
        id: String,
        /// What happened.
        source: io::Error,
    },
    /// The file system failed.
    #[error("artifact store at {path}: {source}")]
    Io {
        /// Where.
        path: PathBuf,
        /// What happened.
        source: io::Error,
    },
    /// The metadata catalog (SQLite) failed.
    #[error("artifact catalog {path}: {reason}")]
    Catalog {
        /// The database file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// The search index failed, or a search asked for a page it does not
    /// serve.
    #[error("artifact search index at {path}: {reason}")]
    Index {
        /// The index directory.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// No artifact has this name.
    #[error("no artifact named '{0}' (`symphony artifacts ls` lists them)")]
    UnknownName(String),
    /// The name has no such version.
    #[error("artifact '{name}' has no version {version}; its versions are 1 to {latest}")]
    UnknownVersion {
        /// The name.
        name: String,
        /// The version asked for.
        version: u32,
        /// Its latest version.
        latest: u32,
    },
    /// Metadata given with a put is unusable.
    #[error("artifact metadata: {0}")]
    Invalid(String),
    /// Retention, tiering or the trash failed.
    #[error(transparent)]
    Retention(#[from] crate::stale::StaleError),
    /// The content is not text, so it cannot be diffed as text.
    #[error("artifact {id} is not UTF-8 text, so it cannot be shown as a text diff")]
    NotText {
        /// The artifact.
        id: String,
    },
}

impl ArtifactError {
    /// An integrity failure of artifact `id`, wrapped in an I/O error so it
    /// can travel through [`std::io::Read`]; [`ArtifactError::from_io`]
    /// unwraps it again.
    pub(crate) fn integrity_io(id: &str, reason: impl Into<String>) -> io::Error {
        io::Error::new(
            io::ErrorKind::InvalidData,
            ArtifactError::Integrity {
                id: id.to_string(),
                reason: reason.into(),
            },
        )
    }

    /// Converts an I/O error met at `path`, recovering an [`ArtifactError`]
    /// that was carried inside it.
    pub(crate) fn from_io(source: io::Error, path: impl Into<PathBuf>) -> ArtifactError {
        if source
            .get_ref()
            .is_some_and(|inner| inner.is::<ArtifactError>())
        {
            let inner = source.into_inner().expect("checked above");
            return *inner.downcast::<ArtifactError>().expect("checked above");
        }
        ArtifactError::Io {
            path: path.into(),
            source,
        }
    }
}
