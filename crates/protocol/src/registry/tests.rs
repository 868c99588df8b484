use proptest::prelude::*;

use super::*;

#[test]
fn versions_newer_older_and_payload_mismatches_are_told_apart() {
    let mut registry = MessageRegistry::with_builtin();
    registry.register_with("custom", 2, accept_any);
    registry.register_with("custom", 3, accept_any);
    let err = registry
        .validate(&Envelope::new("custom", "x", vec![]).with_version(4))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "message type 'custom' version 4 is newer than this peer supports (up to 3)"
    );
    let err = registry
        .validate(&Envelope::new("custom", "x", vec![]).with_version(1))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "message type 'custom' version 1 is not supported (supported: 2, 3)"
    );
    let err = registry
        .validate(&Envelope::new("bus.heartbeat", "x", vec![0xc1]))
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("'bus.heartbeat' v1 payload is invalid:"),
        "{err}"
    );
}

fn round_trip<M: Message + PartialEq + std::fmt::Debug>(message: M) -> Result<(), TestCaseError> {
    let registry = MessageRegistry::with_builtin();
    let envelope = message.to_envelope("subject.x").unwrap();
    let bytes = envelope.encode().unwrap();
    let decoded = Envelope::decode(&bytes).unwrap();
    prop_assert_eq!(&decoded, &envelope);
    let valid = registry.validate(&decoded);
    let checked = message.check();
    prop_assert_eq!(valid.is_ok(), checked.is_ok());
    if checked.is_ok() {
        prop_assert_eq!(M::from_envelope(&decoded).unwrap(), message);
    }
    Ok(())
}

proptest! {
    #[test]
    fn every_builtin_type_round_trips(
        peer in ".{0,20}", sid in any::<u64>(), seq in any::<u64>(),
        pattern in "[a-z*>]{1,4}(\\.[a-z*>]{1,4}){0,3}", queue in proptest::option::of("[a-z]{1,8}"),
    ) {
        round_trip(Hello { peer: peer.clone(), shared_memory: seq % 2 == 0 })?;
        round_trip(Welcome {
            server: peer.clone(), heartbeat_ms: (seq % 50) as u32, timeout_ms: (sid % 200) as u32,
            shared_memory: queue.clone(),
        })?;
        round_trip(Subscribe { sid, pattern, queue })?;
        round_trip(Unsubscribe { sid })?;
        round_trip(Heartbeat { seq, dropped: seq / 2 })?;
        round_trip(PeerDown { peer: peer.clone(), reason: "heartbeat missed".into() })?;
        round_trip(ErrorReply { message: peer })?;
    }

    #[test]
    fn envelopes_round_trip_through_msgpack(
        id in any::<u64>(), version in any::<u16>(), ts in any::<u64>(), correlation in any::<Option<u64>>(),
        subject in ".{0,30}", headers in proptest::collection::vec((".{0,8}", ".{0,8}"), 0..4),
        payload in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        let envelope = Envelope {
            id, kind: MSG.into(), version, timestamp_us: ts, correlation, sender: "p".into(),
            subject: subject.into(), reply_to: None,
            headers: headers.into_iter().map(|(k, v)| (k.into(), v.into())).collect(),
            payload: payload.into(),
        };
        prop_assert_eq!(Envelope::decode(&envelope.encode().unwrap()).unwrap(), envelope);
    }
}
