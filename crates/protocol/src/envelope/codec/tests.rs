use proptest::prelude::*;

use super::*;

/// Text of every length class msgpack has (fixstr, str8, str16).
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z._>*]{0,31}",
        "[a-zé ]{32,300}",
        Just("x".repeat(70_000)),
    ]
}

/// Integers at every width's edges and between.
fn number() -> impl Strategy<Value = u64> {
    prop_oneof![
        0u64..=0x80,
        prop::sample::select(vec![
            0x7f,
            0x80,
            0xff,
            0x100,
            0xffff,
            0x1_0000,
            0xffff_ffff,
            0x1_0000_0000,
            u64::MAX
        ]),
        any::<u64>(),
    ]
}

fn envelope() -> impl Strategy<Value = Envelope> {
    (
        (
            number(),
            text(),
            any::<u16>(),
            number(),
            prop::option::of(number()),
        ),
        (text(), text(), prop::option::of(text())),
        prop::collection::vec((text(), text()), 0..20),
        prop_oneof![
            prop::collection::vec(any::<u8>(), 0..300),
            Just(vec![9; 70_000]),
        ],
    )
        .prop_map(
            |(
                (id, kind, version, timestamp_us, correlation),
                (sender, subject, reply_to),
                headers,
                payload,
            )| {
                Envelope {
                    id,
                    kind: kind.into(),
                    version,
                    timestamp_us,
                    correlation,
                    sender: sender.into(),
                    subject: subject.into(),
                    reply_to: reply_to.map(Into::into),
                    headers: headers
                        .into_iter()
                        .map(|(k, v)| (k.into(), v.into()))
                        .collect(),
                    payload: payload.into(),
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn encodes_the_bytes_rmp_serde_writes(envelope in envelope()) {
        let mut ours = Vec::new();
        encode(&envelope, None, &mut ours).unwrap();
        prop_assert_eq!(&ours, &rmp_serde::to_vec(&envelope).unwrap());
        let (decoded, used) = decode(&ours).unwrap();
        prop_assert_eq!(used, ours.len());
        prop_assert_eq!(decoded, envelope);
    }

    #[test]
    fn decoding_in_place_reads_what_decoding_a_copy_reads(
        envelope in envelope(),
        prefix in prop::collection::vec(any::<u8>(), 0..8),
    ) {
        let mut frame = prefix.clone();
        encode(&envelope, None, &mut frame).unwrap();
        let frame = Bytes::from(frame);
        let (shared, taken, used) = decode_shared(&frame, prefix.len(), None).unwrap();
        prop_assert_eq!(taken, None);
        prop_assert_eq!((&shared, used), (&decode(&frame[prefix.len()..]).unwrap().0, frame.len() - prefix.len()));
        prop_assert_eq!(shared, envelope);
    }

    /// What a bus client does with the subscription id the server writes
    /// in place of any the message had: it comes back beside the
    /// envelope, every other header stays, in order.
    #[test]
    fn a_taken_header_comes_back_beside_the_envelope(envelope in envelope(), sid in any::<u64>()) {
        let mut frame = Vec::new();
        encode(&envelope, Some(("sid", &sid.to_string())), &mut frame).unwrap();
        let frame = Bytes::from(frame);
        let (decoded, taken, used) = decode_shared(&frame, 0, Some("sid")).unwrap();
        prop_assert_eq!(used, frame.len());
        let mut expected = envelope.clone();
        expected.headers.retain(|(name, _)| name != "sid");
        prop_assert_eq!(taken, Some(sid));
        prop_assert_eq!(decoded, expected);
    }

    #[test]
    fn an_extra_header_encodes_as_if_it_replaced_those_of_its_name(
        envelope in envelope(),
        name in "[a-z]{0,8}",
        value in "[0-9]{0,20}",
    ) {
        let mut ours = Vec::new();
        encode(&envelope, Some((&name, &value)), &mut ours).unwrap();
        let mut pushed = envelope.clone();
        pushed.headers.retain(|(own, _)| *own != name);
        pushed.headers.push((name.into(), value.into()));
        prop_assert_eq!(&ours, &rmp_serde::to_vec(&pushed).unwrap());
    }

    #[test]
    fn accepts_nothing_rmp_serde_reads_differently(
        envelope in envelope(),
        cut in any::<prop::sample::Index>(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
    ) {
        let mut bytes = rmp_serde::to_vec(&envelope).unwrap();
        for (at, value) in flips {
            let at = at.index(bytes.len());
            bytes[at] = value;
        }
        bytes.truncate(cut.index(bytes.len() + 1));
        if let Some((ours, used)) = decode(&bytes) {
            let mut reader = std::io::Cursor::new(&bytes[..]);
            let theirs: Envelope = rmp_serde::from_read(&mut reader).unwrap();
            prop_assert_eq!(ours, theirs);
            prop_assert_eq!(used, reader.position() as usize);
        }
    }
}

#[test]
fn other_layouts_are_left_to_rmp_serde() {
    let mut envelope = Envelope::new("msg", "a.b", &b"hi"[..]).with_header("k", "v");
    envelope.id = 5;
    // Field names (a map), as an encoder configured so would write.
    let named = rmp_serde::to_vec_named(&envelope).unwrap();
    assert!(decode(&named).is_none());
    assert_eq!(Envelope::decode(&named).unwrap(), envelope);
    // An id as a signed integer (an encoder that knows no unsigned ones).
    let mut signed = rmp_serde::to_vec(&envelope).unwrap();
    assert_eq!(signed[1], 5, "a small id is a fixint");
    signed.splice(1..2, [0xd3, 0, 0, 0, 0, 0, 0, 0, 5]);
    assert!(decode(&signed).is_none());
    assert_eq!(Envelope::decode(&signed).unwrap(), envelope);
    // One in a wider unsigned form than it needs reads the same either way.
    let mut wide = rmp_serde::to_vec(&envelope).unwrap();
    wide.splice(1..2, [0xcf, 0, 0, 0, 0, 0, 0, 0, 5]);
    assert_eq!(decode(&wide).unwrap().0, envelope);
}

#[test]
fn a_claimed_length_past_the_input_is_refused_without_allocating_it() {
    let mut bytes = rmp_serde::to_vec(&Envelope::new("msg", "a", Bytes::new())).unwrap();
    // Replace the empty payload (bin8, length 0) by one claiming 4 GiB.
    bytes.truncate(bytes.len() - 2);
    bytes.extend_from_slice(&[0xc6, 0xff, 0xff, 0xff, 0xff]);
    assert!(decode(&bytes).is_none());
    let error = Envelope::decode(&bytes).unwrap_err().to_string();
    assert!(!error.is_empty());
}
