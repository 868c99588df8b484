//! Request/reply between two threads over the bus's cross-process links,
//! against the same exchange on the raw link underneath:
//!
//! - socket: a [`Client`] → [`BusServer`] → echo handler → back, against a
//!   length-prefixed ping-pong on a bare Unix socket;
//! - shared memory: the same over a shared-memory link, against a ping-pong
//!   on the bare rings.
//!
//! Payloads are 256 bytes both ways.
//!
//! Where the time went on shared memory (perf and `strace -c`, issue 22):
//! both ends poll their rings, so the round trip is the work on the way;
//! a futex system call per request (the client's outbox woke senders
//! waiting for room after every write, and std's condvar makes the call
//! even when nobody waits) and `rmp_serde` (four encodes and decodes per
//! round trip) were the largest parts. Both are gone; p50 moves between
//! 2.2 and 2.8 µs from one sitting to the next on this machine. Then
//! (2.25 → 1.9 µs p50 in one sitting): the server allocated two strings
//! per delivery to name the subscription, and each client request made a
//! `sync_channel` (a cache-padded allocation) for its reply and formatted
//! its inbox; now the id is written into the frame, the reply lands in a
//! one-allocation slot and the inbox is written with `itoa`. When the
//! VM's two cores are placed badly, the whole exchange (the bare rings
//! too) runs about 1.6× slower.

use std::io::{Read, Write};
use std::time::Duration;

use criterion::{criterion_group, criterion_main};
use symphony_benches::{
    bench_pair, bus_client, bus_server, criterion, percentiles, raw_echo_socket,
};
use symphony_host::bus::{Bus, BusServer, Service};
use symphony_host::protocol::client::Transport;

const SIZE: usize = 256;
const T: Duration = Duration::from_secs(5);

/// A bus with a server on `dir` and an echo handler, which answers on the
/// server's reader thread as the raw echo does.
fn echo_server(dir: &std::path::Path) -> (Bus, BusServer, Service) {
    let (bus, server) = bus_server(dir);
    let echo = bus
        .endpoint("echo")
        .serve("bench.echo", |request| Some(request.payload.clone()))
        .unwrap();
    (bus, server, echo)
}

/// Benchmarks `ours` against `raw` as criterion group `name`, then prints
/// the p50 and p99 of `n` single exchanges of each.
fn measure(
    c: &mut criterion::Criterion,
    name: &str,
    n: usize,
    mut ours: impl FnMut(),
    mut raw: impl FnMut(),
) {
    bench_pair(c, name, &mut ours, &mut raw);
    percentiles(&format!("{name} (ours)"), n, &mut ours);
    percentiles(&format!("{name} (raw)"), n, &mut raw);
}

fn bench(c: &mut criterion::Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let (_bus, server, _echo) = echo_server(dir.path());
    let payload = bytes::Bytes::from(vec![7u8; SIZE]);

    let socket_client = bus_client(&server, "bench", Transport::Socket);
    let mut raw = raw_echo_socket();
    let mut frame = (SIZE as u32).to_be_bytes().to_vec();
    frame.extend_from_slice(&payload);
    let mut reply = vec![0u8; 4 + SIZE];
    measure(
        c,
        "socket_request_reply_256b",
        20_000,
        || {
            socket_client
                .request("bench.echo", payload.clone(), T)
                .unwrap();
        },
        || {
            raw.write_all(&frame).unwrap();
            raw.read_exact(&mut reply).unwrap();
        },
    );
    drop(socket_client);

    #[cfg(target_os = "linux")]
    {
        use symphony_host::protocol::shm::{DEFAULT_RING_CAPACITY, ShmRegion, Side};

        let shm_client = bus_client(&server, "bench", Transport::SharedMemory);
        let region =
            ShmRegion::create(&dir.path().join("raw-ring"), DEFAULT_RING_CAPACITY).unwrap();
        let (mut from_server, mut to_server) = region.split(Side::Client);
        let (mut from_client, mut to_client) = region.split(Side::Server);
        std::thread::spawn(move || {
            let mut buf = vec![0u8; SIZE];
            while from_client.read_exact(&mut buf).is_ok() {
                if to_client.write_all(&buf).is_err() {
                    return;
                }
            }
        });
        let mut echo = vec![0u8; SIZE];
        measure(
            c,
            "shm_request_reply_256b",
            50_000,
            || {
                shm_client
                    .request("bench.echo", payload.clone(), T)
                    .unwrap();
            },
            || {
                to_server.write_all(&payload).unwrap();
                from_server.read_exact(&mut echo).unwrap();
            },
        );
        drop(region);
    }
}

criterion_group! { name = benches; config = criterion(); targets = bench }
criterion_main!(benches);
