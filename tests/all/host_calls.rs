//! Time a guest spends waiting in a host call counts against every limit:
//! a guest sleeping through WASI's clock, blocked reading a socket, waiting
//! on an HTTP server that never answers or on a bus request nobody answers
//! stops at its deadline, at a node's or a run's timeout, and at a cancel;
//! the error says where it waited, and the next call gets a fresh instance.

use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use symphony_host::{
    extension::{CallError, Grants, Limits, LoadOptions, NodeConfig, Operator},
    runs::{ExecutionState, RunControl, RunOptions},
    workflow::Workflow,
};
use symphony_tests::{TestHost, bare_host, call, fixture, node_report, with_hostile};

use crate::dag::{started, tokio_events::Events};

/// How far past its bound a stopped call may end.
const SLACK: Duration = Duration::from_millis(100);

/// A TCP server on 127.0.0.1 that accepts connections and never answers
/// or closes them: a read from it, or an HTTP request to it, waits
/// forever.
struct Silent {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Silent {
    fn start() -> Silent {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let thread = std::thread::spawn({
            let stop = stop.clone();
            move || {
                let mut held: Vec<TcpStream> = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((stream, _)) => held.push(stream),
                        Err(_) => std::thread::sleep(Duration::from_millis(5)),
                    }
                    // Read what arrives, answer nothing.
                    for stream in &mut held {
                        stream.set_nonblocking(true).unwrap();
                        let _ = stream.read(&mut [0u8; 1024]);
                    }
                }
            }
        });
        Silent {
            addr,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Silent {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A way for a guest to wait in a host call without end.
#[derive(Debug, Clone, Copy)]
enum Block {
    /// `std::thread::sleep` for an hour: WASI's monotonic clock, which
    /// needs no grant.
    Sleep,
    /// A read from a socket it may open, whose peer never answers.
    Socket,
    /// An HTTP GET to a server that never answers.
    Http,
    /// A bus request that a subscriber receives and never answers.
    Request,
}

const BLOCKS: [Block; 4] = [Block::Sleep, Block::Socket, Block::Http, Block::Request];

/// What a guest blocked one way needs: the silent server and the silent
/// subscriber, and the grants to reach them.
struct Blockers {
    silent: Silent,
    _subscriber: symphony_host::bus::Subscription,
}

impl Blockers {
    fn new(host: &TestHost) -> Blockers {
        Blockers {
            silent: Silent::start(),
            _subscriber: host.bus().subscribe("svc.silent").unwrap(),
        }
    }

    fn grants() -> Grants {
        Grants::none()
            .net("127.0.0.1:*")
            .http("127.0.0.1")
            .publish("svc.>")
    }

    /// The hostile fixture's input (or node config) that blocks this way.
    fn input(&self, block: Block) -> Value {
        let addr = self.silent.addr;
        match block {
            Block::Sleep => json!({"mode": "sleep", "ms": 3_600_000}),
            Block::Socket => json!({"mode": "connect", "addr": addr.to_string()}),
            Block::Http => json!({"mode": "http", "url": format!("http://{addr}/")}),
            Block::Request => {
                json!({"mode": "request", "subject": "svc.silent", "timeout_ms": 3_600_000})
            }
        }
    }
}

/// The host call a guest blocked this way is found waiting in.
fn waits_in(block: Block) -> &'static str {
    match block {
        Block::Sleep => "wasi:clocks/monotonic-clock.subscribe-duration",
        Block::Socket => "wasi:io/streams.[method]input-stream.subscribe",
        Block::Http => "wasi:http/outgoing-handler.handle",
        Block::Request => "symphony:extension/host.request",
    }
}

fn hostile(deadline: Duration) -> (TestHost, Operator) {
    let options = LoadOptions {
        grants: Blockers::grants(),
        limits: Some(Limits {
            deadline,
            max_instances: 4,
            ..Limits::default()
        }),
        ..LoadOptions::default()
    };
    with_hostile(bare_host(), options)
}

fn still_serves(op: &Operator) {
    let echo = call(op, json!({"mode": "echo", "value": "still here"})).unwrap();
    assert_eq!(echo, "\"still here\"");
}

#[test]
fn a_guest_waiting_in_a_host_call_stops_at_its_deadline() {
    let deadline = Duration::from_millis(600);
    let (host, op) = hostile(deadline);
    let blockers = Blockers::new(&host);
    for block in BLOCKS {
        let began = Instant::now();
        let error = call(&op, blockers.input(block)).unwrap_err();
        let took = began.elapsed();
        let CallError::Deadline {
            waiting: Some(waiting),
            ..
        } = &error
        else {
            panic!("{block:?}: expected a deadline while waiting, got: {error}");
        };
        assert!(waiting.contains(waits_in(block)), "{block:?}: {error}");
        let message = error.to_string();
        assert!(
            message.contains("deadline and was stopped while waiting in a host call: "),
            "{message}"
        );
        assert!(
            took >= deadline && took < deadline + SLACK,
            "{block:?} stopped after {took:?}, its deadline is {deadline:?}"
        );
        still_serves(&op);
    }
    // Each stopped instance was discarded; the pool serves on fresh ones.
    let pool = host.metrics("hostile").unwrap();
    assert_eq!(pool.errors.deadline, BLOCKS.len() as u64, "{pool:?}");
}

/// One node of the hostile fixture, blocked `block`'s way.
fn blocked_workflow(
    blockers: &Blockers,
    block: Block,
    node_timeout: Option<u64>,
    run_timeout: Option<u64>,
) -> Workflow {
    let mut node = json!({
        "id": "stuck", "kind": "operator", "extension": "hostile",
        "config": blockers.input(block),
    });
    if let Some(ms) = node_timeout {
        node["timeout_ms"] = json!(ms);
    }
    let mut doc = json!({
        "schema_version": 2, "id": "stuck", "name": "stuck", "version": "1.0.0",
        "nodes": [node], "edges": [],
    });
    if let Some(ms) = run_timeout {
        doc["timeout_ms"] = json!(ms);
    }
    Workflow::from_json(&doc.to_string(), "stuck.json").unwrap()
}

/// Options for a run measured by its wall time: nothing but the node.
fn lean(control: Option<RunControl>) -> RunOptions {
    RunOptions {
        control,
        checkpoint: false,
        prewarm: false,
        store_outputs: false,
        ..RunOptions::default()
    }
}

#[test]
fn node_and_run_timeouts_stop_a_node_waiting_in_a_host_call() {
    // The extension's own deadline is far off: the timeouts must stop it.
    let (host, op) = hostile(Duration::from_secs(120));
    let blockers = Blockers::new(&host);
    let timeout = 400;
    for block in BLOCKS {
        let node = blocked_workflow(&blockers, block, Some(timeout), None);
        let began = Instant::now();
        let report = host
            .run_with_options(&node, &json!({}), lean(None), &mut |_| {})
            .unwrap();
        let took = began.elapsed();
        assert_eq!(report.state, ExecutionState::Failed, "{block:?}");
        let error = node_report(&report, "stuck").error.clone().unwrap();
        assert!(
            error.contains("was stopped at the node's 400 ms timeout while waiting in a host call"),
            "{block:?}: {error}"
        );
        assert!(error.contains(waits_in(block)), "{block:?}: {error}");
        assert!(
            took < Duration::from_millis(timeout) + SLACK,
            "{block:?}: the run took {took:?} with a {timeout} ms node timeout"
        );

        let run = blocked_workflow(&blockers, block, None, Some(timeout));
        let began = Instant::now();
        let report = host
            .run_with_options(&run, &json!({}), lean(None), &mut |_| {})
            .unwrap();
        let took = began.elapsed();
        assert_eq!(report.state, ExecutionState::Failed, "{block:?}");
        assert!(
            report.error.as_deref().unwrap().contains("timed out"),
            "{block:?}: {report:?}"
        );
        assert!(
            took < Duration::from_millis(timeout) + SLACK,
            "{block:?}: the run took {took:?} with a {timeout} ms run timeout"
        );
        still_serves(&op);
    }
}

#[test]
fn cancel_stops_a_node_waiting_in_a_host_call_at_once() {
    let (host, op) = hostile(Duration::from_secs(120));
    let blockers = Blockers::new(&host);
    for (i, block) in BLOCKS.into_iter().enumerate() {
        let workflow = blocked_workflow(&blockers, block, None, None);
        let control = RunControl::new(format!("cancelled-{i}-{}", std::process::id()));
        let mut events = Events(control.subscribe());
        let (report, after_cancel) = std::thread::scope(|s| {
            let runner = s.spawn(|| {
                let report = host
                    .run_with_options(
                        &workflow,
                        &json!({}),
                        lean(Some(control.clone())),
                        &mut |_| {},
                    )
                    .unwrap();
                (report, Instant::now())
            });
            events.wait_for(started("stuck"));
            // Long enough for the guest to be waiting in its host call.
            std::thread::sleep(Duration::from_millis(200));
            let cancelled = Instant::now();
            control.cancel().unwrap();
            let (report, ended) = runner.join().unwrap();
            (report, ended - cancelled)
        });
        assert_eq!(report.state, ExecutionState::Cancelled, "{block:?}");
        let error = node_report(&report, "stuck").error.clone().unwrap();
        assert!(
            error.contains("was interrupted: its caller stopped it while waiting in a host call"),
            "{block:?}: {error}"
        );
        assert!(error.contains(waits_in(block)), "{block:?}: {error}");
        assert!(
            after_cancel < SLACK,
            "{block:?}: the run ended {after_cancel:?} after the cancel"
        );
        still_serves(&op);
    }
}

#[test]
fn a_nested_model_call_is_stopped_with_its_caller() {
    let host = bare_host();
    host.load(fixture("flaky_llm")).unwrap();
    let options = LoadOptions {
        grants: Grants::none().model("flaky-llm"),
        limits: Some(Limits {
            deadline: Duration::from_millis(500),
            ..Limits::default()
        }),
        ..LoadOptions::default()
    };
    let (host, op) = with_hostile(host, options);
    let began = Instant::now();
    let error = call(
        &op,
        json!({"mode": "model-call", "instrument": "flaky-llm", "input": {"mode": "sleep", "ms": 3_600_000}}),
    )
    .unwrap_err();
    let took = began.elapsed();
    assert!(
        matches!(&error, CallError::Deadline { waiting: Some(w), .. } if w.contains("symphony:extension/host.model-call")),
        "{error}"
    );
    assert!(took < Duration::from_millis(500) + SLACK, "{took:?}");
    // The Instrument's instance, stopped with its caller, was discarded and
    // its place freed: it serves the next call at once.
    let flaky = host.instrument("flaky-llm").unwrap();
    let answer = flaky
        .invoke(
            &NodeConfig::default(),
            &json!({"mode": "echo", "value": 1}).to_string(),
        )
        .unwrap();
    assert_eq!(answer, "1");
    still_serves(&op);
}

#[test]
fn a_call_waiting_for_a_busy_instance_stops_at_its_interrupt() {
    let options = LoadOptions {
        limits: Some(Limits {
            deadline: Duration::from_secs(60),
            max_instances: 1,
            ..Limits::default()
        }),
        ..LoadOptions::default()
    };
    let (_host, op) = with_hostile(bare_host(), options);
    let stop = symphony_host::extension::Interrupt::new();
    let holder_stop = symphony_host::extension::Interrupt::new();
    std::thread::scope(|s| {
        // The one instance sleeps until its own interrupt.
        let holder = s.spawn(|| {
            let config = NodeConfig::default().with_interrupt(holder_stop.clone());
            op.process(
                &config,
                &json!({"mode": "sleep", "ms": 3_600_000}).to_string(),
            )
        });
        std::thread::sleep(Duration::from_millis(200));
        let waiter = s.spawn(|| {
            let config = NodeConfig::default().with_interrupt(stop.clone());
            let began = Instant::now();
            let result = op.process(&config, &json!({"mode": "echo", "value": 1}).to_string());
            (result, began.elapsed())
        });
        std::thread::sleep(Duration::from_millis(200));
        let stopped = Instant::now();
        stop.set();
        let (result, _) = waiter.join().unwrap();
        let after = stopped.elapsed();
        let error = result.unwrap_err();
        assert!(
            error
                .to_string()
                .contains("while it waited for one of its 1 instances to finish another call"),
            "{error}"
        );
        assert!(after < SLACK, "stopped {after:?} after its interrupt");
        holder_stop.set();
        assert!(matches!(
            holder.join().unwrap(),
            Err(CallError::Interrupted { .. })
        ));
    });
    // The instance was discarded with its interrupted call; a fresh one serves.
    still_serves(&op);
}
