//! Who may connect to a bus server, and what each connected peer may do.
//!
//! The server asks its [`PeerGate`] once per connection, with the peer's
//! credentials as the kernel reports them (`SO_PEERCRED`) and any token
//! it presented; the answer is a [`PeerAccess`] the server then enforces on
//! every subscription and publish. The gate is told of every refusal, so
//! the layer above can audit it. Without a gate every peer is trusted.

use std::fmt;

use symphony_protocol::{pattern_within, subject_matches};

/// Who is on the other end of a connection, as the kernel reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerCredentials {
    /// The peer process's user id.
    pub uid: u32,
    /// Its primary group id.
    pub gid: u32,
    /// Its process id.
    pub pid: u32,
}

impl PeerCredentials {
    /// The credentials of the process at the other end of `stream`.
    #[cfg(target_os = "linux")]
    pub(crate) fn of(stream: &interprocess::local_socket::Stream) -> Option<PeerCredentials> {
        use std::os::fd::AsFd;
        let interprocess::local_socket::Stream::UdSocket(socket) = stream;
        let cred = rustix::net::sockopt::socket_peercred(socket.as_fd()).ok()?;
        Some(PeerCredentials {
            uid: cred.uid.as_raw(),
            gid: cred.gid.as_raw(),
            pid: cred.pid.as_raw_nonzero().get().unsigned_abs(),
        })
    }

    #[cfg(not(target_os = "linux"))]
    pub(crate) fn of(_: &interprocess::local_socket::Stream) -> Option<PeerCredentials> {
        None
    }
}

impl fmt::Display for PeerCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "uid {} gid {} pid {}", self.uid, self.gid, self.pid)
    }
}

/// A connection asking to join: the gate's input.
#[derive(Debug, Clone, Copy)]
pub struct Knock<'a> {
    /// The endpoint name the peer asked for.
    pub peer: &'a str,
    /// Its credentials, where the platform reports them.
    pub credentials: Option<PeerCredentials>,
    /// The token it presented in its hello, if any.
    pub token: Option<&'a str>,
}

/// What an admitted peer may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerAccess {
    /// Anything: publish and subscribe on every subject, the server's
    /// statistics included.
    Trusted,
    /// Only what a grant allows (an extension's `bus` capabilities).
    Confined {
        /// Whom the peer acts as, e.g. the extension's name; named in
        /// refusals and the audit log.
        identity: String,
        /// Patterns it may publish on.
        publish: Vec<String>,
        /// Patterns it may subscribe within.
        subscribe: Vec<String>,
        /// Subjects it may never publish on or subscribe to, whatever its
        /// grants say (a service's control API, other peers' inboxes).
        reserved: Vec<String>,
    },
}

impl PeerAccess {
    /// Whom a confined peer acts as.
    pub fn identity(&self) -> Option<&str> {
        match self {
            PeerAccess::Trusted => None,
            PeerAccess::Confined { identity, .. } => Some(identity),
        }
    }

    /// Whether the peer may publish `envelope`-style traffic on `subject`;
    /// `reply` says it answers a request (replies may go to the
    /// requester's inbox).
    pub(crate) fn may_publish(&self, subject: &str, reply: bool) -> Result<(), String> {
        let PeerAccess::Confined {
            identity,
            publish,
            reserved,
            ..
        } = self
        else {
            return Ok(());
        };
        if reply && subject_matches("_inbox.>", subject) {
            return Ok(());
        }
        if let Some(r) = reserved.iter().find(|r| subject_matches(r, subject)) {
            return Err(format!(
                "denied: '{identity}' may not publish on '{subject}' ({r} is reserved to trusted peers)"
            ));
        }
        if publish.iter().any(|p| subject_matches(p, subject)) {
            return Ok(());
        }
        Err(format!(
            "denied: '{identity}' may not publish on '{subject}' (its grants allow {})",
            list(publish)
        ))
    }

    /// Whether peer `name` may subscribe to `pattern`: within a grant, or
    /// within its own reply inbox.
    pub(crate) fn may_subscribe(&self, name: &str, pattern: &str) -> Result<(), String> {
        let PeerAccess::Confined {
            identity,
            subscribe,
            reserved,
            ..
        } = self
        else {
            return Ok(());
        };
        if pattern_within(pattern, &format!("_inbox.{name}.>")) {
            return Ok(());
        }
        if let Some(r) = reserved.iter().find(|r| patterns_overlap(pattern, r)) {
            return Err(format!(
                "denied: '{identity}' may not subscribe to '{pattern}' ({r} is reserved to trusted peers)"
            ));
        }
        if subscribe.iter().any(|s| pattern_within(pattern, s)) {
            return Ok(());
        }
        Err(format!(
            "denied: '{identity}' may not subscribe to '{pattern}' (its grants allow {})",
            list(subscribe)
        ))
    }

    /// Whether the peer may read the server's statistics (every peer's
    /// name and every subject in use).
    pub(crate) fn may_read_stats(&self) -> Result<(), String> {
        match self {
            PeerAccess::Trusted => Ok(()),
            PeerAccess::Confined { identity, .. } => Err(format!(
                "denied: '{identity}' may not read the server's statistics"
            )),
        }
    }
}

/// Whether some subject matches both patterns.
fn patterns_overlap(a: &str, b: &str) -> bool {
    let mut a = a.split('.');
    let mut b = b.split('.');
    loop {
        match (a.next(), b.next()) {
            // `>` takes one or more tokens: the other has at least one here.
            (Some(">"), Some(_)) | (Some(_), Some(">")) => return true,
            (Some(x), Some(y)) if x == y || x == "*" || y == "*" => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

fn list(patterns: &[String]) -> String {
    if patterns.is_empty() {
        "nothing".into()
    } else {
        patterns.join(", ")
    }
}

/// A refusal the server made, as its gate hears of it.
#[derive(Debug, Clone, Copy)]
pub struct Refusal<'a> {
    /// The peer's endpoint name.
    pub peer: &'a str,
    /// Whom it acts as, when confined.
    pub identity: Option<&'a str>,
    /// Its credentials, where known.
    pub credentials: Option<PeerCredentials>,
    /// What it tried: `connect`, `publish:<subject>`,
    /// `subscribe:<pattern>` or `stats`.
    pub action: &'a str,
    /// Why it was refused.
    pub reason: &'a str,
}

/// Decides who may connect to a server and what each peer may do; the
/// layer above the bus (the service) implements it.
pub trait PeerGate: Send + Sync + fmt::Debug {
    /// Admits a peer with its access, or refuses it with a reason the peer
    /// is told.
    fn admit(&self, knock: &Knock<'_>) -> Result<PeerAccess, String>;

    /// Hears of every refusal: connections, subscriptions and publishes.
    fn refused(&self, refusal: &Refusal<'_>);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn confined() -> PeerAccess {
        PeerAccess::Confined {
            identity: "metrics-ext".into(),
            publish: vec!["metrics.>".into()],
            subscribe: vec!["exec.*.state".into()],
            reserved: vec!["control.>".into(), "_inbox.>".into()],
        }
    }

    #[test]
    fn a_confined_peer_publishes_and_subscribes_only_within_its_grants() {
        let access = confined();
        assert!(access.may_publish("metrics.cpu", false).is_ok());
        let denied = access
            .may_publish("symphony.v1.run.start", false)
            .unwrap_err();
        assert!(denied.contains("'metrics-ext' may not publish on 'symphony.v1.run.start'"));
        assert!(access.may_subscribe("p1", "exec.*.state").is_ok());
        assert!(access.may_subscribe("p1", "exec.>").is_err());
        assert!(access.may_read_stats().is_err());
    }

    #[test]
    fn a_confined_peer_keeps_its_own_inbox_and_may_answer_requests() {
        let access = confined();
        assert!(access.may_subscribe("p1", "_inbox.p1.*").is_ok());
        assert!(access.may_subscribe("p1", "_inbox.p2.*").is_err());
        assert!(access.may_subscribe("p1", "_inbox.>").is_err());
        assert!(access.may_publish("_inbox.p2.7", true).is_ok());
        assert!(access.may_publish("_inbox.p2.7", false).is_err());
    }

    #[test]
    fn reserved_subjects_stay_closed_whatever_the_grants() {
        let access = PeerAccess::Confined {
            identity: "greedy".into(),
            publish: vec![">".into()],
            subscribe: vec![">".into()],
            reserved: vec!["control.>".into(), "_inbox.>".into()],
        };
        assert!(access.may_publish("anything.else", false).is_ok());
        assert!(access.may_publish("control.run", false).is_err());
        assert!(access.may_publish("_inbox.p2.1", false).is_err());
        assert!(access.may_subscribe("p1", ">").is_err());
        assert!(access.may_subscribe("p1", "*.run").is_err());
        assert!(access.may_subscribe("p1", "exec.>").is_ok());
        assert!(access.may_subscribe("p1", "_inbox.p1.*").is_ok());
    }

    #[test]
    fn overlapping_patterns_share_a_subject() {
        let table = [
            ("a.>", "a.b", true),
            (">", "x", true),
            ("a.*", "*.b", true),
            ("a.*", "b.*", false),
            ("a", "a.>", false),
            ("a.b", "a.b", true),
            ("a.*.c", "a.b", false),
        ];
        for (a, b, overlap) in table {
            assert_eq!(patterns_overlap(a, b), overlap, "{a} {b}");
            assert_eq!(patterns_overlap(b, a), overlap, "{b} {a}");
        }
    }

    #[test]
    fn a_trusted_peer_may_do_anything() {
        let access = PeerAccess::Trusted;
        assert!(access.may_publish("symphony.v1.run.start", false).is_ok());
        assert!(access.may_subscribe("p", ">").is_ok());
        assert!(access.may_read_stats().is_ok());
    }
}
