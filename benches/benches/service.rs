//! `symphony serve` from another peer, against the floors underneath:
//!
//! - control round trip: `run.status` of a finished run through the
//!   service, against a 256-byte ping-pong on a bare Unix socket (and
//!   `run.list`, which reads the run store each time, against the same);
//! - run start: a one-node run started through the service and followed to
//!   its end over the bus, against the same run started embedded;
//! - event fan-out: one run's events delivered to 10 subscribing peers, in
//!   events per second, against the same number of messages of the same
//!   size published by one peer to 10 through the bus server.
//!
//! The runs' nodes are control steps, so what is measured is the service
//! and the DAG Tracker, not an extension.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main};
use serde_json::Value;
use symphony_benches::shapes::{Shape, workflow};
use symphony_benches::{bench_pair, criterion, percentiles, raw_echo_socket, tracker_host};
use symphony_host::protocol::client::ClientOptions;
use symphony_host::runs::RunOptions;
use symphony_host::workflow::Workflow;
use symphony_service::api::{RunList, RunStart, RunStatusRequest};
use symphony_service::{Daemon, DaemonOptions, ServiceClient};

const SIZE: usize = 256;
const T: Duration = Duration::from_secs(30);

/// A workflow of `n` control steps in a chain (the DAG benches' shape).
fn chain(n: usize) -> Value {
    serde_json::from_str(&workflow(Shape::Chain, n).to_json()).unwrap()
}

/// Starts run `id` of `workflow` on the service and waits for its end.
fn run_on_service(client: &ServiceClient, workflow: &Value, id: &str) {
    let events = client.subscribe(&format!("exec.{id}.state")).unwrap();
    client
        .call(&RunStart {
            workflow: Some(workflow.clone()),
            run_id: Some(id.to_string()),
            ..RunStart::default()
        })
        .unwrap();
    loop {
        let event: Value = serde_json::from_slice(&events.recv(T).unwrap().payload).unwrap();
        if event["state"] == "completed" {
            return;
        }
    }
}

fn bench(c: &mut criterion::Criterion) {
    let (home, host) = tracker_host();
    let socket = home.path().join("run/bus.sock");
    let daemon = Daemon::start(host.clone(), DaemonOptions::new(&socket)).unwrap();
    let client = ServiceClient::connect(&socket).unwrap();

    // Control round trip.
    let one = chain(1);
    run_on_service(&client, &one, "status-target");
    let status = RunStatusRequest {
        run: "status-target".into(),
    };
    let mut raw = raw_echo_socket();
    let mut frame = (SIZE as u32).to_be_bytes().to_vec();
    frame.extend_from_slice(&[7u8; SIZE]);
    let mut reply = vec![0u8; 4 + SIZE];
    let mut ours = || {
        client.call(&status).unwrap();
    };
    let mut floor = || {
        raw.write_all(&frame).unwrap();
        raw.read_exact(&mut reply).unwrap();
    };
    bench_pair(c, "service_status_round_trip", &mut ours, &mut floor);
    percentiles("service_status_round_trip (ours)", 5_000, &mut ours);
    percentiles("service_status_round_trip (raw)", 5_000, &mut floor);

    // A request the run store answers each time (the status of a run that
    // ended for good is kept in memory): the newest run's summary.
    let list = RunList { limit: 1 };
    let mut listed = || {
        client.call(&list).unwrap();
    };
    bench_pair(c, "service_run_list_round_trip", &mut listed, &mut floor);
    // What of that is the run store's own query, on this thread.
    let store = host.runs().unwrap();
    percentiles("run store runs(1), in process", 2_000, &mut || {
        drop(store.runs(1).unwrap())
    });

    // Starting a one-node run.
    let workflow = Workflow::from_json(&one.to_string(), "one").unwrap();
    let mut n = 0u64;
    let mut group = c.benchmark_group("service_run_start_one_node");
    group.bench_function("ours", |b| {
        b.iter(|| {
            n += 1;
            run_on_service(&client, &one, &format!("start-{n}"));
        })
    });
    group.bench_function("baseline", |b| {
        b.iter(|| {
            host.run_with_options(&workflow, &Value::Null, RunOptions::default(), &mut |_| {})
                .unwrap()
        })
    });
    group.finish();
    symphony_benches::compare("service_run_start_one_node", "service_run_start_one_node");

    // Event fan-out.
    const PEERS: usize = 10;
    let big = chain(500);
    // Room for every event of the run, read after it ends.
    let peers: Vec<ServiceClient> = (0..PEERS)
        .map(|i| {
            let options = ClientOptions {
                name: Some(format!("fanout-{i}")),
                subscription_capacity: 1 << 16,
                ..ClientOptions::default()
            };
            ServiceClient::connect_with(&socket, options).unwrap()
        })
        .collect();
    let fanout = |id: &str| -> (usize, Duration) {
        let subs: Vec<_> = peers
            .iter()
            .map(|p| p.subscribe(&format!("exec.{id}.>")).unwrap())
            .collect();
        let started = Instant::now();
        client
            .call(&RunStart {
                workflow: Some(big.clone()),
                run_id: Some(id.to_string()),
                ..RunStart::default()
            })
            .unwrap();
        let mut delivered = 0;
        for sub in &subs {
            loop {
                let envelope = sub.recv(T).unwrap();
                delivered += 1;
                let event: Value = serde_json::from_slice(&envelope.payload).unwrap();
                if event["event"] == "state" && event["state"] == "completed" {
                    break;
                }
            }
        }
        (delivered, started.elapsed())
    };
    // The floor: the same number of messages of a like size from one peer
    // to 10 through the bus server.
    let publisher = ServiceClient::connect(&socket).unwrap();
    let floor_subs: Vec<_> = peers
        .iter()
        .map(|p| p.subscribe("floor.events").unwrap())
        .collect();
    let payload = vec![b'x'; 96];
    let floor = |per_peer: usize| -> (usize, Duration) {
        let started = Instant::now();
        for _ in 0..per_peer {
            publisher
                .bus()
                .publish("floor.events", payload.clone())
                .unwrap();
        }
        let mut delivered = 0;
        for sub in &floor_subs {
            for _ in 0..per_peer {
                sub.recv(T).unwrap();
                delivered += 1;
            }
        }
        (delivered, started.elapsed())
    };
    // One run is a single sample: alternate several of each, take medians.
    let (mut ours, mut base) = (Vec::new(), Vec::new());
    let mut events = 0;
    for round in 0..9 {
        let (n, took) = fanout(&format!("fanout-{round}"));
        events = n;
        ours.push(n as f64 / took.as_secs_f64());
        let (m, took) = floor(n / PEERS);
        base.push(m as f64 / took.as_secs_f64());
    }
    ours.sort_by(f64::total_cmp);
    base.sort_by(f64::total_cmp);
    let (ours, floor) = (ours[ours.len() / 2], base[base.len() / 2]);
    println!(
        "compare service_event_fanout_10_peers: ours={ours:.0} events/s baseline={floor:.0} events/s ratio={:.3}",
        ours / floor
    );
    println!(
        "service_event_fanout_10_peers: {events} events per run ({} per peer), median of 9 runs",
        events / PEERS
    );
    daemon.shutdown(Duration::from_secs(1));
}

criterion_group! { name = benches; config = criterion(); targets = bench }
criterion_main!(benches);
