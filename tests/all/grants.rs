//! Host imports check the caller's grants and answer `denied`.

use std::time::Duration;

use serde_json::{Map, json};
use symphony_host::extension::{
    ArtifactAccess, CallError, ExtError, Grants, LoadOptions, NodeConfig, Operator,
};
use symphony_tests::{TestHost, call, component, host, with_hostile};

fn hostile_with(grants: Grants) -> (TestHost, Operator) {
    let options = LoadOptions {
        grants,
        ..LoadOptions::default()
    };
    with_hostile(host(), options)
}

fn denied(result: Result<String, CallError>, needle: &str) {
    match result {
        Err(CallError::Guest {
            error: ExtError::Denied(message),
            ..
        }) => {
            assert!(message.contains(needle), "{message} lacks {needle}");
        }
        other => panic!("expected denied, got {other:?}"),
    }
}

#[test]
fn nothing_is_granted_by_default() {
    let (_host, op) = hostile_with(Grants::none());
    denied(
        call(&op, json!({"mode": "publish", "subject": "news.today"})),
        "publish on 'news.today'",
    );
    denied(
        call(&op, json!({"mode": "artifact-put", "content": "x"})),
        "write artifacts",
    );
    denied(
        call(&op, json!({"mode": "artifact-get", "id": "00"})),
        "read artifacts",
    );
    denied(
        call(
            &op,
            json!({"mode": "model-call", "instrument": "mock-llm", "input": "hi"}),
        ),
        "mock-llm",
    );
}

#[test]
fn granted_publish_reaches_subscribers_only_on_matching_subjects() {
    let (host, op) = hostile_with(Grants::none().publish("news.*"));
    let sub = host.bus().subscribe("news.>").unwrap();
    assert_eq!(
        call(&op, json!({"mode": "publish", "subject": "news.today"})).unwrap(),
        "\"published\""
    );
    let message = sub.recv_timeout(Duration::from_secs(1)).unwrap();
    assert_eq!(
        (message.subject.as_str(), &message.payload[..]),
        ("news.today", &b"hello"[..])
    );
    assert_eq!(
        message.sender, "hostile",
        "the bus stamps the publishing extension"
    );
    denied(
        call(
            &op,
            json!({"mode": "publish", "subject": "news.today.late"}),
        ),
        "news.today.late",
    );
}

#[test]
fn artifact_access_follows_the_grant() {
    let (host, op) = hostile_with(Grants::none().artifacts(ArtifactAccess::ReadWrite));
    let id = call(
        &op,
        json!({"mode": "artifact-put", "content": "stored text"}),
    )
    .unwrap();
    let id: String = serde_json::from_str(&id).unwrap();
    assert_eq!(host.artifacts().get(&id).unwrap(), b"stored text");
    assert_eq!(
        call(&op, json!({"mode": "artifact-get", "id": id})).unwrap(),
        "\"stored text\""
    );

    let (_host, reader) = hostile_with(Grants::none().artifacts(ArtifactAccess::Read));
    denied(
        call(&reader, json!({"mode": "artifact-put", "content": "x"})),
        "write artifacts",
    );
}

#[test]
fn model_calls_reach_only_granted_instruments() {
    let (host, op) = hostile_with(Grants::none().model("mock-llm"));
    let answer = call(&op, json!({"mode": "model-call", "instrument": "mock-llm", "input": "Great tools. Great code."}))
        .unwrap();
    let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(answer["sentiment"]["label"], "positive");
    assert_eq!(answer["model"], "mock-llm");

    host.load_with(
        component("mock_llm"),
        LoadOptions {
            name: Some("other-llm".into()),
            ..Default::default()
        },
    )
    .unwrap();
    denied(
        call(
            &op,
            json!({"mode": "model-call", "instrument": "other-llm", "input": "x"}),
        ),
        "other-llm",
    );
}

#[test]
fn config_import_reads_the_calls_node_config() {
    let (_host, op) = hostile_with(Grants::none());
    let mut map = Map::new();
    map.insert("spec".into(), json!({"steps": []}));
    map.insert("name".into(), json!("plain"));
    let config = NodeConfig::new(map);
    let get = |key: &str| {
        op.process(&config, &json!({"mode": "config", "key": key}).to_string())
            .unwrap()
    };
    assert_eq!(get("name"), "\"plain\"");
    assert_eq!(get("spec"), json!("{\"steps\":[]}").to_string());
    assert_eq!(get("missing"), "null");
}

#[test]
fn lifecycle_hooks_run_in_order_from_load_to_shutdown() {
    let host = host();
    let hooks = host.bus().subscribe("lifecycle.>").unwrap();
    let options = LoadOptions {
        grants: Grants::none().publish("lifecycle.>"),
        ..LoadOptions::default()
    };
    let (host, op) = with_hostile(host, options);
    assert_eq!(call(&op, json!({"mode": "echo", "value": 1})).unwrap(), "1");
    host.shutdown();
    let seen: Vec<String> = std::iter::from_fn(|| hooks.recv_timeout(Duration::from_millis(200)))
        .map(|m| m.subject.to_string())
        .collect();
    assert_eq!(
        seen,
        [
            "lifecycle.on-load",
            "lifecycle.on-activate",
            "lifecycle.on-deactivate",
            "lifecycle.on-unload"
        ]
    );
}

#[test]
fn a_malformed_subject_from_a_guest_is_invalid_input_not_a_trap() {
    let (_host, op) = hostile_with(Grants::none().publish(">"));
    let err = call(&op, json!({"mode": "publish", "subject": "news..today"})).unwrap_err();
    assert!(
        matches!(&err, CallError::Guest { error: ExtError::InvalidInput(m), .. } if m.contains("token 2 is empty")),
        "{err}"
    );
}

/// A one-shot TCP server on 127.0.0.1 that answers "pong" to whatever
/// arrives, and the address it listens on.
fn pong_server() -> std::net::SocketAddr {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        if let Ok((mut stream, _)) = listener.accept() {
            let mut buf = [0u8; 4];
            let _ = stream.read_exact(&mut buf);
            let _ = stream.write_all(b"pong");
        }
    });
    addr
}

#[test]
fn sockets_reach_granted_addresses_only_and_refusals_are_audited() {
    let server = pong_server();
    let (host, op) = hostile_with(Grants::none().net(format!("127.0.0.1:{}", server.port())));
    let reply = call(&op, json!({"mode": "connect", "addr": server.to_string()})).unwrap();
    assert_eq!(reply, "\"pong\"");

    // Another port on the same host is not granted.
    let other = pong_server();
    let refused = call(&op, json!({"mode": "connect", "addr": other.to_string()}));
    let message = format!("{refused:?}");
    assert!(message.contains("cannot connect"), "{message}");
    let audit = host
        .audit()
        .query(&symphony_host::extension::AuditQuery {
            extension: Some("hostile".into()),
            capability: Some("net".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!(audit[0].capability, format!("net:{other}"));
    assert_eq!(
        audit[0].decision,
        symphony_host::extension::Decision::Denied
    );

    // Without any net grant, no socket opens at all.
    let (_host, closed) = hostile_with(Grants::none());
    let refused = call(
        &closed,
        json!({"mode": "connect", "addr": server.to_string()}),
    );
    assert!(format!("{refused:?}").contains("cannot connect"));
}

#[test]
fn denied_host_imports_are_audited() {
    let (host, op) = hostile_with(Grants::none());
    denied(
        call(&op, json!({"mode": "publish", "subject": "news.today"})),
        "publish on 'news.today'",
    );
    // (Its lifecycle hooks' refused announcements are audited too.)
    let audit = host
        .audit()
        .query(&symphony_host::extension::AuditQuery {
            capability: Some("publish:news.today".into()),
            ..Default::default()
        })
        .unwrap();
    let found: Vec<_> = audit
        .iter()
        .map(|r| (r.extension.as_str(), r.capability.as_str(), r.by))
        .collect();
    assert_eq!(
        found,
        [(
            "hostile",
            "publish:news.today",
            symphony_host::extension::DecidedBy::Runtime
        )]
    );
}

#[test]
fn clock_and_random_are_fixed_unless_granted() {
    let (_host, op) = hostile_with(Grants::none());
    assert_eq!(call(&op, json!({"mode": "clock"})).unwrap(), "0");
    let fixed = call(&op, json!({"mode": "random"})).unwrap();
    let (_host, again) = hostile_with(Grants::none());
    assert_eq!(call(&again, json!({"mode": "random"})).unwrap(), fixed);

    let (_host, op) = hostile_with(Grants::none().clock().random());
    let now: u64 = call(&op, json!({"mode": "clock"}))
        .unwrap()
        .parse()
        .unwrap();
    assert!(now > 1_700_000_000, "{now}");
    let first = call(&op, json!({"mode": "random"})).unwrap();
    let (_host, again) = hostile_with(Grants::none().clock().random());
    assert_ne!(call(&again, json!({"mode": "random"})).unwrap(), first);
}

/// An HTTP/1.1 server on 127.0.0.1 that answers every request with 200 and
/// `you asked for <path>`, the address it listens on, and how many
/// connections it has accepted so far.
fn http_server() -> (
    std::net::SocketAddr,
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
) {
    use std::io::{BufRead, BufReader, Write};
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            counter.fetch_add(1, Ordering::SeqCst);
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            let _ = reader.read_line(&mut request_line);
            // Skip the headers: a GET has no body.
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let path = request_line.split(' ').nth(1).unwrap_or("?");
            let body = format!("you asked for {path}");
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (addr, accepted)
}

/// The audit records of refused HTTP requests by the hostile fixture.
fn http_denials(host: &TestHost) -> Vec<symphony_host::extension::AuditRecord> {
    host.audit()
        .query(&symphony_host::extension::AuditQuery {
            extension: Some("hostile".into()),
            capability: Some("http".into()),
            ..Default::default()
        })
        .unwrap()
}

/// Asserts that a GET of `url` came back refused by the host.
fn http_refused(op: &Operator, url: &str) {
    match call(op, json!({"mode": "http", "url": url})) {
        Err(CallError::Guest {
            error: ExtError::Failed(message),
            ..
        }) => assert!(message.contains("HttpRequestDenied"), "{message}"),
        other => panic!("expected an http-request-denied failure, got {other:?}"),
    }
}

#[test]
fn http_reaches_granted_hosts_without_any_net_grant() {
    let (server, _) = http_server();
    let (host, op) = hostile_with(Grants::none().http("127.0.0.1"));
    let url = format!("http://{server}/x?y=1");
    let body = call(&op, json!({"mode": "http", "url": url})).unwrap();
    assert_eq!(body, "\"you asked for /x?y=1\"");
    // The instance is reused for a second request.
    let url = format!("http://{server}/again");
    let body = call(&op, json!({"mode": "http", "url": url})).unwrap();
    assert_eq!(body, "\"you asked for /again\"");
    assert!(http_denials(&host).is_empty());
}

#[test]
fn http_to_ungranted_hosts_is_refused_audited_and_counted() {
    let (server, accepted) = http_server();
    let url = format!("http://{server}/x");
    for grants in [Grants::none(), Grants::none().http("api.example.com")] {
        let (host, op) = hostile_with(grants);
        let before = host.metrics("hostile").unwrap().denials;
        http_refused(&op, &url);
        assert_eq!(host.metrics("hostile").unwrap().denials, before + 1);
        let audit = http_denials(&host);
        assert_eq!(audit.len(), 1, "{audit:?}");
        assert_eq!(audit[0].capability, "http:127.0.0.1");
        assert_eq!(
            audit[0].decision,
            symphony_host::extension::Decision::Denied
        );
        assert_eq!(audit[0].by, symphony_host::extension::DecidedBy::Runtime);
        assert!(
            audit[0]
                .detail
                .contains("no http grant allows host '127.0.0.1'"),
            "{}",
            audit[0].detail
        );
    }
    let accepted = accepted.load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!(accepted, 0, "a refused request never leaves the host");
}

#[test]
fn a_net_grant_alone_allows_no_http() {
    let (server, accepted) = http_server();
    let (host, op) = hostile_with(Grants::none().net(format!("127.0.0.1:{}", server.port())));
    http_refused(&op, &format!("http://{server}/x"));
    assert_eq!(http_denials(&host)[0].capability, "http:127.0.0.1");
    assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 0);
}

#[test]
fn a_silent_http_server_cannot_hold_a_call_past_its_deadline() {
    // Accepts connections and never answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let server = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let held: Vec<_> = listener.incoming().take(4).collect();
        std::thread::sleep(Duration::from_secs(60));
        drop(held);
    });
    let options = LoadOptions {
        grants: Grants::none().http("127.0.0.1"),
        limits: Some(symphony_host::extension::Limits {
            deadline: Duration::from_secs(1),
            ..Default::default()
        }),
        ..LoadOptions::default()
    };
    let (_host, op) = with_hostile(host(), options);
    let started = std::time::Instant::now();
    let result = call(
        &op,
        json!({"mode": "http", "url": format!("http://{server}/")}),
    );
    let elapsed = started.elapsed();
    // The wait is cut to the deadline: the guest sees a timeout, or the
    // deadline stops it as soon as it runs again.
    match &result {
        Err(CallError::Deadline { .. }) => {}
        Err(CallError::Guest {
            error: ExtError::Failed(message),
            ..
        }) if message.contains("Timeout") => {}
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert!(
        elapsed < Duration::from_secs(5),
        "took {elapsed:?}: {result:?}"
    );
}

#[test]
fn each_kind_of_refusal_is_audited_exactly_once_naming_the_capability() {
    let data = tempfile::tempdir().unwrap();
    let server = pong_server();
    let port = server.port();
    let refused_server = format!("127.0.0.1:{port}");
    type Case = (&'static str, Grants, serde_json::Value, String);
    let cases: Vec<Case> = vec![
        (
            "a publish outside the grants",
            Grants::none(),
            json!({"mode": "publish", "subject": "news.today"}),
            "publish:news.today".into(),
        ),
        (
            "a bus request outside the grants",
            Grants::none().publish("news.>"),
            json!({"mode": "request", "subject": "svc.echo"}),
            "publish:svc.echo".into(),
        ),
        (
            "an artifact read",
            Grants::none(),
            json!({"mode": "artifact-get", "id": "00"}),
            "artifacts:read".into(),
        ),
        (
            "an artifact write",
            Grants::none().artifacts(ArtifactAccess::Read),
            json!({"mode": "artifact-put", "content": "x"}),
            "artifacts:read-write".into(),
        ),
        (
            "a model call",
            Grants::none(),
            json!({"mode": "model-call", "instrument": "mock-llm", "input": "hi"}),
            "model:mock-llm".into(),
        ),
        (
            "a socket with no net grant",
            Grants::none(),
            json!({"mode": "connect", "addr": refused_server}),
            format!("net:{refused_server}"),
        ),
        (
            "a socket outside its net grant",
            Grants::none().net("127.0.0.1:1"),
            json!({"mode": "connect", "addr": refused_server}),
            format!("net:{refused_server}"),
        ),
        (
            "a UDP socket",
            Grants::none().net("127.0.0.1:*"),
            json!({"mode": "udp", "addr": "127.0.0.1:9"}),
            "udp:0.0.0.0:0".into(),
        ),
        (
            "a name lookup",
            Grants::none(),
            json!({"mode": "resolve", "name": "example.com"}),
            "net:example.com:*".into(),
        ),
        (
            "a file read with no fs grant",
            Grants::none(),
            json!({"mode": "read", "path": "/etc/passwd"}),
            "fs:read:/etc/passwd".into(),
        ),
        (
            "a file write with no fs grant",
            Grants::none(),
            json!({"mode": "write", "path": "/out.txt", "content": "x"}),
            "fs:read-write:/out.txt".into(),
        ),
        (
            "a write in a read-only grant",
            Grants::none().dir(
                data.path(),
                "/data",
                symphony_host::extension::FsAccess::Read,
            ),
            json!({"mode": "write", "path": "/data/new.txt", "content": "x"}),
            "fs:read-write:/data/new.txt".into(),
        ),
        (
            "an HTTP request with no http grant",
            Grants::none(),
            json!({"mode": "http", "url": format!("http://{refused_server}/")}),
            "http:127.0.0.1".into(),
        ),
    ];
    for (what, grants, input, capability) in cases {
        let (host, op) = hostile_with(grants);
        let refused = call(&op, input).unwrap_err();
        if let CallError::Guest {
            error: ExtError::Denied(message),
            ..
        } = &refused
        {
            // A host import names the capability it lacked.
            assert!(
                message.contains(&format!("capability {capability}")),
                "{what}: {message}"
            );
        }
        let records = host
            .audit()
            .query(&symphony_host::extension::AuditQuery {
                extension: Some("hostile".into()),
                decision: Some(symphony_host::extension::Decision::Denied),
                ..Default::default()
            })
            .unwrap();
        // The lifecycle hooks' announcements, refused without a grant,
        // are the fixture's own and not this refusal.
        let refusals: Vec<&str> = records
            .iter()
            .map(|r| r.capability.as_str())
            .filter(|c| !c.starts_with("publish:lifecycle."))
            .collect();
        assert_eq!(refusals, [capability.as_str()], "{what}: {refused}");
        assert!(
            records
                .iter()
                .all(|r| r.by == symphony_host::extension::DecidedBy::Runtime),
            "{what}"
        );
    }
    assert!(!data.path().join("new.txt").exists());
}
