//! The DAG Tracker against the real hostile fixture: parallel nodes, the
//! concurrency limit, timeouts, recovery policies, pause / resume /
//! cancel, the event stream, checkpoints and resuming, and scale.

use std::num::NonZeroUsize;
use std::time::Duration;

use serde_json::{Value, json};
use symphony_host::{
    runs::{ExecEvent, ExecutionState, NodeState, RunControl, RunOptions, RunReport},
    workflow::Workflow,
};
use symphony_tests::{TestHost, assert_completed, bare_host, node_report, with_hostile};

/// A host with the hostile fixture loaded (up to 8 instances, with fuel
/// enough that a spinning node meets its deadline first).
fn hostile_host() -> TestHost {
    let options = symphony_host::extension::LoadOptions {
        limits: Some(symphony_host::extension::Limits {
            max_instances: 8,
            fuel: u64::MAX / 2,
            ..symphony_host::extension::Limits::default()
        }),
        ..Default::default()
    };
    with_hostile(bare_host(), options).0
}

/// A hostile operator node with `config` (which names its mode).
fn node(id: &str, config: Value) -> Value {
    json!({"id": id, "kind": "operator", "extension": "hostile", "config": config})
}

fn workflow(nodes: Vec<Value>, edges: &[(&str, &str)], extra: Value) -> Workflow {
    let mut doc = json!({
        "schema_version": 2, "id": "dag-test", "name": "dag test", "version": "1.0.0",
        "nodes": nodes,
        "edges": edges.iter().map(|(f, t)| json!({"from": f, "to": t})).collect::<Vec<_>>(),
    });
    if let (Value::Object(doc), Value::Object(extra)) = (&mut doc, extra) {
        doc.extend(extra);
    }
    Workflow::from_json(&doc.to_string(), "dag-test.json").unwrap()
}

fn sleep(id: &str, ms: u64) -> Value {
    node(id, json!({"mode": "sleep", "ms": ms, "label": id}))
}

fn run(host: &TestHost, wf: &Workflow, options: RunOptions) -> RunReport {
    host.run_with_options(wf, &json!({}), options, &mut |_| {})
        .unwrap()
}

fn with_concurrency(n: usize) -> RunOptions {
    RunOptions {
        concurrency: NonZeroUsize::new(n).unwrap(),
        ..RunOptions::default()
    }
}

/// (start, end) of a node's last attempt, in ms since the run started.
fn span(report: &RunReport, id: &str) -> (f64, f64) {
    let n = node_report(report, id);
    let start = n.started_ms.unwrap();
    (start, start + n.duration_ms.unwrap())
}

fn overlap(a: (f64, f64), b: (f64, f64)) -> bool {
    a.0 < b.1 && b.0 < a.1
}

#[test]
fn independent_nodes_run_at_the_same_time_up_to_the_limit() {
    let host = hostile_host();
    let wf = workflow(
        vec![
            sleep("a", 300),
            sleep("b", 300),
            json!({"id": "join", "kind": "control", "control": {"merge": "all"}}),
        ],
        &[("a", "join"), ("b", "join")],
        json!({}),
    );
    let report = run(&host, &wf, with_concurrency(2));
    assert_completed(&report);
    assert!(
        overlap(span(&report, "a"), span(&report, "b")),
        "a and b ran one after the other: {:?} {:?}",
        span(&report, "a"),
        span(&report, "b")
    );
    assert_eq!(report.output, Some(json!({"a": "a", "b": "b"})));

    let report = run(&host, &wf, with_concurrency(1));
    assert_eq!(report.state, ExecutionState::Completed);
    assert!(
        !overlap(span(&report, "a"), span(&report, "b")),
        "with a limit of 1, a and b overlapped"
    );
}

#[test]
fn a_node_that_fails_twice_then_succeeds_is_retried_with_backoff() {
    let host = hostile_host();
    let mut flaky = node(
        "flaky",
        json!({"mode": "flaky", "failures": 2, "key": "retry"}),
    );
    flaky["recovery"] =
        json!({"retry": {"max_attempts": 3, "backoff": {"constant": {"delay_ms": 20}}}});
    let wf = workflow(vec![flaky], &[], json!({}));
    let control = RunControl::new("retry-run");
    let mut events = control.subscribe();
    let options = RunOptions {
        control: Some(control),
        ..RunOptions::default()
    };
    let report = host
        .run_with_options(&wf, &json!({"passed": true}), options, &mut |_| {})
        .unwrap();
    assert_completed(&report);
    assert_eq!(report.output, Some(json!({"passed": true})));
    assert_eq!(node_report(&report, "flaky").attempts, 3);
    let mut retried = Vec::new();
    while let Ok(event) = events.try_recv() {
        if let ExecEvent::NodeRetried { attempt, error, .. } = event {
            retried.push((attempt, error));
        }
    }
    assert_eq!(retried.len(), 2, "{retried:?}");
    assert_eq!(retried[0].0, 1);
    assert!(
        retried[1].1.contains("flaky: failure 2 of 2"),
        "{retried:?}"
    );
}

#[test]
fn retries_that_run_out_fail_the_run_naming_the_attempts() {
    let host = hostile_host();
    let mut flaky = node(
        "flaky",
        json!({"mode": "flaky", "failures": 5, "key": "out"}),
    );
    flaky["recovery"] =
        json!({"retry": {"max_attempts": 2, "backoff": {"constant": {"delay_ms": 1}}}});
    let wf = workflow(
        vec![flaky, sleep("after", 0)],
        &[("flaky", "after")],
        json!({}),
    );
    let report = run(&host, &wf, RunOptions::default());
    assert_eq!(report.state, ExecutionState::Failed);
    let error = report.error.clone().unwrap();
    assert!(error.contains("node 'flaky' failed"), "{error}");
    assert!(error.contains("attempt 2 of 2"), "{error}");
    assert_eq!(node_report(&report, "after").state, NodeState::Skipped);
}

#[test]
fn refused_input_is_not_retried_but_a_trap_is_unless_the_policy_says_otherwise() {
    let host = hostile_host();
    let attempts = |mode: &str, retry: Value| {
        let mut refused = node("n", json!({"mode": mode}));
        refused["recovery"] = json!({"retry": retry});
        let report = run(
            &host,
            &workflow(vec![refused], &[], json!({})),
            RunOptions::default(),
        );
        assert_eq!(report.state, ExecutionState::Failed);
        (node_report(&report, "n").attempts, report.error.unwrap())
    };
    let three = json!({"max_attempts": 3, "backoff": {"constant": {"delay_ms": 1}}});
    // The guest's own `invalid-input`: another attempt cannot fix it.
    let (tries, error) = attempts("no-such-mode", three.clone());
    assert_eq!(tries, 1, "{error}");
    assert!(
        error.contains("invalid input: unknown mode 'no-such-mode'"),
        "{error}"
    );
    assert!(error.contains("(not retried: invalid-input)"), "{error}");
    // A trap may be transient: retried up to the policy's attempts.
    let (tries, error) = attempts("panic", three.clone());
    assert_eq!(tries, 3, "{error}");
    assert!(error.contains("attempt 3 of 3"), "{error}");
    // A policy naming the kinds it retries is taken at its word.
    let mut on_refusals = three;
    on_refusals["on"] = json!(["invalid-input"]);
    let (tries, _) = attempts("no-such-mode", on_refusals.clone());
    assert_eq!(tries, 3);
    let (tries, error) = attempts("panic", on_refusals);
    assert_eq!(tries, 1, "{error}");
    assert!(error.contains("(not retried: trap)"), "{error}");
}

#[test]
fn a_node_past_its_timeout_is_interrupted_and_its_fallback_used() {
    let host = hostile_host();
    let mut spin = node("spin", json!({"mode": "spin"}));
    spin["timeout_ms"] = json!(150);
    let wf = workflow(vec![spin.clone()], &[], json!({}));
    let report = run(&host, &wf, RunOptions::default());
    assert_eq!(report.state, ExecutionState::Failed);
    let error = report.error.unwrap();
    assert!(
        error.contains("was stopped at the node's 150 ms timeout"),
        "{error}"
    );

    spin["recovery"] = json!({"fallback": "too slow"});
    let wf = workflow(vec![spin], &[], json!({}));
    let report = run(&host, &wf, RunOptions::default());
    assert_completed(&report);
    assert_eq!(report.output, Some(json!("too slow")));
    let recovered = node_report(&report, "spin").recovered.clone().unwrap();
    assert!(recovered.contains("fallback value"), "{recovered}");
}

#[test]
fn a_trapping_node_runs_its_fallback_node_or_is_skipped_with_a_default() {
    let host = hostile_host();
    let mut panics = node("panics", json!({"mode": "panic"}));
    panics["recovery"] = json!({"fallback_node": "backup"});
    // `backup` is joined by no edge: it stands by, running only in place
    // of `panics`.
    let backup = node("backup", json!({"mode": "echo", "value": "from backup"}));
    let after = node("after", json!({"mode": "echo"}));
    let wf = workflow(
        vec![panics.clone(), backup, after],
        &[("panics", "after")],
        json!({}),
    );
    let report = run(&host, &wf, RunOptions::default());
    assert_completed(&report);
    assert_eq!(report.output, Some(json!("from backup")));
    let recovered = node_report(&report, "panics").recovered.clone().unwrap();
    assert!(
        recovered.contains("ran fallback node 'backup'"),
        "{recovered}"
    );
    assert!(recovered.contains("trapped"), "{recovered}");
    assert_eq!(node_report(&report, "backup").state, NodeState::Skipped);

    panics["recovery"] = json!({"skip_with_default": [1, 2]});
    let next = node("next", json!({"mode": "echo"}));
    let wf = workflow(vec![panics, next], &[("panics", "next")], json!({}));
    let report = run(&host, &wf, RunOptions::default());
    assert_completed(&report);
    assert_eq!(node_report(&report, "panics").state, NodeState::Skipped);
    assert_eq!(report.output, Some(json!([1, 2])));
}

#[test]
fn a_fallback_node_must_be_an_extension_node_of_the_workflow() {
    let host = hostile_host();
    let mut a = node("a", json!({"mode": "echo"}));
    a["recovery"] = json!({"fallback_node": "nowhere"});
    let wf = workflow(vec![a], &[], json!({}));
    let error = host.validate(&wf).unwrap_err().to_string();
    assert!(
        error.contains("fallback node 'nowhere' is not a node of this graph"),
        "{error}"
    );
}

#[test]
fn the_workflow_timeout_fails_the_run_and_interrupts_running_nodes() {
    let host = hostile_host();
    let wf = workflow(
        vec![sleep("a", 100), node("spin", json!({"mode": "spin"}))],
        &[("a", "spin")],
        json!({"timeout_ms": 400}),
    );
    let report = run(&host, &wf, RunOptions::default());
    assert_eq!(report.state, ExecutionState::Failed);
    let error = report.error.clone().unwrap();
    assert!(error.contains("timed out"), "{error}");
    assert_eq!(node_report(&report, "a").state, NodeState::Completed);
}

/// Runs `wf` on a thread, handing `steer` the control once `first` has
/// started; returns the report and the events seen.
fn steered(
    host: &TestHost,
    wf: &Workflow,
    steer: impl FnOnce(&RunControl, &mut tokio_events::Events),
) -> RunReport {
    let control = RunControl::new(format!("steered-{}", std::process::id()));
    let mut events = tokio_events::Events(control.subscribe());
    let options = RunOptions {
        control: Some(control.clone()),
        ..with_concurrency(1)
    };
    std::thread::scope(|s| {
        let runner = s.spawn(|| host.run_with_options(wf, &json!({}), options, &mut |_| {}));
        steer(&control, &mut events);
        runner.join().unwrap().unwrap()
    })
}

pub(crate) mod tokio_events {
    use std::time::{Duration, Instant};

    use symphony_host::runs::ExecEvent;
    use tokio::sync::broadcast::error::TryRecvError;

    pub struct Events(pub tokio::sync::broadcast::Receiver<ExecEvent>);

    impl Events {
        /// The next event matching `want`, waiting up to 10 s.
        pub fn wait_for(&mut self, want: impl Fn(&ExecEvent) -> bool) -> ExecEvent {
            let until = Instant::now() + Duration::from_secs(10);
            while Instant::now() < until {
                match self.0.try_recv() {
                    Ok(event) if want(&event) => return event,
                    Ok(_) | Err(TryRecvError::Lagged(_)) => {}
                    Err(TryRecvError::Empty) => std::thread::sleep(Duration::from_millis(2)),
                    Err(e) => panic!("event stream ended: {e}"),
                }
            }
            panic!("no matching event within 10 s")
        }

        /// Whether an event matching `want` arrives within `wait`.
        pub fn sees(&mut self, wait: Duration, want: impl Fn(&ExecEvent) -> bool) -> bool {
            let until = Instant::now() + wait;
            while Instant::now() < until {
                match self.0.try_recv() {
                    Ok(event) if want(&event) => return true,
                    Ok(_) | Err(TryRecvError::Lagged(_)) => {}
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
            false
        }
    }
}

pub(crate) fn started(id: &'static str) -> impl Fn(&ExecEvent) -> bool {
    move |e| matches!(e, ExecEvent::NodeStarted { node, .. } if &**node == id)
}

#[test]
fn a_paused_run_starts_no_node_until_resumed() {
    let host = hostile_host();
    let wf = workflow(
        vec![sleep("a", 200), sleep("b", 10)],
        &[("a", "b")],
        json!({}),
    );
    let report = steered(&host, &wf, |control, events| {
        events.wait_for(started("a"));
        control.pause().unwrap();
        assert!(
            !events.sees(Duration::from_millis(500), started("b")),
            "b started while the run was paused"
        );
        control.resume().unwrap();
        events.wait_for(started("b"));
    });
    assert_completed(&report);
}

#[test]
fn a_cancelled_run_stops_its_running_node_and_says_so() {
    let host = hostile_host();
    let wf = workflow(
        vec![
            node("a", json!({"mode": "spin"})),
            sleep("b", 10),
            sleep("c", 10),
        ],
        &[("a", "b"), ("b", "c")],
        json!({}),
    );
    let report = steered(&host, &wf, |control, events| {
        events.wait_for(started("a"));
        control.cancel().unwrap();
        events.wait_for(|e| {
            matches!(
                e,
                ExecEvent::State {
                    state: ExecutionState::Cancelled,
                    ..
                }
            )
        });
    });
    assert_eq!(report.state, ExecutionState::Cancelled);
    assert_eq!(report.error.as_deref(), Some("the run was cancelled"));
    // The spinning node was stopped, not run to its 5 s deadline.
    let a = node_report(&report, "a");
    assert_eq!(a.state, NodeState::Skipped);
    let error = a.error.as_deref().unwrap();
    assert!(error.contains("hostile.process was interrupted"), "{error}");
    assert_eq!(node_report(&report, "b").attempts, 0);
    // Being stopped is not a crash: the extension serves on.
    let metrics = host.metrics("hostile").unwrap();
    assert_eq!(metrics.errors.interrupted, 1);
    assert_eq!(host.extension("hostile").unwrap().failures, 0);
}

#[test]
fn a_call_stops_when_its_interrupt_is_set() {
    let (host, op) = with_hostile(bare_host(), Default::default());
    let stop = symphony_host::extension::Interrupt::new();
    let config = symphony_host::extension::NodeConfig::default().with_interrupt(stop.clone());
    let setter = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        stop.set();
    });
    let error = op
        .process(&config, &json!({"mode": "spin"}).to_string())
        .unwrap_err();
    setter.join().unwrap();
    assert!(
        matches!(
            error,
            symphony_host::extension::CallError::Interrupted { .. }
        ),
        "{error}"
    );
    // The next call gets a fresh instance and answers.
    let echo = symphony_tests::call(&op, json!({"mode": "echo", "value": 7})).unwrap();
    assert_eq!(echo, "7");
    drop(host);
}

#[test]
fn a_failed_run_resumes_from_its_checkpoint_without_rerunning_finished_nodes() {
    let host = hostile_host();
    // `flaky` fails once (this instance remembers), so the first run fails
    // there and the resumed one gets past it.
    let wf = workflow(
        vec![
            sleep("first", 10),
            node(
                "flaky",
                json!({"mode": "flaky", "failures": 1, "key": "resume"}),
            ),
            sleep("last", 10),
        ],
        &[("first", "flaky"), ("flaky", "last")],
        json!({}),
    );
    let control = RunControl::new("retried-run");
    let options = RunOptions {
        control: Some(control.clone()),
        ..with_concurrency(1)
    };
    let failed = run(&host, &wf, options);
    assert_eq!(failed.state, ExecutionState::Failed);
    assert_eq!(control.state(), ExecutionState::Failed);
    let status = host.runs().unwrap().status(&failed.run_id).unwrap();
    assert_eq!(status.summary.state, ExecutionState::Failed);
    assert_eq!((status.summary.completed, status.summary.failed), (1, 1));

    // Retrying through the failed run's own control: Failed → Running.
    let options = RunOptions {
        control: Some(control.clone()),
        ..with_concurrency(1)
    };
    let resumed = host.resume(&failed.run_id, options, &mut |_| {}).unwrap();
    assert_eq!(control.state(), ExecutionState::Completed);
    assert_completed(&resumed);
    assert!(resumed.resumed);
    assert_eq!(resumed.run_id, failed.run_id);
    let first = node_report(&resumed, "first");
    assert!(first.restored && first.attempts == 0, "{first:?}");
    assert_eq!(node_report(&resumed, "flaky").attempts, 1);
    assert_eq!(resumed.output, Some(json!("last")));

    let status = host.runs().unwrap().status(&failed.run_id).unwrap();
    assert_eq!(status.summary.state, ExecutionState::Completed);
    assert_eq!(status.summary.resumes, 1);
    assert_eq!(status.output, Some(json!("last")));
    let error = host
        .resume(&failed.run_id, RunOptions::default(), &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(error.contains("the run is completed"), "{error}");
}

#[test]
fn a_used_control_or_run_id_is_refused() {
    let host = hostile_host();
    let wf = workflow(vec![sleep("a", 0)], &[], json!({}));
    let control = RunControl::new("once");
    let options = RunOptions {
        control: Some(control.clone()),
        ..RunOptions::default()
    };
    assert_eq!(
        run(&host, &wf, options.clone()).state,
        ExecutionState::Completed
    );
    let error = host
        .run_with_options(&wf, &json!({}), options, &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("its RunControl is already completed"),
        "{error}"
    );
    let again = RunOptions {
        control: Some(RunControl::new("once")),
        ..RunOptions::default()
    };
    let error = host
        .run_with_options(&wf, &json!({}), again, &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(error.contains("run id 'once' is taken"), "{error}");
}

#[test]
fn a_node_restarting_from_the_checkpoint_keeps_the_nodes_before_it() {
    let host = hostile_host();
    let mut flaky = node(
        "flaky",
        json!({"mode": "flaky", "failures": 1, "key": "restart"}),
    );
    flaky["recovery"] = json!("restart_from_checkpoint");
    let wf = workflow(
        vec![sleep("first", 0), flaky, sleep("last", 0)],
        &[("first", "flaky"), ("flaky", "last")],
        json!({}),
    );
    let report = run(&host, &wf, with_concurrency(1));
    assert_completed(&report);
    let first = node_report(&report, "first");
    assert!(first.restored && first.attempts == 1, "{first:?}");
    assert_eq!(node_report(&report, "flaky").attempts, 2);
    assert_eq!(report.output, Some(json!("last")));
    // The restart forgets every output; restored and rerun nodes name theirs.
    for id in ["first", "flaky", "last"] {
        let artifact = node_report(&report, id).artifact.clone();
        let artifact = artifact.unwrap_or_else(|| panic!("{id} names no output"));
        assert!(host.artifacts().info(&artifact).is_ok(), "{id}");
    }
}

#[test]
fn map_body_nodes_take_no_recovery_of_their_own() {
    let host = hostile_host();
    let wf = workflow(
        vec![json!({"id": "each", "kind": "control", "control": {"map": {
            "nodes": [{"id": "x", "kind": "operator", "extension": "hostile",
                       "config": {"mode": "echo"}, "recovery": "fail_run"}]
        }}})],
        &[],
        json!({}),
    );
    let error = host.validate(&wf).unwrap_err().to_string();
    assert!(
        error.contains("node 'each' > node 'x': a map body's nodes take no recovery"),
        "{error}"
    );
}

#[test]
fn ten_thousand_wasm_operator_nodes_complete() {
    let host = hostile_host();
    // 100 layers of 100 echo nodes, each fed by one node of the layer
    // before.
    let (layers, width) = (100, 100);
    let mut nodes = Vec::with_capacity(layers * width);
    let mut edges = Vec::new();
    for layer in 0..layers {
        for i in 0..width {
            nodes.push(json!({
                "id": format!("n{layer}-{i}"), "kind": "operator", "extension": "hostile",
                "config": {"mode": "echo"}
            }));
            if layer > 0 {
                edges.push(
                    json!({"from": format!("n{}-{}", layer - 1, (i * 7) % width),
                                  "to": format!("n{layer}-{i}")}),
                );
            }
        }
    }
    let doc = json!({"schema_version": 2, "id": "wide", "name": "wide", "version": "1.0.0",
                     "nodes": nodes, "edges": edges});
    let wf = Workflow::from_json(&doc.to_string(), "wide.json").unwrap();
    let report = host
        .run_with_options(&wf, &json!({"x": 1}), RunOptions::default(), &mut |_| {})
        .unwrap();
    assert_completed(&report);
    assert_eq!(report.progress.done(), 10_000);
    assert_eq!(report.metrics.by_kind["operator"].nodes, 10_000);
    let output = report.output.unwrap();
    assert_eq!(output.as_object().unwrap().len(), width);
    assert!(
        output
            .as_object()
            .unwrap()
            .values()
            .all(|v| v == &json!({"x": 1}))
    );
    println!(
        "10k wasm nodes: {:.0} ms, {:.0} nodes/s",
        report.elapsed_ms, report.metrics.nodes_per_second
    );
}

#[test]
fn a_hundred_thousand_trivial_nodes_complete_with_checkpoints_and_memory_reported() {
    use symphony_benches::shapes::{Shape, workflow};
    let host = bare_host();
    let wf = workflow(Shape::Layered, 100_000);
    let before = symphony_benches::peak_rss_kib();
    let report = host
        .run_with_options(&wf, &json!(1), RunOptions::default(), &mut |_| {})
        .unwrap();
    assert_completed(&report);
    assert_eq!(report.progress.done(), 100_000);
    let status = host.runs().unwrap().status(&report.run_id).unwrap();
    assert_eq!(status.summary.completed, 100_000);
    println!(
        "100k trivial nodes: {:.0} ms, peak memory {} MiB (was {} MiB before the run)",
        report.elapsed_ms,
        symphony_benches::peak_rss_kib() / 1024,
        before / 1024
    );
}
