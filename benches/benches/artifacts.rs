//! The Artifact Store against the floors it is built on (`ARCHITECTURE.md`
//! §6: "durable store near the fsync floor; large files near SHA-256
//! speed"), each measured in the same run:
//!
//! 1. **Ingest** of a 64 MiB mixed data set (many 1–64 KiB files, some
//!    1 MiB ones, an 8 and a 16 MiB one; text and random bytes), from files
//!    in the page cache, with `put_batch` (group commit) into a fresh store, against
//!    the system `sha256sum` over the same files in one process. The
//!    encrypted store is timed too (informational), as are a crash-safe
//!    copy of every file (the fsync floor of a durable ingest, no hashing)
//!    and `restic backup` of the same set (`cargo xtask bench` installs
//!    Debian's restic and names it in `SYMPHONY_RESTIC`; otherwise the one
//!    on `PATH`, if any).
//!    Timed is what a caller waits for: the puts. They only queue their
//!    artifacts for the search index, which a background thread indexes;
//!    dropping the store leaves what it has not indexed queued, untimed. So
//!    that deferred cost stays visible, a plain line reports how long after
//!    the puts returned a search (which indexes the rest of the queue
//!    first) took to answer.
//!
//!    Where the time went (`perf record -g`, before packs): half of an
//!    ingest's CPU was the kernel finding free inodes (`__ext4_new_inode`
//!    → `find_inode_bit` → `recently_deleted`: on this machine's ext4 an
//!    inode freed in the last seconds is skipped, one buffer-cache lookup
//!    each, and every earlier round frees thousands), and hashing was 2%
//!    (SHA-NI). With one file per object that made ingest 0.27× `sha256sum`
//!    in the interleaved rounds, at the speed of the durable copy. A batch
//!    now keeps its contents of up to 256 KiB in one pack file, so it
//!    creates a handful of inodes instead of one per object (and one per
//!    new shard directory): 1.36× `sha256sum`, 4.4× the durable copy.
//! 2. **Small put and get** (1 and 4 KiB): `put` of fresh content against a
//!    crash-safe plain write (temp file, `fsync`, rename, directory
//!    `fsync`); `get` of an id in the read cache and `get_to` of an id not
//!    in it (content still in the OS page cache) against `std::fs::read` of
//!    a file of the same size.
//! 3. **Dedup**: 1000 artifacts, 30% of them exact duplicates; what
//!    `stats()` reports saved against the ideal, and the bytes under
//!    `objects/` against the bytes put.

use std::fs::{self, File};
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use criterion::{BatchSize, Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use symphony_benches::{compare_interleaved, compare_sizes, criterion, percentiles, xorshift};
use symphony_host::artifacts::{
    ArtifactKey, ArtifactMeta, ArtifactStore, SearchQuery, StoreOptions,
};

/// Mebibyte.
const MIB: usize = 1 << 20;
/// Interleaved rounds of the ingest comparison.
const INGEST_ROUNDS: usize = 5;
/// Artifacts in the dedup set, and the share that are duplicates.
const DEDUP_SET: usize = 1000;
const DEDUP_SHARE: f64 = 0.30;

/// The encrypted stores' key.
fn key() -> ArtifactKey {
    ArtifactKey::from_bytes([7; 32])
}

/// `len` bytes from `next`: random, or text (words and numbers) when `text`.
fn bytes(next: &mut impl FnMut(usize) -> usize, len: usize, text: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 32);
    if text {
        const WORDS: [&str; 6] = [
            "the ",
            "artifact ",
            "store ",
            "keeps ",
            "data\n",
            "{\"v\": ",
        ];
        while out.len() < len {
            out.extend_from_slice(WORDS[next(WORDS.len())].as_bytes());
            out.extend_from_slice(next(100_000).to_string().as_bytes());
            out.push(b' ');
        }
    } else {
        while out.len() < len {
            out.extend_from_slice(&(next(usize::MAX) as u64).to_le_bytes());
        }
    }
    out.truncate(len);
    out
}

/// The mixed data set, written under `dir`: small files of 1–64 KiB up to
/// 24 MiB in all, sixteen 1 MiB files, one 8 MiB and one 16 MiB file; every
/// other file text. Returns the paths and the total size.
fn write_data_set(dir: &Path) -> (Vec<PathBuf>, u64) {
    let mut next = xorshift();
    let mut sizes = Vec::new();
    let mut small = 0;
    while small < 24 * MIB {
        let size = (1 + next(64)) * 1024;
        small += size;
        sizes.push(size);
    }
    sizes.extend([MIB; 16]);
    sizes.extend([8 * MIB, 16 * MIB]);
    let mut paths = Vec::with_capacity(sizes.len());
    let mut total = 0;
    for (i, size) in sizes.into_iter().enumerate() {
        let path = dir.join(format!("file-{i:04}"));
        fs::write(&path, bytes(&mut next, size, i % 2 == 0))
            .unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        total += size as u64;
        paths.push(path);
    }
    (paths, total)
}

/// Reads every file once, so all sides read them from the page cache.
fn warm(paths: &[PathBuf]) {
    for path in paths {
        std::hint::black_box(fs::read(path).expect("reading a data set file"));
    }
}

/// Puts every file into a fresh store under `dir`, in batches.
fn ingest(dir: &Path, paths: &[PathBuf], encrypted: bool) -> ArtifactStore {
    let root = dir.join("store");
    let options = if encrypted {
        StoreOptions::default().with_key(key())
    } else {
        StoreOptions::default()
    };
    let store = ArtifactStore::open(&root, options).expect("opening a fresh store");
    // Bulk ingest goes through `put_batch`: one group commit (a file-system
    // sync and a catalog transaction) per batch instead of an fsync per file.
    let (mut batch, mut bytes) = (Vec::new(), 0u64);
    for path in paths {
        let file = File::open(path).expect("opening a data set file");
        bytes += file.metadata().map_or(0, |m| m.len());
        batch.push((file, ArtifactMeta::default()));
        if batch.len() == INGEST_BATCH_FILES || bytes >= INGEST_BATCH_BYTES {
            store.put_batch(batch.drain(..)).expect("ingesting a batch");
            bytes = 0;
        }
    }
    if !batch.is_empty() {
        store.put_batch(batch).expect("ingesting a batch");
    }
    store
}

/// How long (ns) a search of everything takes right after an ingest into
/// `store`: it first indexes what the background indexer has not, so this
/// is the indexing the puts left behind.
fn index_catch_up(store: &ArtifactStore) -> f64 {
    let start = Instant::now();
    let page = store
        .search(&SearchQuery {
            limit: 0,
            ..SearchQuery::default()
        })
        .expect("searching after the ingest");
    let elapsed = start.elapsed().as_nanos() as f64;
    assert_eq!(page.pending_index, 0, "the search indexed the whole queue");
    std::hint::black_box(page.total);
    elapsed
}

/// The most files one ingest batch takes.
const INGEST_BATCH_FILES: usize = 256;
/// A batch is committed once it holds this many bytes.
const INGEST_BATCH_BYTES: u64 = 32 << 20;

/// The baseline: the system `sha256sum` over every file, one process.
fn sha256sum(paths: &[PathBuf]) {
    let status = Command::new("sha256sum")
        .args(paths)
        .stdout(Stdio::null())
        .status()
        .expect("running sha256sum");
    assert!(status.success(), "sha256sum failed: {status}");
}

/// The floor of a durable ingest without hashing: every file copied into
/// `dir` crash-safely, one [`durable_write`] each.
fn durable_copy(dir: &Path, paths: &[PathBuf]) {
    for (i, path) in paths.iter().enumerate() {
        let content = fs::read(path).expect("reading a data set file");
        durable_write(dir, &format!("f{i}"), &content);
    }
}

/// `restic backup` of `data` into a fresh repository, when `restic` runs:
/// each call initialises a repository (not timed) and returns how long the
/// backup took.
fn restic_backup(data: &Path) -> Option<impl FnMut() -> f64> {
    let program = std::env::var_os("SYMPHONY_RESTIC").unwrap_or_else(|| "restic".into());
    let available = Command::new(&program)
        .arg("version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !available {
        return None;
    }
    let data = data.to_path_buf();
    Some(move || {
        let repo = tempfile::tempdir().expect("a restic repository directory");
        let restic = |args: &[&str]| {
            let status = Command::new(&program)
                .args(["--repo"])
                .arg(repo.path())
                .args(["--quiet", "--no-cache"])
                .args(args)
                .env("RESTIC_PASSWORD", "bench")
                .stdout(Stdio::null())
                .status()
                .expect("running restic");
            assert!(status.success(), "restic {args:?} failed: {status}");
        };
        restic(&["init"]);
        let start = Instant::now();
        restic(&["backup", &data.to_string_lossy()]);
        start.elapsed().as_nanos() as f64
    })
}

/// MB/s of `bytes` in `ns` nanoseconds.
fn mb_per_s(bytes: u64, ns: f64) -> f64 {
    bytes as f64 / (ns / 1e9) / 1e6
}

/// Prints a `compare` line of two throughputs (higher is better, so a
/// ratio of 1.0 or more means ours is at least as fast).
fn compare_throughput(name: &str, bytes: u64, ours_ns: f64, baseline_ns: f64) {
    let (ours, baseline) = (mb_per_s(bytes, ours_ns), mb_per_s(bytes, baseline_ns));
    println!(
        "compare {name}: ours={ours:.1} MB/s baseline={baseline:.1} MB/s ratio={:.3}",
        ours / baseline
    );
}

/// The median of `values`.
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Ingest throughput: criterion's view, then interleaved rounds of the
/// plain store, the encrypted store and `sha256sum` (the order rotating)
/// for the `compare` lines.
fn bench_ingest(c: &mut Criterion) {
    let data = tempfile::tempdir().expect("a data set directory");
    let (paths, total) = write_data_set(data.path());
    warm(&paths);
    println!(
        "artifact ingest data set: {} files, {:.1} MiB",
        paths.len(),
        total as f64 / MIB as f64
    );

    let mut group = c.benchmark_group("artifact_ingest");
    // One ingest per sample: a whole ingest is far longer than a timer tick.
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .throughput(Throughput::Bytes(total));
    for (id, encrypted) in [("ours", false), ("ours_encrypted", true)] {
        group.bench_function(id, |b| {
            b.iter_batched(
                || tempfile::tempdir().expect("a store directory"),
                |dir| {
                    let store = ingest(dir.path(), &paths, encrypted);
                    (store, dir) // dropped outside the timing
                },
                BatchSize::PerIteration,
            )
        });
    }
    group.bench_function("baseline", |b| b.iter(|| sha256sum(&paths)));
    group.finish();

    let mut times: [Vec<f64>; 4] = Default::default();
    let mut catch_up = Vec::new();
    for round in 0..INGEST_ROUNDS {
        for side in 0..4 {
            let side = (side + round) % 4;
            let dir = tempfile::tempdir().expect("a store directory");
            let start = Instant::now();
            // The store is dropped after the clock stops: the drop stops the
            // indexer and leaves its backlog queued, which no caller waits for.
            let store = match side {
                0 => Some(std::hint::black_box(ingest(dir.path(), &paths, false))),
                1 => Some(std::hint::black_box(ingest(dir.path(), &paths, true))),
                2 => {
                    durable_copy(dir.path(), &paths);
                    None
                }
                _ => {
                    sha256sum(&paths);
                    None
                }
            };
            times[side].push(start.elapsed().as_nanos() as f64);
            if side == 0
                && let Some(store) = &store
            {
                catch_up.push(index_catch_up(store));
            }
        }
    }
    let [plain, encrypted, copy, sum] = times.map(median);
    compare_throughput("artifact_ingest_vs_sha256sum", total, plain, sum);
    compare_throughput(
        "artifact_ingest_encrypted_vs_sha256sum",
        total,
        encrypted,
        sum,
    );
    compare_throughput(
        "artifact_ingest_encrypted_vs_plain",
        total,
        encrypted,
        plain,
    );
    compare_throughput("artifact_ingest_vs_durable_copy", total, plain, copy);
    let catch_up = median(catch_up);
    println!(
        "artifact ingest: the search index caught up {:.0} ms after the puts returned \
         (median of {INGEST_ROUNDS}); puts plus indexing {:.1} MB/s",
        catch_up / 1e6,
        mb_per_s(total, plain + catch_up)
    );

    if let Some(mut backup) = restic_backup(data.path()) {
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        for _ in 0..3 {
            theirs.push(backup());
            let dir = tempfile::tempdir().expect("a store directory");
            let start = Instant::now();
            let store = std::hint::black_box(ingest(dir.path(), &paths, true));
            ours.push(start.elapsed().as_nanos() as f64);
            drop(store);
        }
        compare_throughput(
            "artifact_ingest_encrypted_vs_restic",
            total,
            median(ours),
            median(theirs),
        );
    } else {
        println!("restic is not on PATH: skipping the restic comparison");
    }
}

/// A crash-safe plain write, the floor of a durable put: a new temporary
/// file, `fsync`, rename into place, `fsync` of the directory.
fn durable_write(dir: &Path, name: &str, content: &[u8]) {
    let temp = dir.join(format!(".tmp-{name}"));
    let mut file = File::create(&temp).expect("creating a temporary file");
    file.write_all(content).expect("writing");
    file.sync_all().expect("fsync");
    fs::rename(&temp, dir.join(name)).expect("renaming into place");
    File::open(dir)
        .and_then(|d| d.sync_all())
        .expect("fsync of the directory");
}

/// Small puts and gets against plain file writes and reads.
fn bench_small(c: &mut Criterion) {
    for size in [1024usize, 4096] {
        let kib = size / 1024;
        let dir = tempfile::tempdir().expect("a bench directory");
        let store = ArtifactStore::open(dir.path().join("store"), StoreOptions::default())
            .expect("opening a store");
        let plain_dir = dir.path().join("plain");
        fs::create_dir(&plain_dir).expect("creating the plain directory");
        let mut next = xorshift();
        let template = bytes(&mut next, size, false);
        // Unique content per call: a counter in the first bytes.
        let counter = std::cell::Cell::new(0u64);
        let fresh = || {
            let n = counter.get() + 1;
            counter.set(n);
            let mut content = template.clone();
            content[..8].copy_from_slice(&n.to_le_bytes());
            (n, content)
        };
        let put = || store.put(&fresh().1).expect("a put");
        let write = || {
            let (n, content) = fresh();
            durable_write(&plain_dir, &format!("f{n}"), &content);
        };
        let put_name = format!("artifact_put_{kib}k");
        let mut group = c.benchmark_group(&put_name);
        group.bench_function("ours", |b| b.iter(put));
        group.bench_function("baseline", |b| b.iter(write));
        group.finish();
        compare_interleaved(
            &format!("{put_name}_vs_durable_write"),
            || drop(put()),
            write,
        );
        percentiles(&put_name, 2000, || drop(put()));

        // Reads: ids put but never read are not in the read cache.
        let cold: Vec<String> = (0..2048).map(|_| put()).collect();
        let hot = cold[0].clone();
        store.get(&hot).expect("filling the read cache");
        let file = plain_dir.join("read-me");
        fs::write(&file, bytes(&mut next, size, false)).expect("writing the read file");
        let mut buf = Vec::with_capacity(size);
        let mut i = 0;
        let mut get_cold = || {
            i = (i + 1) % cold.len();
            buf.clear();
            store.get_to(&cold[i], &mut buf).expect("a get_to");
        };
        let get_hot = || drop(std::hint::black_box(store.get(&hot).expect("a get")));
        let read = || drop(std::hint::black_box(fs::read(&file).expect("a read")));

        let get_name = format!("artifact_get_{kib}k");
        let mut group = c.benchmark_group(&get_name);
        group.bench_function("ours_cache_hit", |b| b.iter(get_hot));
        group.bench_function("ours_not_cached", |b| b.iter(&mut get_cold));
        group.bench_function("baseline", |b| b.iter(read));
        group.finish();
        compare_interleaved(&format!("{get_name}_cache_hit_vs_fs_read"), get_hot, read);
        compare_interleaved(
            &format!("{get_name}_not_cached_vs_fs_read"),
            &mut get_cold,
            read,
        );
        percentiles(&format!("{get_name}_not_cached"), 2000, &mut get_cold);
    }
}

/// Bytes the files under `dir` take: apparent length and allocated blocks.
fn usage(dir: &Path) -> (u64, u64) {
    let mut total = (0, 0);
    for entry in fs::read_dir(dir).expect("reading a directory") {
        let entry = entry.expect("a directory entry");
        let meta = entry.metadata().expect("metadata");
        if meta.is_dir() {
            let (len, blocks) = usage(&entry.path());
            total = (total.0 + len, total.1 + blocks);
        } else {
            total = (total.0 + meta.len(), total.1 + meta.blocks() * 512);
        }
    }
    total
}

/// Dedup savings of a set with 30% exact duplicates.
fn dedup(_c: &mut Criterion) {
    let mut next = xorshift();
    let unique = DEDUP_SET - (DEDUP_SET as f64 * DEDUP_SHARE) as usize;
    let originals: Vec<Vec<u8>> = (0..unique)
        .map(|i| {
            let len = 1024 + next(63 * 1024);
            bytes(&mut next, len, i % 2 == 0)
        })
        .collect();
    let mut set: Vec<&[u8]> = originals.iter().map(Vec::as_slice).collect();
    let mut ideal_saved = 0;
    for _ in unique..DEDUP_SET {
        let copy = originals[next(unique)].as_slice();
        ideal_saved += copy.len() as u64;
        let at = next(set.len() + 1);
        set.insert(at, copy);
    }
    let offered: u64 = set.iter().map(|c| c.len() as u64).sum();

    let dir = tempfile::tempdir().expect("a store directory");
    let store = ArtifactStore::open(dir.path(), StoreOptions::default()).expect("a store");
    for content in &set {
        store.put(content).expect("a put");
    }
    let stats = store.stats().expect("stats");
    println!(
        "artifact dedup: {} puts, {} unique, bytes_saved {} of {} offered ({:.1}% saved, \
         ideal {:.1}%), dedup_ratio {:.3}",
        stats.puts,
        stats.unique_objects,
        stats.bytes_saved,
        offered,
        100.0 * stats.bytes_saved as f64 / offered as f64,
        100.0 * ideal_saved as f64 / offered as f64,
        stats.dedup_ratio
    );
    compare_sizes(
        "artifact_dedup_saved_vs_ideal",
        stats.bytes_saved as usize,
        ideal_saved as usize,
    );
    let (len, allocated) = usage(&dir.path().join("objects"));
    compare_sizes(
        "artifact_dedup_objects_len_vs_input",
        len as usize,
        offered as usize,
    );
    compare_sizes(
        "artifact_dedup_objects_disk_vs_input",
        allocated as usize,
        offered as usize,
    );
}

criterion_group! { name = benches; config = criterion(); targets = bench_ingest, bench_small, dedup }
criterion_main!(benches);
