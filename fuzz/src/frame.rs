//! The `frame_decoder` target: the protocol crate's frame decoder fed
//! arbitrary byte streams (see [`fuzz`]).

use std::fmt::Debug;
use std::sync::OnceLock;

use bytes::BytesMut;
use symphony_protocol::frame::{DEFAULT_MAX_FRAME, PROTOCOL_VERSION};
use symphony_protocol::messages::{
    ErrorReply, Heartbeat, Hello, PeerDown, Subscribe, Unsubscribe, Welcome,
};
use symphony_protocol::{
    Envelope, FrameDecoder, Message, MessageRegistry, ProtocolError, encode_frame,
};

use crate::engine::{Outcome, Rng, Target, fnv1a};

/// The `frame_decoder` target, for the smoke fuzzer.
#[derive(Debug, Clone, Copy)]
pub struct FrameTarget;

impl Target for FrameTarget {
    fn name(&self) -> &'static str {
        "frame_decoder"
    }

    fn seeds(&self) -> Vec<(&'static str, Vec<u8>)> {
        seed_corpus()
    }

    fn run(&self, data: &[u8]) -> Outcome {
        let stats = run_frame_decoder(data);
        Outcome {
            features: stats.features,
            accepted: stats.valid as u64,
            rejected: (stats.envelopes - stats.valid) as u64 + u64::from(stats.error),
        }
    }

    fn mutate(&self, rng: &mut Rng, data: &mut Vec<u8>) -> bool {
        mutate_frames(rng, data)
    }
}

/// The fuzz target: decodes `data` as a byte stream of frames and checks
/// what comes out.
///
/// The stream is fed to a [`FrameDecoder`] twice: whole, and in chunks whose
/// sizes (like the decoder's frame limit) are drawn from a hash of `data`
/// itself, so a given input always replays the same way. Both feeds must
/// yield the same envelopes and stop the same way. Each decoded envelope is
/// validated with [`MessageRegistry::with_builtin`], re-encoded with
/// [`encode_frame`], and must decode back to an equal envelope (through
/// [`Envelope::decode`] too); for the bus's own message kinds the registry's
/// verdict must match the typed message's. Any other outcome, error or not,
/// is fine; a panic is a bug.
pub fn fuzz(data: &[u8]) {
    run_frame_decoder(data);
}

/// What one run of the target saw, for the smoke fuzzer's bookkeeping.
struct RunStats {
    envelopes: usize,
    valid: usize,
    /// Coarse fingerprints of what happened (how the stream ended, why
    /// envelopes were rejected, how many there were), standing in for
    /// coverage: an input showing a new one is kept in the smoke corpus.
    features: Vec<u64>,
    error: bool,
}

fn run_frame_decoder(data: &[u8]) -> RunStats {
    let mut rng = Rng::new(fnv1a(data));
    let decoder = match rng.below(4) {
        0 => FrameDecoder::new(rng.below(4097)),
        _ => FrameDecoder::default(),
    };
    let cap = match rng.below(4) {
        0 => 1,
        1 => 8,
        2 => 64,
        _ => data.len().max(1),
    };

    let whole = decode_stream(&decoder, data, || usize::MAX);
    let chunked = decode_stream(&decoder, data, || 1 + rng.below(cap));
    assert_eq!(
        chunked, whole,
        "decoding depends on how the stream is split into reads"
    );

    let mut valid = 0;
    let mut features = vec![0x10 + whole.envelopes.len().min(8) as u64];
    for envelope in &whole.envelopes {
        match check_envelope(envelope) {
            Ok(()) => {
                valid += 1;
                // Valid kinds are registered ones: a small set.
                features.push(fnv1a(envelope.kind.as_bytes()));
            }
            Err(e) => features.push(shape(&e)),
        }
    }
    let error = match &whole.end {
        Ok(Ok(())) => false,
        Ok(Err(e)) | Err(e) => {
            features.push(shape(e).rotate_left(1));
            whole.end.is_err()
        }
    };
    features.push(0x30 + valid.min(8) as u64);
    RunStats {
        envelopes: whole.envelopes.len(),
        valid,
        features,
        error,
    }
}

/// The envelopes a stream yielded, then how it stopped: `Err` for a decode
/// error, `Ok` with what [`FrameDecoder::finish`] said about the leftover
/// bytes when the input ran out.
#[derive(Debug, PartialEq)]
struct Decoded {
    envelopes: Vec<Envelope>,
    end: Result<Result<(), ProtocolError>, ProtocolError>,
}

fn decode_stream(
    decoder: &FrameDecoder,
    data: &[u8],
    mut next_chunk: impl FnMut() -> usize,
) -> Decoded {
    let mut buf = BytesMut::new();
    let mut envelopes = Vec::new();
    let mut rest = data;
    loop {
        loop {
            let before = buf.len();
            match decoder.decode(&mut buf) {
                Ok(Some(envelope)) => {
                    assert!(
                        buf.len() < before,
                        "decode returned an envelope without consuming bytes"
                    );
                    envelopes.push(envelope);
                }
                Ok(None) => {
                    assert_eq!(buf.len(), before, "Ok(None) consumed bytes");
                    break;
                }
                Err(e) => {
                    return Decoded {
                        envelopes,
                        end: Err(e),
                    };
                }
            }
        }
        if rest.is_empty() {
            return Decoded {
                envelopes,
                end: Ok(decoder.finish(&buf)),
            };
        }
        let n = next_chunk().clamp(1, rest.len());
        buf.extend_from_slice(&rest[..n]);
        rest = &rest[n..];
    }
}

fn registry() -> &'static MessageRegistry {
    static REGISTRY: OnceLock<MessageRegistry> = OnceLock::new();
    REGISTRY.get_or_init(MessageRegistry::with_builtin)
}

/// A coarse fingerprint of an error: which kind of error, and its message
/// up to the first quoted value without digits (lengths, offsets), so that
/// inputs differing only in such details do not look new.
fn shape(error: &ProtocolError) -> u64 {
    let text = match error {
        // The kind is a registered one: a small set.
        ProtocolError::InvalidPayload { kind, reason, .. } => format!("{kind}: {reason}"),
        ProtocolError::UnknownType { .. } => "unknown type".into(),
        ProtocolError::TooNew { .. } => "too new".into(),
        ProtocolError::UnsupportedVersion { .. } => "unsupported version".into(),
        other => other.to_string(),
    };
    let kept: String = text
        .chars()
        .take_while(|c| !matches!(c, '"' | '`' | '\''))
        .filter(|c| !c.is_ascii_digit())
        .collect();
    fnv1a(kept.as_bytes())
}

/// Validates, re-encodes and re-decodes one decoded envelope; returns what
/// the registry said about it.
fn check_envelope(envelope: &Envelope) -> Result<(), ProtocolError> {
    let verdict = registry().validate(envelope);
    let valid = verdict.is_ok();
    check_typed::<Hello>(envelope, valid);
    check_typed::<Welcome>(envelope, valid);
    check_typed::<Subscribe>(envelope, valid);
    check_typed::<Unsubscribe>(envelope, valid);
    check_typed::<Heartbeat>(envelope, valid);
    check_typed::<PeerDown>(envelope, valid);
    check_typed::<ErrorReply>(envelope, valid);

    let mut frame = Vec::new();
    if let Err(e) = encode_frame(envelope, &mut frame) {
        panic!("a decoded envelope does not re-encode: {e}\n{envelope:?}");
    }
    let mut buf = BytesMut::from(&frame[..]);
    match FrameDecoder::new(usize::MAX).decode(&mut buf) {
        Ok(Some(again)) => assert_eq!(
            &again, envelope,
            "a re-encoded envelope decodes to a different one"
        ),
        other => panic!("a re-encoded envelope does not decode: {other:?}\n{envelope:?}"),
    }
    assert!(buf.is_empty(), "re-encoding left {} stray bytes", buf.len());
    // The slice reader must agree with the frame decoder's stream reader.
    assert_eq!(
        Envelope::decode(&frame[5..]).as_ref(),
        Ok(envelope),
        "Envelope::decode disagrees with FrameDecoder"
    );
    verdict
}

/// For an envelope of `M`'s kind and version: the registry accepts it
/// exactly when `M::from_envelope` does, and the typed message survives
/// being wrapped again. Both sides decode through the same function, so the
/// agreement check guards the wiring — that `with_builtin` registers `M`
/// at `M`'s kind and version — while the round trip exercises the codec.
fn check_typed<M: Message + PartialEq + Debug>(envelope: &Envelope, valid: bool) {
    if envelope.kind != M::KIND || envelope.version != M::VERSION {
        return;
    }
    match M::from_envelope(envelope) {
        Ok(message) => {
            assert!(valid, "{} reads a payload the registry rejects", M::KIND);
            let wrapped = message
                .to_envelope(envelope.subject.clone())
                .unwrap_or_else(|e| panic!("{} does not re-encode: {e}", M::KIND));
            if let Err(e) = registry().validate(&wrapped) {
                panic!("a valid {} is invalid once re-wrapped: {e}", M::KIND);
            }
            let back = M::from_envelope(&wrapped)
                .unwrap_or_else(|e| panic!("{} does not read back: {e}", M::KIND));
            assert_eq!(back, message, "{} changes in a round trip", M::KIND);
        }
        Err(_) => assert!(
            !valid,
            "the registry accepts a {} payload its type rejects",
            M::KIND
        ),
    }
}

/// Fixed id and time, so the seed corpus is the same on every build.
fn pinned(mut envelope: Envelope, id: u64) -> Envelope {
    envelope.id = id;
    envelope.timestamp_us = 1_700_000_000_000_000 + (id % 1_000_000) * 1_000;
    envelope
}

fn typed<M: Message>(message: &M, subject: &str, id: u64) -> Envelope {
    let envelope = message
        .to_envelope(subject)
        .unwrap_or_else(|e| panic!("seed {} does not encode: {e}", M::KIND));
    pinned(envelope, id)
}

fn frames(envelopes: &[Envelope]) -> Vec<u8> {
    let mut out = Vec::new();
    for envelope in envelopes {
        if let Err(e) = encode_frame(envelope, &mut out) {
            panic!("seed envelope does not encode: {e}");
        }
    }
    out
}

/// The seed inputs, named as their files under `corpus/frame_decoder/`:
/// valid frames of every builtin type with varied fields (headers,
/// reply-to, correlation, binary and empty payloads, unicode, extreme
/// integers), envelopes the registry rejects (unknown type, too-new version,
/// bad pattern), and multi-frame streams, one ending inside a frame.
pub fn seed_corpus() -> Vec<(&'static str, Vec<u8>)> {
    let ping = pinned(
        Envelope::new("msg", "svc.echo", &b"ping"[..])
            .from_sender("client-1")
            .reply_to("_inbox.client-1.1"),
        1,
    );
    let mut pong = pinned(ping.reply("msg", &b"pong"[..]), 2);
    pong.sender = "svc".into();
    let empty = pinned(Envelope::new("msg", "", Vec::new()), 0);
    let binary: Vec<u8> = (0..300u32).map(|i| (i * 7) as u8).collect();
    let binary = pinned(
        Envelope::new("msg", "données.ü.*", binary)
            .from_sender("пир")
            .with_header("content-type", "application/octet-stream")
            .with_header("ключ", "värde")
            .with_header("", ""),
        u64::MAX,
    );
    let subscribe = typed(
        &Subscribe {
            sid: 7,
            pattern: "exec.*.>".into(),
            queue: Some("workers".into()),
        },
        "bus",
        3,
    )
    .with_header("trace", "abc123");
    let bad_pattern = typed(
        &Subscribe {
            sid: u64::MAX,
            pattern: "a.>.b".into(),
            queue: None,
        },
        "bus",
        4,
    );
    let hello = typed(
        &Hello {
            peer: "peer-a".into(),
            shared_memory: true,
        },
        "bus",
        5,
    );
    let mut heartbeat = typed(
        &Heartbeat {
            seq: u64::MAX,
            dropped: 0,
        },
        "bus",
        6,
    );
    heartbeat.correlation = Some(42);
    let welcome = typed(
        &Welcome {
            server: "symphony".into(),
            heartbeat_ms: 500,
            timeout_ms: u32::MAX,
            shared_memory: Some("/symphony-shm-1".into()),
        },
        "peer-a",
        12,
    );
    let unsubscribe = typed(&Unsubscribe { sid: 7 }, "bus", 7);
    let peer_down = typed(
        &PeerDown {
            peer: "peer-a".into(),
            reason: "heartbeat missed".into(),
        },
        "bus.peer.down",
        8,
    );
    let error = typed(
        &ErrorReply {
            message: "unknown message type 'x'".into(),
        },
        "peer-a",
        9,
    );
    let too_new = pinned(
        Envelope::new("msg", "svc.echo", &b"v9"[..]).with_version(u16::MAX),
        10,
    );
    let unknown = pinned(Envelope::new("no.such.type", "x", vec![0xc1]), 11);
    let beats: Vec<Envelope> = (0..4)
        .map(|seq| typed(&Heartbeat { seq, dropped: 0 }, "bus", 20 + seq))
        .collect();

    let mut partial = frames(std::slice::from_ref(&ping));
    let cut = frames(std::slice::from_ref(&subscribe));
    partial.extend_from_slice(&cut[..cut.len() / 2]);

    vec![
        ("seed-msg-request", frames(std::slice::from_ref(&ping))),
        ("seed-msg-empty", frames(&[empty])),
        ("seed-msg-binary-headers", frames(&[binary])),
        ("seed-subscribe", frames(std::slice::from_ref(&subscribe))),
        ("seed-subscribe-bad-pattern", frames(&[bad_pattern])),
        ("seed-hello", frames(std::slice::from_ref(&hello))),
        ("seed-welcome", frames(std::slice::from_ref(&welcome))),
        ("seed-heartbeat", frames(&[heartbeat])),
        ("seed-unsubscribe", frames(&[unsubscribe])),
        ("seed-peer-down", frames(&[peer_down])),
        ("seed-error", frames(&[error])),
        ("seed-too-new-and-unknown", frames(&[too_new, unknown])),
        (
            "seed-stream-session",
            frames(&[hello, welcome, subscribe, ping, pong]),
        ),
        ("seed-stream-heartbeats", frames(&beats)),
        ("seed-stream-partial", partial),
    ]
}

/// 16- and 32-bit values worth trying as msgpack lengths.
const INTERESTING_WORDS: &[u32] = &[
    0,
    1,
    0x7f,
    0x80,
    0xff,
    0x100,
    0x7fff,
    0x8000,
    0xffff,
    0x1_0000,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
];

/// Offsets of the length fields of the frames `data` starts with.
fn frame_starts(data: &[u8]) -> Vec<usize> {
    let mut starts = Vec::new();
    let mut at = 0usize;
    while at + 4 <= data.len() {
        starts.push(at);
        let len = u32::from_be_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]]);
        at = at.saturating_add(4).saturating_add(len as usize);
    }
    starts
}

/// A mutation that knows the framing: rewrites a frame's length field or
/// protocol version byte, or writes a msgpack-sized length somewhere.
fn mutate_frames(rng: &mut Rng, data: &mut Vec<u8>) -> bool {
    let len = data.len();
    match rng.below(4) {
        // Rewrite a frame's length field.
        0 | 1 => {
            if data.len() < 4 {
                data.resize(4, 0);
            }
            let starts = frame_starts(data);
            let at = if starts.is_empty() || rng.below(8) == 0 {
                rng.below(data.len() - 3)
            } else {
                starts[rng.below(starts.len())]
            };
            let old = u32::from_be_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]]);
            let fits = (data.len() - at - 4) as u32;
            let new = match rng.below(10) {
                0 => 0,
                1 => u32::MAX,
                2 => DEFAULT_MAX_FRAME as u32,
                3 => DEFAULT_MAX_FRAME as u32 + 1,
                4 => old.wrapping_add(1),
                5 => old.wrapping_sub(1),
                6 => fits,
                7 => old.wrapping_add(rng.below(32) as u32),
                8 => 1 + rng.below(8) as u32,
                _ => rng.next_u64() as u32,
            };
            data[at..at + 4].copy_from_slice(&new.to_be_bytes());
            true
        }
        // Rewrite a frame's protocol version byte.
        2 => {
            let starts = frame_starts(data);
            match starts.get(rng.below(starts.len().max(1))) {
                Some(&at) if at + 4 < data.len() => {
                    data[at + 4] = match rng.below(3) {
                        0 => PROTOCOL_VERSION.wrapping_add(1),
                        1 => 0,
                        _ => rng.next_u64() as u8,
                    };
                    true
                }
                _ => false,
            }
        }
        // Write a 16- or 32-bit big-endian interesting value (msgpack lengths).
        _ if len >= 4 => {
            let word = INTERESTING_WORDS[rng.below(INTERESTING_WORDS.len())];
            if rng.below(2) == 0 {
                let at = rng.below(len - 1);
                data[at..at + 2].copy_from_slice(&(word as u16).to_be_bytes());
            } else {
                let at = rng.below(len - 3);
                data[at..at + 4].copy_from_slice(&word.to_be_bytes());
            }
            true
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests;
