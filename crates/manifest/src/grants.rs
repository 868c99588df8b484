//! What an extension may do beyond pure computation.
//!
//! Nothing is granted by default: no directories, no environment, no
//! sockets, no HTTP, no bus subjects, no artifacts, no models. The WASI
//! context of each instance is built from these grants alone, and every host
//! import checks them again when it runs; so does every outbound HTTP request
//! (see [`Grants::http`]).

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use wasmtime_wasi::sockets::SocketAddrUse;
use wasmtime_wasi::{Deterministic, FsPerms, HostWallClock, WasiCtx, WasiCtxBuilder};

use super::manifest::{Capabilities, http_allows, net_allows};
use crate::LoadError;
use crate::bus::subject_matches;
use crate::runtime::{GuestLog, LogLimiter};

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

    /// Whether looking up the name `host` is allowed: a `net` grant names
    /// it (any port).
    pub fn may_resolve(&self, host: &str) -> bool {
        self.net.iter().any(|pattern| {
            pattern
                .rsplit_once(':')
                .is_some_and(|(granted, _)| http_allows(granted, host))
        })
    }

    /// The WASI context for one instance: exactly these grants, output to
    /// `log`. Every socket use passes the `net` grants (none: every use is
    /// refused); `on_denied(capability, what)` hears of each refusal. Paths
    /// no directory grant covers resolve into `empty_root`, preopened
    /// read-only at `/`, where opening anything is refused and audited
    /// (see `runtime::refusals`).
    pub(crate) fn wasi_ctx(
        &self,
        log: &Arc<LogLimiter>,
        empty_root: &Path,
        on_denied: Arc<dyn Fn(String, String) + Send + Sync>,
    ) -> wasmtime::Result<WasiCtx> {
        let mut builder = WasiCtxBuilder::new();
        builder
            .stdout(GuestLog::new(log.clone(), "stdout"))
            .stderr(GuestLog::new(log.clone(), "stderr"))
            // Allowed here so that each use reaches the check below and a
            // refusal is audited; a name lookup passes only for names a
            // net grant names (`runtime::refusals`).
            .allow_tcp(true)
            .allow_udp(true)
            .allow_ip_name_lookup(true);
        let grants = Arc::new(self.net.clone());
        builder.socket_addr_check(move |addr, used| {
            let grants = grants.clone();
            let on_denied = on_denied.clone();
            Box::pin(async move {
                let allowed = match used {
                    // The implicit bind before a connect.
                    SocketAddrUse::TcpBind => addr.ip().is_unspecified() && addr.port() == 0,
                    SocketAddrUse::TcpConnect => {
                        let mut allowed = false;
                        for pattern in grants.iter() {
                            if connect_allowed(pattern, addr).await {
                                allowed = true;
                                break;
                            }
                        }
                        allowed
                    }
                    // No grant allows listening, accepting or UDP.
                    _ => false,
                };
                if !allowed {
                    let capability = match used {
                        SocketAddrUse::UdpBind
                        | SocketAddrUse::UdpSend
                        | SocketAddrUse::UdpReceive => format!("udp:{addr}"),
                        _ => format!("net:{addr}"),
                    };
                    on_denied(capability, format!("{} {addr}", socket_use(used)));
                }
                allowed
            })
        });
        if !self.clock {
            builder.wall_clock(Epoch);
        }
        if !self.random {
            builder.secure_random(fixed_random());
            builder.insecure_random(fixed_random());
            builder.insecure_random_seed(0);
        }
        for (key, value) in &self.env {
            builder.env(key, value);
        }
        if !self.dirs.iter().any(|dir| dir.guest == "/") {
            builder.preopened_dir(empty_root, "/", FsPerms::ReadOnly)?;
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

/// Whether `pattern` (`host:port`, port `*` for any) grants a connection to
/// `addr`. An address pattern matches by value (`[0:0::1]` is `::1`); a
/// host name matches the addresses it resolves to now, looked up only once
/// the port matches; names with a wildcard cannot be told from an address,
/// so they match none.
async fn connect_allowed(pattern: &str, addr: SocketAddr) -> bool {
    let Some((host, _)) = pattern.rsplit_once(':') else {
        return false;
    };
    // The port rule is the pattern's own: ask with the host as written.
    if !net_allows(pattern, host, addr.port()) {
        return false;
    }
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return ip == addr.ip();
    }
    // Looked up as a future: the guest's call can be stopped meanwhile.
    !host.contains('*')
        && tokio::net::lookup_host((host, addr.port()))
            .await
            .is_ok_and(|mut found| found.any(|a| a.ip() == addr.ip()))
}

fn socket_use(used: SocketAddrUse) -> &'static str {
    match used {
        SocketAddrUse::TcpBind => "bind tcp",
        SocketAddrUse::TcpListen => "listen on tcp",
        SocketAddrUse::TcpAccept => "accept tcp from",
        SocketAddrUse::TcpConnect => "connect tcp to",
        SocketAddrUse::UdpBind => "bind udp",
        SocketAddrUse::UdpSend => "send udp to",
        SocketAddrUse::UdpReceive => "receive udp from",
    }
}

/// A wall clock stopped at the Unix epoch, for guests without the clock
/// grant.
struct Epoch;

impl HostWallClock for Epoch {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }

    fn now(&self) -> Duration {
        Duration::ZERO
    }
}

/// The same bytes on every run, for guests without the random grant:
/// enough to seed a hash map, useless as a secret.
fn fixed_random() -> Deterministic {
    Deterministic::new(
        (0..=255u8)
            .map(|i| i.wrapping_mul(167).wrapping_add(13))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_patterns_match_by_value_and_port() {
        let allowed = |pattern: &str, addr: SocketAddr| {
            crate::runtime::block_on(connect_allowed(pattern, addr)).unwrap()
        };
        let v6: SocketAddr = "[::1]:443".parse().unwrap();
        assert!(allowed("[0:0::1]:443", v6));
        assert!(allowed("[::1]:*", v6));
        assert!(!allowed("[::1]:80", v6));
        let v4: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        assert!(allowed("127.0.0.1:*", v4));
        assert!(!allowed("127.0.0.2:*", v4));
        assert!(!allowed("*.example.com:*", v4));
        assert!(allowed("localhost:8080", v4));
        assert!(!allowed("localhost:8081", v4));
    }

    #[test]
    fn only_names_a_net_grant_names_may_be_looked_up() {
        let grants = Grants::none()
            .net("api.example.com:443")
            .net("*.example.org:*")
            .net("127.0.0.1:*");
        assert!(grants.may_resolve("api.example.com"));
        assert!(grants.may_resolve("cdn.example.org"));
        assert!(!grants.may_resolve("example.org"));
        assert!(!grants.may_resolve("evil.example.net"));
        assert!(!Grants::none().may_resolve("localhost"));
    }
}
