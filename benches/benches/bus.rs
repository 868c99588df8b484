//! In-process publish → deliver against a bounded std channel moving the
//! same 256-byte payload; request/reply to a responder thread against a
//! tokio oneshot handed to a thread (target: ≤ 1 µs p50); and publish →
//! deliver with 100 and 1,000
//! unrelated wildcard subscriptions against the same with none. Before the
//! subject trie every publish matched every wildcard pattern in turn
//! (0.36 µs with none, 3.1 µs with 100, 33.5 µs with 1,000); now it visits
//! only the branches its subject's tokens lead to.
//!
//! Cross-thread request/reply (issue 22: p50 53–56 µs; 1.5 µs before this
//! round, 1.05–1.12 µs after, same machine): nothing that both threads
//! write on every message is left on the path. Each round trip used to
//! bounce cache lines between the cores through one global envelope-id
//! counter (ids now come from per-thread blocks), the reader counts of the
//! route and subject tables' `RwLock`s (now sharded locks), one latency
//! histogram (now one per thread group), and the bus's reference count
//! (upgraded from a weak reference on every receive). Then (p50 1.05–1.14
//! → 0.80–1.05 µs): the eight string allocations a round trip made (kind,
//! sender, subject and inbox of the request and its reply) are gone, the
//! envelope's names being `SmolStr`s stored inline. What is left is the
//! subscription queue's mutex, the two hand-overs themselves, two clock
//! reads for the envelopes' timestamps and about fifteen moves of a
//! 192-byte envelope. On this VM the p50 moves between about 0.8 and 2.9
//! µs from one run to the next with no change in the code: how the host
//! places the two virtual cores decides it.

use criterion::{criterion_group, criterion_main};
use symphony_benches::{bench_pair, compare_interleaved, criterion, percentiles};
use symphony_host::bus::{Bus, SubscribeOptions};

fn bench(c: &mut criterion::Criterion) {
    let bus = Bus::new();
    let sub = bus
        .subscribe_with(
            "bench.events",
            SubscribeOptions {
                capacity: 1 << 16,
                ..Default::default()
            },
        )
        .unwrap();
    let payload = bytes::Bytes::from(vec![7u8; 256]);
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(1 << 16);
    let raw_payload = vec![7u8; 256];

    // One publish and one receive per iteration: the cost of moving a
    // message through the bus, which bounds its throughput per core.
    let mut ours = || {
        bus.publish("bench.events", payload.clone()).unwrap();
        sub.try_recv().unwrap()
    };
    let mut baseline = || {
        tx.send(raw_payload.clone()).unwrap();
        rx.recv().unwrap()
    };
    bench_pair(c, "bus_publish_deliver_256b", &mut ours, &mut baseline);

    // Across threads: a request to a responder thread and back, and to a
    // handler served in place.
    let responder = bus.endpoint("echo");
    let requests = responder.subscribe("bench.echo").unwrap();
    std::thread::spawn(move || {
        while let Ok(request) = requests.recv(std::time::Duration::from_secs(3600)) {
            responder.reply(&request, request.payload.clone());
        }
    });
    let _served = bus
        .serve("bench.served", |r| Some(r.payload.clone()))
        .unwrap();
    let wait = std::time::Duration::from_secs(5);
    // The floor: the request and a tokio oneshot for its reply handed to a
    // responder thread over a channel, the reply awaited by blocking.
    type Ask = (bytes::Bytes, tokio::sync::oneshot::Sender<bytes::Bytes>);
    let (asks, asked) = std::sync::mpsc::channel::<Ask>();
    std::thread::spawn(move || {
        while let Ok((body, reply)) = asked.recv() {
            let _ = reply.send(body);
        }
    });
    compare_interleaved(
        "bus_request_reply_across_threads",
        || {
            bus.request("bench.echo", payload.clone(), wait).unwrap();
        },
        || {
            let (reply, answer) = tokio::sync::oneshot::channel();
            asks.send((payload.clone(), reply)).unwrap();
            answer.blocking_recv().unwrap();
        },
    );
    percentiles("bus request/reply across threads", 20_000, || {
        bus.request("bench.echo", payload.clone(), wait).unwrap();
    });
    percentiles("bus request/reply to a served handler", 100_000, || {
        bus.request("bench.served", payload.clone(), wait).unwrap();
    });

    let started = std::time::Instant::now();
    let n = 1_000_000u32;
    for _ in 0..n {
        drop(ours());
    }
    let rate = f64::from(n) / started.elapsed().as_secs_f64();
    println!(
        "bus throughput (publish + receive on one thread): {:.2} M msg/s",
        rate / 1e6
    );
    wildcards(&payload);
}

/// A bus with one subscriber on `bench.wild.events` and `unrelated`
/// wildcard subscriptions that never match it (`other.<i>.*`, `tenant.<i>.>`).
fn with_unrelated(
    unrelated: usize,
) -> (
    Bus,
    symphony_host::bus::Subscription,
    Vec<symphony_host::bus::Subscription>,
) {
    let bus = Bus::new();
    let target = bus.subscribe("bench.*.events").unwrap();
    let others = (0..unrelated)
        .map(|i| match i % 2 {
            0 => bus.subscribe(&format!("other.{i}.*")).unwrap(),
            _ => bus.subscribe(&format!("tenant.{i}.>")).unwrap(),
        })
        .collect();
    (bus, target, others)
}

/// Publish → deliver with unrelated wildcard subscriptions (target ≤ 1 µs
/// at 1,000) against the same with none.
fn wildcards(payload: &bytes::Bytes) {
    let (none, none_sub, _) = with_unrelated(0);
    for unrelated in [100, 1_000] {
        let (bus, sub, _others) = with_unrelated(unrelated);
        compare_interleaved(
            &format!("bus_publish_deliver_{unrelated}_unrelated_wildcards"),
            || {
                bus.publish("bench.wild.events", payload.clone()).unwrap();
                drop(sub.try_recv().unwrap());
            },
            || {
                none.publish("bench.wild.events", payload.clone()).unwrap();
                drop(none_sub.try_recv().unwrap());
            },
        );
    }
}

criterion_group! { name = benches; config = criterion(); targets = bench }
criterion_main!(benches);
