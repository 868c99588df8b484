use super::*;

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
        fuzz(&bytes);
    }
    // The bad pattern, the too-new and the unknown envelopes are invalid.
    assert_eq!(total - valid, 3);
}

#[test]
fn framing_mutations_stay_in_bounds() {
    let mut rng = Rng::new(11);
    for (_, seed) in seed_corpus() {
        for _ in 0..200 {
            let mut data = seed.clone();
            mutate_frames(&mut rng, &mut data);
            assert!(data.len() >= seed.len().min(4));
        }
    }
    let mut empty = Vec::new();
    assert!(mutate_frames(&mut Rng::new(0), &mut empty) || empty.is_empty());
}
