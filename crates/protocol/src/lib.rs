//! Symphony's bus protocol: what travels between the host, its components
//! and out-of-process peers.
//!
//! ```
//! use bytes::BytesMut;
//! use symphony_protocol::{Envelope, FrameDecoder, MessageRegistry, encode_frame};
//!
//! let request = Envelope::new("msg", "svc.echo", &b"ping"[..]).from_sender("client-1").reply_to("_inbox.1");
//! let mut wire = Vec::new();
//! encode_frame(&request, &mut wire).unwrap();
//!
//! let mut buf = BytesMut::from(&wire[..]);
//! let received = FrameDecoder::default().decode(&mut buf).unwrap().unwrap();
//! MessageRegistry::with_builtin().validate(&received).unwrap();
//! assert_eq!(received, request);
//! ```
//!
//! # Core concepts
//!
//! - **[`Envelope`]**: id, type and version, timestamp, correlation, sender,
//!   subject, reply-to, headers, payload bytes. msgpack (array form) on the
//!   wire, indented JSON for people ([`Envelope::to_json_pretty`]).
//! - **Frames** ([`encode_frame`], [`FrameDecoder`]): `u32` length, protocol
//!   version byte, envelope. Oversized, truncated, foreign and malformed
//!   frames are errors that say which; decoding never panics.
//! - **[`MessageRegistry`]**: the types a peer understands, by name and
//!   version, each with a payload validator; [`Message`] makes a Rust type
//!   a registered payload.
//! - **Subjects** ([`subject_matches`]): dot-separated tokens with `*` and
//!   `>` wildcards, as in NATS.

#![deny(missing_docs)]

pub mod client;
pub mod clock;
mod envelope;
mod error;
pub mod frame;
pub mod link;
pub mod messages;
mod registry;
#[cfg(target_os = "linux")]
pub mod shm;
mod subject;

pub use envelope::{CONTENT_TYPE_HEADER, Envelope, SmolStr, now_us};
pub use error::ProtocolError;
pub use frame::{FrameDecoder, encode_frame, encode_frame_with_header};
pub use registry::{MSG, Message, MessageRegistry, Validator};
pub use subject::{
    INBOX, inbox, pattern_within, subject_matches, validate_pattern, validate_subject,
};
