//! Length-prefixed frames for byte-stream transports.
//!
//! A frame is a big-endian `u32` length of the rest of the frame, one byte
//! of protocol version, then the msgpack envelope. Decoding never panics and
//! never allocates more than the configured maximum frame size.

use bytes::{Buf, BytesMut};

use crate::{Envelope, ProtocolError};

/// The frame format this crate reads and writes.
pub const PROTOCOL_VERSION: u8 = 1;

/// The default largest frame accepted: 16 MiB.
pub const DEFAULT_MAX_FRAME: usize = 16 << 20;

/// Appends `envelope` as one frame to `out`. On error `out` is left as it
/// was, so a buffer of queued frames never holds half of one.
pub fn encode_frame(envelope: &Envelope, out: &mut Vec<u8>) -> Result<(), ProtocolError> {
    encode_frame_with_header(envelope, None, out)
}

/// [`encode_frame`] with `extra` as one more header after the envelope's
/// own (see [`Envelope::encode_with_header_into`]).
pub fn encode_frame_with_header(
    envelope: &Envelope,
    extra: Option<(&str, &str)>,
    out: &mut Vec<u8>,
) -> Result<(), ProtocolError> {
    let start = out.len();
    out.extend_from_slice(&[0; 4]);
    out.push(PROTOCOL_VERSION);
    let len = envelope.encode_with_header_into(extra, out).and_then(|()| {
        let len = out.len() - start - 4;
        u32::try_from(len).map_err(|_| ProtocolError::Oversized {
            len,
            max: u32::MAX as usize,
        })
    });
    match len {
        Ok(len) => {
            out[start..start + 4].copy_from_slice(&len.to_be_bytes());
            Ok(())
        }
        Err(e) => {
            out.truncate(start);
            Err(e)
        }
    }
}

/// Splits a byte stream into envelopes.
#[derive(Debug, Clone, Copy)]
pub struct FrameDecoder {
    max_frame: usize,
}

impl Default for FrameDecoder {
    fn default() -> Self {
        FrameDecoder {
            max_frame: DEFAULT_MAX_FRAME,
        }
    }
}

impl FrameDecoder {
    /// A decoder that rejects frames longer than `max_frame` bytes.
    pub fn new(max_frame: usize) -> Self {
        FrameDecoder { max_frame }
    }

    /// Takes the next complete frame off the front of `buf`. `Ok(None)`
    /// means more bytes are needed; an error means the stream cannot be
    /// trusted any more and its connection should be closed.
    pub fn decode(&self, buf: &mut BytesMut) -> Result<Option<Envelope>, ProtocolError> {
        Ok(self.decode_taking(buf, None)?.map(|(envelope, _)| envelope))
    }

    /// [`decode`](Self::decode), taking the first header named `take` whose
    /// value is a number out of the envelope and returning it beside.
    pub(crate) fn decode_taking(
        &self,
        buf: &mut BytesMut,
        take: Option<&str>,
    ) -> Result<Option<(Envelope, Option<u64>)>, ProtocolError> {
        let Some(len) = declared_len(buf) else {
            return Ok(None);
        };
        if len > self.max_frame {
            return Err(ProtocolError::Oversized {
                len,
                max: self.max_frame,
            });
        }
        if len == 0 {
            buf.advance(4);
            return Err(ProtocolError::Malformed("empty frame".into()));
        }
        if buf.len() < 4 + len {
            buf.reserve(4 + len - buf.len());
            return Ok(None);
        }
        // Frozen, so the payload is a slice of the bytes read rather than
        // a copy of them.
        let frame = buf.split_to(4 + len).freeze();
        let version = frame[4];
        if version != PROTOCOL_VERSION {
            return Err(ProtocolError::UnsupportedProtocol { version });
        }
        let body = &frame[5..];
        let (envelope, taken, used) = crate::envelope::decode_envelope_shared(&frame, 5, take)
            .map_err(|e| ProtocolError::Malformed(e.to_string()))?;
        if used != body.len() {
            return Err(ProtocolError::Malformed(format!(
                "{} bytes after the envelope inside its frame",
                body.len() - used
            )));
        }
        Ok(Some((envelope, taken)))
    }

    /// Checks what is left when the stream ends: leftover bytes are a
    /// truncated frame.
    pub fn finish(&self, buf: &BytesMut) -> Result<(), ProtocolError> {
        if buf.is_empty() {
            return Ok(());
        }
        let need = declared_len(buf).map_or(4, |len| 4 + len);
        Err(ProtocolError::Truncated {
            have: buf.len(),
            need,
        })
    }
}

/// The length a frame at the start of `buf` declares, once its 4-byte
/// prefix has arrived.
pub(crate) fn declared_len(buf: &[u8]) -> Option<usize> {
    let prefix: [u8; 4] = buf.get(..4)?.try_into().ok()?;
    Some(u32::from_be_bytes(prefix) as usize)
}

#[cfg(test)]
mod tests;
