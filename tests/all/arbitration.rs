//! The Arbitration Engine on real Wasm extensions: priorities deciding who
//! gets a contended mock-llm instance, weighted fair share over a minute of
//! load, budgets stopping runs, and the memory budget sparing
//! higher-priority instances.

use std::collections::BTreeMap;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use symphony_host::arbitration::{ArbitrationConfig, LogQuery, SqliteLog, Verdict};
use symphony_host::extension::ExtensionSetup;
use symphony_host::runs::{ExecutionState, NodeState, RunEvent, RunOptions, RunReport};
use symphony_host::workflow::Workflow;
use symphony_host::{Host, HostBuilder};
use symphony_tests::{
    TestHost, assert_completed, bare_host_with, component, components_dir, extension_dir,
};

/// A mock-llm that serves one call at a time, with room for a long one.
const ONE_INSTANCE: &str = "[limits]\nmax-instances = 1\nfuel = 40_000_000_000\n\
                            memory = \"512 MiB\"\ndeadline = \"60s\"\n";

/// A host arbitrated by `config` with a mock-llm whose manifest adds
/// `limits` (its `[limits]` table and more).
fn host_with_llm(
    config: &str,
    limits: &str,
    builder: impl FnOnce(HostBuilder) -> HostBuilder,
) -> (TestHost, tempfile::TempDir) {
    let config = ArbitrationConfig::parse(config, "the test's arbitration.toml").unwrap();
    let root = tempfile::tempdir().unwrap();
    extension_dir(
        root.path(),
        "mock-llm",
        "instrument",
        &component("mock_llm"),
        limits,
    );
    let host = bare_host_with(|b| builder(b.arbitration(config)));
    host.load_extensions(&[root.path().to_path_buf()], &ExtensionSetup::default())
        .unwrap();
    (host, root)
}

/// A workflow of `nodes` parallel mock-llm nodes (`a`, `b`, ...), merged
/// when there are several.
fn llm_nodes(nodes: usize) -> Workflow {
    let ids: Vec<String> = (0..nodes)
        .map(|i| char::from(b'a' + i as u8).to_string())
        .collect();
    let mut list: Vec<Value> = ids
        .iter()
        .map(|id| json!({"id": id, "kind": "instrument", "extension": "mock-llm"}))
        .collect();
    let mut edges = Vec::new();
    if nodes > 1 {
        list.push(json!({"id": "all", "kind": "control", "control": {"merge": "all"}}));
        edges = ids
            .iter()
            .map(|id| json!({"from": id, "to": "all"}))
            .collect();
    }
    let doc = json!({"schema_version": 2, "id": "llm", "name": "llm", "version": "1.0.0",
                     "nodes": list, "edges": edges});
    Workflow::from_json(&doc.to_string(), "the test's workflow").unwrap()
}

/// Options for a quick run of `tenant` at `priority`: no checkpoint, no
/// stored outputs, no prewarming.
fn quick(tenant: &str, priority: i32) -> RunOptions {
    RunOptions {
        tenant: Some(tenant.into()),
        priority,
        checkpoint: false,
        store_outputs: false,
        prewarm: false,
        ..RunOptions::default()
    }
}

fn text(sentences: usize) -> Value {
    let sentence =
        "Symphony runs AI workflows as graphs of small extensions with their own memory. ";
    json!({"text": sentence.repeat(sentences)})
}

/// Waits until mock-llm's one instance is in a call.
fn until_busy(host: &Host) {
    let until = Instant::now() + Duration::from_secs(30);
    loop {
        let stats = host.pool_stats();
        let busy = stats
            .extensions
            .iter()
            .any(|e| e.name == "mock-llm" && e.busy > 0);
        if busy {
            return;
        }
        assert!(Instant::now() < until, "mock-llm never got busy: {stats:?}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn the_higher_priority_run_gets_the_contended_instance_first_and_the_lower_still_completes() {
    let (host, _root) = host_with_llm(
        "aging_ms = 3600000\n[extensions.mock-llm]\nstrategy = \"priority\"\n",
        ONE_INSTANCE,
        |b| b,
    );
    let one = llm_nodes(1);
    let (events, seen) = mpsc::channel::<(String, String)>();
    std::thread::scope(|scope| {
        let run = |tenant: &'static str, priority: i32, input: Value| {
            let events = events.clone();
            let host = &host;
            let one = &one;
            scope.spawn(move || {
                let mut observer = |event: RunEvent<'_>| match event {
                    RunEvent::NodeWaiting { explanation, .. } => {
                        let _ = events.send((tenant.into(), format!("waits: {explanation}")));
                    }
                    RunEvent::NodeFinished { .. } => {
                        let _ = events.send((tenant.into(), "finished".into()));
                    }
                    _ => {}
                };
                host.run_with_options(one, &input, quick(tenant, priority), &mut observer)
                    .unwrap()
            })
        };
        // A long call holds the one instance...
        let blocker = run("blocker", 0, text(10_000));
        until_busy(&host);
        // ...while a low-priority run, then a high-priority one, line up.
        let low = run("low", 0, text(2));
        let (who, what) = seen.recv_timeout(Duration::from_secs(30)).unwrap();
        assert_eq!(who, "low", "{what}");
        assert!(
            what.contains("waits for instances:mock-llm: 1st in line"),
            "{what}"
        );
        let high = run("high", 5, text(2));
        let (who, what) = seen.recv_timeout(Duration::from_secs(30)).unwrap();
        assert_eq!(who, "high", "{what}");
        assert!(
            what.contains("node a waits for instances:mock-llm: 1st in line")
                && what.contains("priority, tenant high"),
            "the higher priority goes ahead of the earlier low one: {what}"
        );
        for handle in [blocker, low, high] {
            assert_completed(&handle.join().unwrap());
        }
    });
    drop(events);
    // Each run's node finished (in whatever order their schedulers got to
    // say so: the calls themselves are ordered by the log below).
    let mut finished: Vec<String> = seen
        .iter()
        .filter(|(_, what)| what == "finished")
        .map(|(who, _)| who)
        .collect();
    finished.sort();
    assert_eq!(finished, ["blocker", "high", "low"]);
    // The decisions are in the log, with their reasons.
    host.arbiter().flush();
    let log = host.home().join("arbitration.db");
    let grants = SqliteLog::read(
        &log,
        &LogQuery {
            resource: Some("instances:mock-llm".into()),
            verdict: Some(Verdict::Granted),
            ..LogQuery::default()
        },
    )
    .unwrap();
    let order: Vec<&str> = grants.iter().rev().map(|d| &*d.tenant).collect();
    assert_eq!(order, ["high", "low"]);
    assert!(grants[1].reason.contains("next by priority"), "{grants:?}");
}

/// How long the weighted-share load runs: a minute, as the issue asks
/// (`SYMPHONY_FAIRNESS_SECS` to change it).
fn fairness_load() -> Duration {
    let secs = std::env::var("SYMPHONY_FAIRNESS_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    Duration::from_secs(secs)
}

#[test]
fn three_tenants_weighted_one_two_one_get_throughput_within_ten_percent_of_that() {
    let (host, _root) = host_with_llm(
        "[slots]\ncapacity = 64\n\
         [extensions.mock-llm]\nstrategy = \"fair-share\"\n\
         [tenants.a]\nweight = 1\n[tenants.b]\nweight = 2\n[tenants.c]\nweight = 1\n",
        ONE_INSTANCE,
        |b| b,
    );
    let one = llm_nodes(1);
    let input = text(3);
    let until = Instant::now() + fairness_load();
    let mut done: BTreeMap<&str, u64> = BTreeMap::new();
    std::thread::scope(|scope| {
        let mut handles = Vec::new();
        // Three runs at a time per tenant, each followed by another: every
        // tenant always has calls waiting for the one instance.
        for tenant in ["a", "b", "c"] {
            for _ in 0..3 {
                let (host, one, input) = (&host, &one, &input);
                handles.push((
                    tenant,
                    scope.spawn(move || {
                        let mut completed = 0u64;
                        while Instant::now() < until {
                            let report = host
                                .run_with_options(one, input, quick(tenant, 0), &mut |_| {})
                                .unwrap();
                            assert_completed(&report);
                            completed += 1;
                        }
                        completed
                    }),
                ));
            }
        }
        for (tenant, handle) in handles {
            *done.entry(tenant).or_default() += handle.join().unwrap();
        }
    });
    let total: u64 = done.values().sum();
    assert!(total > 300, "too little load to judge: {done:?}");
    for (tenant, expected) in [("a", 0.25), ("b", 0.5), ("c", 0.25)] {
        let share = done[tenant] as f64 / total as f64;
        assert!(
            (share - expected).abs() <= 0.1 * expected,
            "tenant {tenant} got {share:.3} of the throughput, not {expected} ± 10%: {done:?}"
        );
    }
    let stats = host.arbiter().stats();
    let line = stats
        .resources
        .iter()
        .find(|r| r.name == "instances:mock-llm")
        .unwrap();
    assert!(line.jain > 0.99, "weighted shares are even: {line:?}");
}

#[test]
fn a_budget_stops_a_run_with_budget_exhausted_naming_it() {
    let (host, _root) = host_with_llm(
        "[tenants.capped]\nbudget = 0.5\n",
        "[limits]\ncost = 0.25\n",
        |b| b,
    );
    let five = llm_nodes(5);
    let serial = |options: RunOptions| RunOptions {
        concurrency: std::num::NonZeroUsize::MIN,
        ..options
    };
    // The run's own budget: four calls fit, the fifth does not.
    let report: RunReport = host
        .run_with_options(
            &five,
            &text(2),
            serial(RunOptions {
                budget: Some(1.0),
                ..quick("anyone", 0)
            }),
            &mut |_| {},
        )
        .unwrap();
    assert_eq!(report.state, ExecutionState::Failed);
    let error = report.error.as_deref().unwrap_or_default();
    let run_budget = format!("budget 'run:{}' is exhausted", report.run_id);
    assert!(error.contains(&run_budget), "{error}");
    let completed = report
        .nodes
        .iter()
        .filter(|n| n.state == NodeState::Completed);
    assert_eq!(completed.count(), 4, "{:?}", report.nodes);
    // The tenant's budget from arbitration.toml: two calls fit.
    let report = host
        .run_with_options(&five, &text(2), serial(quick("capped", 0)), &mut |_| {})
        .unwrap();
    assert_eq!(report.state, ExecutionState::Failed);
    let error = report.error.as_deref().unwrap_or_default();
    assert!(
        error.contains(
            "budget 'tenant:capped' is exhausted: node c costs 0.25 but only 0 of 0.5 is left"
        ),
        "{error}"
    );
    assert_eq!(
        host.arbiter().budgets().get("tenant:capped"),
        Some((0.5, 0.5))
    );
    // The refusals are logged.
    host.arbiter().flush();
    let refused = SqliteLog::read(
        &host.home().join("arbitration.db"),
        &LogQuery {
            verdict: Some(Verdict::Refused),
            ..LogQuery::default()
        },
    )
    .unwrap();
    assert_eq!(refused.len(), 2, "{refused:?}");
}

/// Runs a one-node workflow calling `extension` as `tenant` at `priority`.
fn call_once(host: &Host, extension: &str, kind: &str, config: Value, priority: i32) {
    let doc = json!({"schema_version": 2, "id": "once", "name": "once", "version": "1.0.0",
                     "nodes": [{"id": "x", "kind": kind, "extension": extension, "config": config}],
                     "edges": []});
    let workflow = Workflow::from_json(&doc.to_string(), "once").unwrap();
    let report = host
        .run_with_options(&workflow, &text(2), quick("t", priority), &mut |_| {})
        .unwrap();
    assert_completed(&report);
}

fn idle(host: &Host, extension: &str) -> usize {
    let stats = host.pool_stats();
    stats
        .extensions
        .iter()
        .find(|e| e.name == extension)
        .map_or(0, |e| e.idle)
}

#[test]
fn the_memory_budget_evicts_lower_priority_instances_and_spares_higher_ones() {
    // One Hot instance in all: each new instance needs room.
    let host = bare_host_with(|b| b.pool_budget(1, 1 << 30));
    host.load_extensions(&[components_dir()], &ExtensionSetup::default())
        .unwrap();
    let log = host.home().join("arbitration.db");
    let memory = || {
        host.arbiter().flush();
        let query = LogQuery {
            resource: Some("memory".into()),
            limit: Some(10_000),
            ..LogQuery::default()
        };
        SqliteLog::read(&log, &query).unwrap_or_default()
    };
    let transform = json!({"spec": {"steps": [{"select": {"t": "$.text"}}]}});
    call_once(&host, "json-transform", "operator", transform.clone(), 0);
    assert_eq!(idle(&host, "json-transform"), 1);
    // (Loading activated every extension in turn, each evicting the last.)
    let before = memory().len();
    // A higher-priority call evicts the idle lower-priority instance.
    call_once(&host, "mock-llm", "instrument", json!({}), 5);
    assert_eq!(
        (idle(&host, "json-transform"), idle(&host, "mock-llm")),
        (0, 1)
    );
    // A lower-priority call does not evict it: its own instances serve the
    // Operator's three calls (validate, process, validate) and cool.
    call_once(&host, "json-transform", "operator", transform, 0);
    assert_eq!(
        (idle(&host, "json-transform"), idle(&host, "mock-llm")),
        (0, 1)
    );
    let decisions = memory();
    let said: Vec<(Verdict, &str)> = decisions[..decisions.len() - before]
        .iter()
        .rev()
        .map(|d| (d.verdict, &*d.reason))
        .collect();
    assert_eq!(said.len(), 4, "{said:?}");
    assert_eq!(said[0].0, Verdict::EvictedFor);
    assert!(
        said[0].1.starts_with("json-transform#")
            && said[0].1.contains("last used at priority 0")
            && said[0].1.contains("for an instance of mock-llm"),
        "{}",
        said[0].1
    );
    for (verdict, reason) in &said[1..] {
        assert_eq!(*verdict, Verdict::Refused);
        assert!(
            reason.starts_with("its instance of json-transform")
                && reason.contains("held by higher-priority work"),
            "{reason}"
        );
    }
}

#[test]
fn a_mistake_in_arbitration_toml_stops_the_host_naming_the_line() {
    let home = tempfile::tempdir().unwrap();
    std::fs::write(
        home.path().join("arbitration.toml"),
        "[slots]\ncapacity = 0\n",
    )
    .unwrap();
    let error = Host::builder().home(home.path()).build().err().unwrap();
    assert!(
        error
            .to_string()
            .contains("slots.capacity: must be at least 1"),
        "{error}"
    );
    std::fs::write(
        home.path().join("arbitration.toml"),
        "[slots]\nstrategy = \"lottery\"\n",
    )
    .unwrap();
    let error = Host::builder().home(home.path()).build().err().unwrap();
    assert!(error.to_string().contains("line 2, column 12"), "{error}");
}

#[test]
fn a_nested_model_call_waits_as_the_node_that_made_it() {
    let (host, root) = host_with_llm("", ONE_INSTANCE, |b| b);
    extension_dir(
        root.path(),
        "asker",
        "operator",
        &symphony_tests::fixture("hostile"),
        "[capabilities]\nmodels = [\"mock-llm\"]\n\n[limits]\ndeadline = \"60s\"\n",
    );
    let setup = ExtensionSetup {
        grants: vec![("asker".into(), "model:mock-llm".parse().unwrap())],
        prompt: None,
    };
    host.load_extensions(&[root.path().to_path_buf()], &setup)
        .unwrap();
    let ask = json!({"schema_version": 2, "id": "ask", "name": "ask", "version": "1.0.0",
        "nodes": [{"id": "ask", "kind": "operator", "extension": "asker"}],
        "edges": []});
    let ask = Workflow::from_json(&ask.to_string(), "ask").unwrap();
    let one = llm_nodes(1);
    std::thread::scope(|scope| {
        let blocker = scope
            .spawn(|| host.run_with_options(&one, &text(10_000), quick("blocker", 0), &mut |_| {}));
        until_busy(&host);
        // The Operator asks mock-llm from inside its own call.
        let request = json!({"mode": "model-call", "instrument": "mock-llm", "input": text(2)});
        let report = host
            .run_with_options(&ask, &request, quick("nested-t", 3), &mut |_| {})
            .unwrap();
        assert_completed(&report);
        assert_completed(&blocker.join().unwrap().unwrap());
    });
    host.arbiter().flush();
    let queued = SqliteLog::read(
        &host.home().join("arbitration.db"),
        &LogQuery {
            resource: Some("instances:mock-llm".into()),
            verdict: Some(Verdict::Queued),
            ..LogQuery::default()
        },
    )
    .unwrap();
    assert_eq!(queued.len(), 1, "{queued:?}");
    assert_eq!(
        (&*queued[0].tenant, &*queued[0].label),
        ("nested-t", "node ask")
    );
    assert!(
        queued[0].reason.contains("(priority, tenant nested-t)"),
        "{queued:?}"
    );
}
