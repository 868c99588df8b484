//! What can be wrong with a message.

/// Why bytes or an envelope were rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// The bytes are not a well-formed envelope.
    #[error("malformed message: {0}")]
    Malformed(String),
    /// The envelope could not be encoded.
    #[error("cannot encode message: {0}")]
    Encode(String),
    /// A frame declares a length above the limit.
    #[error("frame of {len} bytes is larger than the {max}-byte limit")]
    Oversized {
        /// The declared length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The stream ended in the middle of a frame.
    #[error("stream ended inside a frame: have {have} of {need} bytes")]
    Truncated {
        /// Bytes received.
        have: usize,
        /// Bytes the frame needs.
        need: usize,
    },
    /// The frame was written by an unknown protocol version.
    #[error(
        "frame uses protocol version {version}, but this peer speaks version {}",
        crate::frame::PROTOCOL_VERSION
    )]
    UnsupportedProtocol {
        /// The version byte found.
        version: u8,
    },
    /// No message type of this name is registered.
    #[error("unknown message type '{kind}'")]
    UnknownType {
        /// The type name.
        kind: String,
    },
    /// The message type is known, but not in this version.
    #[error(
        "message type '{kind}' version {version} is newer than this peer supports (up to {supported})"
    )]
    TooNew {
        /// The type name.
        kind: String,
        /// The version received.
        version: u16,
        /// The newest version known here.
        supported: u16,
    },
    /// The version is older than any this peer still reads.
    #[error("message type '{kind}' version {version} is not supported (supported: {supported})")]
    UnsupportedVersion {
        /// The type name.
        kind: String,
        /// The version received.
        version: u16,
        /// The versions known here.
        supported: String,
    },
    /// The payload does not match its declared type.
    #[error("'{kind}' v{version} payload is invalid: {reason}")]
    InvalidPayload {
        /// The type name.
        kind: String,
        /// The version.
        version: u16,
        /// What did not match.
        reason: String,
    },
}
