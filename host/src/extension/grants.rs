//! What an extension may do beyond pure computation.
//!
//! Nothing is granted by default: no directories, no environment, no
//! sockets, no bus subjects, no artifacts, no models. The WASI context of each
//! instance is built from these grants alone, and every host import checks
//! them again when it runs.

use std::path::PathBuf;
use std::sync::Arc;

use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder};

use crate::LoadError;
use crate::bus::subject_matches;
use crate::runtime::GuestLog;

/// Access to a granted directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsAccess {
    /// Read files and list directories.
    Read,
    /// Also create, write and delete.
    ReadWrite,
}

/// Access to the artifact store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ArtifactAccess {
    /// No access (the default).
    #[default]
    None,
    /// `artifact-get` only.
    Read,
    /// `artifact-get` and `artifact-put`.
    ReadWrite,
}

/// A host directory made visible to the guest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirGrant {
    /// The directory on the host.
    pub host: PathBuf,
    /// Where the guest sees it, e.g. `/data`.
    pub guest: String,
    /// What the guest may do there.
    pub access: FsAccess,
}

/// The capabilities granted to one extension. Build with the chained methods:
///
/// ```
/// use symphony_host::{ArtifactAccess, FsAccess, Grants};
///
/// let grants = Grants::none()
///     .dir("/srv/corpus", "/corpus", FsAccess::Read)
///     .publish("metrics.>")
///     .artifacts(ArtifactAccess::ReadWrite)
///     .model("mock-llm");
/// assert!(grants.may_publish("metrics.cpu.load"));
/// assert!(!grants.may_call_model("gpt"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    dirs: Vec<DirGrant>,
    env: Vec<(String, String)>,
    publish: Vec<String>,
    artifacts: ArtifactAccess,
    models: Vec<String>,
}

impl Grants {
    /// No capabilities at all.
    pub fn none() -> Self {
        Grants::default()
    }

    /// Makes the host directory `host` visible at `guest` with `access`.
    pub fn dir(
        mut self,
        host: impl Into<PathBuf>,
        guest: impl Into<String>,
        access: FsAccess,
    ) -> Self {
        self.dirs.push(DirGrant {
            host: host.into(),
            guest: guest.into(),
            access,
        });
        self
    }

    /// Sets the environment variable `key` to `value` inside the guest.
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Allows publishing on subjects matching `pattern` (`*` matches one
    /// token, `>` the rest, as in NATS).
    pub fn publish(mut self, pattern: impl Into<String>) -> Self {
        self.publish.push(pattern.into());
        self
    }

    /// Sets access to the artifact store.
    pub fn artifacts(mut self, access: ArtifactAccess) -> Self {
        self.artifacts = access;
        self
    }

    /// Allows calling the Instrument named `instrument` (`*` for any).
    pub fn model(mut self, instrument: impl Into<String>) -> Self {
        self.models.push(instrument.into());
        self
    }

    /// The granted directories.
    pub fn dirs(&self) -> &[DirGrant] {
        &self.dirs
    }

    /// Whether publishing on `subject` is allowed.
    pub fn may_publish(&self, subject: &str) -> bool {
        self.publish.iter().any(|p| subject_matches(p, subject))
    }

    /// The granted artifact access.
    pub fn artifact_access(&self) -> ArtifactAccess {
        self.artifacts
    }

    /// Whether calling the Instrument `name` is allowed.
    pub fn may_call_model(&self, name: &str) -> bool {
        self.models.iter().any(|m| m == "*" || m == name)
    }

    /// Checks that every granted directory exists, so a bad grant fails at
    /// load rather than on the first call.
    pub(crate) fn check(&self, extension: &str) -> Result<(), LoadError> {
        for dir in &self.dirs {
            if !dir.host.is_dir() {
                return Err(LoadError::Grant {
                    name: extension.to_string(),
                    path: dir.host.clone(),
                    reason: "not a directory".into(),
                });
            }
        }
        Ok(())
    }

    /// The WASI context for one instance: exactly these grants, output to
    /// the host log, no sockets.
    pub(crate) fn wasi_ctx(&self, extension: &Arc<str>) -> wasmtime::Result<WasiCtx> {
        let mut builder = WasiCtxBuilder::new();
        builder
            .stdout(GuestLog::new(extension.clone(), "stdout"))
            .stderr(GuestLog::new(extension.clone(), "stderr"))
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false);
        for (key, value) in &self.env {
            builder.env(key, value);
        }
        for dir in &self.dirs {
            let perms = match dir.access {
                FsAccess::Read => FsPerms::ReadOnly,
                FsAccess::ReadWrite => FsPerms::ReadWrite,
            };
            builder.preopened_dir(&dir.host, &dir.guest, perms)?;
        }
        Ok(builder.build())
    }
}
