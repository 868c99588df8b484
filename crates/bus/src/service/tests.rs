use std::time::Duration;

use super::*;

#[test]
fn a_handler_answers_requests_in_place_and_stops_when_dropped() {
    let bus = Bus::new();
    let service = bus
        .endpoint("upper")
        .serve("svc.>", |r| Some(r.payload.to_ascii_uppercase().into()))
        .unwrap();
    let reply = bus
        .request("svc.a", &b"abc"[..], Duration::from_secs(1))
        .unwrap();
    assert_eq!(
        (&reply.payload[..], reply.sender.as_str()),
        (&b"ABC"[..], "upper")
    );
    drop(service);
    assert!(matches!(
        bus.request("svc.a", &b""[..], Duration::from_secs(1)),
        Err(BusError::NoResponders { .. })
    ));
}

#[test]
fn an_unlimited_timeout_does_not_overflow_the_clock() {
    let bus = Bus::new();
    let _echo = bus.serve("echo", |r| Some(r.payload.clone())).unwrap();
    let reply = bus.request("echo", &b"x"[..], Duration::MAX).unwrap();
    assert_eq!(&reply.payload[..], b"x");
    let sub = bus.subscribe("later").unwrap();
    bus.publish("later", &b"y"[..]).unwrap();
    assert_eq!(&sub.recv(Duration::MAX).unwrap().payload[..], b"y");
}

#[test]
fn a_panicking_handler_drops_the_message_and_is_counted() {
    let bus = Bus::new();
    let _service = bus.serve("boom", |_| panic!("handler bug")).unwrap();
    assert_eq!(bus.publish("boom", &b""[..]).unwrap(), 0);
    let stats = bus.stats();
    assert_eq!(stats.subscriptions[0].dropped, 1);
}
