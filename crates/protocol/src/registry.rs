//! Message types, their versions and payload validators.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::messages::{ErrorReply, Heartbeat, Hello, PeerDown, Subscribe, Unsubscribe, Welcome};
use crate::{Envelope, ProtocolError, SmolStr};

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

    /// Wraps the message in an envelope addressed to `subject`; the
    /// payload is a msgpack map keyed by field name, so peers in any
    /// language read it by name (arrays in field order are accepted too).
    fn to_envelope(&self, subject: impl Into<SmolStr>) -> Result<Envelope, ProtocolError> {
        let payload =
            rmp_serde::to_vec_named(self).map_err(|e| ProtocolError::Encode(e.to_string()))?;
        Ok(Envelope::new(Self::KIND, subject, payload).with_version(Self::VERSION))
    }

    /// Reads the message out of an envelope of its kind and version.
    fn from_envelope(envelope: &Envelope) -> Result<Self, ProtocolError> {
        if envelope.kind != Self::KIND || envelope.version != Self::VERSION {
            return Err(ProtocolError::InvalidPayload {
                kind: envelope.kind.to_string(),
                version: envelope.version,
                reason: format!("expected '{}' v{}", Self::KIND, Self::VERSION),
            });
        }
        decode_checked::<Self>(&envelope.payload).map_err(|reason| ProtocolError::InvalidPayload {
            kind: envelope.kind.to_string(),
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
                .get(envelope.kind.as_str())
                .ok_or_else(|| ProtocolError::UnknownType {
                    kind: envelope.kind.to_string(),
                })?;
        let Some(validator) = versions.get(&envelope.version) else {
            let newest = versions.keys().next_back().copied().unwrap_or(0);
            return Err(if envelope.version > newest {
                ProtocolError::TooNew {
                    kind: envelope.kind.to_string(),
                    version: envelope.version,
                    supported: newest,
                }
            } else {
                ProtocolError::UnsupportedVersion {
                    kind: envelope.kind.to_string(),
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
            kind: envelope.kind.to_string(),
            version: envelope.version,
            reason,
        })
    }
}

#[cfg(test)]
mod tests;
