//! Fuzz targets for Symphony's protocol crate.
//!
//! [`frame_decoder`] is the body of the `frame_decoder` cargo-fuzz target
//! (`fuzz_targets/frame_decoder.rs`, nightly only). [`smoke`] runs the same
//! body on the stable toolchain under a small deterministic mutational
//! fuzzer that starts from [`seed_corpus`], so the project's test command
//! exercises the target for a few seconds without libFuzzer.

use std::collections::HashSet;
use std::fmt::Debug;
use std::panic::{self, AssertUnwindSafe};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use symphony_protocol::frame::{DEFAULT_MAX_FRAME, PROTOCOL_VERSION};
use symphony_protocol::messages::{
    ErrorReply, Heartbeat, Hello, PeerDown, Subscribe, Unsubscribe, Welcome,
};
use symphony_protocol::{
    Envelope, FrameDecoder, Message, MessageRegistry, ProtocolError, encode_frame,
};

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
pub fn frame_decoder(data: &[u8]) {
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
    let mut heartbeat = typed(&Heartbeat { seq: u64::MAX }, "bus", 6);
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
        .map(|seq| typed(&Heartbeat { seq }, "bus", 20 + seq))
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

/// What a [`smoke`] run did.
#[derive(Debug, Clone)]
pub struct SmokeReport {
    /// Inputs run through [`frame_decoder`].
    pub runs: u64,
    /// Wall-clock time the run took.
    pub elapsed: Duration,
    /// The seed the mutations were drawn from; the same seed replays the
    /// same inputs.
    pub seed: u64,
    /// Envelopes decoded, over all runs.
    pub envelopes: u64,
    /// Decoded envelopes the registry accepted, over all runs.
    pub valid_envelopes: u64,
    /// Runs whose stream stopped at a decode error.
    pub errors: u64,
    /// Inputs in the corpus at the end: the seeds plus the mutants kept
    /// because they reached a new outcome.
    pub corpus: usize,
}

/// Largest input the smoke fuzzer builds; libFuzzer's default is 4 KiB.
const MAX_INPUT: usize = 16 << 10;
/// Largest corpus the smoke fuzzer keeps.
const MAX_CORPUS: usize = 1024;

/// Runs [`frame_decoder`] on the seed corpus, then on mutants of it, until
/// `duration` has passed (the seeds always run). Deterministic for a given
/// `seed`, apart from how many inputs fit in the time.
///
/// # Panics
///
/// When the target panics: the message names the input in hex, the seed
/// and the run number.
pub fn smoke(duration: Duration, seed: u64) -> SmokeReport {
    let start = Instant::now();
    let mut rng = Rng::new(seed);
    let mut corpus: Vec<Vec<u8>> = seed_corpus().into_iter().map(|(_, b)| b).collect();
    let seeds = corpus.len();
    let mut seen = HashSet::new();
    let mut report = SmokeReport {
        runs: 0,
        elapsed: Duration::ZERO,
        seed,
        envelopes: 0,
        valid_envelopes: 0,
        errors: 0,
        corpus: 0,
    };
    loop {
        let runs = report.runs as usize;
        if runs >= seeds && start.elapsed() >= duration {
            break;
        }
        let input = if runs < seeds {
            corpus[runs].clone()
        } else {
            mutate(&mut rng, &corpus)
        };
        let stats = match panic::catch_unwind(AssertUnwindSafe(|| run_frame_decoder(&input))) {
            Ok(stats) => stats,
            Err(payload) => {
                let message = payload
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| payload.downcast_ref::<&str>().copied())
                    .unwrap_or("(non-string panic payload)");
                panic!(
                    "fuzz smoke: frame_decoder panicked (seed {seed}, run {runs}) on a {}-byte input: {message}\ninput hex: {}",
                    input.len(),
                    hex(&input)
                );
            }
        };
        report.runs += 1;
        report.envelopes += stats.envelopes as u64;
        report.valid_envelopes += stats.valid as u64;
        report.errors += u64::from(stats.error);
        let mut new = false;
        for feature in stats.features {
            new |= seen.insert(feature);
        }
        if new && runs >= seeds {
            if corpus.len() < MAX_CORPUS {
                corpus.push(input);
            } else {
                let slot = seeds + rng.below(MAX_CORPUS - seeds);
                corpus[slot] = input;
            }
        }
    }
    report.elapsed = start.elapsed();
    report.corpus = corpus.len();
    report
}

/// Bytes worth trying: msgpack markers (nil, the never-used 0xc1, bool,
/// bin/str/array/map/ext headers, fixint edges) and integer edges.
const INTERESTING_BYTES: &[u8] = &[
    0x00, 0x01, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6,
    0xc7, 0xc9, 0xcc, 0xcd, 0xce, 0xcf, 0xd0, 0xd3, 0xd4, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde,
    0xdf, 0xe0, 0xfe, 0xff,
];

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

fn mutate(rng: &mut Rng, corpus: &[Vec<u8>]) -> Vec<u8> {
    let mut data = corpus[rng.below(corpus.len())].clone();
    for _ in 0..1 + rng.below(4) {
        mutate_once(rng, corpus, &mut data);
    }
    data.truncate(MAX_INPUT);
    data
}

fn mutate_once(rng: &mut Rng, corpus: &[Vec<u8>], data: &mut Vec<u8>) {
    let len = data.len();
    match rng.below(12) {
        // Flip one bit.
        0 if len > 0 => data[rng.below(len)] ^= 1 << rng.below(8),
        // Set a byte to an interesting value.
        1 | 2 if len > 0 => {
            data[rng.below(len)] = INTERESTING_BYTES[rng.below(INTERESTING_BYTES.len())];
        }
        // A random byte.
        3 if len > 0 => data[rng.below(len)] = rng.next_u64() as u8,
        // Truncate.
        4 if len > 0 => data.truncate(rng.below(len)),
        // Rewrite a frame's length field.
        5 | 6 => {
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
        }
        // Rewrite a frame's protocol version byte.
        7 => {
            let starts = frame_starts(data);
            if let Some(&at) = starts.get(rng.below(starts.len().max(1)))
                && at + 4 < data.len()
            {
                data[at + 4] = match rng.below(3) {
                    0 => PROTOCOL_VERSION.wrapping_add(1),
                    1 => 0,
                    _ => rng.next_u64() as u8,
                };
            }
        }
        // Splice: the front of this input, the back of another.
        8 => {
            let other = &corpus[rng.below(corpus.len())];
            let keep = rng.below(len + 1);
            let from = rng.below(other.len() + 1);
            data.truncate(keep);
            data.extend_from_slice(&other[from..]);
        }
        // Insert random bytes.
        9 => {
            let at = rng.below(len + 1);
            let count = 1 + rng.below(8);
            let bytes: Vec<u8> = (0..count).map(|_| rng.next_u64() as u8).collect();
            data.splice(at..at, bytes);
        }
        // Write a 16- or 32-bit big-endian interesting value (msgpack lengths).
        10 if len >= 4 => {
            let word = INTERESTING_WORDS[rng.below(INTERESTING_WORDS.len())];
            if rng.below(2) == 0 {
                let at = rng.below(len - 1);
                data[at..at + 2].copy_from_slice(&(word as u16).to_be_bytes());
            } else {
                let at = rng.below(len - 3);
                data[at..at + 4].copy_from_slice(&word.to_be_bytes());
            }
        }
        // Delete or duplicate a range.
        _ if len > 0 => {
            let from = rng.below(len);
            let to = from + 1 + rng.below((len - from).min(64));
            if rng.below(2) == 0 {
                data.drain(from..to);
            } else {
                let copy = data[from..to].to_vec();
                let at = rng.below(len + 1);
                data.splice(at..at, copy);
            }
        }
        // Empty input: start from some random bytes.
        _ => data.extend((0..1 + rng.below(16)).map(|_| rng.next_u64() as u8)),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// xorshift64*: small, fast and good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        // Scramble so nearby seeds diverge; the state must not be zero.
        let state = (seed ^ 0x9e37_79b9_7f4a_7c15).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        Rng(if state == 0 { 1 } else { state })
    }

    fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform-ish in `0..n`; 0 when `n` is 0.
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::path::Path;

    use super::*;

    #[test]
    fn smoke_runs_for_a_second_without_a_crash() {
        let report = smoke(Duration::from_secs(1), 0x5eed);
        assert!(report.runs > seed_corpus().len() as u64, "{report:?}");
        assert!(
            report.envelopes > 0 && report.valid_envelopes > 0,
            "{report:?}"
        );
        assert!(report.errors > 0, "{report:?}");
    }

    #[test]
    fn seeds_decode_and_mostly_validate() {
        let decoder = FrameDecoder::default();
        let mut valid = 0;
        let mut total = 0;
        for (name, bytes) in seed_corpus() {
            let decoded = decode_stream(&decoder, &bytes, || usize::MAX);
            assert!(!decoded.envelopes.is_empty(), "{name}");
            if name == "seed-stream-partial" {
                assert!(
                    matches!(decoded.end, Ok(Err(ProtocolError::Truncated { .. }))),
                    "{name}: {:?}",
                    decoded.end
                );
            } else {
                assert_eq!(decoded.end, Ok(Ok(())), "{name}");
            }
            for envelope in &decoded.envelopes {
                total += 1;
                valid += usize::from(registry().validate(envelope).is_ok());
            }
            frame_decoder(&bytes);
        }
        // The bad pattern, the too-new and the unknown envelopes are invalid.
        assert_eq!(total - valid, 3);
    }

    #[test]
    fn mutations_stay_bounded_and_replay() {
        let corpus: Vec<Vec<u8>> = seed_corpus().into_iter().map(|(_, b)| b).collect();
        let (mut a, mut b) = (Rng::new(1), Rng::new(1));
        for _ in 0..2000 {
            let input = mutate(&mut a, &corpus);
            assert!(input.len() <= MAX_INPUT);
            assert_eq!(input, mutate(&mut b, &corpus));
        }
    }

    /// The seed files libFuzzer starts from are the in-code corpus. Set
    /// `SYMPHONY_FUZZ_BLESS=1` to (re)write them.
    #[test]
    fn corpus_files_match_the_seed_corpus() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/frame_decoder");
        let bless = std::env::var_os("SYMPHONY_FUZZ_BLESS").is_some();
        if bless {
            fs::create_dir_all(&dir).unwrap();
        }
        for (name, bytes) in seed_corpus() {
            let path = dir.join(name);
            if bless {
                fs::write(&path, &bytes).unwrap();
            } else {
                assert!(
                    fs::read(&path).ok().as_ref() == Some(&bytes),
                    "{} is missing or stale: rerun with SYMPHONY_FUZZ_BLESS=1",
                    path.display()
                );
            }
        }
    }
}
