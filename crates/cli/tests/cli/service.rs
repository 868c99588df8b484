//! `symphony serve` driven from other processes: the CLI as its client,
//! runs followed and steered live, a daemon killed mid-run and restarted,
//! strangers and extension peers refused, bad input answered.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use symphony_host::Host;
use symphony_host::extension::{AuditQuery, Grants, LoadOptions};
use symphony_host::protocol::client::ClientOptions;
use symphony_service::api::{
    ErrorKind, RunList, RunPause, RunResume, RunStart, RunStatusRequest, StatsRequest,
};
use symphony_service::{Daemon, DaemonOptions, ServiceClient};

use super::resume::{chain_workflow, fixture, report, symphony};
use super::{BIN, text};

const WAIT: Duration = Duration::from_secs(180);

/// A `symphony serve` child; killed (SIGKILL) when dropped.
struct Served {
    child: Child,
    socket: PathBuf,
    stderr: mpsc::Receiver<String>,
}

impl Served {
    fn start(home: &Path, extensions: &Path) -> Served {
        Served::start_with(home, extensions, &[])
    }

    fn start_with(home: &Path, extensions: &Path, extra: &[&str]) -> Served {
        let mut child = Command::new(BIN)
            .arg("--home")
            .arg(home)
            .args(["serve", "--ext-dir"])
            .arg(extensions)
            .args(extra)
            .env_remove("SYMPHONY_LOG")
            .env_remove("SYMPHONY_BUS")
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = BufReader::new(child.stderr.take().unwrap());
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in stderr.lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        loop {
            match rx.recv_timeout(WAIT) {
                Ok(line) if line.contains("listening on") => break,
                Ok(_) => {}
                Err(e) => panic!("the service did not start: {e}"),
            }
        }
        Served {
            child,
            socket: home.join("run/bus.sock"),
            stderr: rx,
        }
    }

    fn client(&self) -> ServiceClient {
        ServiceClient::connect(&self.socket).unwrap()
    }

    /// SIGTERM, then the exit status and what it said on the way out.
    fn terminate(mut self) -> (std::process::ExitStatus, String) {
        let pid = self.child.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
        let status = self.child.wait().unwrap();
        let said: Vec<String> = self.stderr.try_iter().collect();
        (status, said.join("\n"))
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A home and an extension directory holding the hostile fixture.
fn setup() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let work = tempfile::tempdir().unwrap();
    let extensions = work.path().join("ext");
    std::fs::create_dir_all(&extensions).unwrap();
    std::fs::copy(fixture("hostile"), extensions.join("hostile.wasm")).unwrap();
    let home = work.path().join("home");
    (work, home, extensions)
}

/// Waits until `check` passes on the run's status.
fn wait_for(
    client: &ServiceClient,
    run: &str,
    what: &str,
    check: impl Fn(&Value) -> bool,
) -> Value {
    let until = Instant::now() + WAIT;
    loop {
        if let Ok(reply) = client.call(&RunStatusRequest { run: run.into() }) {
            let mut status = serde_json::to_value(&reply.status).unwrap();
            if let Some(live) = reply.live {
                status["live"] = json!(live);
            }
            if check(&status) {
                return status;
            }
        }
        assert!(Instant::now() < until, "run {run} never {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn run_in_background(home: &Path, workflow: &Path) -> Child {
    Command::new(BIN)
        .arg("--home")
        .arg(home)
        .arg("run")
        .arg(workflow)
        .arg("--json")
        .env_remove("SYMPHONY_BUS")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// The id of the only run the service is running.
fn running_run(client: &ServiceClient, known: &[String]) -> String {
    let until = Instant::now() + WAIT;
    loop {
        let runs = client.call(&RunList { limit: 50 }).unwrap().runs;
        if let Some(run) = runs.iter().find(|r| !known.contains(&r.id)) {
            return run.id.clone();
        }
        assert!(Instant::now() < until, "no run started");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Runs `symphony ARGS` and returns how long it took.
fn timed(home: &Path, args: &[&str]) -> Duration {
    let started = Instant::now();
    let output = symphony(home, args);
    let took = started.elapsed();
    assert!(
        output.status.success(),
        "{args:?}: {}",
        text(&output.stderr)
    );
    took
}

#[test]
fn the_cli_runs_follows_and_steers_runs_of_a_service_in_another_process() {
    let (work, home, extensions) = setup();
    let workflow = chain_workflow(work.path());
    let served = Served::start(&home, &extensions);
    let client = served.client();

    // A run on the service prints what an embedded run of it prints.
    let on_service = symphony(&home, &["run", workflow.to_str().unwrap(), "--json"]);
    assert!(
        text(&on_service.stderr).contains("using the service at"),
        "{}",
        text(&on_service.stderr)
    );
    let on_service = report(&on_service);
    let embedded = symphony(
        &home,
        &[
            "run",
            workflow.to_str().unwrap(),
            "--json",
            "--embedded",
            "--ext-dir",
            extensions.to_str().unwrap(),
        ],
    );
    assert!(text(&embedded.stderr).contains("embedded host"));
    let embedded = report(&embedded);
    assert_eq!(on_service["state"], "completed");
    assert_eq!(on_service["output"], embedded["output"]);
    let states = |r: &Value| -> Vec<(Value, Value)> {
        r["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| (n["id"].clone(), n["state"].clone()))
            .collect()
    };
    assert_eq!(states(&on_service), states(&embedded));

    // A run started by one process, followed by a second, steered by a
    // third.
    let known: Vec<String> = vec![
        on_service["run_id"].as_str().unwrap().into(),
        embedded["run_id"].as_str().unwrap().into(),
    ];
    let runner = run_in_background(&home, &workflow);
    let run = running_run(&client, &known);
    let follower = Command::new(BIN)
        .arg("--home")
        .arg(&home)
        .args(["events", &run, "--json"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let pattern = format!("exec.{run}.>");
    let until = Instant::now() + WAIT;
    // The runner and the follower each subscribe to the run's events.
    let subscribed = || {
        client.call(&StatsRequest {}).unwrap().bus["bus"]["subscriptions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["pattern"] == pattern.as_str())
            .count()
    };
    while subscribed() < 2 {
        assert!(Instant::now() < until, "the follower never subscribed");
        std::thread::sleep(Duration::from_millis(10));
    }
    wait_for(&client, &run, "finished a node", |s| {
        s["completed"].as_u64() >= Some(1)
    });

    let states = client.subscribe(&format!("exec.{run}.state")).unwrap();
    let next_state = || -> String {
        let event: Value = serde_json::from_slice(&states.recv(WAIT).unwrap().payload).unwrap();
        event["state"].as_str().unwrap().to_string()
    };
    let pause = timed(&home, &["pause", &run]);
    assert_eq!(next_state(), "paused");
    let paused = wait_for(&client, &run, "paused", |s| s["live"] == "paused");
    // Nodes running at the pause finish; none starts after it.
    let settled = paused["completed"].as_u64().unwrap() + 1;
    std::thread::sleep(Duration::from_millis(700));
    let still = wait_for(&client, &run, "stayed paused", |s| s["live"] == "paused");
    assert!(still["completed"].as_u64().unwrap() <= settled, "{still}");

    let resume = timed(&home, &["resume", &run]);
    assert_eq!(next_state(), "running");
    // The same from this process's own connection: from the request to
    // the run's event saying it took effect, without a process start-up.
    let started = Instant::now();
    client.call(&RunPause { run: run.clone() }).unwrap();
    assert_eq!(next_state(), "paused");
    let pause_effect = started.elapsed();
    let started = Instant::now();
    client.call(&RunResume { run: run.clone() }).unwrap();
    assert_eq!(next_state(), "running");
    let effect = [pause_effect, started.elapsed()];
    let cancel = timed(&home, &["cancel", &run]);
    assert_eq!(next_state(), "cancelled");
    eprintln!(
        "steering a service run: pause {:?} and resume {:?} from request to event; \
         with the CLI's start-up, pause {pause:?}, resume {resume:?}, cancel {cancel:?}",
        effect[0], effect[1]
    );
    for took in effect {
        assert!(took < Duration::from_secs(1), "{took:?}");
    }
    for took in [pause, resume, cancel] {
        assert!(took < Duration::from_secs(5), "{took:?}");
    }

    let runner_out = runner.wait_with_output().unwrap();
    assert!(!runner_out.status.success());
    assert!(
        text(&runner_out.stderr).contains("cancelled"),
        "{}",
        text(&runner_out.stderr)
    );
    let followed = follower.wait_with_output().unwrap();
    assert!(followed.status.success());
    let events: Vec<Value> = text(&followed.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let states: Vec<&str> = events
        .iter()
        .filter(|e| e["event"] == "state")
        .filter_map(|e| e["state"].as_str())
        .collect();
    assert_eq!(
        states,
        ["paused", "running", "paused", "running", "cancelled"],
        "{events:?}"
    );
    assert!(events.iter().any(|e| e["event"] == "node_completed"));

    // The CLI lists and shows runs through the service.
    let listed = text(&symphony(&home, &["runs"]).stdout);
    assert!(
        listed.contains(&run) && listed.contains("cancelled"),
        "{listed}"
    );
    let (status, said) = served.terminate();
    assert_eq!(status.code(), Some(0), "{said}");
}

#[test]
fn clients_that_die_or_crowd_in_do_not_disturb_runs() {
    let (work, home, extensions) = setup();
    let workflow = chain_workflow(work.path());
    let served = Served::start(&home, &extensions);
    let client = served.client();

    // A client killed mid-run: the run goes on to complete.
    let mut runner = run_in_background(&home, &workflow);
    let run = running_run(&client, &[]);
    wait_for(&client, &run, "started a node", |s| {
        s["completed"].as_u64() >= Some(1)
    });
    runner.kill().unwrap();
    runner.wait().unwrap();
    let done = wait_for(&client, &run, "completed", |s| s["state"] == "completed");
    assert_eq!(done["total"], 6);

    // Fifty clients start runs at once; all complete.
    let quick = json!({"schema_version": 2, "id": "quick", "name": "quick", "version": "1.0.0",
        "nodes": [{"id": "echo", "kind": "operator", "extension": "hostile",
                   "config": {"mode": "sleep", "ms": 20, "label": "q"}}]});
    let socket = served.socket.clone();
    let clients: Vec<_> = (0..50)
        .map(|i| {
            let (socket, quick) = (socket.clone(), quick.clone());
            std::thread::spawn(move || {
                let client = ServiceClient::connect(&socket).unwrap();
                let run_id = format!("crowd-{i}");
                let events = client.subscribe(&format!("exec.{run_id}.state")).unwrap();
                client
                    .call(&RunStart {
                        workflow: Some(quick),
                        run_id: Some(run_id.clone()),
                        ..RunStart::default()
                    })
                    .unwrap();
                loop {
                    let event: Value =
                        serde_json::from_slice(&events.recv(WAIT).unwrap().payload).unwrap();
                    if event["state"] == "completed" {
                        return run_id;
                    }
                    assert_ne!(event["state"], "failed", "{event}");
                }
            })
        })
        .collect();
    let finished: Vec<String> = clients.into_iter().map(|c| c.join().unwrap()).collect();
    assert_eq!(finished.len(), 50);
    let stats = client.call(&StatsRequest {}).unwrap();
    assert!(stats.bus["peers"].as_array().is_some(), "{:?}", stats.bus);
}

#[test]
fn a_service_stopped_or_killed_mid_run_resumes_the_run_after_a_restart() {
    let (work, home, extensions) = setup();
    let workflow = chain_workflow(work.path());
    let mut served = Served::start(&home, &extensions);
    let uninterrupted = report(&symphony(
        &home,
        &["run", workflow.to_str().unwrap(), "--json"],
    ));
    let mut known = vec![uninterrupted["run_id"].as_str().unwrap().to_string()];

    // SIGTERM drains (running nodes finish and are checkpointed, the
    // service exits 0); SIGKILL gives no warning at all.
    for sigterm in [true, false] {
        let client = served.client();
        let runner = run_in_background(&home, &workflow);
        let run = running_run(&client, &known);
        known.push(run.clone());
        wait_for(&client, &run, "checkpointed two nodes", |s| {
            s["completed"].as_u64() >= Some(2)
        });
        drop(client);
        if sigterm {
            let (status, said) = served.terminate();
            assert_eq!(status.code(), Some(0), "{said}");
            assert!(said.contains(&format!("symphony resume {run}")), "{said}");
        } else {
            drop(served); // SIGKILL
        }
        let lost = runner.wait_with_output().unwrap();
        assert!(!lost.status.success());
        assert!(
            text(&lost.stderr).contains(&format!("symphony status {run}")),
            "{}",
            text(&lost.stderr)
        );

        served = Served::start(&home, &extensions);
        let listed = text(&symphony(&home, &["runs"]).stdout);
        assert!(
            listed
                .lines()
                .any(|l| l.contains(&run) && l.contains("interrupted")),
            "{listed}"
        );
        let client = served.client();
        let before = client
            .call(&RunStatusRequest { run: run.clone() })
            .unwrap()
            .status;
        let resumed = symphony(&home, &["resume", &run]);
        assert!(resumed.status.success(), "{}", text(&resumed.stderr));
        assert!(
            text(&resumed.stdout).contains("interrupted → running"),
            "{}",
            text(&resumed.stdout)
        );
        let done = wait_for(&client, &run, "completed", |s| s["state"] == "completed");
        assert_eq!(done["output"], uninterrupted["output"]);
        assert_eq!(done["resumes"], 1);
        // Nodes checkpointed before the stop were not run again.
        let after = client
            .call(&RunStatusRequest { run: run.clone() })
            .unwrap()
            .status;
        for node in &before.nodes {
            let now = after.nodes.iter().find(|n| n.node == node.node).unwrap();
            assert_eq!(now.seq, node.seq, "{} ran again", node.node);
        }
    }
}

#[test]
fn strangers_and_extension_peers_outside_their_grants_are_refused_and_audited() {
    assert!(
        running_as_root(),
        "this test runs a client as another user (CI runs as root)"
    );
    let (_work, home, extensions) = setup();
    let served = Served::start(&home, &extensions);
    let socket = served.socket.to_str().unwrap().to_string();
    let as_nobody = |socket: &str| nobody(&["runs", "--connect", socket]);
    // The private directory keeps other users from the socket at all.
    let dir = served.socket.parent().unwrap().to_path_buf();
    let mode = std::fs::metadata(&dir).unwrap().permissions();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
        0o700
    );
    let blocked = as_nobody(&socket);
    assert_eq!(blocked.status.code(), Some(77), "{}", text(&blocked.stderr));
    assert!(
        text(&blocked.stderr).contains("Permission denied"),
        "{}",
        text(&blocked.stderr)
    );

    // Opened up by mistake, the service still checks who is asking.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&served.socket, std::fs::Permissions::from_mode(0o666)).unwrap();
    let refused = as_nobody(&socket);
    assert_eq!(refused.status.code(), Some(77), "{}", text(&refused.stderr));
    assert!(
        text(&refused.stderr).contains("uid 65534 may not use this Symphony service"),
        "{}",
        text(&refused.stderr)
    );
    let audit = std::fs::read_to_string(home.join("audit.log")).unwrap();
    assert!(
        audit.lines().any(|l| l.contains("\"by\":\"peer\"")
            && l.contains("bus:connect")
            && l.contains("uid 65534")),
        "{audit}"
    );

    drop(served);

    // A group allowed in may drive the service, but not have it read its
    // user's files.
    let (work, home, extensions) = setup();
    std::fs::create_dir_all(&home).unwrap();
    for dir in [work.path(), &home] {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let served = Served::start_with(&home, &extensions, &["--allow-group", "65534"]);
    let socket = served.socket.to_str().unwrap().to_string();
    let dir_mode = std::fs::metadata(served.socket.parent().unwrap())
        .unwrap()
        .permissions();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&dir_mode) & 0o777,
        0o750
    );
    let listed = as_nobody(&socket);
    assert!(listed.status.success(), "{}", text(&listed.stderr));
    assert!(
        text(&listed.stdout).contains("no runs yet"),
        "{}",
        text(&listed.stdout)
    );
    let large = work.path().join("large.bin");
    std::fs::write(&large, vec![1u8; symphony_service::api::MAX_INLINE + 1]).unwrap();
    std::fs::set_permissions(&large, std::fs::Permissions::from_mode(0o644)).unwrap();
    let put = nobody(&[
        "artifacts",
        "put",
        large.to_str().unwrap(),
        "--connect",
        &socket,
    ]);
    assert_eq!(put.status.code(), Some(77), "{}", text(&put.stderr));
    assert!(
        text(&put.stderr).contains("uid 65534 may not have the service read files"),
        "{}",
        text(&put.stderr)
    );
}

/// `symphony ARGS` as uid and gid 65534, with no other groups.
fn nobody(args: &[&str]) -> std::process::Output {
    Command::new("setpriv")
        .args([
            "--reuid",
            "65534",
            "--regid",
            "65534",
            "--clear-groups",
            BIN,
        ])
        .args(["--home", "/nonexistent"])
        .args(args)
        .output()
        .unwrap()
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| text(&o.stdout).trim() == "0")
}

#[test]
fn an_extension_peer_is_confined_to_its_grants_and_bad_requests_get_typed_errors() {
    let home = tempfile::tempdir().unwrap();
    let host = Host::builder().home(home.path()).build().unwrap();
    host.load_with(
        fixture("hostile"),
        LoadOptions {
            name: Some("metrics".into()),
            grants: Grants::none().publish("metrics.>").subscribe("metrics.>"),
            ..LoadOptions::default()
        },
    )
    .unwrap();
    let socket = home.path().join("run/bus.sock");
    let daemon = Daemon::start(host, DaemonOptions::new(&socket)).unwrap();
    let token = daemon.issue_token("metrics").unwrap();
    let trusted = ServiceClient::connect(&socket).unwrap();
    let watch = trusted.subscribe("metrics.>").unwrap();

    let extension = ServiceClient::connect_with(
        &socket,
        ClientOptions {
            name: Some("metrics-peer".into()),
            token: Some(token),
            ..ClientOptions::default()
        },
    )
    .unwrap();
    extension.bus().publish("metrics.cpu", &b"42"[..]).unwrap();
    assert_eq!(&watch.recv(WAIT).unwrap().payload[..], b"42");
    let denied = extension.call(&RunList { limit: 1 }).unwrap_err();
    assert_eq!(denied.kind(), Some(ErrorKind::Denied), "{denied}");
    // Refused by the server, which tells the peer on its connection.
    let _outside = extension.bus().subscribe("exec.>").unwrap();
    extension.bus().flush(WAIT).unwrap();
    let records = daemon
        .host()
        .audit()
        .query(&AuditQuery {
            extension: Some("metrics".into()),
            ..AuditQuery::default()
        })
        .unwrap();
    let actions: Vec<&str> = records.iter().map(|r| r.capability.as_str()).collect();
    assert!(
        actions.contains(&"bus:publish:symphony.v1.run.list"),
        "{actions:?}"
    );
    assert!(actions.contains(&"bus:subscribe:exec.>"), "{actions:?}");
    let forged = ServiceClient::connect_with(
        &socket,
        ClientOptions {
            token: Some("forged".into()),
            reconnect_attempts: 0,
            ..ClientOptions::default()
        },
    );
    assert!(forged.err().unwrap().to_string().contains("did not issue"));

    // Bad input gets a typed answer, and the connection serves on.
    let cases: Vec<(Result<(), symphony_service::CallError>, ErrorKind)> = vec![
        (
            trusted
                .call(&RunStatusRequest {
                    run: "no-such-run".into(),
                })
                .map(drop),
            ErrorKind::NotFound,
        ),
        (
            trusted
                .call(&RunPause {
                    run: "bad id!".into(),
                })
                .map(drop),
            ErrorKind::InvalidRequest,
        ),
        (
            trusted
                .call(&RunStart {
                    workflow: Some(json!({"schema_version": 2, "name": "x",
                        "nodes": [{"id": "a", "kind": "operator", "extension": "missing"}]})),
                    ..RunStart::default()
                })
                .map(drop),
            ErrorKind::InvalidWorkflow,
        ),
        (
            trusted.call(&RunStart::default()).map(drop),
            ErrorKind::InvalidRequest,
        ),
    ];
    for (outcome, kind) in cases {
        let error = outcome.unwrap_err();
        assert_eq!(error.kind(), Some(kind), "{error}");
    }
    let unknown = trusted
        .bus()
        .request_envelope(
            symphony_host::protocol::Envelope::new("symphony.v9.nope", "symphony.v9.nope", vec![]),
            WAIT,
        )
        .unwrap();
    assert_eq!(
        unknown.header(symphony_host::bus::ERROR_KIND_HEADER),
        Some("unknown_type")
    );

    // A peer sending garbage is dropped alone.
    let mut raw = std::os::unix::net::UnixStream::connect(&socket).unwrap();
    raw.write_all(&[0, 0, 0, 5, 9, 1, 2, 3, 4]).unwrap();
    let mut oversized = std::os::unix::net::UnixStream::connect(&socket).unwrap();
    oversized.write_all(&u32::MAX.to_be_bytes()).unwrap();
    assert!(trusted.call(&RunList { limit: 1 }).is_ok());
    daemon.shutdown(Duration::from_secs(1));
}

#[test]
fn extensions_and_artifacts_are_driven_through_the_service() {
    use symphony_service::api::{
        ArtifactGet, ArtifactInfoRequest, ArtifactPut, ArtifactSearch, ExtList, ExtLoad, ExtReload,
        ExtUnload, MAX_CHUNK, MAX_INLINE,
    };
    let (work, home, extensions) = setup();
    let served = Served::start(&home, &extensions);
    let client = served.client();

    // Extensions: list, reload, unload, load again.
    let names = |client: &ServiceClient| -> Vec<String> {
        let listed = client.call(&ExtList {}).unwrap();
        listed
            .extensions
            .iter()
            .map(|e| e["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(names(&client), ["hostile"]);
    client
        .call(&ExtReload {
            name: "hostile".into(),
        })
        .unwrap();
    client
        .call(&ExtUnload {
            name: "hostile".into(),
        })
        .unwrap();
    assert!(names(&client).is_empty());
    let missing = client
        .call(&ExtUnload {
            name: "hostile".into(),
        })
        .unwrap_err();
    assert_eq!(missing.kind(), Some(ErrorKind::NotFound), "{missing}");
    let loaded = client
        .call(&ExtLoad {
            dir: extensions.display().to_string(),
            grants: Vec::new(),
        })
        .unwrap();
    assert_eq!(loaded.loaded, ["hostile"]);

    // Artifacts: a large file by path, read back in chunks.
    let big: Vec<u8> = (0..(2 * MAX_CHUNK + 12345))
        .map(|i| (i % 251) as u8)
        .collect();
    let file = work.path().join("big.bin");
    std::fs::write(&file, &big).unwrap();
    let stored = client
        .call(&ArtifactPut {
            path: Some(file.display().to_string()),
            tags: vec!["big".into()],
            name: Some("blobs/big".into()),
            ..ArtifactPut::default()
        })
        .unwrap();
    assert_eq!(stored.size, big.len() as u64);
    assert_eq!(stored.version.as_ref().unwrap()["version"], 1);
    let mut read = Vec::new();
    let mut chunks = 0;
    while read.len() < big.len() {
        let chunk = client
            .call(&ArtifactGet {
                id: stored.id.clone(),
                offset: read.len() as u64,
                max: MAX_CHUNK as u32,
            })
            .unwrap();
        assert_eq!(chunk.offset, read.len() as u64);
        assert!(!chunk.data.is_empty());
        read.extend_from_slice(&chunk.data);
        chunks += 1;
    }
    assert_eq!((chunks, read == big), (3, true));
    let info = client
        .call(&ArtifactInfoRequest {
            id: stored.id.clone(),
        })
        .unwrap();
    assert_eq!(info.info["tags"], json!(["big"]));
    let hits = client
        .call(&ArtifactSearch {
            tags: vec!["big".into()],
            ..ArtifactSearch::default()
        })
        .unwrap();
    assert_eq!(hits.total, 1);
    assert_eq!(hits.hits[0]["names"], json!(["blobs/big"]));
    let too_big = client
        .call(&ArtifactPut {
            content: Some(vec![0; MAX_INLINE + 1]),
            ..ArtifactPut::default()
        })
        .unwrap_err();
    assert_eq!(too_big.kind(), Some(ErrorKind::InvalidRequest), "{too_big}");

    // The CLI stores and searches through the service, which holds the
    // search index.
    let note = work.path().join("note.txt");
    std::fs::write(&note, "quarterly revenue grew").unwrap();
    let put = symphony(
        &home,
        &["artifacts", "put", note.to_str().unwrap(), "--tag", "memo"],
    );
    assert!(put.status.success(), "{}", text(&put.stderr));
    assert!(text(&put.stderr).contains("using the service"));
    let found = symphony(&home, &["artifacts", "search", "revenue"]);
    assert!(found.status.success(), "{}", text(&found.stderr));
    assert!(
        text(&found.stdout).contains("1 found"),
        "{}",
        text(&found.stdout)
    );
    assert!(
        text(&found.stdout).contains("[memo]"),
        "{}",
        text(&found.stdout)
    );
}

/// A child whose stdout lines arrive on a channel; killed when dropped.
pub(super) struct Lines {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Lines {
    pub(super) fn spawn(command: &mut Command) -> Lines {
        let mut child = command.stdout(Stdio::piped()).spawn().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in stdout.lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        Lines { child, lines }
    }

    /// The next JSON line whose `event` is `event`, skipping others.
    pub(super) fn next(&self, event: &str) -> Value {
        let until = Instant::now() + WAIT;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            let line = self
                .lines
                .recv_timeout(left)
                .unwrap_or_else(|e| panic!("no {event} event: {e}"));
            let value: Value = serde_json::from_str(&line).unwrap();
            assert_ne!(value["event"], "build-failed", "{value}");
            if value["event"] == event {
                return value;
            }
        }
    }
}

impl Drop for Lines {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `ext dev` in a scaffolded extension: built (by cargo, into a shared
/// CARGO_TARGET_DIR, then put where the manifest points), loaded into the
/// running service, and rebuilt and reloaded there when its source
/// changes: a run through the service sees the new code.
#[test]
fn ext_dev_rebuilds_on_a_source_edit_and_reloads_into_the_service() {
    assert!(
        super::wasm_target_installed(),
        "the wasm32-wasip2 target is not installed: run `cargo xtask test`, which adds it"
    );
    // Built where the guests are, so their compiled dependencies are reused.
    let guests = (Path::new(BIN).ancestors().nth(2))
        .expect("binary under <target>/<profile>")
        .join("guests");
    let parent = guests.join("scaffold-dev-test");
    let _ = std::fs::remove_dir_all(&parent);
    std::fs::create_dir_all(&parent).unwrap();
    let out = super::ext_new("operator", "dev-e2e", &parent, &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let dir = parent.join("dev-e2e");
    let lock = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/Cargo.lock");
    std::fs::copy(lock, dir.join("Cargo.lock")).unwrap();

    let (_work, home, extensions) = setup();
    let served = Served::start(&home, &extensions);
    let dev = Lines::spawn(
        Command::new(BIN)
            .arg("--home")
            .arg(&home)
            .args(["ext", "dev", "--json"])
            .arg(&dir)
            .env("CARGO_TARGET_DIR", &guests)
            .env_remove("SYMPHONY_BUS")
            .stderr(Stdio::null()),
    );
    let built = dev.next("built");
    assert!(
        built["note"].as_str().unwrap().contains("cargo wrote"),
        "{built}"
    );
    let loaded = dev.next("loaded");
    assert_eq!(loaded["into"], "the service");

    let workflow = dir.join("workflow.json").display().to_string();
    let run = || {
        let out = symphony(
            &home,
            &[
                "run",
                &workflow,
                "--input",
                r#"{"text": "MiXeD"}"#,
                "--json",
            ],
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(text(&out.stderr).contains("using the service"));
        report(&out)["output"]["text"].clone()
    };
    assert_eq!(run(), "MIXED");

    let source = dir.join("src/lib.rs");
    let code = std::fs::read_to_string(&source).unwrap();
    assert!(code.contains(".to_uppercase()"));
    std::fs::write(&source, code.replace(".to_uppercase()", ".to_lowercase()")).unwrap();
    let changed = dev.next("changed");
    assert_eq!(changed["files"], json!(["src/lib.rs"]));
    dev.next("built");
    let reloaded = dev.next("reloaded");
    assert_eq!(reloaded["changed"], true, "{reloaded}");
    assert_ne!(reloaded["from_sha256"], reloaded["to_sha256"]);
    assert_eq!(run(), "mixed");

    // A change that does not compile leaves the new version serving.
    std::fs::write(&source, "this is not rust").unwrap();
    let failed = loop {
        let line = dev.lines.recv_timeout(WAIT).unwrap();
        let value: Value = serde_json::from_str(&line).unwrap();
        if value["event"] == "build-failed" {
            break value;
        }
    };
    assert!(
        failed["error"].as_str().unwrap().contains("cargo"),
        "{failed}"
    );
    assert_eq!(run(), "mixed");
    drop(dev);
    drop(served);
}

/// An extension directory whose "build" copies the example json-transform
/// component to `out/shaper.wasm`, where its manifest points: the
/// directory and that build command.
fn shaper(work: &Path) -> (PathBuf, String) {
    let dir = work.join("shaper");
    std::fs::create_dir_all(&dir).unwrap();
    let example = super::components().join("json-transform");
    let manifest = std::fs::read_to_string(example.join("symphony.toml")).unwrap();
    std::fs::write(
        dir.join("symphony.toml"),
        manifest.replace(
            "component = \"json_transform.wasm\"",
            "component = \"out/shaper.wasm\"",
        ),
    )
    .unwrap();
    let build = format!(
        "mkdir -p out && cp {} out/shaper.wasm",
        example.join("json_transform.wasm").display()
    );
    (dir, build)
}

/// `ext dev --build` for a component built by any command (any language),
/// here a copy: loaded into a host in this process with no service, a
/// workflow run after each load, and an unchanged rebuild said so.
#[test]
fn ext_dev_with_a_build_command_loads_embedded_and_runs_the_workflow() {
    let work = tempfile::tempdir().unwrap();
    let (dir, build) = shaper(work.path());
    std::fs::write(dir.join("notes.txt"), "v1").unwrap();
    let workflow = work.path().join("flow.json");
    std::fs::write(
        &workflow,
        r#"{"schema_version": 2, "id": "flow", "name": "flow", "version": "1.0.0",
            "nodes": [{"id": "pick", "kind": "operator", "extension": "json-transform",
                       "config": {"spec": {"steps": [{"select": {"n": "$.n"}}]}}}]}"#,
    )
    .unwrap();
    let dev = Lines::spawn(
        Command::new(BIN)
            .arg("--home")
            .arg(work.path().join("home"))
            .args([
                "ext",
                "dev",
                "--json",
                "--embedded",
                "--build",
                &build,
                "--workflow",
            ])
            .arg(&workflow)
            .args(["--input", r#"{"n": 7, "m": 8}"#])
            .arg(&dir)
            .stderr(Stdio::null()),
    );
    dev.next("built");
    assert_eq!(dev.next("loaded")["into"], "this process");
    let ran = dev.next("ran");
    assert_eq!(ran["output"], json!({"n": 7}), "{ran}");
    std::fs::write(dir.join("notes.txt"), "v2").unwrap();
    assert_eq!(dev.next("changed")["files"], json!(["notes.txt"]));
    let reloaded = dev.next("reloaded");
    assert_eq!(reloaded["changed"], false, "the same component: {reloaded}");
    assert_eq!(dev.next("ran")["output"], json!({"n": 7}));
}

/// Developing an extension the service already serves from elsewhere
/// replaces it there with the build being developed, and says so.
#[test]
fn ext_dev_replaces_another_build_the_service_serves() {
    let work = tempfile::tempdir().unwrap();
    let home = work.path().join("home");
    let served = Served::start(&home, &super::components());
    let (dir, build) = shaper(work.path());
    let dev = Lines::spawn(
        Command::new(BIN)
            .arg("--home")
            .arg(&home)
            .args(["ext", "dev", "--json", "--build", &build])
            .arg(&dir)
            .env_remove("SYMPHONY_BUS")
            .stderr(Stdio::null()),
    );
    let replacing = dev.next("replacing");
    assert_eq!(replacing["name"], "json-transform");
    assert_eq!(dev.next("loaded")["into"], "the service");
    let listed = served
        .client()
        .call(&symphony_service::api::ExtList {})
        .unwrap();
    let ours = listed
        .extensions
        .iter()
        .find(|e| e["name"] == "json-transform")
        .unwrap();
    assert!(
        ours["path"].as_str().unwrap().ends_with("out/shaper.wasm"),
        "{ours}"
    );
}
