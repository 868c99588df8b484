use super::*;

#[test]
fn replies_are_correlated_and_addressed_to_reply_to() {
    let request = Envelope::new("msg", "svc.echo", &b"ping"[..])
        .from_sender("a")
        .reply_to("_inbox.a.1");
    let reply = request.reply("msg", &b"pong"[..]);
    assert_eq!(reply.correlation, Some(request.id));
    assert_eq!(reply.subject, "_inbox.a.1");
    assert_ne!(reply.id, request.id);
}

#[test]
fn payloads_are_shown_as_they_are() {
    let msgpack = rmp_serde::to_vec_named(&json!({"n": 1})).unwrap();
    // A typed message holds msgpack: decoded.
    let typed = Envelope::new("bus.heartbeat", "x", msgpack.clone()).to_json();
    assert_eq!(typed["payload"], json!({"n": 1}));
    // Application bytes are decoded only when the message says how.
    let plain = Envelope::new("msg", "x", msgpack.clone()).to_json();
    assert!(plain["payload"]["base64"].is_string(), "{plain}");
    let said = Envelope::new("msg", "x", msgpack)
        .with_header(CONTENT_TYPE_HEADER, "application/msgpack")
        .to_json();
    assert_eq!(said["payload"], json!({"n": 1}));
    let binary = Envelope::new("msg", "x", vec![0xc1, 0xff]).to_json();
    assert_eq!(binary["payload"], json!({"base64": "wf8="}));
    let json_text = Envelope::new("msg", "x", &br#"{"a":1}"#[..]).to_json();
    assert_eq!(json_text["payload"], r#"{"a":1}"#);
}

#[test]
fn text_payloads_are_not_mistaken_for_msgpack() {
    // `x` is also the msgpack number 120.
    for text in ["first", "x"] {
        let json = Envelope::new("msg", "x", text.as_bytes().to_vec()).to_json();
        assert_eq!(json["payload"], text);
    }
}

#[test]
fn decode_of_garbage_is_an_error() {
    assert!(matches!(
        Envelope::decode(&[0xc1]),
        Err(ProtocolError::Malformed(_))
    ));
    assert!(Envelope::decode(&[]).is_err());
}

#[test]
fn ids_are_unique_across_threads_past_their_blocks() {
    let per_thread = 3 * ID_BLOCK as usize + 7;
    let threads: Vec<_> = (0..4)
        .map(|_| {
            std::thread::spawn(move || {
                (0..per_thread)
                    .map(|_| Envelope::new("msg", "a", &b""[..]).id)
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut ids: Vec<u64> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    let all = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), all, "no id given twice");
    assert!(!ids.contains(&0), "0 is never an id");
}

/// An envelope another msgpack encoder wrote as a map of field names (read
/// by `rmp_serde`, not the fast path) gives up a taken header the same way.
#[test]
fn a_header_is_taken_from_an_envelope_in_any_encoding() {
    let envelope = Envelope::new("msg", "a.b", &b"x"[..])
        .with_header("trace", "t-1")
        .with_header("sid", "42");
    let named = bytes::Bytes::from(rmp_serde::to_vec_named(&envelope).unwrap());
    let (decoded, taken, used) = decode_envelope_shared(&named, 0, Some("sid")).unwrap();
    assert_eq!((taken, used), (Some(42), named.len()));
    assert_eq!(decoded.headers, vec![("trace".into(), "t-1".into())]);
}
