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
