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
    let start = out.len();
    out.extend_from_slice(&[0; 4]);
    out.push(PROTOCOL_VERSION);
    let len = envelope.encode_into(out).and_then(|()| {
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
        let frame = buf.split_to(4 + len);
        let version = frame[4];
        if version != PROTOCOL_VERSION {
            return Err(ProtocolError::UnsupportedProtocol { version });
        }
        let body = &frame[5..];
        let (envelope, used) = crate::envelope::decode_prefix::<Envelope>(body)
            .map_err(|e| ProtocolError::Malformed(e.to_string()))?;
        if used != body.len() {
            return Err(ProtocolError::Malformed(format!(
                "{} bytes after the envelope inside its frame",
                body.len() - used
            )));
        }
        Ok(Some(envelope))
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
fn declared_len(buf: &[u8]) -> Option<usize> {
    let prefix: [u8; 4] = buf.get(..4)?.try_into().ok()?;
    Some(u32::from_be_bytes(prefix) as usize)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn frame_of(envelope: &Envelope) -> Vec<u8> {
        let mut out = Vec::new();
        encode_frame(envelope, &mut out).unwrap();
        out
    }

    #[test]
    fn frames_split_across_reads_decode_in_order() {
        let a = Envelope::new("msg", "a", &b"one"[..]);
        let b = Envelope::new("msg", "b", &b"two"[..]);
        let mut stream = frame_of(&a);
        stream.extend(frame_of(&b));
        let decoder = FrameDecoder::default();
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        for chunk in stream.chunks(3) {
            buf.extend_from_slice(chunk);
            while let Some(envelope) = decoder.decode(&mut buf).unwrap() {
                got.push(envelope);
            }
        }
        assert_eq!(got, [a, b]);
        decoder.finish(&buf).unwrap();
    }

    #[test]
    fn oversized_truncated_and_foreign_frames_are_named() {
        let decoder = FrameDecoder::new(64);
        let mut buf = BytesMut::from(&[0, 0, 1, 0][..]);
        let err = decoder.decode(&mut buf).unwrap_err();
        assert_eq!(
            err.to_string(),
            "frame of 256 bytes is larger than the 64-byte limit"
        );

        let mut frame = frame_of(&Envelope::new("msg", "x", &b""[..]));
        frame[4] = 9;
        let err = decoder.decode(&mut BytesMut::from(&frame[..])).unwrap_err();
        assert!(
            matches!(err, ProtocolError::UnsupportedProtocol { version: 9 }),
            "{err}"
        );

        let whole = frame_of(&Envelope::new("msg", "x", &b"abc"[..]));
        let partial = BytesMut::from(&whole[..whole.len() - 2]);
        let err = decoder.finish(&partial).unwrap_err();
        assert!(
            err.to_string().starts_with("stream ended inside a frame"),
            "{err}"
        );
    }

    #[test]
    fn trailing_bytes_inside_a_frame_are_malformed() {
        let mut frame = frame_of(&Envelope::new("msg", "x", &b""[..]));
        frame.push(0xc0);
        let len = (frame.len() - 4) as u32;
        frame[..4].copy_from_slice(&len.to_be_bytes());
        let err = FrameDecoder::default()
            .decode(&mut BytesMut::from(&frame[..]))
            .unwrap_err();
        assert!(
            err.to_string().contains("1 bytes after the envelope"),
            "{err}"
        );
    }

    proptest! {
        /// Whatever bytes arrive, decoding returns a result; it never
        /// panics, loops or allocates past the frame limit.
        #[test]
        fn arbitrary_bytes_never_panic_the_decoder(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let decoder = FrameDecoder::new(1024);
            let mut buf = BytesMut::from(&bytes[..]);
            for _ in 0..bytes.len() + 1 {
                match decoder.decode(&mut buf) {
                    Ok(Some(_)) => continue,
                    Ok(None) | Err(_) => break,
                }
            }
            let _ = decoder.finish(&buf);
        }

        /// A valid frame with bytes flipped decodes or fails cleanly.
        #[test]
        fn corrupted_frames_fail_cleanly(flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8)) {
            let mut frame = frame_of(&Envelope::new("bus.subscribe", "a.b", vec![1, 2, 3]).with_header("k", "v"));
            for (at, value) in flips {
                let at = at % frame.len();
                frame[at] = value;
            }
            let _ = FrameDecoder::new(4096).decode(&mut BytesMut::from(&frame[..]));
        }
    }
}
