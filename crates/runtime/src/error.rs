//! The errors of loading extensions, calling them and setting up the
//! runtime.

use std::path::PathBuf;
use std::time::Duration;

use symphony_manifest::ExtensionKind;

/// " while waiting in a host call: X" for a call stopped while it waited.
fn waiting_in(waiting: &Option<String>) -> String {
    match waiting {
        Some(wait) if wait.starts_with("for ") => format!(" while it waited {wait}"),
        Some(wait) => format!(" while waiting in a host call: {wait}"),
        None => String::new(),
    }
}

/// The runtime could not be set up: its engine, epoch thread, linker or
/// I/O thread, or the Pool Manager's settings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SetupError(pub String);

/// A node's config does not fit the keys its extension's manifest
/// declares.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the config for {extension} does not fit its manifest: {}", .problems.join("; "))]
pub struct ConfigError {
    /// The extension.
    pub extension: String,
    /// What does not fit, one entry per key.
    pub problems: Vec<String>,
}

/// Why an extension could not be activated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActivateError {
    /// Its hooks (`on-load`, `on-activate`) failed; it is left in the
    /// failed state.
    #[error("extension '{name}' failed to activate: {reason}")]
    Hooks {
        /// The extension.
        name: String,
        /// What failed.
        reason: String,
    },
    /// Its lifecycle does not allow activating it now.
    #[error(transparent)]
    Lifecycle(#[from] symphony_manifest::TransitionError),
}

/// Why an extension could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The file could not be read.
    #[error("cannot read extension {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The bytes are not a WebAssembly component.
    #[error("{path} is not a WebAssembly component: {reason}")]
    NotAComponent {
        /// The file.
        path: PathBuf,
        /// What was found instead.
        reason: String,
    },
    /// The component does not compile or validate.
    #[error("{path} is not a valid component: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// wasmtime's explanation.
        reason: String,
    },
    /// The component exports none of the Symphony worlds.
    #[error(
        "{path} does not implement a Symphony extension world: it exports [{}], but an extension \
         exports one of symphony:extension/instrument, operator or addon together with \
         symphony:extension/lifecycle, at version 0.1.x",
        .exports.join(", ")
    )]
    UnknownWorld {
        /// The file.
        path: PathBuf,
        /// What the component exports.
        exports: Vec<String>,
    },
    /// The component claims a world but its exports or imports do not match it.
    #[error("{path} does not match the {kind} world: {reason}")]
    WorldMismatch {
        /// The file.
        path: PathBuf,
        /// The world it claims.
        kind: ExtensionKind,
        /// What does not match.
        reason: String,
    },
    /// The component imports an interface version this host does not link.
    #[error(
        "{path} imports {interface}@{wanted}, which this host does not provide ({}); build it \
         against the versions the host links",
        match have {
            Some(have) => format!("it links {have}, and any import on the same track"),
            None => "it links no version of that package".to_string(),
        }
    )]
    UnlinkedImport {
        /// The file.
        path: PathBuf,
        /// The interface, e.g. `wasi:cli/environment`.
        interface: String,
        /// The version the component wants, e.g. `0.3.0`.
        wanted: String,
        /// The package and version the host links, e.g. `wasi:cli@0.2.12`,
        /// if any.
        have: Option<String>,
    },
    /// Another extension with the same name is loaded already.
    #[error(
        "an extension named '{name}' is already loaded from {existing}; reload it, or unload \
         it first"
    )]
    Duplicate {
        /// The name.
        name: String,
        /// Where the loaded one came from.
        existing: PathBuf,
    },
    /// The extension is of a kind this host cannot run.
    #[error("extension '{name}': {reason}")]
    Unsupported {
        /// The extension.
        name: String,
        /// Why, and what to do instead.
        reason: String,
    },
    /// An extension it depends on is not loaded in a fitting version.
    #[error("extension '{name}': {reason}")]
    Dependency {
        /// The extension.
        name: String,
        /// Which dependency is missing or mismatched.
        reason: String,
    },
    /// The limits asked for cannot be honoured by this host's engine.
    #[error("extension '{name}': {reason}")]
    Limits {
        /// The extension.
        name: String,
        /// What is out of range.
        reason: String,
    },
    /// A granted directory cannot be opened.
    #[error("extension '{name}': cannot grant directory {path}: {reason}")]
    Grant {
        /// The extension.
        name: String,
        /// The directory.
        path: PathBuf,
        /// Why it failed.
        reason: String,
    },
}

/// Why a call into an extension did not return a result.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum CallError {
    /// The extension returned an error of its own.
    #[error("{extension}.{function} returned an error: {error}")]
    Guest {
        /// The extension.
        extension: String,
        /// The exported function.
        function: &'static str,
        /// What the extension said.
        error: crate::ExtError,
    },
    /// The call used up its fuel.
    #[error("{extension}.{function} ran out of fuel ({fuel} units per call) and was stopped")]
    OutOfFuel {
        /// The extension.
        extension: String,
        /// The exported function.
        function: &'static str,
        /// The fuel the call had.
        fuel: u64,
    },
    /// The call ran past its deadline: stopped in its own code, or while
    /// it waited in a host call (`waiting` says which).
    #[error(
        "{extension}.{function} ran past its {deadline:?} deadline and was stopped{}",
        waiting_in(.waiting)
    )]
    Deadline {
        /// The extension.
        extension: String,
        /// The exported function.
        function: &'static str,
        /// The deadline the call had.
        deadline: Duration,
        /// The host call it was waiting in when stopped, e.g.
        /// `wasi:clocks/monotonic-clock.subscribe-duration (through
        /// wasi:io/poll.[method]pollable.block)`; `None` when it was running
        /// its own code.
        waiting: Option<String>,
    },
    /// The instance tried to grow its memory past its limit.
    #[error(
        "{extension}.{function} tried to grow its memory to {requested} bytes, past its limit of \
         {limit} bytes, and was stopped"
    )]
    MemoryLimit {
        /// The extension.
        extension: String,
        /// The exported function.
        function: &'static str,
        /// The limit in bytes.
        limit: usize,
        /// The size the guest asked for, in bytes.
        requested: usize,
    },
    /// The caller stopped the call while it ran (a cancelled workflow
    /// run); the instance is dropped. Not the extension's fault, so it does
    /// not count towards quarantine.
    #[error(
        "{extension}.{function} was interrupted: its caller stopped it{}",
        waiting_in(.waiting)
    )]
    Interrupted {
        /// The extension.
        extension: String,
        /// The exported function.
        function: &'static str,
        /// What it was waiting for when stopped (a host call, or a free
        /// instance); `None` when it was running its own code.
        waiting: Option<String>,
    },
    /// The guest trapped (a panic, an unreachable, an out-of-bounds access).
    #[error("{extension}.{function} trapped: {message}")]
    Trap {
        /// The extension.
        extension: String,
        /// The exported function.
        function: &'static str,
        /// What the trap was.
        message: String,
    },
    /// Every instance stayed busy for as long as the call could wait.
    #[error(
        "{extension}: all {max_instances} instances stayed busy for {waited:?}{}; raise its \
         max_instances or deadline",
        position.map(|p| format!(" (the call was still {} in line)", symphony_arbitration::ordinal(p))).unwrap_or_default()
    )]
    Busy {
        /// The extension.
        extension: String,
        /// Its instance limit.
        max_instances: usize,
        /// How long the call waited.
        waited: std::time::Duration,
        /// Its place in the Arbitration Engine's line when it gave up,
        /// from 1.
        position: Option<usize>,
    },
    /// A new instance could not be created.
    #[error("cannot instantiate {extension}: {message}")]
    Instantiate {
        /// The extension.
        extension: String,
        /// Why.
        message: String,
    },
    /// The extension is not active: deactivated, quarantined after
    /// repeated crashes, or failed to activate.
    #[error(
        "{extension} is {state} and takes no calls{}; {}",
        .reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default(),
        if *.state == symphony_manifest::LifecycleState::Unloaded {
            "load it again"
        } else {
            "activate or reload it"
        }
    )]
    Unavailable {
        /// The extension.
        extension: String,
        /// Its lifecycle state.
        state: symphony_manifest::LifecycleState,
        /// Why it got there, when known.
        reason: Option<String>,
    },
}

impl CallError {
    /// Whether the call cost the extension its instance: a trap, running out
    /// of fuel, time or memory, or an instance that could not start. These
    /// count towards quarantine; a guest's own error does not.
    pub fn is_crash(&self) -> bool {
        matches!(
            self,
            CallError::Trap { .. }
                | CallError::OutOfFuel { .. }
                | CallError::Deadline { .. }
                | CallError::MemoryLimit { .. }
                | CallError::Instantiate { .. }
        )
    }
}
