//! In-process publish → deliver against a bounded std channel moving the
//! same 256-byte payload.

use criterion::{criterion_group, criterion_main};
use symphony_benches::{bench_pair, criterion};
use symphony_host::{Bus, SubscribeOptions};

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
}

criterion_group! { name = benches; config = criterion(); targets = bench }
criterion_main!(benches);
