//! The errors the host reports: one umbrella [`Error`] that every
//! operation's own error converts into.

use symphony_dag::RunError;
use symphony_manifest::ExtensionKind;
use symphony_runtime::{ActivateError, CallError, ConfigError, LoadError, SetupError};
use symphony_workflow::WorkflowError;

/// Everything that can go wrong in the host, by operation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Loading or compiling an extension failed.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// A call into an extension failed.
    #[error(transparent)]
    Call(#[from] CallError),
    /// A workflow file is unreadable or invalid.
    #[error(transparent)]
    Workflow(#[from] WorkflowError),
    /// No extension with this name is loaded.
    #[error("no extension named '{name}' is loaded (loaded: {})", list_or_none(.loaded))]
    UnknownExtension {
        /// The name asked for.
        name: String,
        /// The names that are loaded.
        loaded: Vec<String>,
    },
    /// The extension was found but could not be loaded; see
    /// [`Host::load_failures`](crate::Host::load_failures).
    #[error("extension '{name}' failed to load: {reason}")]
    NotLoaded {
        /// The extension.
        name: String,
        /// Why it could not be loaded.
        reason: String,
    },
    /// The extension exists but is of another kind than the caller needs.
    // Every kind's name starts with a vowel, so "an" always reads right.
    #[error("extension '{name}' is an {actual}, not an {expected}")]
    WrongKind {
        /// The extension's name.
        name: String,
        /// The kind the caller needs.
        expected: ExtensionKind,
        /// The kind the extension is.
        actual: ExtensionKind,
    },
    /// The host could not be set up: its data directory, artifact store,
    /// engine or background threads.
    #[error("cannot start the host: {0}")]
    Setup(String),
    /// The Arbitration Engine's settings (`<home>/arbitration.toml`, or
    /// those given to the builder) cannot be used.
    #[error("cannot start the host: {0}")]
    Arbitration(#[from] symphony_arbitration::ConfigError),
    /// An extension manifest is unreadable or invalid.
    #[error(transparent)]
    Manifest(#[from] symphony_manifest::ManifestError),
    /// Extensions' dependencies cannot all be met.
    #[error("cannot load the extensions: their dependencies cannot all be met:\n{0}")]
    Resolve(#[from] symphony_manifest::ResolveError),
    /// Permissions could not be decided (policy, grant record, audit log).
    #[error(transparent)]
    Permission(#[from] symphony_manifest::PermissionError),
    /// A lifecycle step the state machine does not allow.
    #[error(transparent)]
    Lifecycle(#[from] symphony_manifest::TransitionError),
    /// An extension's hooks failed as it was being activated; it is left
    /// in the failed state.
    #[error(transparent)]
    Activate(#[from] ActivateError),
    /// A reload failed; the version that was serving still serves.
    #[error("reloading '{name}' failed, {serving} still serves: {reason}")]
    Reload {
        /// The extension.
        name: String,
        /// The version left serving (`version x.y.z`, or the component hash).
        serving: String,
        /// What failed.
        reason: String,
    },
    /// A node's config does not fit the keys its extension's manifest
    /// declares.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A run could not be started, resumed or driven (a node's failure is
    /// not one: the run's report says which node failed and why).
    #[error(transparent)]
    Run(#[from] RunError),
    /// A manifest names a component file that does not exist (not built
    /// yet, or built elsewhere).
    #[error("extension '{name}': its component {} does not exist; {hint}", .path.display())]
    ComponentMissing {
        /// The extension.
        name: String,
        /// The file its manifest names.
        path: std::path::PathBuf,
        /// How to build it, or where it may be instead.
        hint: String,
    },
    /// The extension cannot be unloaded while others depend on it.
    #[error("cannot unload '{name}': {} depend on it; unload them first", .dependants.join(", "))]
    InUse {
        /// The extension.
        name: String,
        /// The loaded extensions that depend on it.
        dependants: Vec<String>,
    },
}

fn list_or_none(names: &[String]) -> String {
    if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    }
}

impl From<SetupError> for Error {
    fn from(e: SetupError) -> Self {
        Error::Setup(e.0)
    }
}
