//! What the DAG Tracker costs per node: whole runs of 10k and 100k trivial
//! control nodes in three shapes (chain, fan-out/fan-in, layered), against
//! the floor any scheduler has to pay — a bare Kahn walk over the same
//! graph calling a no-op per node. `benches/dask/compare.py` runs the same
//! graphs through dask's threaded scheduler.

use std::time::Instant;

use criterion::{criterion_group, criterion_main};
use serde_json::json;
use symphony_benches::shapes::{Shape, workflow};
use symphony_benches::{criterion, kahn_walk, peak_rss_kib, tracker_host};
use symphony_host::{RunOptions, Workflow};

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

/// The medians of `rounds` alternating timings of `ours` and `baseline`,
/// in nanoseconds.
fn interleaved(rounds: usize, mut ours: impl FnMut(), mut baseline: impl FnMut()) -> (f64, f64) {
    let time = |f: &mut dyn FnMut()| {
        let start = Instant::now();
        f();
        start.elapsed().as_nanos() as f64
    };
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        if round % 2 == 0 {
            a.push(time(&mut ours));
            b.push(time(&mut baseline));
        } else {
            b.push(time(&mut baseline));
            a.push(time(&mut ours));
        }
    }
    a.sort_by(f64::total_cmp);
    b.sort_by(f64::total_cmp);
    (a[rounds / 2], b[rounds / 2])
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
            let (ours, floor) = interleaved(
                rounds,
                || run(&host, &wf),
                || {
                    kahn_walk(&wf);
                },
            );
            let per = n as f64 * 1e3;
            println!(
                "compare dag_schedule_{}_{}k: ours={:.3} us/node baseline={:.3} us/node ratio={:.3}",
                shape.name(),
                n / 1000,
                ours / per,
                floor / per,
                ours / floor
            );
        }
    }
    // The default: every finished node checkpointed in SQLite.
    for n in [10_000, 100_000] {
        let wf = workflow(Shape::Chain, n);
        let (ours, floor) = interleaved(
            3,
            || run_with(&host, &wf, true),
            || {
                kahn_walk(&wf);
            },
        );
        let per = n as f64 * 1e3;
        println!(
            "compare dag_schedule_chain_{}k_checkpointed: ours={:.3} us/node baseline={:.3} us/node ratio={:.3}",
            n / 1000,
            ours / per,
            floor / per,
            ours / floor
        );
    }
    println!("dag_schedule: peak memory {} MiB", peak_rss_kib() / 1024);
}

criterion_group! { name = benches; config = criterion(); targets = bench }
criterion_main!(benches);
