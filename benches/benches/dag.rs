//! What the DAG Tracker costs per node: whole runs of 10k and 100k trivial
//! control nodes in three shapes (chain, fan-out/fan-in, layered), against
//! the floor any scheduler has to pay — a bare Kahn walk over the same
//! graph calling a no-op per node. `benches/dask/compare.py` runs the same
//! graphs through dask's threaded scheduler.
//!
//! Where the time went (perf, issue 22): a checkpointed node cost 6.4 µs,
//! of which about 2 µs was the workflow document — stored in the run's
//! row, so inserting it, rewriting the row when the run ended, and the WAL
//! checkpoints of both wrote it three times — and 2–2.5 µs the checkpoint
//! writer's row per node. Documents are now stored once by content, off
//! the scheduler's thread, and a commit's node records are one row
//! (`symphony_dag`'s run store, schema 2): 1.4–2.6 µs. On the 100k fan-out
//! validation was 60% of the run: a map of every port-carrying edge's
//! port names, and the fed-inputs map growing by rehashes; both gone.

use std::time::Instant;

use criterion::{criterion_group, criterion_main};
use serde_json::json;
use symphony_benches::shapes::{Shape, workflow};
use symphony_benches::{
    criterion, fixture, interleaved_medians, kahn_walk, peak_rss_kib, tracker_host,
};
use symphony_host::{runs::RunOptions, workflow::Workflow};

fn run(host: &symphony_host::Host, wf: &Workflow) {
    run_with(host, wf, false);
}

/// One whole run of `wf`, checkpointing every node in the run store when
/// `checkpoint` is set.
fn run_with(host: &symphony_host::Host, wf: &Workflow, checkpoint: bool) {
    let options = RunOptions {
        checkpoint,
        ..RunOptions::default()
    };
    let report = host
        .run_with_options(wf, &json!(1), options, &mut |_| {})
        .unwrap();
    assert!(report.error.is_none(), "{:?}", report.error);
}

/// Prints the compare line of a run of `n` nodes, in microseconds per node.
fn per_node(name: &str, n: usize, ours_ns: f64, floor_ns: f64) {
    let per = n as f64 * 1e3;
    println!(
        "compare {name}: ours={:.3} us/node baseline={:.3} us/node ratio={:.3}",
        ours_ns / per,
        floor_ns / per,
        ours_ns / floor_ns
    );
}

fn bench(c: &mut criterion::Criterion) {
    let (_home, host) = tracker_host();
    let mut group = c.benchmark_group("dag_run_10k");
    group.sample_size(10);
    for shape in Shape::ALL {
        let wf = workflow(shape, 10_000);
        group.bench_function(shape.name(), |b| b.iter(|| run(&host, &wf)));
    }
    group.finish();

    for (n, rounds) in [(10_000, 9), (100_000, 3)] {
        for shape in Shape::ALL {
            let wf = workflow(shape, n);
            let (ours, floor) =
                interleaved_medians(rounds, 1, &mut || run(&host, &wf), &mut || {
                    kahn_walk(&wf);
                });
            per_node(
                &format!("dag_schedule_{}_{}k", shape.name(), n / 1000),
                n,
                ours,
                floor,
            );
        }
    }
    // The default: every finished node checkpointed in SQLite.
    for n in [10_000, 100_000] {
        let wf = workflow(Shape::Chain, n);
        let (ours, floor) =
            interleaved_medians(3, 1, &mut || run_with(&host, &wf, true), &mut || {
                kahn_walk(&wf);
            });
        per_node(
            &format!("dag_schedule_chain_{}k_checkpointed", n / 1000),
            n,
            ours,
            floor,
        );
    }
    println!("dag_schedule: peak memory {} MiB", peak_rss_kib() / 1024);
    control_latency();
}

/// How long a cancel takes to end a run whose node is spinning in a
/// guest: from `cancel()` to the run's report, against the epoch step the
/// interrupt is checked at (the floor).
fn control_latency() {
    let Some(hostile) = fixture("hostile") else {
        println!(
            "dag_cancel_latency: not measured (no hostile fixture; run `cargo xtask bench dag`)"
        );
        return;
    };
    let (_home, host) = tracker_host();
    let limits = symphony_host::extension::Limits {
        fuel: u64::MAX / 2,
        ..symphony_host::extension::Limits::default()
    };
    host.load_with(
        hostile,
        symphony_host::extension::LoadOptions {
            limits: Some(limits),
            ..Default::default()
        },
    )
    .unwrap();
    let wf = Workflow::from_json(
        &json!({"schema_version": 2, "id": "spin", "name": "spin", "version": "1.0.0",
                "nodes": [{"id": "spin", "kind": "operator", "extension": "hostile",
                           "config": {"mode": "spin"}}]})
        .to_string(),
        "spin.json",
    )
    .unwrap();
    let mut samples = Vec::new();
    for round in 0..7 {
        let control = symphony_host::runs::RunControl::new(format!("cancel-{round}"));
        let mut events = control.subscribe();
        let options = RunOptions {
            control: Some(control.clone()),
            checkpoint: false,
            ..RunOptions::default()
        };
        let cancelled = std::thread::scope(|s| {
            let run = s.spawn(|| host.run_with_options(&wf, &json!({}), options, &mut |_| {}));
            while !matches!(
                events.try_recv(),
                Ok(symphony_host::runs::ExecEvent::NodeStarted { .. })
            ) {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
            let start = Instant::now();
            control.cancel().unwrap();
            let report = run.join().unwrap().unwrap();
            assert_eq!(report.state, symphony_host::runs::ExecutionState::Cancelled);
            start.elapsed()
        });
        samples.push(cancelled.as_secs_f64() * 1e3);
    }
    samples.sort_by(f64::total_cmp);
    // Two 5 ms epoch ticks: when the interrupt is checked at the latest.
    let floor = 10.0;
    println!(
        "compare dag_cancel_latency: ours={:.3} ms baseline={floor:.3} ms ratio={:.3} (target < 100 ms)",
        samples[samples.len() / 2],
        samples[samples.len() / 2] / floor
    );
}

criterion_group! { name = benches; config = criterion(); targets = bench }
criterion_main!(benches);
