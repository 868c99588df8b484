//! The Stale Manager's S3 cold tier against a real S3-protocol server on
//! 127.0.0.1 (built only with the `s3` feature).
//!
//! `SYMPHONY_S3_SERVER` names the server binary: moto's `moto_server`, run
//! as `moto_server -H 127.0.0.1 -p PORT` (`cargo xtask test` installs it in
//! a virtualenv under the target directory and sets the variable). Each test
//! starts its own server on a free port, creates its buckets with a plain
//! HTTP `PUT /bucket`, and kills the server when it ends, however it ends.
#![cfg(feature = "s3")]

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Once;
use std::time::{Duration, Instant};

use symphony_artifacts::stale::{RetentionPolicy, StaleError, Tier, TierStore};
use symphony_artifacts::{ArtifactKey, ArtifactStore, Location, StoreOptions};

/// The variable naming the server binary.
const SERVER_ENV: &str = "SYMPHONY_S3_SERVER";

/// The region every test uses (moto accepts any).
const REGION: &str = "us-east-1";

/// How long the server may take to start listening.
const STARTUP: Duration = Duration::from_secs(60);

/// A running S3-protocol server, killed on drop.
struct S3Server {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl S3Server {
    /// Starts `$SYMPHONY_S3_SERVER` on a free port of 127.0.0.1, logging to
    /// `log_dir`, and waits until it answers.
    fn start(log_dir: &Path) -> S3Server {
        set_credentials();
        let Some(binary) = std::env::var_os(SERVER_ENV) else {
            panic!(
                "{SERVER_ENV} is not set: the `s3` feature's tests need an S3-protocol server. \
                 Point it at moto's `moto_server` (`python3 -m venv target/s3-venv && \
                 target/s3-venv/bin/pip install 'moto[server]'`, then \
                 {SERVER_ENV}=target/s3-venv/bin/moto_server), or run `cargo xtask test`, \
                 which installs it"
            );
        };
        let port = free_port();
        let log = log_dir.join("s3-server.log");
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new(&binary)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {SERVER_ENV}={}: {e}", binary.display()));
        let mut server = S3Server { child, port, log };
        server.wait_until_listening();
        server
    }

    fn wait_until_listening(&mut self) {
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let deadline = Instant::now() + STARTUP;
        loop {
            if TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok() {
                return;
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!(
                    "the S3 server exited with {status} before listening:\n{}",
                    self.log_text()
                );
            }
            if Instant::now() > deadline {
                panic!(
                    "the S3 server did not listen on port {} within {STARTUP:?}:\n{}",
                    self.port,
                    self.log_text()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Creates bucket `name` with a plain (unsigned) `PUT /name`.
    fn create_bucket(&self, name: &str) {
        let (status, response) = self.request("PUT", &format!("/{name}"));
        assert_eq!(status, 200, "creating bucket {name}: {response}");
    }

    /// Whether the bucket holds an object under `key`, by an unsigned `HEAD`.
    fn has_object(&self, bucket: &str, key: &str) -> bool {
        match self.request("HEAD", &format!("/{bucket}/{key}")).0 {
            200 => true,
            404 => false,
            other => panic!("HEAD /{bucket}/{key} answered {other}"),
        }
    }

    /// One HTTP/1.1 request without a body; the status and the whole
    /// response. It carries an `Authorization` header that is not a real
    /// signature: moto does not check signatures, but answers anonymous
    /// reads of private objects with 403. The requests are idempotent, so
    /// a connection the server drops before answering is tried again.
    fn request(&self, method: &str, path: &str) -> (u16, String) {
        let mut failures = Vec::new();
        for _ in 0..5 {
            match self.try_request(method, path) {
                Ok(answer) => return answer,
                Err(e) => failures.push(e.to_string()),
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!(
            "{method} {path} failed 5 times: {failures:?}\n{}",
            self.log_text()
        );
    }

    fn try_request(&self, method: &str, path: &str) -> std::io::Result<(u16, String)> {
        let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, self.port))?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\n\
             Authorization: AWS4-HMAC-SHA256 Credential=symphony-test/20260101/{REGION}/s3/\
             aws4_request, SignedHeaders=host, Signature=0\r\nConnection: close\r\n\r\n",
            self.port
        )?;
        let mut response = Vec::new();
        // A HEAD answer may announce a body it does not send; the server
        // closes the connection after it either way, sometimes with a reset
        // that follows a complete answer.
        if let Err(e) = stream.read_to_end(&mut response)
            && (e.kind() != std::io::ErrorKind::ConnectionReset || response.is_empty())
        {
            return Err(e);
        }
        let response = String::from_utf8_lossy(&response).into_owned();
        let status = response
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| std::io::Error::other(format!("no status line in {response:?}")))?;
        Ok((status, response))
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port on 127.0.0.1 that was free a moment ago.
fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Dummy credentials for the server (moto accepts any) in the `AWS_*`
/// variables `TierStore::with_s3` reads, set once per test binary.
fn set_credentials() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        for (name, value) in [
            ("AWS_ACCESS_KEY_ID", "symphony-test"),
            ("AWS_SECRET_ACCESS_KEY", "symphony-test-secret"),
            ("AWS_REGION", REGION),
            ("AWS_DEFAULT_REGION", REGION),
        ] {
            // SAFETY: every test calls this first and waits on `ONCE`
            // before it starts a server, a tier store or any other thread,
            // so nothing reads the environment while it changes.
            unsafe { std::env::set_var(name, value) };
        }
        for name in ["AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ENDPOINT"] {
            // SAFETY: as above.
            unsafe { std::env::remove_var(name) };
        }
    });
}

/// `len` bytes that are not all alike (so a misplaced part shows).
fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| ((i as u64).wrapping_mul(2_654_435_761 + seed as u64) >> 7) as u8)
        .collect()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// An artifact-like id: 64 hex digits.
fn id(n: u8) -> String {
    format!("{n:02x}").repeat(32)
}

#[test]
fn s3_cold_tier_archives_restores_and_removes() {
    let dir = tempfile::tempdir().unwrap();
    let server = S3Server::start(dir.path());
    server.create_bucket("symphony-tiers");
    let tiers = TierStore::with_s3(
        dir.path().join("warm"),
        "symphony-tiers",
        Some(&server.endpoint()),
        Some(REGION),
    )
    .unwrap();

    // Two 8 MiB parts and a short last one; one small request; an empty file.
    let files = [
        (id(0xa1), pattern((17 << 20) + 12_345, 1)),
        (id(0xb2), b"a small artifact".to_vec()),
        (id(0xc3), Vec::new()),
    ];
    for (id, bytes) in &files {
        let from = write(dir.path(), &format!("{id}.src"), bytes);
        assert!(!tiers.contains(id, Tier::Cold).unwrap());
        let receipt = tiers.archive(id, &from, Tier::Cold).unwrap();
        assert_eq!(receipt.tier, Tier::Cold);
        assert_eq!(receipt.bytes, bytes.len() as u64);
        assert_eq!(receipt.stored_bytes, bytes.len() as u64);
        assert!(std::fs::read(&from).unwrap() == *bytes, "the source stays");
        assert!(tiers.contains(id, Tier::Cold).unwrap());
        assert!(!tiers.contains(id, Tier::Warm).unwrap());
        assert!(server.has_object("symphony-tiers", &format!("objects/{id}")));
    }
    for (id, bytes) in &files {
        let to = dir.path().join("restored").join(id);
        assert_eq!(tiers.restore(id, &to).unwrap(), Tier::Cold);
        let restored = std::fs::read(&to).unwrap();
        assert_eq!(restored.len(), bytes.len(), "{id}");
        assert!(restored == *bytes, "{id}: restored bytes differ");
    }

    let (gone, _) = &files[0];
    tiers.remove(gone, Tier::Cold).unwrap();
    assert!(!tiers.contains(gone, Tier::Cold).unwrap());
    assert!(!server.has_object("symphony-tiers", &format!("objects/{gone}")));
    tiers.remove(gone, Tier::Cold).unwrap();
    let missing = tiers.restore(gone, &dir.path().join("never"));
    assert!(
        matches!(missing, Err(StaleError::NotInTier { .. })),
        "{missing:?}"
    );
    assert!(!dir.path().join("never").exists());
    let (kept, bytes) = &files[1];
    assert!(tiers.contains(kept, Tier::Cold).unwrap(), "others stay");
    let to = dir.path().join("kept");
    tiers.restore(kept, &to).unwrap();
    assert!(std::fs::read(&to).unwrap() == *bytes);
}

#[test]
fn s3_cold_tier_takes_warm_copies() {
    let dir = tempfile::tempdir().unwrap();
    let server = S3Server::start(dir.path());
    server.create_bucket("symphony-warm-to-cold");
    let tiers = TierStore::with_s3(
        dir.path().join("warm"),
        "symphony-warm-to-cold",
        Some(&server.endpoint()),
        Some(REGION),
    )
    .unwrap();
    let id = id(0xd4);
    let bytes = pattern((9 << 20) + 1, 2);
    let from = write(dir.path(), "source", &bytes);
    tiers.archive(&id, &from, Tier::Warm).unwrap();
    tiers.move_warm_to_cold(&id).unwrap();
    assert!(!tiers.contains(&id, Tier::Warm).unwrap());
    assert!(tiers.contains(&id, Tier::Cold).unwrap());
    let to = dir.path().join("restored");
    assert_eq!(tiers.restore(&id, &to).unwrap(), Tier::Cold);
    assert!(std::fs::read(&to).unwrap() == bytes);
}

#[test]
fn a_missing_bucket_is_an_error_not_an_absence() {
    let dir = tempfile::tempdir().unwrap();
    let server = S3Server::start(dir.path());
    let tiers = TierStore::with_s3(
        dir.path().join("warm"),
        "no-such-bucket",
        Some(&server.endpoint()),
        Some(REGION),
    )
    .unwrap();
    let from = write(dir.path(), "source", b"going nowhere");
    let archived = tiers.archive(&id(0xe5), &from, Tier::Cold);
    assert!(
        matches!(archived, Err(StaleError::ObjectStore { .. })),
        "{archived:?}"
    );
}

/// Store options: plain, or encrypted with a fixed key.
fn options(encrypted: bool) -> StoreOptions {
    if encrypted {
        StoreOptions::default().with_key(ArtifactKey::from_bytes([7; 32]))
    } else {
        StoreOptions::default()
    }
}

#[test]
fn artifact_store_cleans_to_s3_and_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let server = S3Server::start(dir.path());
    for (name, encrypted) in [("plain", false), ("encrypted", true)] {
        let bucket = format!("symphony-artifacts-{name}");
        server.create_bucket(&bucket);
        let root = dir.path().join(name);
        let store = ArtifactStore::open(&root, options(encrypted)).unwrap();
        let large = pattern((10 << 20) + 99, 3);
        let small = b"a small artifact".to_vec();
        let large_id = store.put(&large).unwrap();
        let small_id = store.put(&small).unwrap();
        std::thread::sleep(Duration::from_millis(5));

        let policy = RetentionPolicy::from_toml_str(&format!(
            "archive_after_days = 0\ncold_after_days = 0\n\n[cold]\nkind = \"s3\"\n\
             bucket = \"{bucket}\"\nendpoint = \"{}\"\nregion = \"{REGION}\"\n",
            server.endpoint()
        ))
        .unwrap();
        let report = store.clean(&policy, false).unwrap();
        assert!(report.errors.is_empty(), "{name}: {:?}", report.errors);
        for id in [&large_id, &small_id] {
            assert!(
                report.archived.contains(&(id.clone(), Tier::Cold)),
                "{name}: {report:?}"
            );
            assert_eq!(store.info(id).unwrap().location, Location::Cold);
            assert!(server.has_object(&bucket, &format!("objects/{id}")));
        }
        assert!(
            !root.join("cold").exists(),
            "{name}: nothing went to the local cold tier"
        );

        let got = store.get(&large_id).unwrap();
        assert_eq!(got.len(), large.len(), "{name}");
        assert!(
            got == large,
            "{name}: the large artifact came back different"
        );
        assert_eq!(store.info(&large_id).unwrap().location, Location::Hot);
        let mut streamed = Vec::new();
        store.get_to(&small_id, &mut streamed).unwrap();
        assert_eq!(streamed, small, "{name}");
        assert!(store.verify_all().unwrap().is_clean(), "{name}");
        drop(store);

        // A reopened store reads from the bucket it archived to (remembered
        // in cold.json), with no policy given.
        let store = ArtifactStore::open(&root, options(encrypted)).unwrap();
        let later = pattern((6 << 20) + 5, 4);
        let later_id = store.put(&later).unwrap();
        std::thread::sleep(Duration::from_millis(5));
        let report = store.clean(&policy, false).unwrap();
        assert!(report.errors.is_empty(), "{name}: {:?}", report.errors);
        assert!(report.archived.contains(&(later_id.clone(), Tier::Cold)));
        drop(store);
        let store = ArtifactStore::open(&root, options(encrypted)).unwrap();
        assert_eq!(store.info(&later_id).unwrap().location, Location::Cold);
        assert!(store.get(&later_id).unwrap() == later, "{name}");
    }
}
