use std::io::Write as _;
use std::time::Duration;

use symphony_protocol::Envelope;
use symphony_protocol::client::{Client, ClientError, ClientOptions, Transport};
use symphony_protocol::messages::PeerDown;

use super::*;

const T: Duration = Duration::from_secs(5);

fn serve() -> (tempfile::TempDir, Bus, BusServer) {
    serve_with(ServerOptions::default())
}

/// A server on a fresh bus in a fresh directory (its shared-memory
/// regions there too).
fn serve_with(options: ServerOptions) -> (tempfile::TempDir, Bus, BusServer) {
    let dir = tempfile::tempdir().unwrap();
    let bus = Bus::new();
    let server = BusServer::bind(
        &bus,
        dir.path().join("bus.sock"),
        ServerOptions {
            shm_dir: Some(dir.path().to_path_buf()),
            ..options
        },
    )
    .unwrap();
    (dir, bus, server)
}

fn connect(server: &BusServer, name: &str, transport: Transport) -> Client {
    Client::connect_with(
        server.path(),
        ClientOptions {
            name: Some(name.into()),
            transport,
            ..Default::default()
        },
    )
    .unwrap()
}

fn transports() -> Vec<Transport> {
    if cfg!(target_os = "linux") {
        vec![Transport::Socket, Transport::SharedMemory]
    } else {
        vec![Transport::Socket]
    }
}

#[test]
fn peers_publish_subscribe_and_request_through_the_server() {
    for transport in transports() {
        let (_dir, bus, server) = serve();
        let alice = connect(&server, "alice", transport);
        let bob = connect(&server, "bob", transport);

        let news = bob.subscribe("news.>").unwrap();
        bob.flush(T).unwrap();
        alice.publish("news.today", &b"hello"[..]).unwrap();
        let got = news.recv(T).unwrap();
        assert_eq!(
            (&got.payload[..], got.sender.as_str()),
            (&b"hello"[..], "alice")
        );

        // In-process subscribers see peer traffic and vice versa.
        bus.publish("news.local", &b"from the host"[..]).unwrap();
        assert_eq!(&news.recv(T).unwrap().payload[..], b"from the host");
        let local = bus.subscribe("news.>").unwrap();
        alice.publish("news.peer", &b"x"[..]).unwrap();
        assert_eq!(local.recv(T).unwrap().sender, "alice");
        assert_eq!(&news.recv(T).unwrap().payload[..], b"x");

        // A sid header from a peer is not trusted: bob's copy goes to
        // bob's own subscription (a forged sid 0 would have made it a
        // reply), and the client took the server's sid out of it.
        let forged = Envelope::new("msg", "news.forged", &b"f"[..]).with_header("sid", "0");
        alice.send(&forged).unwrap();
        let got = news.recv(T).unwrap();
        assert_eq!(&got.payload[..], b"f");
        assert_eq!(got.header("sid"), None);
        // Nor is one from code in the server's process.
        let local = Envelope::new("msg", "news.local-forged", &b"l"[..]).with_header("sid", "0");
        bus.send(local).unwrap();
        assert_eq!(&news.recv(T).unwrap().payload[..], b"l");

        let service = bob.subscribe("svc.upper").unwrap();
        bob.flush(T).unwrap();
        let responder = std::thread::spawn(move || {
            let request = service.recv(T).unwrap();
            bob.reply(&request, request.payload.to_ascii_uppercase())
                .unwrap();
            bob
        });
        let reply = alice.request("svc.upper", &b"hi"[..], T).unwrap();
        assert_eq!(
            (&reply.payload[..], reply.sender.as_str()),
            (&b"HI"[..], "bob")
        );
        drop(responder.join().unwrap());

        assert!(matches!(
            alice.request("svc.nobody", &b""[..], T),
            Err(ClientError::NoResponders { .. })
        ));
        let stats = server.stats();
        assert!(
            stats
                .peers
                .iter()
                .any(|p| p.name == "alice" && p.frames_in > 0)
        );
    }
}

#[test]
fn concurrent_requesters_each_get_their_own_replies() {
    for transport in transports() {
        let (_dir, bus, server) = serve();
        let _double = bus
            .serve("svc.double", |r| {
                let n = u32::from_be_bytes(r.payload[..4].try_into().ok()?);
                Some((n * 2).to_be_bytes().to_vec().into())
            })
            .unwrap();
        let client = Arc::new(connect(&server, "many", transport));
        let news = client.subscribe("news").unwrap();
        client.flush(T).unwrap();
        let threads: Vec<_> = (0..4u32)
            .map(|t| {
                let client = client.clone();
                std::thread::spawn(move || {
                    for i in 0..200u32 {
                        let n = t * 1000 + i;
                        let reply = client
                            .request("svc.double", n.to_be_bytes().to_vec(), T)
                            .unwrap();
                        assert_eq!(reply.payload[..], (n * 2).to_be_bytes());
                    }
                })
            })
            .collect();
        // Messages for subscriptions still arrive while requesters read.
        for i in 0..50u8 {
            bus.publish("news", vec![i]).unwrap();
        }
        for thread in threads {
            thread.join().unwrap();
        }
        for i in 0..50u8 {
            assert_eq!(news.recv(T).unwrap().payload[..], [i]);
        }
    }
}

#[test]
fn queue_groups_spread_work_across_peers() {
    let (_dir, bus, server) = serve();
    let workers: Vec<Client> = (0..2)
        .map(|i| connect(&server, &format!("worker-{i}"), Transport::Socket))
        .collect();
    let subs: Vec<_> = workers
        .iter()
        .map(|w| {
            let sub = w.queue_subscribe("jobs", "workers").unwrap();
            w.flush(T).unwrap();
            sub
        })
        .collect();
    for i in 0..10u8 {
        assert_eq!(bus.publish("jobs", vec![i]).unwrap(), 1);
    }
    let mut counts = [0, 0];
    let until = std::time::Instant::now() + T;
    while counts.iter().sum::<usize>() < 10 && std::time::Instant::now() < until {
        for (sub, count) in subs.iter().zip(&mut counts) {
            if sub.recv(Duration::from_millis(1)).is_ok() {
                *count += 1;
            }
        }
    }
    assert_eq!(counts, [5, 5]);
}

#[test]
fn each_subscription_of_a_peer_counts_its_own_deliveries() {
    let (_dir, bus, server) = serve();
    let peer = connect(&server, "counted", Transport::Socket);
    let (a, b) = (peer.subscribe("a").unwrap(), peer.subscribe("b").unwrap());
    peer.flush(T).unwrap();
    for subject in ["a", "a", "a", "b"] {
        bus.publish(subject, &b""[..]).unwrap();
    }
    for _ in 0..3 {
        a.recv(T).unwrap();
    }
    b.recv(T).unwrap();
    let delivered: Vec<(String, u64)> = server
        .stats()
        .bus
        .subscriptions
        .into_iter()
        .filter(|s| s.endpoint == "counted" && !s.pattern.starts_with("_inbox."))
        .map(|s| (s.pattern, s.delivered))
        .collect();
    assert_eq!(delivered, [("a".to_string(), 3), ("b".to_string(), 1)]);
}

#[test]
fn a_departing_peer_is_announced_and_its_subscriptions_removed() {
    for transport in transports() {
        let (_dir, bus, server) = serve();
        let downs = bus.subscribe("bus.peer.down").unwrap();
        let peer = connect(&server, "leaver", transport);
        let _sub = peer.subscribe("a.b").unwrap();
        peer.flush(T).unwrap();
        assert_eq!(bus.publish("a.b", &b""[..]).unwrap(), 1);
        drop(peer);
        let down = PeerDown::from_envelope(&downs.recv(T).unwrap()).unwrap();
        assert_eq!(down.peer, "leaver");
        assert_eq!(bus.publish("a.b", &b""[..]).unwrap(), 0);
        assert!(server.peers().is_empty());
    }
}

#[test]
fn a_malformed_frame_closes_only_that_peer() {
    let (_dir, bus, server) = serve();
    let downs = bus.subscribe("bus.peer.down").unwrap();
    let good = connect(&server, "good", Transport::Socket);
    let sub = good.subscribe("ok").unwrap();
    good.flush(T).unwrap();

    let mut bad = Stream::connect(socket_name(server.path()).unwrap()).unwrap();
    let hello = Hello {
        peer: "bad".into(),
        shared_memory: false,
    };
    write_message(&mut bad, &hello).unwrap();
    bad.write_all(&[0, 0, 0, 3, 1, 0xc1, 0xc1]).unwrap();
    let down = PeerDown::from_envelope(&downs.recv(T).unwrap()).unwrap();
    assert_eq!(down.peer, "bad");
    assert!(down.reason.contains("malformed"), "{}", down.reason);

    bus.publish("ok", &b"still here"[..]).unwrap();
    assert_eq!(&sub.recv(T).unwrap().payload[..], b"still here");
}

#[test]
fn a_second_peer_with_a_taken_name_is_refused() {
    let (_dir, _bus, server) = serve();
    let _first = connect(&server, "same", Transport::Socket);
    let err = Client::connect_with(
        server.path(),
        ClientOptions {
            name: Some("same".into()),
            ..Default::default()
        },
    )
    .err()
    .unwrap();
    assert!(err.to_string().contains("already connected"), "{err}");
}

#[test]
fn a_live_server_is_not_replaced_but_a_stale_socket_is() {
    let (dir, bus, server) = serve();
    let err = BusServer::bind(&bus, server.path(), ServerOptions::default())
        .err()
        .unwrap();
    assert!(matches!(err, ServerError::InUse(_)));
    drop(server);
    let stale = dir.path().join("stale.sock");
    std::fs::write(&stale, b"").unwrap();
    BusServer::bind(&bus, &stale, ServerOptions::default()).unwrap();
}

/// Admits peers by token: `ext` is confined to `metrics.>`, anything else
/// is refused; remembers every refusal.
#[derive(Debug, Default)]
struct TokenGate {
    refusals: std::sync::Mutex<Vec<String>>,
}

impl PeerGate for TokenGate {
    fn admit(&self, knock: &Knock<'_>) -> Result<PeerAccess, String> {
        assert_eq!(
            knock.credentials.map(|c| c.pid),
            cfg!(target_os = "linux").then(std::process::id),
            "the kernel names the connecting process"
        );
        match knock.token {
            Some("ext") => Ok(PeerAccess::Confined {
                identity: "metrics-ext".into(),
                publish: vec!["metrics.>".into()],
                subscribe: vec!["metrics.>".into()],
                reserved: Vec::new(),
            }),
            Some("admin") => Ok(PeerAccess::Trusted),
            _ => Err(format!("'{}' presented no valid token", knock.peer)),
        }
    }

    fn refused(&self, refusal: &Refusal<'_>) {
        self.refusals
            .lock()
            .unwrap()
            .push(format!("{} {}", refusal.peer, refusal.action));
    }
}

#[test]
fn a_gate_refuses_strangers_and_confines_peers_to_their_grants() {
    let dir = tempfile::tempdir().unwrap();
    let gate = Arc::new(TokenGate::default());
    let server = BusServer::bind(
        &Bus::new(),
        dir.path().join("bus.sock"),
        ServerOptions {
            gate: Some(gate.clone()),
            ..Default::default()
        },
    )
    .unwrap();
    let with_token = |name: &str, token: Option<&str>| {
        Client::connect_with(
            server.path(),
            ClientOptions {
                name: Some(name.into()),
                token: token.map(str::to_string),
                reconnect_attempts: 0,
                ..Default::default()
            },
        )
    };
    let stranger = with_token("stranger", None).err().expect("refused");
    assert!(
        stranger.to_string().contains("presented no valid token"),
        "{stranger}"
    );

    let admin = with_token("admin", Some("admin")).unwrap();
    let control = admin.subscribe("control.>").unwrap();
    let metrics = admin.subscribe("metrics.>").unwrap();
    admin.flush(T).unwrap();

    let ext = with_token("ext", Some("ext")).unwrap();
    ext.publish("control.stop", &b"x"[..]).unwrap();
    ext.publish("metrics.cpu", &b"42"[..]).unwrap();
    ext.flush(T).unwrap();
    assert_eq!(&metrics.recv(T).unwrap().payload[..], b"42");
    assert!(
        control.try_recv().is_none(),
        "a publish outside the grant is dropped"
    );

    // A request outside the grant is answered with the refusal at once.
    let refused = ext.request("control.status", &b""[..], T).unwrap();
    assert_eq!(refused.kind, ErrorReply::KIND);
    assert_eq!(refused.header(ERROR_KIND_HEADER), Some("denied"));
    let message = ErrorReply::from_envelope(&refused).unwrap().message;
    assert!(
        message.contains("'metrics-ext' may not publish on 'control.status'"),
        "{message}"
    );

    // The server's statistics name every peer: trusted peers only.
    assert!(ext.server_stats(T).is_err());
    assert!(admin.server_stats(T).is_ok());

    let refusals = gate.refusals.lock().unwrap().clone();
    assert_eq!(
        refusals,
        [
            "stranger connect",
            "ext publish:control.stop",
            "ext publish:control.status",
            "ext stats"
        ]
    );
}

#[test]
fn a_request_of_an_unknown_type_is_answered_with_a_typed_refusal() {
    let (_dir, _bus, server) = serve();
    let client = connect(&server, "asker", Transport::Socket);
    let request = Envelope::new("no.such.kind", "svc.x", &b""[..]);
    let reply = client.request_envelope(request, T).unwrap();
    assert_eq!(reply.kind, ErrorReply::KIND);
    assert_eq!(reply.header(ERROR_KIND_HEADER), Some("unknown_type"));
    // The connection stays up for the next request.
    client.flush(T).unwrap();
}

/// Publishes `n` 64-byte messages on `subject`, each starting with its
/// number (little-endian `u32`) from 0.
fn publish_numbered(publisher: &Client, subject: &str, n: u32) {
    let mut payload = vec![0u8; 64];
    for i in 0..n {
        payload[..4].copy_from_slice(&i.to_le_bytes());
        publisher.publish(subject, payload.clone()).unwrap();
    }
}

/// Receives `n` messages with `recv`, checking that they are the numbered
/// ones [`publish_numbered`] sent, all of them, in order.
fn expect_numbered<E: std::fmt::Display>(
    n: u32,
    transport: Transport,
    mut recv: impl FnMut() -> Result<Envelope, E>,
) {
    for expected in 0..n {
        let message = recv().unwrap_or_else(|e| panic!("{transport:?}: message {expected}: {e}"));
        let got = u32::from_le_bytes(message.payload[..4].try_into().unwrap());
        assert_eq!(got, expected, "{transport:?}: out of order or lost");
    }
}

/// A million messages from one publishing peer reach a subscribing peer
/// that keeps up: every one, in order, over the socket and over shared
/// memory, and nothing is counted as dropped on either side.
#[test]
fn a_million_messages_all_reach_a_subscriber_that_keeps_up() {
    const N: u32 = 1_000_000;
    for transport in transports() {
        let (_dir, _bus, server) = serve();
        let publisher = connect(&server, "publisher", transport);
        let subscriber = connect(&server, "subscriber", transport);
        let stream = subscriber.subscribe("load.stream").unwrap();
        subscriber.flush(T).unwrap();
        let reader = std::thread::spawn(move || {
            expect_numbered(N, transport, || stream.recv(T));
            subscriber
        });
        publish_numbered(&publisher, "load.stream", N);
        let subscriber = reader.join().unwrap();
        assert_eq!(subscriber.dropped(), 0, "{transport:?}");
        for peer in server.stats().peers {
            assert_eq!(peer.dropped, 0, "{transport:?}: {}", peer.name);
        }
    }
}

/// A subscriber waiting for its next message reads the link itself, yet
/// keeps to its own timeout whatever the link's read timeout (half the
/// heartbeat, 2 s here), and while it holds the read side the client's
/// other subscriptions and requests are served by it.
#[test]
fn a_subscriber_reading_for_itself_keeps_its_timeout_and_serves_the_rest() {
    for transport in transports() {
        let (_dir, _bus, server) = serve_with(ServerOptions {
            heartbeat: Duration::from_secs(4),
            peer_timeout: Duration::from_secs(12),
            ..ServerOptions::default()
        });
        let alice = connect(&server, "alice", transport);
        let bob = connect(&server, "bob", transport);
        let first = bob.subscribe("own.first").unwrap();
        let second = bob.subscribe("own.second").unwrap();
        let questions = alice.subscribe("own.question").unwrap();
        bob.flush(T).unwrap();
        alice.flush(T).unwrap();

        let started = std::time::Instant::now();
        assert!(matches!(
            first.recv(Duration::from_millis(50)),
            Err(symphony_protocol::client::RecvError::Timeout)
        ));
        let waited = started.elapsed();
        assert!(
            waited < Duration::from_secs(1),
            "{transport:?}: a 50 ms wait took {waited:?}"
        );

        let waiter = std::thread::spawn(move || (first.recv(T), first));
        // Give the waiter time to take the read side.
        std::thread::sleep(Duration::from_millis(50));
        alice.publish("own.second", &b"2"[..]).unwrap();
        let got = second.recv(T).unwrap();
        assert_eq!(&got.payload[..], b"2", "{transport:?}");
        let answerer = std::thread::spawn(move || {
            let question = questions.recv(T).unwrap();
            alice.reply(&question, &b"yes"[..]).unwrap();
            alice
        });
        let answer = bob.request("own.question", &b"?"[..], T).unwrap();
        assert_eq!(&answer.payload[..], b"yes", "{transport:?}");
        let alice = answerer.join().unwrap();
        alice.publish("own.first", &b"1"[..]).unwrap();
        let (got, _first) = waiter.join().unwrap();
        assert_eq!(&got.unwrap().payload[..], b"1", "{transport:?}");
    }
}

/// A subscriber polling with no timeout at all still moves the link along
/// (it reads for itself each time), so it gets what was published.
#[test]
fn a_subscriber_polling_without_waiting_still_receives() {
    for transport in transports() {
        let (_dir, _bus, server) = serve();
        let alice = connect(&server, "alice", transport);
        let bob = connect(&server, "bob", transport);
        let sub = bob.subscribe("poll.me").unwrap();
        bob.flush(T).unwrap();
        alice.publish("poll.me", &b"p"[..]).unwrap();
        let until = std::time::Instant::now() + T;
        let got = loop {
            match sub.recv(Duration::ZERO) {
                Ok(got) => break got,
                Err(_) if std::time::Instant::now() < until => {}
                Err(e) => panic!("{transport:?}: nothing after polling for {T:?}: {e}"),
            }
        };
        assert_eq!(&got.payload[..], b"p", "{transport:?}");
    }
}

/// A subscriber waiting (long) for its next message when the server goes
/// away does not keep the reader thread from the new connection: it gets
/// what is published after the restart, long before its wait is over.
#[test]
fn a_waiting_subscriber_receives_after_the_server_restarts() {
    for transport in transports() {
        let (dir, _bus, server) = serve();
        let path = server.path().to_path_buf();
        let bob = Client::connect_with(
            &path,
            ClientOptions {
                name: Some("bob".into()),
                transport,
                reconnect_delay: Duration::from_millis(10),
                ..Default::default()
            },
        )
        .unwrap();
        let sub = bob.subscribe("after.restart").unwrap();
        bob.flush(T).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let waiter = std::thread::spawn(move || {
            let _ = tx.send(sub.recv(Duration::from_secs(60)));
        });
        std::thread::sleep(Duration::from_millis(50));
        server.shutdown();
        let bus = Bus::new();
        let options = ServerOptions {
            shm_dir: Some(dir.path().to_path_buf()),
            ..ServerOptions::default()
        };
        let server = BusServer::bind(&bus, &path, options).unwrap();
        let until = std::time::Instant::now() + T;
        while bob.reconnects() == 0 && std::time::Instant::now() < until {
            std::thread::sleep(Duration::from_millis(5));
        }
        bob.wait_connected(T).unwrap();
        bob.flush(T).unwrap();
        let alice = connect(&server, "alice", transport);
        alice.publish("after.restart", &b"r"[..]).unwrap();
        alice.flush(T).unwrap();
        let got = rx.recv_timeout(T);
        let got = got
            .unwrap_or_else(|e| panic!("{transport:?}: the waiting subscriber got nothing: {e}"));
        assert_eq!(&got.unwrap().payload[..], b"r", "{transport:?}");
        waiter.join().unwrap();
    }
}

/// A stream from a publishing peer reaches a subscriber in the server's
/// own process that keeps up: every message, in order, with nothing
/// counted as dropped (with the former default of 1,024 queued messages,
/// the bursts a reader thread routes at once dropped thousands).
#[test]
fn a_remote_stream_reaches_an_in_process_subscriber_that_keeps_up() {
    const N: u32 = 200_000;
    for transport in transports() {
        let (_dir, bus, server) = serve();
        let publisher = connect(&server, "publisher", transport);
        let endpoint = bus.endpoint("local");
        let stream = endpoint.subscribe("load.local").unwrap();
        let reader = std::thread::spawn(move || {
            expect_numbered(N, transport, || stream.recv(T));
            stream
        });
        publish_numbered(&publisher, "load.local", N);
        let _stream = reader.join().unwrap();
        let stats = bus.stats();
        let sub = stats
            .subscriptions
            .iter()
            .find(|s| s.pattern == "load.local")
            .unwrap();
        assert_eq!(
            (sub.delivered, sub.dropped),
            (u64::from(N), 0),
            "{transport:?}"
        );
    }
}

/// A peer that stops reading is not waited for message after message:
/// once it has taken nothing for the pacing wait, the oldest of what waits
/// for it is dropped, and every message is accounted for — written,
/// waiting, in the one batch being written, or counted as dropped.
#[test]
fn a_stuck_peer_loses_only_counted_messages_and_holds_nobody_up() {
    const N: u64 = 20_000;
    let (_dir, bus, server) = serve_with(ServerOptions {
        peer_queue: 64,
        peer_policy: SlowPolicy::Pace {
            max_wait: Duration::from_millis(50),
        },
        // The stuck peer sends no heartbeats.
        peer_timeout: Duration::from_secs(60),
        ..Default::default()
    });
    let mut stuck = Stream::connect(socket_name(server.path()).unwrap()).unwrap();
    let hello = Hello {
        peer: "stuck".into(),
        shared_memory: false,
    };
    write_message(&mut stuck, &hello).unwrap();
    let subscribe = symphony_protocol::messages::Subscribe {
        sid: 1,
        pattern: "load.stuck".into(),
        queue: None,
    };
    write_message(&mut stuck, &subscribe).unwrap();
    while !bus.has_subscribers("load.stuck") {
        std::thread::sleep(Duration::from_millis(1));
    }
    let payload = bytes::Bytes::from(vec![7u8; 1024]);
    for _ in 0..N {
        assert_eq!(bus.publish("load.stuck", payload.clone()).unwrap(), 1);
    }
    let stats = server.stats();
    let peer = stats.peers.iter().find(|p| p.name == "stuck").unwrap();
    assert!(peer.dropped > 0, "{peer:?}");
    // The rest is the batch the writer thread holds, blocked writing it.
    let in_flight = N - (peer.frames_out + peer.pending as u64 + peer.dropped);
    assert!(in_flight <= 256, "{in_flight} unaccounted for: {peer:?}");
}

/// Frames that arrive together are routed together and their deliveries
/// held back to be written at once — but never past a handler run in
/// place: a handler that waits for a peer to get what came just before
/// its request does not wait for itself.
#[test]
fn a_handler_run_in_place_never_waits_on_writes_held_for_its_burst() {
    // Writer threads wake for heartbeats rarely, so nothing held is
    // written by one in time by chance.
    let (_dir, bus, server) = serve_with(ServerOptions {
        heartbeat: Duration::from_secs(30),
        peer_timeout: Duration::from_secs(120),
        ..Default::default()
    });
    let watcher = connect(&server, "watcher", Transport::Socket);
    let news = watcher.subscribe("burst.news").unwrap();
    watcher.flush(T).unwrap();
    let seen = Arc::new(AtomicBool::new(false));
    std::thread::spawn({
        let seen = seen.clone();
        move || {
            if news.recv(T).is_ok() {
                seen.store(true, Ordering::SeqCst);
            }
        }
    });
    let (outcome_tx, outcome) = std::sync::mpsc::channel();
    let _handler = bus
        .serve("burst.ask", move |_| {
            let until = std::time::Instant::now() + T;
            while !seen.load(Ordering::SeqCst) && std::time::Instant::now() < until {
                std::thread::sleep(Duration::from_millis(1));
            }
            let _ = outcome_tx.send(seen.load(Ordering::SeqCst));
            None
        })
        .unwrap();
    // A raw peer sends the news, the question and more in one write, so
    // the server reads them as one burst.
    let mut raw = Stream::connect(socket_name(server.path()).unwrap()).unwrap();
    let hello = Hello {
        peer: "raw".into(),
        shared_memory: false,
    };
    write_message(&mut raw, &hello).unwrap();
    let mut burst = Vec::new();
    symphony_protocol::encode_frame(&Envelope::new("msg", "burst.news", &b"n"[..]), &mut burst)
        .unwrap();
    symphony_protocol::encode_frame(&Envelope::new("msg", "burst.ask", &b"?"[..]), &mut burst)
        .unwrap();
    // Not the burst's last frame: the burst goes on past the handler.
    symphony_protocol::encode_frame(&Envelope::new("msg", "burst.more", &b"m"[..]), &mut burst)
        .unwrap();
    raw.write_all(&burst).unwrap();
    assert!(
        outcome.recv_timeout(T * 2).unwrap(),
        "the news was held back"
    );
}
