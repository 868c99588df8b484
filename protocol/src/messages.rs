//! The bus's own message types.

use serde::{Deserialize, Serialize};

use crate::Message;

/// The first message a peer sends on a connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// The peer's endpoint name, unique on the bus.
    pub peer: String,
}

impl Message for Hello {
    const KIND: &'static str = "bus.hello";
    const VERSION: u16 = 1;
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
