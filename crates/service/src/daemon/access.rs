//! Who may use the service: the user it runs as (and root), members of
//! one allowed group, and extension peers holding a token the service
//! issued, confined to their bus grants. Every refusal goes to the host's
//! audit log.

use std::collections::HashMap;
use std::sync::Mutex;

use symphony_host::Host;
use symphony_host::bus::{Knock, PeerAccess, PeerCredentials, PeerGate, Refusal};
use symphony_host::extension::{AuditRecord, DecidedBy, Decision};

/// The service's [`PeerGate`].
#[derive(Debug)]
pub(crate) struct Gate {
    host: HostRef,
    uid: u32,
    group: Option<u32>,
    /// Token → extension name.
    tokens: Mutex<HashMap<String, String>>,
}

/// The host, for its grants and audit log (`Host` has no `Debug`).
struct HostRef(Host);

impl std::fmt::Debug for HostRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Host")
    }
}

impl Gate {
    pub(crate) fn new(host: Host, group: Option<u32>) -> Gate {
        Gate {
            host: HostRef(host),
            uid: rustix::process::getuid().as_raw(),
            group,
            tokens: Mutex::default(),
        }
    }

    /// The user the service runs as.
    pub(crate) fn uid(&self) -> u32 {
        self.uid
    }

    /// A new token that identifies a peer as `extension`.
    pub(crate) fn issue(&self, extension: &str) -> std::io::Result<String> {
        let mut bytes = [0u8; 16];
        std::io::Read::read_exact(&mut std::fs::File::open("/dev/urandom")?, &mut bytes)?;
        let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        self.tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(token.clone(), extension.to_string());
        Ok(token)
    }

    /// Whether the user behind `credentials` may drive the service.
    fn trusted(&self, credentials: &PeerCredentials) -> Result<(), String> {
        if credentials.uid == self.uid || credentials.uid == 0 {
            return Ok(());
        }
        if let Some(group) = self.group
            && (credentials.gid == group || groups_of(credentials.pid).contains(&group))
        {
            return Ok(());
        }
        Err(format!(
            "uid {} may not use this Symphony service: it serves uid {}{}",
            credentials.uid,
            self.uid,
            match self.group {
                Some(group) => format!(" and group {group}"),
                None => " (allow a group with `symphony serve --allow-group GID`)".into(),
            }
        ))
    }
}

impl PeerGate for Gate {
    fn admit(&self, knock: &Knock<'_>) -> Result<PeerAccess, String> {
        if let Some(token) = knock.token {
            let extension = self
                .tokens
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(token)
                .cloned()
                .ok_or_else(|| {
                    format!(
                        "'{}' presented a token this service did not issue",
                        knock.peer
                    )
                })?;
            let grants = self
                .host
                .0
                .grants(&extension)
                .map_err(|e| format!("the token's extension is gone: {e}"))?;
            return Ok(PeerAccess::Confined {
                identity: extension,
                publish: grants.publish_patterns().to_vec(),
                subscribe: grants.subscribe_patterns().to_vec(),
                // Control is for trusted clients, and other peers' replies
                // are theirs, whatever a manifest was granted.
                reserved: vec![format!("{}.>", crate::api::PREFIX), "_inbox.>".into()],
            });
        }
        match knock.credentials {
            Some(credentials) => self.trusted(&credentials).map(|()| PeerAccess::Trusted),
            // Without credentials only the socket's mode protects it;
            // that is every platform but Linux, where a local socket's
            // directory is private.
            None => Ok(PeerAccess::Trusted),
        }
    }

    fn refused(&self, refusal: &Refusal<'_>) {
        let who = match (refusal.identity, refusal.credentials) {
            (Some(identity), _) => identity.to_string(),
            (None, Some(c)) => format!("peer '{}' (uid {})", refusal.peer, c.uid),
            (None, None) => format!("peer '{}'", refusal.peer),
        };
        let detail = match refusal.credentials {
            Some(c) => format!("{} ({c})", refusal.reason),
            None => refusal.reason.to_string(),
        };
        let record = AuditRecord::now(
            who,
            None,
            format!("bus:{}", refusal.action),
            Decision::Denied,
            DecidedBy::Peer,
            detail,
        );
        if let Err(e) = self.host.0.audit().record(&record) {
            tracing::warn!("cannot audit a refused bus peer: {e}");
        }
    }
}

/// The supplementary groups of process `pid`, from `/proc` (empty where
/// it cannot be read).
fn groups_of(pid: u32) -> Vec<u32> {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return Vec::new();
    };
    status
        .lines()
        .find_map(|line| line.strip_prefix("Groups:"))
        .map(|groups| {
            groups
                .split_whitespace()
                .filter_map(|g| g.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}
