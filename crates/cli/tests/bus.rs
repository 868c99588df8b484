//! The bus across processes: `symphony bus ...` child processes as peers of
//! a server in this test process (or a `symphony serve` child), over
//! the socket and over shared memory.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use symphony_host::bus::{Bus, BusServer, ServerOptions};
use symphony_host::protocol::Message;
use symphony_host::protocol::client::{Client, ClientOptions, RecvError};
use symphony_host::protocol::messages::PeerDown;

const T: Duration = Duration::from_secs(10);

/// Tests that assert how fast something is noticed take this, so the
/// heavy flood test never runs beside them on a two-core machine.
static TIMING: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn timing() -> std::sync::MutexGuard<'static, ()> {
    TIMING.lock().unwrap_or_else(|e| e.into_inner())
}

/// A `symphony` child process, killed when dropped (or after a minute, so
/// a test waiting on its output fails instead of hanging).
struct Peer {
    child: Child,
    stdout: BufReader<ChildStdout>,
    stderr: BufReader<ChildStderr>,
}

impl Peer {
    fn spawn(args: &[&str]) -> Peer {
        let mut child = Command::new(env!("CARGO_BIN_EXE_symphony"))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let stderr = BufReader::new(child.stderr.take().unwrap());
        let pid = child.id().to_string();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_secs(60));
            let _ = Command::new("kill").args(["-KILL", &pid]).status();
        });
        Peer {
            child,
            stdout,
            stderr,
        }
    }

    /// Reads stderr until a line containing `text`; returns the lines read.
    fn wait_for(&mut self, text: &str) -> String {
        let mut seen = String::new();
        loop {
            let mut line = String::new();
            let n = self.stderr.read_line(&mut line).unwrap();
            seen.push_str(&line);
            assert!(n > 0, "the peer exited before printing '{text}': {seen}");
            if line.contains(text) {
                return seen;
            }
        }
    }

    fn line(&mut self) -> String {
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        line
    }

    fn finish(mut self) -> (bool, String) {
        let status = self.child.wait().unwrap();
        let mut rest = String::new();
        self.stdout.read_to_string(&mut rest).unwrap();
        (status.success(), rest)
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve() -> (tempfile::TempDir, Bus, BusServer) {
    let dir = tempfile::tempdir().unwrap();
    let bus = Bus::new();
    let server = BusServer::bind(
        &bus,
        dir.path().join("bus.sock"),
        ServerOptions {
            shm_dir: Some(dir.path().to_path_buf()),
            ..Default::default()
        },
    )
    .unwrap();
    (dir, bus, server)
}

fn socket(server: &BusServer) -> String {
    server.path().display().to_string()
}

/// `--shm` where shared memory exists, for running a test over both links.
fn links() -> Vec<Vec<&'static str>> {
    if cfg!(target_os = "linux") {
        vec![vec![], vec!["--shm"]]
    } else {
        vec![vec![]]
    }
}

fn args<'a>(base: &[&'a str], extra: &[&'a str]) -> Vec<&'a str> {
    base.iter().chain(extra).copied().collect()
}

#[test]
fn a_peer_process_subscribes_publishes_and_answers_requests() {
    for link in links() {
        let (_dir, bus, server) = serve();
        let path = socket(&server);

        let mut sub = Peer::spawn(&args(
            &[
                "bus", "sub", "news.>", "--count", "2", "--json", "--socket", &path,
            ],
            &link,
        ));
        sub.wait_for("subscribed");
        // `x` is also the msgpack number 120: shown as the text it is.
        bus.publish("news.one", &b"x"[..]).unwrap();
        bus.publish("news.two", &[0xff, 0x00][..]).unwrap();
        let first: serde_json::Value = serde_json::from_str(&sub.line()).unwrap();
        assert_eq!(
            (&first["subject"], &first["payload"]),
            (&"news.one".into(), &"x".into())
        );
        let second: serde_json::Value = serde_json::from_str(&sub.line()).unwrap();
        assert_eq!(second["payload"], serde_json::json!({"base64": "/wA="}));
        let (ok, _) = sub.finish();
        assert!(ok);

        let mut replier = Peer::spawn(&args(
            &[
                "bus", "reply", "svc.echo", "--echo", "--count", "1", "--socket", &path,
            ],
            &link,
        ));
        replier.wait_for("answering");
        let reply = bus.request("svc.echo", &b"ping"[..], T).unwrap();
        assert_eq!(&reply.payload[..], b"ping");
        assert!(replier.finish().0);

        let local = bus.subscribe("from.peer").unwrap();
        let publisher = Peer::spawn(&args(
            &["bus", "pub", "from.peer", "hi", "--socket", &path],
            &link,
        ));
        assert!(publisher.finish().0);
        assert_eq!(&local.recv(T).unwrap().payload[..], b"hi");

        let mut request = Peer::spawn(&args(
            &["bus", "request", "svc.none", "--socket", &path],
            &link,
        ));
        let mut err = String::new();
        request.stderr.read_to_string(&mut err).unwrap();
        assert!(!request.finish().0);
        assert!(err.contains("no responders on 'svc.none'"), "{err}");
    }
}

#[test]
fn stats_shows_the_servers_peers_and_subjects() {
    let (_dir, bus, server) = serve();
    let path = socket(&server);
    let mut watcher = Peer::spawn(&[
        "bus", "sub", "watched", "--name", "watcher", "--socket", &path,
    ]);
    watcher.wait_for("subscribed");
    bus.publish("watched", &b"x"[..]).unwrap();
    let (ok, out) = Peer::spawn(&["bus", "stats", "--socket", &path]).finish();
    assert!(ok, "{out}");
    let peer = out
        .lines()
        .find(|l| l.contains("watcher"))
        .unwrap_or_default();
    // Its subscription and its reply inbox.
    let columns: Vec<&str> = peer.split_whitespace().take(3).collect();
    assert_eq!(columns, ["watcher", "socket", "2"], "{out}");
    assert!(
        out.lines().any(|l| l.trim().starts_with("watched ")),
        "{out}"
    );
}

#[test]
fn queue_group_members_in_two_processes_share_the_work() {
    let (_dir, bus, server) = serve();
    let path = socket(&server);
    let mut workers: Vec<Peer> = (0..2)
        .map(|_| {
            Peer::spawn(&[
                "bus", "sub", "jobs", "--queue", "workers", "--count", "5", "--socket", &path,
            ])
        })
        .collect();
    for worker in &mut workers {
        worker.wait_for("subscribed");
    }
    for i in 0..10 {
        assert_eq!(bus.publish("jobs", format!("job-{i}")).unwrap(), 1);
    }
    let mut done = 0;
    for worker in workers {
        let (ok, out) = worker.finish();
        assert!(ok);
        done += out.lines().count();
    }
    assert_eq!(done, 10, "each job went to exactly one worker");
}

/// A `symphony bus sub watched` peer named `name`, once it is subscribed.
fn subscriber(server: &BusServer, name: &str, link: &[&str]) -> Peer {
    let path = socket(server);
    let base = ["bus", "sub", "watched", "--name", name, "--socket", &path];
    let mut peer = Peer::spawn(&args(&base, link));
    peer.wait_for("subscribed");
    peer
}

#[test]
fn a_killed_peer_is_announced_within_100_ms_and_its_subscriptions_removed() {
    let _serial = timing();
    for link in links() {
        let (_dir, bus, server) = serve();
        let downs = bus.subscribe("bus.peer.down").unwrap();
        let mut peer = subscriber(&server, "victim", &link);
        assert_eq!(bus.publish("watched", &b""[..]).unwrap(), 1);

        let killed = Instant::now();
        peer.child.kill().unwrap();
        let down = downs.recv(T).unwrap();
        let noticed = killed.elapsed();
        let down = PeerDown::from_envelope(&down).unwrap();
        assert_eq!(down.peer, "victim");
        assert!(
            noticed < Duration::from_millis(100),
            "noticed after {noticed:?} ({link:?})"
        );
        assert_eq!(bus.publish("watched", &b""[..]).unwrap(), 0);
    }
}

#[cfg(unix)]
#[test]
fn a_stopped_peer_misses_its_heartbeats_and_is_declared_down() {
    let _serial = timing();
    for link in links() {
        let (_dir, bus, server) = serve();
        let downs = bus.subscribe("bus.peer.down").unwrap();
        let peer = subscriber(&server, "sleeper", &link);
        let stopped = Command::new("kill")
            .args(["-STOP", &peer.child.id().to_string()])
            .status()
            .unwrap();
        assert!(stopped.success());
        let down = PeerDown::from_envelope(&downs.recv(T).unwrap()).unwrap();
        assert_eq!(down.peer, "sleeper");
        // The server measures the silence it acted on.
        let silent_ms: u64 = down
            .reason
            .trim_start_matches("no heartbeat for ")
            .trim_end_matches(" ms")
            .parse()
            .unwrap_or_else(|_| panic!("unexpected reason: {}", down.reason));
        assert!(silent_ms < 100, "{}", down.reason);
    }
}

/// A `symphony serve` child on a socket in a fresh directory.
fn child_server(extra: &[&str]) -> (tempfile::TempDir, PathBuf, Peer) {
    let dir = tempfile::tempdir().unwrap();
    // The service makes its socket's directory, private.
    let path = dir.path().join("run").join("bus.sock");
    let server = serve_in_child(&path, extra);
    (dir, path, server)
}

fn serve_in_child(path: &Path, extra: &[&str]) -> Peer {
    let home = path.parent().unwrap().with_file_name("home");
    let (path, home) = (path.display().to_string(), home.display().to_string());
    let mut server = Peer::spawn(&args(&["--home", &home, "serve", "--socket", &path], extra));
    server.wait_for("listening");
    server
}

#[test]
fn a_client_reconnects_to_a_restarted_server_and_resubscribes() {
    let (_dir, path, server) = child_server(&[]);
    let client = Client::connect_with(
        &path,
        ClientOptions {
            name: Some("survivor".into()),
            // Room for a slow restart on a busy machine.
            reconnect_attempts: 10,
            max_reconnect_delay: Duration::from_millis(500),
            ..Default::default()
        },
    )
    .unwrap();
    let sub = client.subscribe("updates.*").unwrap();
    client.flush(T).unwrap();

    drop(server);
    let _server = serve_in_child(&path, &[]);
    client.wait_connected(T).unwrap();
    assert_eq!(client.reconnects(), 1);
    client.flush(T).unwrap();

    let other = Client::connect(&path).unwrap();
    other.publish("updates.1", &b"after restart"[..]).unwrap();
    assert_eq!(&sub.recv(T).unwrap().payload[..], b"after restart");
}

#[test]
fn a_client_gives_up_after_its_reconnection_attempts() {
    let (_dir, path, server) = child_server(&[]);
    let client = Client::connect_with(
        &path,
        ClientOptions {
            reconnect_attempts: 3,
            reconnect_delay: Duration::from_millis(5),
            ..Default::default()
        },
    )
    .unwrap();
    let sub = client.subscribe("x").unwrap();
    drop(server);
    assert_eq!(sub.recv(T).unwrap_err(), RecvError::Closed);
    let err = client.publish("x", &b""[..]).unwrap_err();
    assert!(err.to_string().contains("gave up after 3"), "{err}");
}

#[cfg(unix)]
#[test]
fn malformed_frames_close_only_that_peer_with_a_logged_reason() {
    let (_dir, path, mut server) = child_server(&[]);
    let good = Client::connect(&path).unwrap();
    let sub = good.subscribe("still.working").unwrap();
    good.flush(T).unwrap();

    let mut bad = std::os::unix::net::UnixStream::connect(&path).unwrap();
    let hello = symphony_host::protocol::messages::Hello {
        peer: "mangler".into(),
        shared_memory: false,
    };
    symphony_host::protocol::link::write_message(&mut bad, &hello).unwrap();
    // A frame whose length says 3 bytes of protocol 1, then msgpack junk.
    bad.write_all(&[0, 0, 0, 3, 1, 0xc1, 0xc1]).unwrap();
    let mut rest = Vec::new();
    bad.set_read_timeout(Some(T)).unwrap();
    let _ = bad.read_to_end(&mut rest);
    let logged = server.wait_for("malformed frame");
    assert!(logged.contains("mangler"), "{logged}");

    let publisher = Client::connect(&path).unwrap();
    publisher.publish("still.working", &b"yes"[..]).unwrap();
    assert_eq!(&sub.recv(T).unwrap().payload[..], b"yes");
}

/// Peak resident memory of a process, from /proc.
#[cfg(target_os = "linux")]
fn peak_rss_mib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib / 1024
}

#[cfg(target_os = "linux")]
#[test]
fn a_flood_to_a_slow_subscriber_does_not_grow_the_server_without_bound() {
    let _serial = timing();
    let (dir, path, server) = child_server(&["--peer-queue", "256"]);
    let slow = Client::connect_with(
        &path,
        ClientOptions {
            subscription_capacity: 16,
            ..Default::default()
        },
    )
    .unwrap();
    let sub = slow.subscribe("flood").unwrap();
    slow.flush(T).unwrap();

    let payload = dir.path().join("payload");
    std::fs::write(&payload, vec![7u8; 16 * 1024]).unwrap();
    let at = format!("@{}", payload.display());
    let path_arg = path.display().to_string();
    // 20,000 × 16 KiB = 312 MiB through a server whose queues hold little.
    let flood = Peer::spawn(&[
        "bus", "pub", "flood", &at, "--count", "20000", "--socket", &path_arg,
    ]);
    let mut received = 0;
    while received < 20 {
        sub.recv(T).unwrap();
        received += 1;
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(flood.finish().0);
    let peak = peak_rss_mib(server.child.id());
    assert!(peak < 120, "the server peaked at {peak} MiB");
    assert!(
        slow.dropped() > 0,
        "the slow subscriber dropped what it could not hold"
    );
}

#[test]
fn a_client_waits_out_a_server_down_for_seconds() {
    let (_dir, path, server) = child_server(&[]);
    let client = Client::connect_with(
        &path,
        ClientOptions {
            name: Some("patient".into()),
            ..Default::default()
        },
    )
    .unwrap();
    let sub = client.subscribe("updates.*").unwrap();
    client.flush(T).unwrap();

    // Down for longer than the old give-up time (about 1.5 s).
    drop(server);
    std::thread::sleep(Duration::from_millis(2500));
    assert!(!client.is_connected());
    let _server = serve_in_child(&path, &[]);
    client.wait_connected(Duration::from_secs(10)).unwrap();
    client.flush(T).unwrap();
    let other = Client::connect(&path).unwrap();
    other.publish("updates.1", &b"back"[..]).unwrap();
    assert_eq!(&sub.recv(T).unwrap().payload[..], b"back");
}
