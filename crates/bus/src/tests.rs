use super::*;

const T: Duration = Duration::from_secs(5);

/// Options that join queue group `name`.
fn in_group(name: &str) -> SubscribeOptions {
    SubscribeOptions {
        queue_group: Some(name.into()),
        ..Default::default()
    }
}

#[test]
fn wildcard_and_exact_subscribers_each_get_a_copy() {
    let bus = Bus::new();
    let exact = bus.subscribe("exec.1.done").unwrap();
    let star = bus.subscribe("exec.*.done").unwrap();
    let rest = bus.subscribe("exec.>").unwrap();
    let other = bus.subscribe("other.>").unwrap();
    assert_eq!(bus.publish("exec.1.done", &b"x"[..]).unwrap(), 3);
    for sub in [&exact, &star, &rest] {
        assert_eq!(&sub.recv(T).unwrap().payload[..], b"x");
    }
    assert!(other.try_recv().is_none());
}

#[test]
fn queue_groups_share_the_work_and_plain_subscribers_see_all() {
    let bus = Bus::new();
    let (w1, w2) = (
        bus.subscribe_with("jobs", in_group("workers")).unwrap(),
        bus.subscribe_with("jobs", in_group("workers")).unwrap(),
    );
    let audit = bus.subscribe("jobs").unwrap();
    for i in 0..10u8 {
        assert_eq!(bus.publish("jobs", vec![i]).unwrap(), 2);
    }
    let drain = |s: &Subscription| std::iter::from_fn(|| s.try_recv()).count();
    assert_eq!((drain(&w1), drain(&w2), drain(&audit)), (5, 5, 10));
}

#[test]
fn each_queue_group_takes_its_own_turns() {
    let bus = Bus::new();
    let member = |group: &str| bus.subscribe_with("jobs", in_group(group)).unwrap();
    let members = [member("a"), member("a"), member("b"), member("b")];
    for i in 0..10u8 {
        assert_eq!(bus.publish("jobs", vec![i]).unwrap(), 2);
    }
    let counts: Vec<usize> = members
        .iter()
        .map(|s| std::iter::from_fn(|| s.try_recv()).count())
        .collect();
    assert_eq!(counts, [5, 5, 5, 5]);
}

#[test]
fn request_reply_correlates_and_reports_no_responders_and_timeouts() {
    let bus = Bus::new();
    let err = bus.request("svc.none", &b""[..], T).unwrap_err();
    assert_eq!(
        err,
        BusError::NoResponders {
            subject: "svc.none".into()
        }
    );

    let _silent = bus.subscribe("svc.silent").unwrap();
    let err = bus
        .request("svc.silent", &b""[..], Duration::from_millis(20))
        .unwrap_err();
    assert!(matches!(err, BusError::Timeout { .. }));

    let server = bus.endpoint("server");
    let requests = server.subscribe("svc.upper").unwrap();
    let worker = std::thread::spawn(move || {
        let request = requests.recv(T).unwrap();
        server.reply(&request, request.payload.to_ascii_uppercase());
    });
    let reply = bus
        .endpoint("client")
        .request("svc.upper", &b"hi"[..], T)
        .unwrap();
    assert_eq!(
        (&reply.payload[..], reply.sender.as_str()),
        (&b"HI"[..], "server")
    );
    worker.join().unwrap();
}

#[test]
fn a_subscription_holds_at_most_its_byte_limit_of_payloads() {
    let bus = Bus::new();
    let stuck = bus
        .subscribe_with(
            "big",
            SubscribeOptions {
                max_bytes: 4096,
                ..Default::default()
            },
        )
        .unwrap();
    for i in 0..10u8 {
        bus.publish("big", vec![i; 1024]).unwrap();
    }
    let kept: Vec<u8> = std::iter::from_fn(|| stuck.try_recv())
        .map(|e| e.payload[0])
        .collect();
    assert_eq!(kept, [6, 7, 8, 9], "the newest 4 KiB stay");
    let stats = bus.stats();
    assert_eq!(stats.subscriptions[0].dropped, 6);
}

#[test]
fn a_slow_subscriber_does_not_stall_the_others() {
    let bus = Bus::new();
    let sub = |capacity, policy| {
        bus.subscribe_with(
            "flood",
            SubscribeOptions {
                capacity,
                policy,
                ..Default::default()
            },
        )
        .unwrap()
    };
    let slow = sub(4, SlowPolicy::DropOldest);
    let gone = sub(4, SlowPolicy::Disconnect);
    let fast = sub(10_000, SlowPolicy::DropOldest);
    for i in 0..1000u32 {
        bus.publish("flood", i.to_be_bytes().to_vec()).unwrap();
    }
    assert_eq!(std::iter::from_fn(|| fast.try_recv()).count(), 1000);
    let kept: Vec<_> = std::iter::from_fn(|| slow.try_recv())
        .map(|e| e.payload.to_vec())
        .collect();
    assert_eq!(kept.len(), 4, "the slow one keeps only its newest four");
    assert_eq!(kept[3], 999u32.to_be_bytes());
    assert_eq!(std::iter::from_fn(|| gone.try_recv()).count(), 4);
    assert!(matches!(
        gone.recv(Duration::ZERO),
        Err(RecvError::Disconnected(_))
    ));

    let stats = bus.stats();
    let flood = stats
        .subjects
        .iter()
        .find(|s| s.subject == "flood")
        .unwrap();
    assert_eq!(flood.messages, 1000);
    assert_eq!(
        stats.subscriptions.len(),
        2,
        "the disconnected subscription is gone"
    );
    assert_eq!(stats.subscriptions[0].dropped, 996);
}

#[test]
fn the_last_member_leaving_a_group_drops_its_position() {
    let bus = Bus::new();
    let member = |pattern: &str| bus.subscribe_with(pattern, in_group("g")).unwrap();
    let (exact, wild) = (member("jobs"), member("jobs.>"));
    // Routed first, so this thread's route cache has met the group.
    assert_eq!(bus.publish("jobs.1", &b"j"[..]).unwrap(), 1);
    drop(exact);
    assert!(bus.inner.read_routes().groups.contains_key("g"));
    drop(wild);
    let routes = bus.inner.read_routes();
    assert!(routes.groups.is_empty() && routes.exact.is_empty() && routes.wild.is_empty());
}

#[test]
fn dropping_a_subscription_unsubscribes_and_bad_subjects_are_refused() {
    let bus = Bus::new();
    let sub = bus.subscribe("a.b").unwrap();
    drop(sub);
    assert_eq!(bus.publish("a.b", &b""[..]).unwrap(), 0);
    assert!(matches!(
        bus.publish("a.*", &b""[..]),
        Err(BusError::InvalidSubject(_))
    ));
    assert!(matches!(
        bus.subscribe("a..b"),
        Err(BusError::InvalidSubject(_))
    ));
}

/// Publishing one subject over and over reuses what the route table said
/// last time (see `route_cache`), yet every change to the table counts at
/// once: a new subscription gets the very next message, a dropped one
/// nothing more, a queue group keeps its turns, and two buses routing the
/// same subject on one thread never see each other's subscribers.
#[test]
fn repeated_publishes_follow_every_change_to_the_routes() {
    let bus = Bus::new();
    let other = Bus::new();
    let first = bus.subscribe("stream.a").unwrap();
    let elsewhere = other.subscribe("stream.a").unwrap();
    for _ in 0..3 {
        assert_eq!(bus.publish("stream.a", &b"1"[..]).unwrap(), 1);
        assert_eq!(other.publish("stream.a", &b"o"[..]).unwrap(), 1);
    }
    let late = bus.subscribe("stream.*").unwrap();
    assert_eq!(bus.publish("stream.a", &b"2"[..]).unwrap(), 2);
    assert_eq!(&late.recv(T).unwrap().payload[..], b"2");
    drop(first);
    assert_eq!(bus.publish("stream.a", &b"3"[..]).unwrap(), 1);
    assert_eq!(&late.recv(T).unwrap().payload[..], b"3");

    let (m1, m2) = (
        bus.subscribe_with("stream.a", in_group("g")).unwrap(),
        bus.subscribe_with("stream.a", in_group("g")).unwrap(),
    );
    for _ in 0..6 {
        assert_eq!(bus.publish("stream.a", &b"4"[..]).unwrap(), 2);
    }
    let drain = |s: &Subscription| std::iter::from_fn(|| s.try_recv()).count();
    assert_eq!((drain(&m1), drain(&m2), drain(&late)), (3, 3, 6));
    assert_eq!(drain(&elsewhere), 3);
    drop((m1, m2, late));
    assert_eq!(bus.publish("stream.a", &b"5"[..]).unwrap(), 0);
}
