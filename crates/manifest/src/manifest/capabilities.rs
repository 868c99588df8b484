//! The `[capabilities]` table: what an extension asks to be granted, one
//! [`Capability`] at a time or all together, and what one set asks for
//! that another does not cover.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use symphony_protocol::validate_pattern;

use super::patterns::{check_host, check_net, host_covers, net_covers, subject_covers};
use super::source_tree::normalize;
use super::{check_env, check_name};

mod read;
pub(super) use read::read;
#[cfg(test)]
pub(super) use read::{BUS_KEYS, CAPABILITY_KEYS, FS_KEYS};

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

/// Everything an extension asks for; nothing by default. The manifest's
/// `[capabilities]` table, e.g.
/// `net = ["api.example.com:443"]`, `clock = true`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// Host directories, e.g.
    /// `fs = [{ path = "data", guest = "/data", access = "read" }]`.
    pub fs: Vec<FsCapability>,
    /// Outbound socket connections, `host:port`: the port may be `*`, the
    /// host may start with a `*.` label (any subdomain, at any depth), an
    /// IPv6 address goes in brackets, e.g. `net = ["api.example.com:443",
    /// "127.0.0.1:*"]`. See [`net_allows`](super::net_allows).
    pub net: Vec<String>,
    /// Hosts for outbound HTTP through `wasi:http` (any port, `http` or
    /// `https`), optionally with a leading `*.` label, e.g.
    /// `http = ["api.example.com", "*.example.org"]`. The host makes these
    /// connections, so they need no `net` entry; see
    /// [`http_allows`](super::http_allows) and
    /// [`Grants::http`](crate::Grants::http).
    pub http: Vec<String>,
    /// Bus subject patterns to publish on (`*` one token, `>` the rest),
    /// e.g. `bus = { publish = ["metrics.>"] }`.
    pub publish: Vec<String>,
    /// Bus subject patterns to subscribe to, e.g.
    /// `bus = { subscribe = ["exec.*.done"] }`.
    pub subscribe: Vec<String>,
    /// Access to the artifact store, e.g. `artifacts = "read"`.
    pub artifacts: ArtifactAccess,
    /// Instruments the extension may call, `*` for any, e.g.
    /// `models = ["mock-llm"]`.
    pub models: Vec<String>,
    /// Host environment variables passed through, e.g. `env = ["LANG"]`.
    pub env: Vec<String>,
    /// The host's wall clock, e.g. `clock = true`.
    pub clock: bool,
    /// The host's random numbers, e.g. `random = true`.
    pub random: bool,
}

/// A host directory the extension asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FsCapability {
    /// The directory on the host: absolute, or in the manifest relative to
    /// its directory (resolved when read), e.g. `path = "data"`.
    pub path: PathBuf,
    /// Where the guest sees it. Default: `/` and the last component of
    /// `path` (`/data` for `/srv/data`), `/` if it has none, e.g.
    /// `guest = "/out"`.
    pub guest: String,
    /// `read` (the default) or `read-write`, e.g. `access = "read-write"`.
    pub access: FsAccess,
}

/// One thing an extension may ask for. Its text form (`Display` and
/// `FromStr`) is short and exact: `fs:read:/srv/corpus` (the access
/// before the path, which may hold `:`), `net:api.example.com:443`,
/// `http:api.example.com`, `publish:metrics.>`, `subscribe:exec.*.done`,
/// `artifacts:read-write`, `model:mock-llm`, `env:LANG`, `clock`, `random`.
///
/// ```
/// use symphony_manifest::Capability;
///
/// let cap: Capability = "net:api.example.com:443".parse().unwrap();
/// assert_eq!(cap.to_string(), "net:api.example.com:443");
/// assert_eq!(cap.describe(), "open network connections to api.example.com:443");
/// assert!("net:api.example.com".parse::<Capability>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Capability {
    /// A host directory.
    Fs {
        /// The directory.
        path: PathBuf,
        /// What the guest may do there.
        access: FsAccess,
    },
    /// Outbound connections matching a `host:port` pattern.
    Net(String),
    /// Outbound HTTP to a host pattern.
    Http(String),
    /// Publishing on a bus subject pattern.
    Publish(String),
    /// Subscribing to a bus subject pattern.
    Subscribe(String),
    /// Access to the artifact store.
    Artifacts(ArtifactAccess),
    /// Calling an Instrument (`*` for any).
    Model(String),
    /// Reading a host environment variable.
    Env(String),
    /// The wall clock.
    Clock,
    /// Random numbers.
    Random,
}

/// Why text is not a [`Capability`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid capability '{text}': {reason}")]
pub struct ParseCapabilityError {
    /// The text.
    pub text: String,
    /// What is wrong with it.
    pub reason: String,
}

impl Capabilities {
    /// Each thing asked for, one item each: directories, then `net`,
    /// `http`, `publish`, `subscribe`, artifacts, models, env, clock and
    /// random.
    pub fn items(&self) -> Vec<Capability> {
        let strings = |list: &[String], make: fn(String) -> Capability| {
            list.iter().cloned().map(make).collect::<Vec<_>>()
        };
        let mut items: Vec<Capability> = self
            .fs
            .iter()
            .map(|fs| Capability::Fs {
                path: fs.path.clone(),
                access: fs.access,
            })
            .collect();
        items.extend(strings(&self.net, Capability::Net));
        items.extend(strings(&self.http, Capability::Http));
        items.extend(strings(&self.publish, Capability::Publish));
        items.extend(strings(&self.subscribe, Capability::Subscribe));
        if self.artifacts != ArtifactAccess::None {
            items.push(Capability::Artifacts(self.artifacts));
        }
        items.extend(strings(&self.models, Capability::Model));
        items.extend(strings(&self.env, Capability::Env));
        items.extend(self.clock.then_some(Capability::Clock));
        items.extend(self.random.then_some(Capability::Random));
        items
    }

    /// The set holding `items`: each directory seen at its default guest
    /// path (see [`FsCapability::guest`]), the widest artifact access.
    pub fn from_items(items: impl IntoIterator<Item = Capability>) -> Capabilities {
        let mut caps = Capabilities::default();
        for item in items {
            match item {
                Capability::Fs { path, access } => caps.fs.push(FsCapability {
                    guest: default_guest(&path),
                    path,
                    access,
                }),
                Capability::Net(p) => caps.net.push(p),
                Capability::Http(h) => caps.http.push(h),
                Capability::Publish(p) => caps.publish.push(p),
                Capability::Subscribe(p) => caps.subscribe.push(p),
                Capability::Artifacts(a) => {
                    if rank(a) > rank(caps.artifacts) {
                        caps.artifacts = a;
                    }
                }
                Capability::Model(m) => caps.models.push(m),
                Capability::Env(e) => caps.env.push(e),
                Capability::Clock => caps.clock = true,
                Capability::Random => caps.random = true,
            }
        }
        caps
    }

    /// Keeps only the items `keep` accepts, each as it was (a directory
    /// keeps its guest path).
    pub fn retain(&mut self, keep: impl Fn(&Capability) -> bool) {
        self.fs.retain(|fs| {
            keep(&Capability::Fs {
                path: fs.path.clone(),
                access: fs.access,
            })
        });
        let strings = |list: &mut Vec<String>, make: fn(String) -> Capability| {
            list.retain(|item| keep(&make(item.clone())));
        };
        strings(&mut self.net, Capability::Net);
        strings(&mut self.http, Capability::Http);
        strings(&mut self.publish, Capability::Publish);
        strings(&mut self.subscribe, Capability::Subscribe);
        strings(&mut self.models, Capability::Model);
        strings(&mut self.env, Capability::Env);
        if self.artifacts != ArtifactAccess::None && !keep(&Capability::Artifacts(self.artifacts)) {
            self.artifacts = ArtifactAccess::None;
        }
        self.clock = self.clock && keep(&Capability::Clock);
        self.random = self.random && keep(&Capability::Random);
    }

    /// Whether this set allows everything `capability` does: a directory
    /// at or above its path with at least its access (read-write covers
    /// read), a pattern matching all it matches, a model `*`, ...
    pub fn covers(&self, capability: &Capability) -> bool {
        match capability {
            Capability::Fs { path, access } => self.fs.iter().any(|fs| {
                normalize(path).starts_with(normalize(&fs.path))
                    && (fs.access == FsAccess::ReadWrite || *access == FsAccess::Read)
            }),
            Capability::Net(p) => self.net.iter().any(|g| net_covers(g, p)),
            Capability::Http(h) => self.http.iter().any(|g| host_covers(g, h)),
            Capability::Publish(p) => self.publish.iter().any(|g| subject_covers(g, p)),
            Capability::Subscribe(p) => self.subscribe.iter().any(|g| subject_covers(g, p)),
            Capability::Artifacts(a) => rank(self.artifacts) >= rank(*a),
            Capability::Model(m) => self.models.iter().any(|g| g == "*" || g == m),
            Capability::Env(e) => self.env.contains(e),
            Capability::Clock => self.clock,
            Capability::Random => self.random,
        }
    }

    /// What this set asks for that `granted` does not cover, e.g. what a
    /// new version of an extension wants beyond the grants of the old.
    ///
    /// ```
    /// use symphony_manifest::{Capabilities, Capability};
    ///
    /// let old = Capabilities { publish: vec!["metrics.>".into()], ..Default::default() };
    /// let new = Capabilities {
    ///     publish: vec!["metrics.cpu".into()],
    ///     net: vec!["api.example.com:443".into()],
    ///     ..Default::default()
    /// };
    /// assert_eq!(new.missing_from(&old), [Capability::Net("api.example.com:443".into())]);
    /// ```
    pub fn missing_from(&self, granted: &Capabilities) -> Vec<Capability> {
        self.items()
            .into_iter()
            .filter(|item| !granted.covers(item))
            .collect()
    }

    /// Whether nothing is asked for.
    pub fn is_empty(&self) -> bool {
        self.items().is_empty()
    }
}

/// `/` and the last component of `path`, or `/` if it has none.
fn default_guest(path: &Path) -> String {
    match path.file_name() {
        Some(name) => format!("/{}", name.to_string_lossy()),
        None => "/".to_string(),
    }
}

fn rank(access: ArtifactAccess) -> u8 {
    match access {
        ArtifactAccess::None => 0,
        ArtifactAccess::Read => 1,
        ArtifactAccess::ReadWrite => 2,
    }
}

fn fs_access_name(access: FsAccess) -> &'static str {
    match access {
        FsAccess::Read => "read",
        FsAccess::ReadWrite => "read-write",
    }
}

fn fs_access(name: &str) -> Option<FsAccess> {
    match name {
        "read" => Some(FsAccess::Read),
        "read-write" => Some(FsAccess::ReadWrite),
        _ => None,
    }
}

fn artifact_access_name(access: ArtifactAccess) -> &'static str {
    match access {
        ArtifactAccess::None => "none",
        ArtifactAccess::Read => "read",
        ArtifactAccess::ReadWrite => "read-write",
    }
}

fn artifact_access(name: &str) -> Option<ArtifactAccess> {
    match name {
        "none" => Some(ArtifactAccess::None),
        "read" => Some(ArtifactAccess::Read),
        "read-write" => Some(ArtifactAccess::ReadWrite),
        _ => None,
    }
}

fn check_model(name: &str) -> Result<(), String> {
    if name == "*" {
        Ok(())
    } else {
        check_name(name)
    }
}

impl Capability {
    /// The capability in plain words, e.g. "read files under /srv/corpus".
    pub fn describe(&self) -> String {
        match self {
            Capability::Fs { path, access } => {
                let verb = match access {
                    FsAccess::Read => "read",
                    FsAccess::ReadWrite => "read and write",
                };
                format!("{verb} files under {}", path.display())
            }
            Capability::Net(p) => match p.strip_suffix(":*") {
                Some(host) => format!("open network connections to {host} on any port"),
                None => format!("open network connections to {p}"),
            },
            Capability::Http(h) => format!("make HTTP requests to {h}"),
            Capability::Publish(p) => format!("publish bus messages on {p}"),
            Capability::Subscribe(p) => format!("receive bus messages on {p}"),
            Capability::Artifacts(ArtifactAccess::None) => "no access to artifacts".into(),
            Capability::Artifacts(ArtifactAccess::Read) => "read stored artifacts".into(),
            Capability::Artifacts(ArtifactAccess::ReadWrite) => "read and store artifacts".into(),
            Capability::Model(m) if m == "*" => "call any instrument".into(),
            Capability::Model(m) => format!("call the instrument {m}"),
            Capability::Env(e) => format!("read the environment variable {e}"),
            Capability::Clock => "read the wall clock".into(),
            Capability::Random => "use random numbers".into(),
        }
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Capability::Fs { path, access } => {
                write!(f, "fs:{}:{}", fs_access_name(*access), path.display())
            }
            Capability::Net(p) => write!(f, "net:{p}"),
            Capability::Http(h) => write!(f, "http:{h}"),
            Capability::Publish(p) => write!(f, "publish:{p}"),
            Capability::Subscribe(p) => write!(f, "subscribe:{p}"),
            Capability::Artifacts(a) => write!(f, "artifacts:{}", artifact_access_name(*a)),
            Capability::Model(m) => write!(f, "model:{m}"),
            Capability::Env(e) => write!(f, "env:{e}"),
            Capability::Clock => f.write_str("clock"),
            Capability::Random => f.write_str("random"),
        }
    }
}

impl FromStr for Capability {
    type Err = ParseCapabilityError;

    fn from_str(text: &str) -> Result<Capability, ParseCapabilityError> {
        let fail = |reason: String| ParseCapabilityError {
            text: text.to_string(),
            reason,
        };
        let (kind, rest) = match text.split_once(':') {
            Some((kind, rest)) => (kind, Some(rest)),
            None => (text, None),
        };
        let checked = |check: fn(&str) -> Result<(), String>,
                       make: fn(String) -> Capability|
         -> Result<Capability, ParseCapabilityError> {
            let rest = rest.unwrap_or("");
            check(rest).map_err(fail)?;
            Ok(make(rest.to_string()))
        };
        match (kind, rest) {
            ("clock", None) => Ok(Capability::Clock),
            ("random", None) => Ok(Capability::Random),
            ("clock" | "random", Some(_)) => Err(fail(format!("{kind} takes no value"))),
            ("fs", Some(rest)) => {
                let (access, path) = rest
                    .split_once(':')
                    .ok_or_else(|| fail("expected fs:ACCESS:PATH".into()))?;
                let access = fs_access(access).ok_or_else(|| {
                    fail(format!("unknown access '{access}' (read or read-write)"))
                })?;
                if path.is_empty() {
                    return Err(fail("the path is empty".into()));
                }
                Ok(Capability::Fs {
                    path: PathBuf::from(path),
                    access,
                })
            }
            ("net", _) => checked(check_net, Capability::Net),
            ("http", _) => checked(check_host, Capability::Http),
            ("publish", _) => checked(validate_pattern, Capability::Publish),
            ("subscribe", _) => checked(validate_pattern, Capability::Subscribe),
            ("model", _) => checked(check_model, Capability::Model),
            ("env", _) => checked(check_env, Capability::Env),
            ("artifacts", Some(rest)) => artifact_access(rest)
                .map(Capability::Artifacts)
                .ok_or_else(|| {
                    fail(format!(
                        "unknown access '{rest}' (none, read or read-write)"
                    ))
                }),
            _ => Err(fail(
                "expected one of fs:, net:, http:, publish:, subscribe:, artifacts:, model:, \
                 env:, clock, random"
                    .into(),
            )),
        }
    }
}
