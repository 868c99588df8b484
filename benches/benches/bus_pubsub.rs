//! Publish/subscribe throughput through the bus server: one client
//! publishes 256-byte messages as fast as it can, another receives them,
//! over the socket and over shared memory, against the same through a
//! nats-server on the same machine in the same run (`compare` lines are
//! time per message, so a ratio of 0.5 is twice NATS's rate). Every run
//! also counts what was lost: the target is none.
//!
//! Why it was slow and lossy before (issue 22: 0.12–0.16 M msg/s, 4–31%
//! lost): the client wrote each publish with its own `write`, and the
//! server, finding the subscriber's queue empty each time, wrote each
//! delivery with its own `send` (a raw socket does 0.22–0.25 M writes/s);
//! and bursts the subscriber could not take at once overflowed the
//! 1,024-message subscription queue and the server's drop-oldest peer
//! queue. Now a hot publisher's frames gather for the client's flusher
//! thread, the server writes a burst's deliveries to a peer in one write,
//! the server paces publishers to subscribers that keep up, and a
//! subscription holds up to 65,536 messages.
//!
//! Where the time goes now (perf, 0.54–0.58 M msg/s):
//! `rmp_serde` was the largest single cost of each of the four encodes and
//! decodes a message takes, and is gone (a direct codec, 0.43–0.46 →
//! 0.54–0.58 M msg/s). Then (0.46 → 0.60–0.70 M msg/s over the socket, 23%
//! less CPU per message in the same sitting): the subscription's receiver
//! slept between messages, so the client's reader thread woke it with a
//! system call for every one (it now polls 20 µs first); each frame's
//! payload was copied out of the bytes read (it is now a slice of them);
//! and the server allocated two strings per delivery to name the
//! subscription (now a header written straight into the frame).
//!
//! Then (0.44–0.51 → 0.82–0.93 M msg/s over the socket in one sitting):
//! the envelope's names (kind, sender, subject, headers) are `SmolStr`s,
//! stored inline, so decoding a frame allocates nothing but the header
//! list and the server stamps the sender with a copy; a subject of
//! printable ASCII is checked in one pass over its bytes; the client
//! dispatches every frame a read brought before its loop's clock reads and
//! checks, and the server reads the clock once a burst.
//!
//! What is left is six threads on two cores (publisher, its flusher, the
//! server's reader and writer for the pair, the subscriber's reader, the
//! receiver, which polls 20 µs before sleeping), a channel hop from the
//! client's reader to the receiver, and a 192-byte `Envelope` decoded,
//! moved about ten times and re-encoded at every hop (memmove is now the
//! largest single symbol on the server's reader). Twice NATS's rate needs
//! the server to forward a publish's frame bytes as they came, rewriting
//! only the sender and the subscription id, as nats-server does, and a
//! client that hands frames to the receiver without a thread in between.
//!
//! Measured again after that (perf, 0.74–0.84 M msg/s over the socket in
//! the profiling binary): the run takes about 2.0 µs of CPU per message
//! over all threads, 77% of it in user space: the server's reader 36%
//! (decoding about a quarter of it, routing and queueing a third), the
//! subscriber's reader thread 28%, the publisher and the receiver 27%, the
//! server's writer 6%, the publisher's flusher 3%; 19,000 context switches
//! for 600,000 messages. No symbol passes 7%. nats-server's rate on these
//! two cores (1.55–1.71 M msg/s) means that twice it leaves about 0.67 µs
//! of CPU per message for everything: a third of today, so it takes the
//! forwarding and thread changes above, not tuning of what is there.
//!
//! Then the subscriber's receiving thread reads the link itself while it
//! waits (the client's reader thread steps aside, as it does for a
//! requester on shared memory), so a stream's messages reach it without a
//! hand-over between threads: 0.81 → 0.98 M msg/s over the socket and
//! 0.91 → 1.06 over shared memory, alternating runs of the profiling
//! binary. The server's reader is now the busiest thread (46% of the CPU,
//! nearly a core): reading, decoding, routing and writing every message.
//! For scale: three threads passing 280-byte frames through two sockets
//! with one copy each, 64 KiB a write, move 6.0–6.8 M msg/s on these two
//! cores; nats-server is at a quarter of that floor, this bus a sixth.
//!
//! Then (+6% over the socket, +6% over shared memory in alternating runs)
//! a link's reads land straight in the frame buffer's spare room instead
//! of a scratch buffer copied after them (5% of the server reader's time,
//! and 3% more in reallocating the buffer as it grew), and (+2%) each
//! thread keeps the routes it found for the last subject it routed until
//! the route table changes (matching a subject against the table was 14%
//! of the server reader's time; the cache's check and the weak references
//! it holds cost most of what that saved). What remains is spread thin:
//! on both the server's reader and the receiving subscriber, decoding a
//! frame into an `Envelope` is about a third (four strings copied inline,
//! a header list for the subscription id, the 192-byte result moved
//! through each layer), the kernel's copies a sixth, queueing and
//! delivering a fifth.
//!
//! Then (+4–5%, socket and shared memory) the client takes the
//! subscription id the server appends out of a frame as it decodes it,
//! instead of decoding it into a header list (an allocation and two
//! strings a message) and looking it up again to dispatch.

use std::time::{Duration, Instant};

use symphony_benches::nats::NatsServer;
use symphony_benches::{bus_client, bus_server, compare_values, count};
use symphony_host::protocol::client::Transport;

const N: u32 = 200_000;
const SIZE: usize = 256;
const ROUNDS: usize = 3;

/// Messages per second from one client to another through a fresh bus
/// server, and how many of `N` never arrived.
fn ours(transport: Transport) -> (f64, u32) {
    let dir = tempfile::tempdir().unwrap();
    let (_bus, server) = bus_server(dir.path());
    let connect = |name: &str| bus_client(&server, name, transport);
    let publisher = connect("publisher");
    let subscriber = connect("subscriber");
    let stream = subscriber.subscribe("bench.stream").unwrap();
    subscriber.flush(Duration::from_secs(5)).unwrap();
    let payload = bytes::Bytes::from(vec![7u8; SIZE]);
    let started = Instant::now();
    let reader = std::thread::spawn(move || {
        let mut received = 0;
        while received < N && stream.recv(Duration::from_secs(2)).is_ok() {
            received += 1;
        }
        (received, Instant::now())
    });
    for _ in 0..N {
        publisher.publish("bench.stream", payload.clone()).unwrap();
    }
    let (received, ended) = reader.join().unwrap();
    let rate = f64::from(received) / (ended - started).as_secs_f64();
    (rate, N - received)
}

/// The same through nats-server.
fn nats(server: &NatsServer) -> f64 {
    let mut subscriber = server.connect();
    subscriber.subscribe("bench.stream");
    let mut publisher = server.connect();
    let payload = vec![7u8; SIZE];
    let started = Instant::now();
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::with_capacity(SIZE + 2);
        for _ in 0..N {
            subscriber.next_message(&mut buf);
        }
        Instant::now()
    });
    for _ in 0..N {
        publisher.publish("bench.stream", &payload);
    }
    publisher.flush();
    let ended = reader.join().unwrap();
    f64::from(N) / (ended - started).as_secs_f64()
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let nats_server = NatsServer::start();
    let mut transports = vec![("socket", Transport::Socket)];
    if cfg!(target_os = "linux") {
        transports.push(("shm", Transport::SharedMemory));
    }
    for (name, transport) in transports {
        let (mut ours_rates, mut nats_rates, mut lost) = (Vec::new(), Vec::new(), 0);
        // Alternating rounds, so drift in the machine's speed hits both.
        for _ in 0..ROUNDS {
            let (rate, missing) = ours(transport);
            ours_rates.push(rate);
            lost += missing;
            if let Some(server) = &nats_server {
                nats_rates.push(nats(server));
            }
        }
        let ours_rate = median(ours_rates);
        println!(
            "bus pub/sub over {name}, {SIZE} B: {:.2} M msg/s, {lost} of {} lost",
            ours_rate / 1e6,
            ROUNDS as u32 * N
        );
        count(&format!("pubsub_{name}_lost"), u64::from(lost), "messages");
        if nats_rates.is_empty() {
            println!("compare pubsub_{name}_vs_nats_256b: not measured (no nats-server)");
            continue;
        }
        let nats_rate = median(nats_rates);
        println!(
            "nats-server pub/sub, {SIZE} B: {:.2} M msg/s",
            nats_rate / 1e6
        );
        // Time per message, so the ratio reads as everywhere else.
        compare_values(
            &format!("pubsub_{name}_vs_nats_256b"),
            1e9 / ours_rate,
            1e9 / nats_rate,
        );
    }
}
