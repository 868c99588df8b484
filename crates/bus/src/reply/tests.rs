use super::*;
use crate::{Bus, BusError};

const T: Duration = Duration::from_secs(5);

fn echo(bus: &Bus, subject: &str, delay: Duration) -> std::thread::JoinHandle<usize> {
    let responder = bus.endpoint("echo");
    let requests = responder.subscribe(subject).unwrap();
    std::thread::spawn(move || {
        let mut answered = 0;
        while let Ok(request) = requests.recv(Duration::from_millis(300)) {
            std::thread::sleep(delay);
            answered += responder.reply(&request, request.payload.clone()) as usize;
        }
        answered
    })
}

#[test]
fn a_reply_wakes_a_requester_that_went_to_sleep() {
    let bus = Bus::new();
    // Long enough that the requester stops polling and parks.
    let responder = echo(&bus, "svc.slow", Duration::from_millis(30));
    for n in 0..3u8 {
        let reply = bus.request("svc.slow", vec![n], T).unwrap();
        assert_eq!(&reply.payload[..], [n]);
    }
    assert!(bus.inner.replies.lock().is_empty(), "nothing left waiting");
    assert_eq!(responder.join().unwrap(), 3);
}

#[test]
fn many_threads_each_get_their_own_replies() {
    let bus = Bus::new();
    let responder = echo(&bus, "svc.echo", Duration::ZERO);
    let requesters: Vec<_> = (0..4u8)
        .map(|t| {
            let bus = bus.endpoint(&format!("r{t}"));
            std::thread::spawn(move || {
                for n in 0..500u16 {
                    let body = [t, (n >> 8) as u8, n as u8];
                    let reply = bus.request("svc.echo", body.to_vec(), T).unwrap();
                    assert_eq!(&reply.payload[..], body);
                }
            })
        })
        .collect();
    for requester in requesters {
        requester.join().unwrap();
    }
    assert_eq!(responder.join().unwrap(), 2000);
}

#[test]
fn a_late_reply_finds_nobody_and_is_not_delivered() {
    let bus = Bus::new();
    let requests = bus.subscribe("svc.late").unwrap();
    let err = bus
        .request("svc.late", &b"x"[..], Duration::from_millis(10))
        .unwrap_err();
    assert!(matches!(err, BusError::Timeout { .. }));
    let request = requests.recv(T).unwrap();
    assert!(!bus.has_subscribers(request.reply_to.as_deref().unwrap()));
    assert!(!bus.reply(&request, &b"too late"[..]));
    assert!(bus.inner.replies.lock().is_empty());
}

#[test]
fn only_the_inbox_handed_out_is_claimed() {
    let replies = Replies::default();
    let name: Arc<str> = "alice".into();
    let mut ticket = replies.expect(&name);
    let inbox = ticket.inbox();
    let number = inbox.rsplit('.').next().unwrap();
    // Another endpoint's inbox with the same number, junk, a prefix.
    for subject in [
        format!("_inbox.mallory.{number}"),
        "_inbox.alice.x".to_string(),
        "_inbox.alice".to_string(),
        format!("_inbox.alice.{number}0"),
    ] {
        assert!(replies.claim(&subject).is_none(), "{subject}");
    }
    assert!(replies.is_waiting(&inbox));
    let claim = replies.claim(&inbox).expect("its own inbox");
    assert!(replies.claim(&inbox).is_none(), "only the first reply");
    assert!(claim.give(Envelope::new("msg", inbox.clone(), &b"hi"[..])));
    assert_eq!(&ticket.wait(T).unwrap().payload[..], b"hi");
}

#[test]
fn a_subscriber_on_every_inbox_still_sees_replies() {
    let bus = Bus::new();
    let watcher = bus.subscribe("_inbox.>").unwrap();
    let responder = echo(&bus, "svc.echo", Duration::ZERO);
    let reply = bus.request("svc.echo", &b"seen"[..], T).unwrap();
    assert_eq!(&reply.payload[..], b"seen");
    let copy = watcher.recv(T).unwrap();
    assert_eq!(
        (copy.subject.as_str(), &copy.payload[..]),
        (reply.subject.as_str(), &b"seen"[..])
    );
    responder.join().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_async_request_gets_its_reply_and_a_dropped_one_is_forgotten() {
    let bus = Bus::new();
    let responder = echo(&bus, "svc.echo", Duration::ZERO);
    let reply = bus.request_async("svc.echo", &b"a"[..], T).await.unwrap();
    assert_eq!(&reply.payload[..], b"a");

    let _silent = bus.subscribe("svc.silent").unwrap();
    let pending = bus.request_async("svc.silent", &b"b"[..], T);
    // Dropped before any reply: cancelled, nothing left behind.
    assert!(
        tokio::time::timeout(Duration::from_millis(20), pending)
            .await
            .is_err()
    );
    assert!(bus.inner.replies.lock().is_empty());
    drop(_silent);
    responder.join().unwrap();
}
