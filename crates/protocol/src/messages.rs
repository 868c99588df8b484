//! The bus's own message types.

use serde::{Deserialize, Serialize};

use crate::Message;

/// The first message a peer sends on a connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// The peer's endpoint name, unique on the bus.
    pub peer: String,
    /// Ask to move the connection's traffic onto a shared-memory ring once
    /// the handshake is done (the socket then only signals the peer's exit).
    pub shared_memory: bool,
}

impl Message for Hello {
    const KIND: &'static str = "bus.hello";
    const VERSION: u16 = 1;

    fn check(&self) -> Result<(), String> {
        crate::validate_subject(&self.peer).map_err(|e| format!("peer name: {e}"))
    }
}

/// The server's answer to [`Hello`]: the connection is accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Welcome {
    /// The server's endpoint name.
    pub server: String,
    /// How often each side sends a heartbeat when it has nothing else to
    /// send, in milliseconds.
    pub heartbeat_ms: u32,
    /// Silence longer than this, in milliseconds, means the other side is
    /// down.
    pub timeout_ms: u32,
    /// The shared-memory region to map, when the peer asked for one.
    pub shared_memory: Option<String>,
}

impl Message for Welcome {
    const KIND: &'static str = "bus.welcome";
    const VERSION: u16 = 1;

    fn check(&self) -> Result<(), String> {
        if self.heartbeat_ms == 0 || self.timeout_ms <= self.heartbeat_ms {
            return Err(format!(
                "heartbeat {} ms must be positive and shorter than the timeout {} ms",
                self.heartbeat_ms, self.timeout_ms
            ));
        }
        Ok(())
    }
}

/// Subscribe to a subject pattern, optionally in a queue group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscribe {
    /// The subscription's id, chosen by the subscriber.
    pub sid: u64,
    /// The pattern (`*` and `>` wildcards).
    pub pattern: String,
    /// A queue group: each message goes to one member of the group.
    pub queue: Option<String>,
}

impl Message for Subscribe {
    const KIND: &'static str = "bus.subscribe";
    const VERSION: u16 = 1;

    fn check(&self) -> Result<(), String> {
        crate::validate_pattern(&self.pattern)
    }
}

/// End a subscription.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unsubscribe {
    /// The subscription's id.
    pub sid: u64,
}

impl Message for Unsubscribe {
    const KIND: &'static str = "bus.unsubscribe";
    const VERSION: u16 = 1;
}

/// A liveness signal; a peer that stops sending them is declared down.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Heartbeat {
    /// Increments with each heartbeat.
    pub seq: u64,
    /// Messages the sender has dropped so far because a subscriber of its
    /// own read too slowly (a client's count, shown in the server's
    /// statistics). Left out when zero, so such a heartbeat is the same
    /// bytes as one from a peer that never counted.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub dropped: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Message for Heartbeat {
    const KIND: &'static str = "bus.heartbeat";
    const VERSION: u16 = 1;
}

/// Announced on `bus.peer.down` when a peer disconnects or stops
/// heartbeating.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerDown {
    /// The peer's endpoint name.
    pub peer: String,
    /// Why it is considered down.
    pub reason: String,
}

impl Message for PeerDown {
    const KIND: &'static str = "bus.peer.down";
    const VERSION: u16 = 1;
}

/// A refusal sent back to a peer before its connection is closed or a
/// request is dropped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorReply {
    /// What was wrong.
    pub message: String,
}

impl Message for ErrorReply {
    const KIND: &'static str = "bus.error";
    const VERSION: u16 = 1;
}
