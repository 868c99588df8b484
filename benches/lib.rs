//! Shared pieces of the criterion benches: component paths, a raw wasmtime
//! baseline of the operator world, and the `compare` line every bench prints
//! (`ARCHITECTURE.md` §6):
//!
//! ```text
//! compare <name>: ours=<value> <unit> baseline=<value> <unit> ratio=<ours/baseline>
//! ```

use std::path::{Path, PathBuf};

use criterion::Criterion;

pub mod nats;
pub mod raw;
pub mod shapes;

/// The cargo target directory this bench binary was built in.
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the bench binary has a path");
    exe.ancestors()
        .nth(3)
        .expect("bench binary is under <target>/<profile>/deps")
        .to_path_buf()
}

/// A test fixture component, if built: `$SYMPHONY_FIXTURES/<name>.wasm`,
/// else `<target>/fixtures/<name>.wasm`.
pub fn fixture(name: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("SYMPHONY_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("fixtures"));
    let path = dir.join(format!("{name}.wasm"));
    path.is_file().then_some(path)
}

/// A deterministic xorshift generator: each call gives a number below
/// its bound, the same sequence on every run.
pub fn xorshift() -> impl FnMut(usize) -> usize {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    move |bound: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % bound as u64) as usize
    }
}

/// An example component built by `cargo xtask build-examples`.
pub fn component(name: &str) -> PathBuf {
    let dir = std::env::var_os("SYMPHONY_COMPONENTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("components"));
    let path = dir
        .join(name.replace('_', "-"))
        .join(format!("{name}.wasm"));
    assert!(
        path.is_file(),
        "{} is missing: run `cargo xtask bench`",
        path.display()
    );
    path
}

/// Benchmarks `ours` and `baseline` as criterion group `name`, then prints
/// their interleaved `compare` line.
pub fn bench_pair<A: FnMut() -> R, B: FnMut() -> S, R, S>(
    c: &mut Criterion,
    name: &str,
    mut ours: A,
    mut baseline: B,
) {
    let mut group = c.benchmark_group(name);
    group.bench_function("ours", |b| b.iter(&mut ours));
    group.bench_function("baseline", |b| b.iter(&mut baseline));
    group.finish();
    compare_interleaved(name, || drop(ours()), || drop(baseline()));
}

/// Where criterion keeps its results, so `compare` can read them back.
fn output_dir() -> PathBuf {
    target_dir().join("criterion")
}

/// A criterion configured for these benches: results under the target dir,
/// short runs unless the command line asks for more.
pub fn criterion() -> Criterion {
    Criterion::default()
        .output_directory(&output_dir())
        .configure_from_args()
}

/// The median of a finished benchmark, in nanoseconds.
fn median_ns(group: &str, id: &str) -> Option<f64> {
    let path: &Path = &output_dir()
        .join(group)
        .join(id)
        .join("new")
        .join("estimates.json");
    let text = std::fs::read_to_string(path).ok()?;
    let value: serde_json::Value = serde_json::from_str(&text).ok()?;
    value["median"]["point_estimate"].as_f64()
}

/// Measures `ours` against `baseline` in alternating rounds, so that the
/// machine's speed drifting during the run affects both alike, and prints
/// the `compare` line from the medians of the per-round means.
pub fn compare_interleaved(name: &str, mut ours: impl FnMut(), mut baseline: impl FnMut()) {
    use std::time::Instant;
    const ROUNDS: usize = 41;
    // Size batches to about 5 ms of the slower side.
    let probe = Instant::now();
    baseline();
    ours();
    let per_pair = probe.elapsed().as_nanos().max(1) as f64;
    let batch = ((5e6 / per_pair) as usize).clamp(1, 100_000);
    let (ours, baseline) = interleaved_medians(ROUNDS, batch, &mut ours, &mut baseline);
    print_compare(name, ours, baseline);
}

/// Times `ours` and `baseline` in `rounds` alternating rounds of `batch`
/// calls each (which goes first alternates too) and returns the median
/// nanoseconds per call of each.
pub fn interleaved_medians(
    rounds: usize,
    batch: usize,
    ours: &mut dyn FnMut(),
    baseline: &mut dyn FnMut(),
) -> (f64, f64) {
    use std::time::Instant;
    let time = |f: &mut dyn FnMut()| {
        let start = Instant::now();
        for _ in 0..batch {
            f();
        }
        start.elapsed().as_nanos() as f64 / batch as f64
    };
    let (mut a, mut b) = (Vec::with_capacity(rounds), Vec::with_capacity(rounds));
    for round in 0..rounds.max(1) {
        if round % 2 == 0 {
            a.push(time(ours));
            b.push(time(baseline));
        } else {
            b.push(time(baseline));
            a.push(time(ours));
        }
    }
    (median(&mut a), median(&mut b))
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn print_compare(name: &str, ours: f64, baseline: f64) {
    let (scale, unit) = if baseline >= 1e6 {
        (1e6, "ms")
    } else if baseline >= 1e3 {
        (1e3, "us")
    } else {
        (1.0, "ns")
    };
    println!(
        "compare {name}: ours={:.3} {unit} baseline={:.3} {unit} ratio={:.3}",
        ours / scale,
        baseline / scale,
        ours / baseline
    );
}

/// Prints the `compare` line for `group`'s `ours` and `baseline` functions
/// from criterion's medians (for measurements too slow to interleave).
pub fn compare(name: &str, group: &str) {
    match (median_ns(group, "ours"), median_ns(group, "baseline")) {
        (Some(ours), Some(baseline)) => print_compare(name, ours, baseline),
        _ => println!("compare {name}: not measured (filtered out)"),
    }
}

/// Prints the `compare` line for two measurements taken by the caller, in
/// nanoseconds (e.g. single cold compiles, too slow to repeat).
pub fn compare_values(name: &str, ours_ns: f64, baseline_ns: f64) {
    print_compare(name, ours_ns, baseline_ns);
}

/// Prints a `count` line: something counted that has a target of its own
/// (messages lost, say), for `cargo xtask bench --summary`.
pub fn count(name: &str, value: u64, unit: &str) {
    println!("count {name}: {value} {unit}");
}

/// Prints the `compare` line for a size, in bytes.
pub fn compare_sizes(name: &str, ours: usize, baseline: usize) {
    println!(
        "compare {name}: ours={ours} bytes baseline={baseline} bytes ratio={:.3}",
        ours as f64 / baseline as f64
    );
}

/// Times `n` single exchanges and prints their p50 and p99: the targets are
/// per-request latencies, which a mean over a batch hides.
pub fn percentiles(name: &str, n: usize, mut exchange: impl FnMut()) {
    let mut samples: Vec<std::time::Duration> = (0..n)
        .map(|_| {
            let start = std::time::Instant::now();
            exchange();
            start.elapsed()
        })
        .collect();
    samples.sort();
    println!(
        "{name} latency: p50 {:.2} us, p99 {:.2} us",
        samples[n / 2].as_secs_f64() * 1e6,
        samples[n * 99 / 100].as_secs_f64() * 1e6
    );
}

/// A fresh host in `home` whose compile cache is `cache`: with a warm
/// cache, what loading costs a new process.
pub fn host_with_cache(home: &Path, cache: &Path) -> symphony_host::Host {
    symphony_host::Host::builder()
        .home(home)
        .compile_cache(cache)
        .build()
        .expect("the host builds")
}

/// A host for DAG Tracker benches (control nodes need no extension), and
/// the directory it lives in.
pub fn tracker_host() -> (tempfile::TempDir, symphony_host::Host) {
    let home = tempfile::tempdir().expect("a temporary directory");
    let host = symphony_host::Host::builder()
        .home(home.path())
        .build()
        .expect("the host builds");
    (home, host)
}

/// The floor of scheduling `workflow`: Kahn's algorithm over its edges
/// with a no-op per node (indegree counts, a ready queue, one visit per
/// edge). Returns the nodes visited.
pub fn kahn_walk(workflow: &symphony_host::workflow::Workflow) -> usize {
    use std::collections::HashMap;
    let index: HashMap<&str, usize> = (workflow.nodes.iter().enumerate())
        .map(|(i, n)| (n.id.as_str(), i))
        .collect();
    let n = workflow.nodes.len();
    let mut next = vec![Vec::new(); n];
    let mut waiting = vec![0u32; n];
    for edge in &workflow.edges {
        let (from, to) = (index[edge.from.as_str()], index[edge.to.as_str()]);
        next[from].push(to);
        waiting[to] += 1;
    }
    let mut ready: Vec<usize> = (0..n).filter(|&i| waiting[i] == 0).collect();
    let mut visited = 0;
    while let Some(i) = ready.pop() {
        std::hint::black_box(i);
        visited += 1;
        for &j in &next[i] {
            waiting[j] -= 1;
            if waiting[j] == 0 {
                ready.push(j);
            }
        }
    }
    visited
}

/// This process's peak resident memory (`VmHWM`), in KiB; 0 where it
/// cannot be read.
pub fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
            line.split_whitespace().nth(1)?.parse().ok()
        })
        .unwrap_or(0)
}

/// A raw Unix-socket echo on a thread: 4-byte big-endian length, then the
/// bytes, sent back as received. The floor of a request/reply over a
/// local socket.
pub fn raw_echo_socket() -> std::os::unix::net::UnixStream {
    use std::io::{Read, Write};
    let (client, mut server) = std::os::unix::net::UnixStream::pair().unwrap();
    std::thread::spawn(move || {
        // The frame is read into one buffer and written back from it.
        let mut buf = vec![0u8; 4 + (1 << 16)];
        loop {
            if server.read_exact(&mut buf[..4]).is_err() {
                return;
            }
            let n = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
            if server.read_exact(&mut buf[4..4 + n]).is_err()
                || server.write_all(&buf[..4 + n]).is_err()
            {
                return;
            }
        }
    });
    client
}

/// A bus with a server on `dir`'s socket that offers shared memory in
/// `dir` too.
pub fn bus_server(dir: &Path) -> (symphony_host::bus::Bus, symphony_host::bus::BusServer) {
    let bus = symphony_host::bus::Bus::new();
    let server = symphony_host::bus::BusServer::bind(
        &bus,
        dir.join("bus.sock"),
        symphony_host::bus::ServerOptions {
            shm_dir: Some(dir.to_path_buf()),
            ..Default::default()
        },
    )
    .expect("the bus server binds");
    (bus, server)
}

/// A client named `name` of `server` over `transport`.
pub fn bus_client(
    server: &symphony_host::bus::BusServer,
    name: &str,
    transport: symphony_host::protocol::client::Transport,
) -> symphony_host::protocol::client::Client {
    use symphony_host::protocol::client::{Client, ClientOptions};
    Client::connect_with(
        server.path(),
        ClientOptions {
            name: Some(name.into()),
            transport,
            ..Default::default()
        },
    )
    .expect("the client connects")
}
