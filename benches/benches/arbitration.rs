//! What the Arbitration Engine costs: an uncontended acquire and release
//! against tokio's semaphore doing the same; one decision among 1,000
//! waiters of 10 tenants, for each strategy, against a binary heap's pop
//! and push (the floor of any priority queue); and the DAG Tracker's
//! scheduling overhead per node with every node taking a parallel slot from
//! the arbiter, against the same tracker without one.

use std::collections::{BTreeMap, BinaryHeap};
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main};
use serde_json::{Value, json};
use symphony_arbitration::{Arbiter, ArbitrationConfig, Ask, Book, Queue, Requester, StrategyKind};
use symphony_artifacts::{ArtifactStore, StoreOptions};
use symphony_benches::{compare_interleaved, compare_values, criterion, interleaved_medians};
use symphony_bus::Bus;
use symphony_dag::{Bounds, NodeError, NodeRunner, RunOptions, Tracker};
use symphony_manifest::ExtensionKind;
use symphony_workflow::{Node, Workflow};

/// Tokio's semaphore, the baseline an uncontended acquire is held to (≤ 2×).
fn uncontended() {
    let arbiter = Arbiter::new(
        ArbitrationConfig::parse("[slots]\ncapacity = 64\n", "bench").unwrap(),
        None,
        None,
    );
    let slots = Arc::clone(arbiter.slots());
    let requester = arbiter.requester("bench").label("node x");
    let semaphore = tokio::sync::Semaphore::new(64);
    compare_interleaved(
        "arbitration_uncontended_try_acquire_release",
        || drop(std::hint::black_box(slots.try_acquire(&requester, 1))),
        || drop(std::hint::black_box(semaphore.try_acquire())),
    );
    // The awaited forms, polled on a current-thread runtime.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    compare_interleaved(
        "arbitration_uncontended_acquire_release_async",
        || {
            runtime.block_on(async {
                drop(std::hint::black_box(
                    slots.acquire(&requester, 1, None, None).await,
                ));
            })
        },
        || {
            runtime.block_on(async {
                drop(std::hint::black_box(semaphore.acquire().await));
            })
        },
    );
}

/// One decision among 1,000 waiters of 10 tenants: the strategy picks and
/// takes one, and a new arrival keeps the line at 1,000.
fn decisions() {
    const WAITERS: usize = 1_000;
    const TENANTS: u32 = 10;
    let t0 = Instant::now();
    let mut book = Book::default();
    for t in 0..TENANTS {
        book.set_weight(t, f64::from(1 + t % 3));
    }
    for strategy in StrategyKind::ALL {
        let mut queue: Queue<u64> = Queue::new(strategy.build(Duration::from_millis(100)), t0);
        let mut next = 0u64;
        let arrive = |queue: &mut Queue<u64>, next: &mut u64| {
            let n = *next;
            *next += 1;
            let ask = Ask {
                tenant: (n % u64::from(TENANTS)) as u32,
                priority: (n % 7) as i32,
                deadline: Some(t0 + Duration::from_millis(1_000 + (n * 7919) % 5_000)),
                units: 1,
            };
            queue.push(ask, t0 + Duration::from_micros(n), n);
        };
        for _ in 0..WAITERS {
            arrive(&mut queue, &mut next);
        }
        let mut heap: BinaryHeap<(u64, u64)> = (0..WAITERS as u64)
            .map(|n| ((n * 7919) % 5_000, n))
            .collect();
        let mut heap_next = WAITERS as u64;
        let now = t0 + Duration::from_secs(1);
        let (ours, floor) = interleaved_medians(
            31,
            2_000,
            &mut || {
                let served = book.with_context(now, t0, TENANTS, 4, |ctx| queue.pop(ctx));
                book.charge(served.map_or(0, |w| w.entry.tenant), 0, 1, 4);
                arrive(&mut queue, &mut next);
            },
            &mut || {
                std::hint::black_box(heap.pop());
                heap.push(((heap_next * 7919) % 5_000, heap_next));
                heap_next += 1;
            },
        );
        compare_values(
            &format!(
                "arbitration_decision_1000_waiters_10_tenants_{}",
                strategy.name()
            ),
            ours,
            floor,
        );
        println!(
            "target arbitration_decision_{}: {:.2} us per decision (≤ 5 us)",
            strategy.name(),
            ours / 1e3
        );
    }
}

/// A node runner that calls nothing: the tracker's own costs alone.
struct Noop;

impl NodeRunner for Noop {
    fn call(&self, _: &Node, input: &str, _: &Bounds) -> Result<String, NodeError> {
        Ok(input.to_string())
    }
}

/// `n` parallel Operator nodes between a source and a merge.
fn fan_out(n: usize) -> Workflow {
    let mut nodes = vec![json!({"id": "source", "kind": "operator", "extension": "noop"})];
    let mut edges = Vec::new();
    for i in 0..n {
        let id = format!("n{i}");
        nodes.push(json!({"id": id, "kind": "operator", "extension": "noop"}));
        edges.push(json!({"from": "source", "to": id}));
        edges.push(json!({"from": id, "to": "all"}));
    }
    nodes.push(json!({"id": "all", "kind": "control", "control": {"merge": "all"}}));
    let doc = json!({"schema_version": 2, "id": "fan", "name": "fan", "version": "1.0.0",
                     "nodes": nodes, "edges": edges});
    Workflow::from_json(&doc.to_string(), "fan").unwrap()
}

/// The tracker's scheduling overhead per node, with and without the
/// arbiter's slots in the path (≤ 10% more).
fn dag_with_arbiter() {
    let dir = tempfile::tempdir().unwrap();
    let bus = Bus::new();
    let artifacts =
        Arc::new(ArtifactStore::open(dir.path().join("a"), StoreOptions::default()).unwrap());
    let plain = Tracker::new(bus.clone(), artifacts.clone(), dir.path().join("runs.db"));
    let arbiter = Arbiter::new(ArbitrationConfig::default(), Some(bus.clone()), None);
    let arbitrated =
        Tracker::new(bus, artifacts, dir.path().join("runs2.db")).with_arbiter(arbiter, "bench");
    let known = BTreeMap::from([("noop".to_string(), ExtensionKind::Operator)]);
    for n in [1_000, 10_000] {
        let workflow = fan_out(n);
        let plan = workflow.validate(&known).unwrap();
        let run = |tracker: &Tracker| {
            let options = RunOptions {
                checkpoint: false,
                store_outputs: false,
                prewarm: false,
                concurrency: NonZeroUsize::new(4).unwrap(),
                ..RunOptions::default()
            };
            let report = tracker
                .execute(
                    &Noop,
                    &workflow,
                    &plan,
                    &Value::Null,
                    options,
                    None,
                    &mut |_| {},
                )
                .unwrap();
            assert!(report.error.is_none(), "{:?}", report.error);
        };
        let (ours, baseline) =
            interleaved_medians(9, 1, &mut || run(&arbitrated), &mut || run(&plain));
        let per = (n + 2) as f64 * 1e3;
        println!(
            "compare dag_fan_out_{}k_with_arbiter: ours={:.3} us/node baseline={:.3} us/node ratio={:.3}",
            n / 1000,
            ours / per,
            baseline / per,
            ours / baseline
        );
    }
}

fn bench(c: &mut criterion::Criterion) {
    let arbiter = Arbiter::default();
    let slots = Arc::clone(arbiter.slots());
    let requester: Requester = arbiter.requester("bench");
    c.bench_function("arbitration_try_acquire_release", |b| {
        b.iter(|| drop(slots.try_acquire(&requester, 1)))
    });
    uncontended();
    decisions();
    dag_with_arbiter();
}

criterion_group! {
    name = benches;
    config = criterion();
    targets = bench
}
criterion_main!(benches);
