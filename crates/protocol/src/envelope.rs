//! The envelope every bus message travels in.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
pub use smol_str::SmolStr;

use crate::ProtocolError;

mod codec;

/// One message: routing, correlation and metadata around opaque payload
/// bytes.
///
/// On the wire it is a msgpack array in field order (see [`crate::frame`]);
/// [`Envelope::to_json_pretty`] shows it to people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// Unique per sender.
    pub id: u64,
    /// The message type, e.g. `bus.subscribe` or `msg`.
    pub kind: SmolStr,
    /// The version of the message type's payload schema.
    pub version: u16,
    /// When the message was created, in microseconds since the Unix epoch.
    pub timestamp_us: u64,
    /// For a reply, the id of the request it answers.
    pub correlation: Option<u64>,
    /// The sending endpoint's name.
    pub sender: SmolStr,
    /// The subject (or recipient) the message is addressed to.
    pub subject: SmolStr,
    /// Where replies should go, for a request.
    pub reply_to: Option<SmolStr>,
    /// Free-form metadata.
    pub headers: Vec<(SmolStr, SmolStr)>,
    /// The payload; its format is given by `kind` and `version`.
    pub payload: Bytes,
}

/// The header that says how an application message's payload is encoded,
/// e.g. `application/msgpack` or `application/json`.
pub const CONTENT_TYPE_HEADER: &str = "content-type";

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Ids a thread takes from [`NEXT_ID`] at a time.
const ID_BLOCK: u64 = 1024;

thread_local! {
    /// This thread's next id and the end of its block.
    static IDS: std::cell::Cell<(u64, u64)> = const { std::cell::Cell::new((0, 0)) };
}

/// A process-unique message id. Each thread takes a block of ids at once:
/// one counter shared by every thread put its cache line on every message's
/// path between cores (two threads exchanging requests bounced it twice a
/// round trip). Unique, not ordered across threads.
fn next_id() -> u64 {
    IDS.with(|ids| {
        let (mut next, mut end) = ids.get();
        if next == end {
            next = NEXT_ID.fetch_add(ID_BLOCK, Ordering::Relaxed);
            end = next + ID_BLOCK;
        }
        ids.set((next + 1, end));
        next
    })
}

/// The current time in microseconds since the Unix epoch, as envelopes
/// carry it.
pub fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// The payload as one msgpack value that uses every byte; text such as
/// `first` would otherwise read as the number 102 followed by junk.
fn whole_msgpack(payload: &[u8]) -> Option<Value> {
    let (value, used) = decode_prefix::<Value>(payload).ok()?;
    (!payload.is_empty() && used == payload.len()).then_some(value)
}

/// Decodes the msgpack value at the start of `bytes`, returning it and how
/// many bytes it took, so callers can insist nothing follows.
pub(crate) fn decode_prefix<T: DeserializeOwned>(
    bytes: &[u8],
) -> Result<(T, usize), rmp_serde::decode::Error> {
    let mut reader = std::io::Cursor::new(bytes);
    let value = rmp_serde::from_read(&mut reader)?;
    Ok((value, reader.position() as usize))
}

/// The envelope at the start of `frame[offset..]` and how many bytes it
/// took; its payload a slice of `frame` (no copy) when the fast path reads
/// it. With `take`, the first header of that name whose value is a number
/// is taken out of the envelope and returned.
pub(crate) fn decode_envelope_shared(
    frame: &Bytes,
    offset: usize,
    take: Option<&str>,
) -> Result<(Envelope, Option<u64>, usize), rmp_serde::decode::Error> {
    if let Some(decoded) = codec::decode_shared(frame, offset, take) {
        return Ok(decoded);
    }
    let (mut envelope, used): (Envelope, usize) = decode_prefix(&frame[offset..])?;
    let at = take.and_then(|take| {
        (envelope.headers.iter())
            .position(|(name, value)| name == take && value.parse::<u64>().is_ok())
    });
    let taken = at.and_then(|at| envelope.headers.remove(at).1.parse().ok());
    Ok((envelope, taken, used))
}

impl Envelope {
    /// A new message of `kind` (version 1) on `subject` with a fresh id and
    /// the current time.
    pub fn new(
        kind: impl Into<SmolStr>,
        subject: impl Into<SmolStr>,
        payload: impl Into<Bytes>,
    ) -> Self {
        Envelope {
            id: next_id(),
            kind: kind.into(),
            version: 1,
            timestamp_us: now_us(),
            correlation: None,
            sender: SmolStr::default(),
            subject: subject.into(),
            reply_to: None,
            headers: Vec::new(),
            payload: payload.into(),
        }
    }

    /// Sets the sender.
    pub fn from_sender(mut self, sender: impl Into<SmolStr>) -> Self {
        self.sender = sender.into();
        self
    }

    /// Sets the payload schema version.
    pub fn with_version(mut self, version: u16) -> Self {
        self.version = version;
        self
    }

    /// Adds a header.
    pub fn with_header(mut self, key: impl Into<SmolStr>, value: impl Into<SmolStr>) -> Self {
        self.headers.push((key.into(), value.into()));
        self
    }

    /// Asks for replies on `subject`.
    pub fn reply_to(mut self, subject: impl Into<SmolStr>) -> Self {
        self.reply_to = Some(subject.into());
        self
    }

    /// A reply to this message: addressed to its `reply_to` (or its sender),
    /// correlated with its id.
    pub fn reply(&self, kind: impl Into<SmolStr>, payload: impl Into<Bytes>) -> Envelope {
        let subject = self.reply_to.clone().unwrap_or_else(|| self.sender.clone());
        let mut reply = Envelope::new(kind, subject, payload);
        reply.correlation = Some(self.id);
        reply
    }

    /// The first header named `key`.
    pub fn header(&self, key: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Encodes to msgpack (array form), appending to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) -> Result<(), ProtocolError> {
        self.encode_with_header_into(None, out)
    }

    /// [`Envelope::encode_into`] as if `extra` replaced the headers of its
    /// name and were pushed onto the rest first: how a server names the
    /// subscription a message is delivered for, whatever the message
    /// says, without changing (or allocating into) the message.
    pub fn encode_with_header_into(
        &self,
        extra: Option<(&str, &str)>,
        out: &mut Vec<u8>,
    ) -> Result<(), ProtocolError> {
        codec::encode(self, extra, out).ok_or_else(|| {
            ProtocolError::Encode("a field is longer than msgpack's 4 GiB limit".into())
        })
    }

    /// Encodes to a new msgpack buffer.
    pub fn encode(&self) -> Result<Vec<u8>, ProtocolError> {
        let mut out = Vec::with_capacity(64 + self.payload.len());
        self.encode_into(&mut out)?;
        Ok(out)
    }

    /// Decodes msgpack produced by [`Envelope::encode`]. Never panics; any
    /// malformed input is an error saying what was wrong.
    pub fn decode(bytes: &[u8]) -> Result<Envelope, ProtocolError> {
        match codec::decode(bytes) {
            Some((envelope, used)) if used == bytes.len() => Ok(envelope),
            _ => rmp_serde::from_slice(bytes).map_err(|e| ProtocolError::Malformed(e.to_string())),
        }
    }

    /// The envelope as indented JSON for people. The payload is shown as
    /// it is: a typed message's (any kind but `msg`) as the msgpack it
    /// holds, decoded; an application message's (`msg`) as a string when
    /// it is UTF-8 text, decoded as msgpack only when its
    /// [`CONTENT_TYPE_HEADER`] says `application/msgpack`; any other bytes
    /// as `{"base64": "..."}`.
    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(&self.to_json()).unwrap_or_default()
    }

    /// The envelope as a JSON value, its payload decoded as
    /// [`Envelope::to_json_pretty`] describes.
    pub fn to_json(&self) -> Value {
        let msgpack = self.kind != crate::MSG
            || self.header(CONTENT_TYPE_HEADER) == Some("application/msgpack");
        let shown = if msgpack {
            whole_msgpack(&self.payload)
        } else {
            std::str::from_utf8(&self.payload).ok().map(|s| json!(s))
        };
        let payload = shown.unwrap_or_else(|| {
            use base64::Engine as _;
            json!({"base64": base64::engine::general_purpose::STANDARD.encode(&self.payload)})
        });
        json!({
            "id": self.id,
            "kind": self.kind,
            "version": self.version,
            "timestamp_us": self.timestamp_us,
            "correlation": self.correlation,
            "sender": self.sender,
            "subject": self.subject,
            "reply_to": self.reply_to,
            "headers": self.headers,
            "payload": payload,
        })
    }
}

#[cfg(test)]
mod tests;
