//! Crash safety of the artifact store: a child process putting artifacts in
//! a loop is SIGKILLed at random points, again and again, and after every
//! kill the reopened store must be consistent:
//!
//! - every listed artifact verifies (`verify_all` is clean, and `get` of
//!   each returns bytes that hash to its id);
//! - nothing partial is visible: every object under `objects/` (a file of
//!   its own, or in a pack file, which one put in four, a batch, writes) is
//!   a listed artifact whose content hashes to its name, and every pack is
//!   whole;
//! - no temporary file survives the open;
//! - every put the child reported as finished before the kill (it appends
//!   the ids to a progress file and fsyncs it after the put returns) is
//!   listed, with its named version and derived-from links;
//! - the catalog's counters agree with the listing;
//! - search finds every listed artifact and nothing else, with nothing
//!   left queued for the index, and finds every reported put by the tag
//!   its child gave it (a put of pooled content already stored changes
//!   only its tags, which no count of documents would notice): a put
//!   queues its artifact for the background indexer in its own
//!   transaction, so a kill before the indexer ran loses nothing.
//!
//! The child is this test binary run again (`current_exe`) with the ignored
//! [`child_writer`] test selected and the store described in environment
//! variables. One test runs a plaintext store, the other an encrypted one.
//! Kill delays come from a seeded xorshift; the seed is printed, and setting
//! `SYMPHONY_CRASH_SEED` replays it.

use std::collections::{BTreeSet, HashMap};
use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use symphony_artifacts::{ArtifactKey, ArtifactMeta, ArtifactStore, ListQuery, StoreOptions};

// Beside this file rather than a test target of its own.
#[path = "artifact_crash/search.rs"]
mod search;
use search::check_search;

/// The store directory the child writes to.
const STORE_ENV: &str = "SYMPHONY_CRASH_CHILD_STORE";
/// The progress file the child appends finished puts to.
const PROGRESS_ENV: &str = "SYMPHONY_CRASH_CHILD_PROGRESS";
/// `plain` or `encrypted`.
const MODE_ENV: &str = "SYMPHONY_CRASH_CHILD_MODE";
/// The seed of the child's content generator.
const CHILD_SEED_ENV: &str = "SYMPHONY_CRASH_CHILD_SEED";
/// Replays a run: the seed of the parent's generator.
const SEED_ENV: &str = "SYMPHONY_CRASH_SEED";
/// What the child prints once its store is open and it starts putting.
const READY: &str = "artifact-crash-child-ready";
/// Kill cycles per store mode.
const CYCLES: usize = 25;
/// The shortest and longest time the child runs before it is killed.
const KILL_AFTER_MS: (u64, u64) = (20, 300);
/// The largest artifact the child writes.
const MAX_SIZE: usize = 300 << 10;
/// How many distinct contents duplicates are drawn from.
const DUPLICATE_POOL: u64 = 12;
/// Names the child records versions under.
const NAMES: [&str; 3] = ["report", "model", "notes"];

/// The fixed key of the encrypted runs.
fn key() -> ArtifactKey {
    ArtifactKey::from_bytes([0x5a; 32])
}

/// A store mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Objects in plaintext.
    Plain,
    /// Objects sealed with AES-256-GCM.
    Encrypted,
}

impl Mode {
    /// The name passed to the child.
    fn as_str(self) -> &'static str {
        match self {
            Mode::Plain => "plain",
            Mode::Encrypted => "encrypted",
        }
    }

    /// Opens the store at `root` in this mode.
    fn open(self, root: &Path) -> ArtifactStore {
        let result = match self {
            Mode::Plain => ArtifactStore::open(root, StoreOptions::default()),
            Mode::Encrypted => ArtifactStore::open_encrypted(root, key()),
        };
        result.unwrap_or_else(|e| panic!("opening the {self:?} store at {}: {e}", root.display()))
    }
}

/// A xorshift64 generator: deterministic from its seed.
struct Rng(u64);

impl Rng {
    /// A generator from `seed` (any value; zero is mapped away).
    fn new(seed: u64) -> Rng {
        Rng((seed ^ 0x9e37_79b9_7f4a_7c15) | 1)
    }

    /// The next 64 random bits.
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number in `0..bound` (`bound` > 0).
    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }
}

/// The lowercase hex SHA-256 of `bytes`.
fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Content of `size` bytes from `rng`: random bytes, or text when `text`.
fn content(rng: &mut Rng, size: usize, text: bool) -> Vec<u8> {
    const WORDS: [&str; 8] = [
        "alpha ",
        "beta ",
        "gamma\n",
        "delta ",
        "{\"k\": 1}\n",
        "omega ",
        "x",
        "lorem ipsum ",
    ];
    let mut out = Vec::with_capacity(size + 16);
    if text {
        while out.len() < size {
            out.extend_from_slice(WORDS[rng.below(WORDS.len() as u64) as usize].as_bytes());
        }
    } else {
        while out.len() < size {
            out.extend_from_slice(&rng.next().to_le_bytes());
        }
    }
    out.truncate(size);
    out
}

/// The next artifact's content: one of a small pool of contents (so some
/// puts are duplicates, across kills too), or fresh content whose size is
/// mostly small, sometimes up to [`MAX_SIZE`], sometimes empty.
fn next_content(rng: &mut Rng) -> Vec<u8> {
    if rng.below(5) == 0 {
        let pick = rng.below(DUPLICATE_POOL);
        let mut pooled = Rng::new(pick);
        let size = [0, 1, 100, 4096, 70_000, 200_000][pick as usize % 6];
        return content(&mut pooled, size, pick.is_multiple_of(2));
    }
    let size = match rng.below(10) {
        0 => rng.below(16) as usize,
        1..=8 => rng.below(16 << 10) as usize,
        _ => rng.below(MAX_SIZE as u64 + 1) as usize,
    };
    let text = rng.below(2) == 0;
    content(rng, size, text)
}

/// One finished put, as the child reports it: `id`, then `name@version`
/// or `-`, then comma-separated derived-from ids or `-`, tab-separated.
#[derive(Debug)]
struct Reported {
    id: String,
    version: Option<(String, u32)>,
    parents: Vec<String>,
}

impl Reported {
    /// The progress file line for this put (with its newline).
    fn line(&self) -> String {
        let version = match &self.version {
            Some((name, v)) => format!("{name}@{v}"),
            None => "-".into(),
        };
        let parents = if self.parents.is_empty() {
            "-".into()
        } else {
            self.parents.join(",")
        };
        format!("{}\t{version}\t{parents}\n", self.id)
    }

    /// Parses a complete line (without its newline).
    fn parse(line: &str) -> Reported {
        let mut parts = line.split('\t');
        let (Some(id), Some(version), Some(parents), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            panic!("malformed progress line {line:?}");
        };
        let version = (version != "-").then(|| {
            let (name, v) = version
                .split_once('@')
                .unwrap_or_else(|| panic!("malformed version in {line:?}"));
            (name.to_string(), v.parse().expect("a version number"))
        });
        let parents = if parents == "-" {
            Vec::new()
        } else {
            parents.split(',').map(str::to_string).collect()
        };
        Reported {
            id: id.to_string(),
            version,
            parents,
        }
    }
}

/// The puts the progress file at `path` reports as finished: complete lines
/// only (a line cut short by the kill does not count).
fn reported(path: &Path) -> Vec<Reported> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
        Err(e) => panic!("reading {}: {e}", path.display()),
    };
    let complete = text.rfind('\n').map_or("", |end| &text[..end]);
    complete
        .lines()
        .filter(|l| !l.is_empty())
        .map(Reported::parse)
        .collect()
}

/// The child: opens the store named in the environment and puts artifacts
/// until it is killed, reporting each finished put in the progress file.
/// Does nothing when run without that environment (e.g. by `--ignored`).
#[test]
#[ignore = "the child process of the crash tests; they run it themselves"]
fn child_writer() {
    let (Some(root), Some(progress_path), Ok(mode), Ok(seed)) = (
        std::env::var_os(STORE_ENV),
        std::env::var_os(PROGRESS_ENV),
        std::env::var(MODE_ENV),
        std::env::var(CHILD_SEED_ENV),
    ) else {
        return;
    };
    let mode = if mode == "encrypted" {
        Mode::Encrypted
    } else {
        Mode::Plain
    };
    let seed: u64 = seed.parse().expect("a numeric child seed");
    let store = mode.open(Path::new(&root));
    // Ids reported before: they are stored, so new puts may derive from them.
    let mut known: Vec<String> = reported(Path::new(&progress_path))
        .into_iter()
        .map(|r| r.id)
        .collect();
    let mut progress = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&progress_path)
        .expect("opening the progress file");
    println!("{READY}");
    std::io::stdout().flush().expect("flushing stdout");
    let mut rng = Rng::new(seed);
    loop {
        // One put in four is a batch of two to five, whose small contents
        // share one pack file.
        let count = if rng.below(4) == 0 {
            2 + rng.below(4) as usize
        } else {
            1
        };
        let mut items = Vec::with_capacity(count);
        for _ in 0..count {
            let bytes = next_content(&mut rng);
            let mut meta = ArtifactMeta::default()
                .tag(format!("seed-{seed}"))
                .content_type(if rng.below(2) == 0 {
                    "text/plain"
                } else {
                    "application/octet-stream"
                });
            if rng.below(4) == 0 {
                meta = meta.name(NAMES[rng.below(NAMES.len() as u64) as usize]);
            }
            let mut parents = Vec::new();
            if !known.is_empty() && rng.below(4) == 0 {
                for _ in 0..=rng.below(2) {
                    let parent = known[rng.below(known.len() as u64) as usize].clone();
                    if !parents.contains(&parent) {
                        meta = meta.derived_from(parent.clone());
                        parents.push(parent);
                    }
                }
            }
            items.push((bytes, meta, parents));
        }
        let outcomes = if count == 1 {
            let (bytes, meta, _) = &items[0];
            vec![store.put_with(&bytes[..], meta).expect("a put")]
        } else {
            store
                .put_batch(items.iter().map(|(b, m, _)| (&b[..], m.clone())))
                .expect("a batch put")
        };
        let mut lines = String::new();
        for (outcome, (_, _, parents)) in outcomes.into_iter().zip(items) {
            lines.push_str(
                &Reported {
                    id: outcome.id.clone(),
                    version: outcome.version.map(|v| (v.name, v.version)),
                    parents,
                }
                .line(),
            );
            known.push(outcome.id);
        }
        progress
            .write_all(lines.as_bytes())
            .and_then(|()| progress.sync_data())
            .expect("recording progress");
    }
}

/// What one mode's run saw, for the summary line.
#[derive(Debug, Default)]
struct Tally {
    /// Temporary files found under `objects/` right after a kill.
    leftover_temps: usize,
    /// Kills after which at least one temporary file was left.
    kills_mid_write: usize,
    /// Object files on disk after the last kill.
    objects: usize,
    /// Puts the child reported as finished, over all cycles.
    reported: usize,
    /// Time spent reopening and checking the store (informational).
    checking: Duration,
}

/// Runs [`CYCLES`] kill cycles against one store in `mode`.
fn kill_repeatedly(mode: Mode) {
    let seed = std::env::var(SEED_ENV)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        });
    println!(
        "artifact crash test ({}): seed {seed} (set {SEED_ENV}={seed} to replay)",
        mode.as_str()
    );
    let mut rng = Rng::new(seed);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let root = dir.path().join("store");
    let progress = dir.path().join("progress.log");
    let stderr_path = dir.path().join("child.stderr");
    let mut tally = Tally::default();
    // The seed of the child that reported each put, in report order.
    let mut seeds: Vec<u64> = Vec::new();
    let started = Instant::now();
    for cycle in 0..CYCLES {
        let child_seed = rng.next();
        let mut child = spawn_child(mode, &root, &progress, child_seed, &stderr_path);
        wait_ready(&mut child, &stderr_path, cycle);
        let delay = KILL_AFTER_MS.0 + rng.below(KILL_AFTER_MS.1 - KILL_AFTER_MS.0 + 1);
        std::thread::sleep(Duration::from_millis(delay));
        if let Some(status) = child.try_wait().expect("polling the child") {
            panic!(
                "cycle {cycle}: the child ended by itself ({status}) instead of being killed:\n{}",
                fs::read_to_string(&stderr_path).unwrap_or_default()
            );
        }
        child.kill().expect("killing the child"); // SIGKILL on Unix
        child.wait().expect("reaping the child");
        let temps = temp_files(&root.join("objects"));
        tally.leftover_temps += temps.len();
        tally.kills_mid_write += usize::from(!temps.is_empty());
        let reports = reported(&progress);
        // The puts this child reported carry its seed's tag.
        seeds.resize(reports.len(), child_seed);
        tally.reported = reports.len();
        let checking = Instant::now();
        tally.objects = check_store(mode, &root, &reports, &seeds, cycle);
        tally.checking += checking.elapsed();
    }
    println!(
        "artifact crash test ({}): {CYCLES} kills in {:.1} s ({:.1} s checking); {} kills \
         left {} temporary files; {} puts reported; {} objects at the end",
        mode.as_str(),
        started.elapsed().as_secs_f64(),
        tally.checking.as_secs_f64(),
        tally.kills_mid_write,
        tally.leftover_temps,
        tally.reported,
        tally.objects
    );
}

/// Starts the child writer on the store at `root`, its stdout piped (for
/// the ready line) and its stderr to `stderr_path`.
fn spawn_child(mode: Mode, root: &Path, progress: &Path, seed: u64, stderr_path: &Path) -> Child {
    let exe = std::env::current_exe().expect("the test binary's path");
    let stderr = File::create(stderr_path).expect("creating the child's stderr file");
    Command::new(exe)
        .args(["child_writer", "--exact", "--ignored", "--nocapture"])
        .args(["--test-threads", "1"])
        .env(STORE_ENV, root)
        .env(PROGRESS_ENV, progress)
        .env(MODE_ENV, mode.as_str())
        .env(CHILD_SEED_ENV, seed.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("spawning the child writer")
}

/// Reads the child's stdout until its ready line (which the test harness
/// may prefix with `test child_writer ... `); fails with its stderr if it
/// ends first.
fn wait_ready(child: &mut Child, stderr_path: &Path, cycle: usize) {
    let stdout = child.stdout.take().expect("the child's stdout is piped");
    let mut lines = BufReader::new(stdout).lines();
    loop {
        match lines.next() {
            Some(Ok(line)) if line.contains(READY) => return,
            Some(Ok(_)) => continue,
            Some(Err(e)) => panic!("cycle {cycle}: reading the child's stdout: {e}"),
            None => {
                let status = child.wait().expect("reaping the child");
                panic!(
                    "cycle {cycle}: the child ended ({status}) before it was ready:\n{}",
                    fs::read_to_string(stderr_path).unwrap_or_default()
                );
            }
        }
    }
}

/// Every file under `dir` (recursively) whose name starts with `.tmp`.
fn temp_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else {
        return found;
    };
    for entry in entries {
        let entry = entry.expect("reading a directory entry");
        let path = entry.path();
        if entry.file_type().expect("a file type").is_dir() {
            found.extend(temp_files(&path));
        } else if entry.file_name().to_string_lossy().starts_with(".tmp") {
            found.push(path);
        }
    }
    found
}

/// The ids of the objects under `objects`: loose files named by their id
/// in two-digit shards, and the objects in pack files under `packs/`
/// (read by their documented layout: "SYMPACK1", the objects, an index of
/// id, offset and length, and a footer locating the index). Fails on
/// anything else in the tree (a stray file, a name that is not an id, a
/// pack that does not frame its index).
fn object_ids(objects: &Path) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    for shard in fs::read_dir(objects).expect("reading objects/") {
        let shard = shard.expect("reading objects/");
        let prefix = shard.file_name().to_string_lossy().into_owned();
        if prefix == "packs" {
            for pack in fs::read_dir(shard.path()).expect("reading packs/") {
                ids.extend(packed_ids(&pack.expect("reading packs/").path()));
            }
            continue;
        }
        assert!(
            shard.file_type().expect("a file type").is_dir() && prefix.len() == 2,
            "unexpected entry {} in objects/",
            shard.path().display()
        );
        for entry in fs::read_dir(shard.path()).expect("reading a shard") {
            let entry = entry.expect("reading a shard");
            let id = format!("{prefix}{}", entry.file_name().to_string_lossy());
            assert!(
                id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit()),
                "unexpected file {} in objects/",
                entry.path().display()
            );
            ids.insert(id);
        }
    }
    ids
}

/// The ids in the pack file at `path`.
fn packed_ids(path: &Path) -> Vec<String> {
    const FOOTER: usize = 8 + 4 + 32 + 8;
    let bytes = fs::read(path).expect("reading a pack");
    let name = path.display();
    assert!(
        path.extension().is_some_and(|e| e == "pack")
            && bytes.len() >= 8 + FOOTER
            && bytes.starts_with(b"SYMPACK1")
            && bytes.ends_with(b"SYMPACK1"),
        "{name} is not a whole pack"
    );
    let footer = &bytes[bytes.len() - FOOTER..];
    let at = u64::from_le_bytes(footer[..8].try_into().unwrap()) as usize;
    let count = u32::from_le_bytes(footer[8..12].try_into().unwrap()) as usize;
    assert_eq!(
        at + count * 48,
        bytes.len() - FOOTER,
        "{name}: index framing"
    );
    assert_eq!(
        sha256_hex(&bytes[at..at + count * 48]),
        footer[12..44]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>(),
        "{name}: index checksum"
    );
    bytes[at..at + count * 48]
        .chunks_exact(48)
        .map(|entry| entry[..32].iter().map(|b| format!("{b:02x}")).collect())
        .collect()
}

/// Reopens the store after a kill and checks everything the module
/// documentation lists. Returns the number of objects.
fn check_store(
    mode: Mode,
    root: &Path,
    reports: &[Reported],
    seeds: &[u64],
    cycle: usize,
) -> usize {
    let store = mode.open(root);
    let at = |what: &str| format!("cycle {cycle} ({}): {what}", mode.as_str());

    let temps = temp_files(&root.join("objects"));
    assert!(
        temps.is_empty(),
        "{}: {temps:?}",
        at("temporary files survived the open")
    );

    let query = ListQuery {
        limit: 1 << 30,
        ..ListQuery::default()
    };
    let listed = store.list(&query).expect("listing the artifacts");
    let sizes: HashMap<&str, u64> = listed.iter().map(|a| (a.id.as_str(), a.size)).collect();
    assert_eq!(
        sizes.len(),
        listed.len(),
        "{}",
        at("an artifact is listed twice")
    );

    let stats = store.stats().expect("the dedup counters");
    assert_eq!(
        stats.unique_objects,
        listed.len() as u64,
        "{}",
        at("unique_objects disagrees with the listing")
    );
    assert_eq!(
        stats.bytes_stored,
        sizes.values().sum::<u64>(),
        "{}",
        at("bytes_stored disagrees with the listed sizes")
    );
    assert!(
        stats.puts >= reports.len() as u64,
        "{}: {} puts counted, {} reported finished",
        at("the put counter lost puts"),
        stats.puts,
        reports.len()
    );

    let listed_ids: BTreeSet<String> = sizes.keys().map(|s| s.to_string()).collect();
    check_search(&store, &listed_ids, reports, seeds, &at);

    let report = store.verify_all().expect("verify_all runs");
    assert!(
        report.is_clean(),
        "{}: {report:?}",
        at("verify_all found damage")
    );
    assert_eq!(
        report.verified,
        listed.len() as u64,
        "{}",
        at("verify_all did not cover every listed artifact")
    );

    for info in &listed {
        let bytes = store
            .get(&info.id)
            .unwrap_or_else(|e| panic!("{}: {e}", at(&format!("get {}", info.id))));
        assert_eq!(
            sha256_hex(&bytes),
            info.id,
            "{}",
            at("content does not hash to its id")
        );
        assert_eq!(
            bytes.len() as u64,
            info.size,
            "{}",
            at("listed size is wrong")
        );
    }

    let on_disk = object_ids(&root.join("objects"));
    if let Some(id) = on_disk.iter().find(|id| !sizes.contains_key(id.as_str())) {
        let content = store.get(id);
        panic!(
            "{}: object {id} is on disk but not listed (get: {:?})",
            at("an unlisted object"),
            content.map(|b| sha256_hex(&b))
        );
    }
    assert_eq!(
        on_disk,
        listed_ids,
        "{}",
        at("listed artifacts without object files")
    );

    for put in reports {
        assert!(
            sizes.contains_key(put.id.as_str()),
            "{}: {}",
            at("a put reported finished is not listed"),
            put.id
        );
        if let Some((name, version)) = &put.version {
            let found = store
                .version(name, Some(*version))
                .unwrap_or_else(|e| panic!("{}: {e}", at(&format!("version {name}@{version}"))));
            assert_eq!(
                found.id,
                put.id,
                "{}",
                at("a reported version points elsewhere")
            );
        }
        if !put.parents.is_empty() {
            let parents = store.derived_from(&put.id).expect("derived-from links");
            for parent in &put.parents {
                assert!(
                    parents.contains(parent),
                    "{}: {} from {parent}",
                    at("a reported derived-from link is missing"),
                    put.id
                );
            }
        }
    }
    on_disk.len()
}

/// A plaintext store survives [`CYCLES`] SIGKILLs at random points.
#[test]
fn plain_store_survives_random_kills() {
    kill_repeatedly(Mode::Plain);
}

/// An encrypted store survives [`CYCLES`] SIGKILLs at random points.
#[test]
fn encrypted_store_survives_random_kills() {
    kill_repeatedly(Mode::Encrypted);
}

/// The progress line format round-trips, and a line cut short by a kill is
/// ignored.
#[test]
fn progress_lines_round_trip() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("progress.log");
    let put = Reported {
        id: "a".repeat(64),
        version: Some(("model".into(), 3)),
        parents: vec!["b".repeat(64), "c".repeat(64)],
    };
    let plain = Reported {
        id: "d".repeat(64),
        version: None,
        parents: Vec::new(),
    };
    let mut text = put.line() + &plain.line();
    text.push_str("eeee"); // cut short
    fs::write(&path, text).expect("writing the progress file");
    let back = reported(&path);
    assert_eq!(back.len(), 2);
    assert_eq!(back[0].version, put.version);
    assert_eq!(back[0].parents, put.parents);
    assert_eq!(
        (back[1].id.as_str(), back[1].version.is_none()),
        (plain.id.as_str(), true)
    );
    let mut unread = String::new();
    File::open(&path)
        .and_then(|mut f| f.read_to_string(&mut unread))
        .expect("reading back");
    assert!(unread.ends_with("eeee"));
}
