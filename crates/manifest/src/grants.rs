//! What an extension may do beyond pure computation.
//!
//! Nothing is granted by default: no directories, no environment, no
//! sockets, no HTTP, no bus subjects, no artifacts, no models. The WASI
//! context of each instance is built from these grants alone, and every host
//! import checks them again when it runs; so does every outbound HTTP request
//! (see [`Grants::http`]).

use std::path::PathBuf;

use symphony_protocol::subject_matches;

use crate::manifest::{ArtifactAccess, Capabilities, FsAccess, http_allows};

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
/// use symphony_manifest::{ArtifactAccess, FsAccess, Grants};
///
/// let grants = Grants::none()
///     .dir("/srv/corpus", "/corpus", FsAccess::Read)
///     .publish("metrics.>")
///     .artifacts(ArtifactAccess::ReadWrite)
///     .model("mock-llm")
///     .http("*.example.org");
/// assert!(grants.may_publish("metrics.cpu.load"));
/// assert!(!grants.may_call_model("gpt"));
/// assert!(grants.may_request_http("api.example.org"));
/// assert!(!grants.may_request_http("example.org"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    dirs: Vec<DirGrant>,
    env: Vec<(String, String)>,
    publish: Vec<String>,
    subscribe: Vec<String>,
    artifacts: ArtifactAccess,
    models: Vec<String>,
    net: Vec<String>,
    http: Vec<String>,
    clock: bool,
    random: bool,
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

    /// Allows subscribing within `pattern` (a peer of the service that is
    /// this extension; Wasm extensions only publish).
    pub fn subscribe(mut self, pattern: impl Into<String>) -> Self {
        self.subscribe.push(pattern.into());
        self
    }

    /// The patterns it may publish on.
    pub fn publish_patterns(&self) -> &[String] {
        &self.publish
    }

    /// The patterns it may subscribe within.
    pub fn subscribe_patterns(&self) -> &[String] {
        &self.subscribe
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

    /// Allows outbound TCP connections matching `pattern`: `host:port`,
    /// where the port may be `*` (`127.0.0.1:*`, `api.example.com:443`).
    /// Host names are resolved when the guest connects; the guest may not
    /// listen or accept.
    pub fn net(mut self, pattern: impl Into<String>) -> Self {
        self.net.push(pattern.into());
        self
    }

    /// Allows outbound HTTP requests (`wasi:http/outgoing-handler`) to hosts
    /// matching `pattern`: a host name or IPv4 address, optionally starting
    /// with a `*.` label for any subdomain (`api.example.com`,
    /// `*.example.org`, `127.0.0.1`), on any port, over `http` or `https`.
    ///
    /// The host's own HTTP client makes the connection, so this needs no
    /// [`net`](Self::net) grant, and a `net` grant allows no HTTP. A request
    /// to any other host fails in the guest with `http-request-denied` and is
    /// recorded in the audit log as `http:<host>`.
    pub fn http(mut self, pattern: impl Into<String>) -> Self {
        self.http.push(pattern.into());
        self
    }

    /// Lets the guest read the host's wall clock. Without it the clock
    /// reads the Unix epoch (monotonic time still advances).
    pub fn clock(mut self) -> Self {
        self.clock = true;
        self
    }

    /// Gives the guest the host's random numbers. Without it, WASI random
    /// is a fixed-seed generator: the same on every run.
    pub fn random(mut self) -> Self {
        self.random = true;
        self
    }

    /// The grants for what a manifest asks and the policy allowed.
    /// Environment variables are read from the host now; unset ones are
    /// left out.
    pub fn from_capabilities(capabilities: &Capabilities) -> Grants {
        let mut grants = Grants::none().artifacts(capabilities.artifacts);
        for dir in &capabilities.fs {
            grants = grants.dir(&dir.path, &dir.guest, dir.access);
        }
        for name in &capabilities.env {
            if let Ok(value) = std::env::var(name) {
                grants = grants.env(name, value);
            }
        }
        for pattern in &capabilities.publish {
            grants = grants.publish(pattern);
        }
        for pattern in &capabilities.subscribe {
            grants = grants.subscribe(pattern);
        }
        for model in &capabilities.models {
            grants = grants.model(model);
        }
        for pattern in &capabilities.net {
            grants = grants.net(pattern);
        }
        for pattern in &capabilities.http {
            grants = grants.http(pattern);
        }
        grants.clock = capabilities.clock;
        grants.random = capabilities.random;
        grants
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

    /// Whether an outbound HTTP request to `host` (the host part of the
    /// request's authority, without the port) is allowed.
    pub fn may_request_http(&self, host: &str) -> bool {
        self.http.iter().any(|pattern| http_allows(pattern, host))
    }

    /// The first granted directory that does not exist, if any: a bad
    /// grant should fail at load rather than on the first call.
    pub fn missing_dir(&self) -> Option<&DirGrant> {
        self.dirs.iter().find(|dir| !dir.host.is_dir())
    }

    /// The environment variables granted, as `(key, value)`.
    pub fn env_vars(&self) -> &[(String, String)] {
        &self.env
    }

    /// The `net` patterns granted (`host:port`, port `*` for any).
    pub fn net_patterns(&self) -> &[String] {
        &self.net
    }

    /// Whether the real wall clock is granted (else it reads the epoch).
    pub fn has_clock(&self) -> bool {
        self.clock
    }

    /// Whether real randomness is granted (else it is fixed bytes).
    pub fn has_random(&self) -> bool {
        self.random
    }

    /// Whether looking up the name `host` is allowed: a `net` grant names
    /// it (any port).
    pub fn may_resolve(&self, host: &str) -> bool {
        self.net.iter().any(|pattern| {
            pattern
                .rsplit_once(':')
                .is_some_and(|(granted, _)| http_allows(granted, host))
        })
    }
}

#[cfg(test)]
mod tests;
