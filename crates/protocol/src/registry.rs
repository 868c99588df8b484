//! Message types, their versions and payload validators.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::messages::{ErrorReply, Heartbeat, Hello, PeerDown, Subscribe, Unsubscribe, Welcome};
use crate::{Envelope, ProtocolError};

/// The kind of application messages: opaque payload bytes.
pub const MSG: &str = "msg";

/// A typed payload with a registered name and version.
pub trait Message: Serialize + DeserializeOwned {
    /// The type's name, e.g. `bus.subscribe`.
    const KIND: &'static str;
    /// The payload schema version this Rust type reads and writes.
    const VERSION: u16;

    /// Checks rules beyond the shape (e.g. a well-formed subject).
    fn check(&self) -> Result<(), String> {
        Ok(())
    }

    /// Wraps the message in an envelope addressed to `subject`.
    fn to_envelope(&self, subject: impl Into<String>) -> Result<Envelope, ProtocolError> {
        let payload = rmp_serde::to_vec(self).map_err(|e| ProtocolError::Encode(e.to_string()))?;
        Ok(Envelope::new(Self::KIND, subject, payload).with_version(Self::VERSION))
    }

    /// Reads the message out of an envelope of its kind and version.
    fn from_envelope(envelope: &Envelope) -> Result<Self, ProtocolError> {
        if envelope.kind != Self::KIND || envelope.version != Self::VERSION {
            return Err(ProtocolError::InvalidPayload {
                kind: envelope.kind.clone(),
                version: envelope.version,
                reason: format!("expected '{}' v{}", Self::KIND, Self::VERSION),
            });
        }
        decode_checked::<Self>(&envelope.payload).map_err(|reason| ProtocolError::InvalidPayload {
            kind: envelope.kind.clone(),
            version: envelope.version,
            reason,
        })
    }
}

fn decode_checked<M: Message>(payload: &[u8]) -> Result<M, String> {
    let message: M = rmp_serde::from_slice(payload).map_err(|e| e.to_string())?;
    message.check()?;
    Ok(message)
}

/// Checks a payload; returns why it is invalid.
pub type Validator = fn(&[u8]) -> Result<(), String>;

fn validate_as<M: Message>(payload: &[u8]) -> Result<(), String> {
    decode_checked::<M>(payload).map(drop)
}

fn accept_any(_: &[u8]) -> Result<(), String> {
    Ok(())
}

/// The message types a peer understands.
///
/// ```
/// use symphony_protocol::{Envelope, Message, MessageRegistry, ProtocolError, messages::Subscribe};
///
/// let registry = MessageRegistry::with_builtin();
/// let ok = Subscribe { sid: 1, pattern: "exec.>".into(), queue: None }.to_envelope("bus").unwrap();
/// registry.validate(&ok).unwrap();
///
/// let bad = Subscribe { sid: 1, pattern: "exec.>.x".into(), queue: None }.to_envelope("bus").unwrap();
/// assert!(matches!(registry.validate(&bad), Err(ProtocolError::InvalidPayload { .. })));
/// assert!(matches!(
///     registry.validate(&Envelope::new("no.such.type", "x", vec![])),
///     Err(ProtocolError::UnknownType { .. })
/// ));
/// ```
#[derive(Debug, Clone, Default)]
pub struct MessageRegistry {
    types: HashMap<String, BTreeMap<u16, Validator>>,
}

impl MessageRegistry {
    /// A registry with no types.
    pub fn new() -> Self {
        MessageRegistry::default()
    }

    /// The bus's own types plus `msg` (application data, opaque bytes).
    pub fn with_builtin() -> Self {
        let mut registry = MessageRegistry::new();
        registry.register::<Hello>();
        registry.register::<Welcome>();
        registry.register::<Subscribe>();
        registry.register::<Unsubscribe>();
        registry.register::<Heartbeat>();
        registry.register::<PeerDown>();
        registry.register::<ErrorReply>();
        registry.register_with(MSG, 1, accept_any);
        registry.register_with(crate::client::NO_RESPONDERS, 1, accept_any);
        registry
    }

    /// Registers `M::KIND` version `M::VERSION`, validated by decoding as `M`.
    pub fn register<M: Message>(&mut self) {
        self.register_with(M::KIND, M::VERSION, validate_as::<M>);
    }

    /// Registers a type version with its own validator.
    pub fn register_with(&mut self, kind: &str, version: u16, validator: Validator) {
        self.types
            .entry(kind.to_string())
            .or_default()
            .insert(version, validator);
    }

    /// The registered types with their versions, sorted by name.
    pub fn types(&self) -> Vec<(String, Vec<u16>)> {
        let mut types: Vec<_> = self
            .types
            .iter()
            .map(|(kind, versions)| (kind.clone(), versions.keys().copied().collect()))
            .collect();
        types.sort();
        types
    }

    /// Checks that the envelope's type and version are known and that its
    /// payload matches.
    pub fn validate(&self, envelope: &Envelope) -> Result<(), ProtocolError> {
        let versions =
            self.types
                .get(&envelope.kind)
                .ok_or_else(|| ProtocolError::UnknownType {
                    kind: envelope.kind.clone(),
                })?;
        let Some(validator) = versions.get(&envelope.version) else {
            let newest = versions.keys().next_back().copied().unwrap_or(0);
            return Err(if envelope.version > newest {
                ProtocolError::TooNew {
                    kind: envelope.kind.clone(),
                    version: envelope.version,
                    supported: newest,
                }
            } else {
                ProtocolError::UnsupportedVersion {
                    kind: envelope.kind.clone(),
                    version: envelope.version,
                    supported: versions
                        .keys()
                        .map(u16::to_string)
                        .collect::<Vec<_>>()
                        .join(", "),
                }
            });
        };
        validator(&envelope.payload).map_err(|reason| ProtocolError::InvalidPayload {
            kind: envelope.kind.clone(),
            version: envelope.version,
            reason,
        })
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn versions_newer_older_and_payload_mismatches_are_told_apart() {
        let mut registry = MessageRegistry::with_builtin();
        registry.register_with("custom", 2, accept_any);
        registry.register_with("custom", 3, accept_any);
        let err = registry
            .validate(&Envelope::new("custom", "x", vec![]).with_version(4))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "message type 'custom' version 4 is newer than this peer supports (up to 3)"
        );
        let err = registry
            .validate(&Envelope::new("custom", "x", vec![]).with_version(1))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "message type 'custom' version 1 is not supported (supported: 2, 3)"
        );
        let err = registry
            .validate(&Envelope::new("bus.heartbeat", "x", vec![0xc1]))
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("'bus.heartbeat' v1 payload is invalid:"),
            "{err}"
        );
    }

    fn round_trip<M: Message + PartialEq + std::fmt::Debug>(
        message: M,
    ) -> Result<(), TestCaseError> {
        let registry = MessageRegistry::with_builtin();
        let envelope = message.to_envelope("subject.x").unwrap();
        let bytes = envelope.encode().unwrap();
        let decoded = Envelope::decode(&bytes).unwrap();
        prop_assert_eq!(&decoded, &envelope);
        let valid = registry.validate(&decoded);
        let checked = message.check();
        prop_assert_eq!(valid.is_ok(), checked.is_ok());
        if checked.is_ok() {
            prop_assert_eq!(M::from_envelope(&decoded).unwrap(), message);
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn every_builtin_type_round_trips(
            peer in ".{0,20}", sid in any::<u64>(), seq in any::<u64>(),
            pattern in "[a-z*>]{1,4}(\\.[a-z*>]{1,4}){0,3}", queue in proptest::option::of("[a-z]{1,8}"),
        ) {
            round_trip(Hello { peer: peer.clone(), shared_memory: seq % 2 == 0 })?;
            round_trip(Welcome {
                server: peer.clone(), heartbeat_ms: (seq % 50) as u32, timeout_ms: (sid % 200) as u32,
                shared_memory: queue.clone(),
            })?;
            round_trip(Subscribe { sid, pattern, queue })?;
            round_trip(Unsubscribe { sid })?;
            round_trip(Heartbeat { seq })?;
            round_trip(PeerDown { peer: peer.clone(), reason: "heartbeat missed".into() })?;
            round_trip(ErrorReply { message: peer })?;
        }

        #[test]
        fn envelopes_round_trip_through_msgpack(
            id in any::<u64>(), version in any::<u16>(), ts in any::<u64>(), correlation in any::<Option<u64>>(),
            subject in ".{0,30}", headers in proptest::collection::vec((".{0,8}", ".{0,8}"), 0..4),
            payload in proptest::collection::vec(any::<u8>(), 0..300),
        ) {
            let envelope = Envelope {
                id, kind: MSG.into(), version, timestamp_us: ts, correlation, sender: "p".into(),
                subject, reply_to: None, headers, payload: payload.into(),
            };
            prop_assert_eq!(Envelope::decode(&envelope.encode().unwrap()).unwrap(), envelope);
        }
    }
}
