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
fn pretty_json_decodes_msgpack_payloads() {
    let payload = rmp_serde::to_vec(&json!({"n": 1})).unwrap();
    let text = Envelope::new("msg", "x", payload).to_json_pretty();
    assert!(text.contains("\"n\": 1"), "{text}");
    let text = Envelope::new("msg", "x", vec![0xc1, 0xff]).to_json_pretty();
    assert!(
        text.contains("\"bytes\": 2") && text.contains("c1ff"),
        "{text}"
    );
}

#[test]
fn text_payloads_are_not_mistaken_for_msgpack() {
    let json = Envelope::new("msg", "x", &b"first"[..]).to_json();
    assert_eq!(json["payload"], "first");
}

#[test]
fn decode_of_garbage_is_an_error() {
    assert!(matches!(
        Envelope::decode(&[0xc1]),
        Err(ProtocolError::Malformed(_))
    ));
    assert!(Envelope::decode(&[]).is_err());
}
