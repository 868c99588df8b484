//! Symphony's extension contract as data: what an extension is, asks for
//! and is allowed, with no engine in sight.
//!
//! ```
//! use symphony_manifest::{Capability, Grants, Manifest, ManifestKind};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let manifest = Manifest::parse(
//!     r#"
//! [extension]
//! name = "summarize"
//! version = "1.2.0"
//! kind = "operator"
//! component = "summarize.wasm"
//!
//! [capabilities]
//! bus = { publish = ["metrics.>"] }
//! "#,
//!     "/ext/summarize/symphony.toml",
//! )?;
//! assert_eq!(manifest.kind, ManifestKind::Operator);
//! let grants = Grants::from_capabilities(&manifest.capabilities);
//! assert!(grants.may_publish("metrics.cpu"));
//! assert!(!grants.may_call_model("gpt"));
//! assert_eq!(manifest.capabilities.items(), [Capability::Publish("metrics.>".into())]);
//! # Ok(())
//! # }
//! ```
//!
//! - [`Manifest`]: the `symphony.toml` beside each component, read and merged
//!   over the manifest it `extends`, every problem with its line and column;
//!   its [`Capabilities`], [`ConfigSchema`] (typed [`Parameter`]s) and
//!   [`ManifestLimits`].
//! - [`ExtensionKind`] and [`ExtError`]: the WIT contract's three worlds and
//!   the errors a guest reports; [`Limits`] on every call.
//! - [`Grants`]: what one loaded extension may reach, checked by the runtime
//!   on every import.
//! - [`Permissions`] with a [`Policy`] and a [`GrantStore`]: which requested
//!   capabilities are granted, by whom, recorded in the [`AuditLog`].
//! - [`resolve`]: picks one version of each extension so every
//!   [`Dependency`] holds, or explains why none can.
//! - [`LifecycleState`]: the states a loaded extension moves through.
//!
//! This crate sits above only `symphony-protocol` (for subject patterns); the
//! workflow model, the runtime and the host build on it.

#![deny(missing_docs)]

mod audit;
mod contract;
mod file_schema;
mod grants;
mod lifecycle;
mod manifest;
pub mod param;
mod permissions;
mod policy;
mod resolve;

pub use audit::{AuditError, AuditLog, AuditQuery, AuditRecord, DecidedBy, Decision};
pub use contract::{ExtError, ExtensionKind};
pub use file_schema::file_schema;
pub use grants::{DirGrant, Grants};
pub use lifecycle::{CrashPolicy, Lifecycle, LifecycleState, Transition, TransitionError};
pub use manifest::{
    ArtifactAccess, BuildSpec, Capabilities, Capability, ConfigKey, ConfigSchema, Dependency,
    FsAccess, FsCapability, Language, Limits, LogLimits, Manifest, ManifestError, ManifestKind,
    ManifestLimits, ManifestProblem, ParseCapabilityError, http_allows, manifest_schema,
    net_allows,
};
pub use param::{ParamType, Parameter, ParameterSpec};
pub use permissions::{
    Denial, PermissionError, PermissionOutcome, PermissionRequest, Permissions, Prompt,
};
pub use policy::{GrantStore, Policy, PolicyError, Recorded, Rule, VersionGrants};
pub use resolve::{
    Candidate, Chain, DEFAULT_RESOLVE_STEPS, NameVersion, Requirement, Resolution, ResolveError,
    ResolveNote, ResolveProblem, Roots, resolve, resolve_within,
};
