//! Store-level tests: round trips, dedup, tampering, streaming; the
//! catalog's in `tests/catalog.rs`.

mod catalog;
mod retention;
mod search;

use std::fs;
use std::io::{self, Read, Write};

use proptest::prelude::*;
use sha2::{Digest, Sha256};

use super::crypto::{CHUNK_SIZE, HEADER_LEN, TAG_LEN};
use super::*;

fn key() -> ArtifactKey {
    ArtifactKey::from_bytes([42; 32])
}

fn plain() -> (tempfile::TempDir, ArtifactStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = ArtifactStore::open(dir.path(), StoreOptions::default()).unwrap();
    (dir, store)
}

fn encrypted() -> (tempfile::TempDir, ArtifactStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = ArtifactStore::open_encrypted(dir.path(), key()).unwrap();
    (dir, store)
}

fn data(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i.wrapping_mul(31) ^ (i >> 9)) as u8)
        .collect()
}

fn assert_integrity(result: Result<Vec<u8>, ArtifactError>, id: &str) {
    match result {
        Err(ArtifactError::Integrity { id: bad, .. }) => assert_eq!(bad, id),
        other => panic!("expected an integrity error for {id}, got {other:?}"),
    }
}

#[test]
fn sizes_across_chunk_boundaries_round_trip_plain_and_encrypted() {
    for (_dir, store) in [plain(), encrypted()] {
        for len in [0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 3 << 20] {
            let content = data(len);
            let outcome = store.put_reader(content.as_slice()).unwrap();
            assert_eq!(outcome.id, hex::encode_sha256(&content));
            assert_eq!(outcome.size, len as u64);
            assert_eq!(store.get(&outcome.id).unwrap(), content, "length {len}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn random_content_round_trips(content in prop::collection::vec(any::<u8>(), 0..200_000)) {
        for (_dir, store) in [plain(), encrypted()] {
            let id = store.put(&content).unwrap();
            prop_assert_eq!(store.get(&id).unwrap(), content.clone());
            prop_assert!(store.put_reader(content.as_slice()).unwrap().deduplicated);
        }
    }
}

#[test]
fn the_same_content_is_kept_once_and_counted() {
    for (dir, store) in [plain(), encrypted()] {
        let first = store.put_reader(&b"twice"[..]).unwrap();
        let second = store.put_reader(&b"twice"[..]).unwrap();
        assert_eq!(first.id, second.id);
        assert!(!first.deduplicated && second.deduplicated);
        store.put(b"other").unwrap();
        let stats = store.stats().unwrap();
        assert_eq!((stats.puts, stats.unique_objects), (3, 2));
        assert_eq!((stats.bytes_stored, stats.bytes_saved), (10, 5));
        assert_eq!(stats.dedup_ratio, 1.5);
        let shards = fs::read_dir(dir.path().join("objects")).unwrap().count();
        assert_eq!(shards, 2, "one object file per distinct content");

        let reopened = if store.is_encrypted() {
            ArtifactStore::open_encrypted(dir.path(), key()).unwrap()
        } else {
            ArtifactStore::open(dir.path(), StoreOptions::default()).unwrap()
        };
        let stats = reopened.stats().unwrap();
        assert_eq!((stats.unique_objects, stats.bytes_stored), (2, 10));
        assert_eq!(
            (stats.puts, stats.bytes_saved),
            (3, 5),
            "the counters persist"
        );
    }
}

#[test]
fn storing_the_content_again_mends_a_truncated_object() {
    for (_dir, store) in [plain(), encrypted()] {
        let content = data(CHUNK_SIZE + 500);
        let id = store.put(&content).unwrap();
        let path = store.object_path(&id);
        let stored = fs::read(&path).unwrap();
        fs::write(&path, &stored[..stored.len() / 2]).unwrap();
        assert_integrity(store.get(&id), &id);
        let again = store.put_reader(content.as_slice()).unwrap();
        assert!(again.deduplicated, "still counted as a duplicate");
        assert_eq!(store.get(&id).unwrap(), content);
        assert_eq!(fs::read(&path).unwrap().len(), stored.len());
    }
}

/// Stores three chunks and a bit, damages the object with `damage`, and
/// checks the read fails with an integrity error naming the artifact.
fn tampered(damage: impl Fn(&mut Vec<u8>)) {
    let (_dir, store) = encrypted();
    let id = store.put(&data(3 * CHUNK_SIZE + 100)).unwrap();
    let path = store.object_path(&id);
    let mut bytes = fs::read(&path).unwrap();
    damage(&mut bytes);
    fs::write(&path, bytes).unwrap();
    assert_integrity(store.get(&id), &id);
}

const RECORD: usize = CHUNK_SIZE + TAG_LEN;

#[test]
fn every_kind_of_tampering_is_an_integrity_error_naming_the_artifact() {
    tampered(|b| b[0] ^= 1); // magic
    tampered(|b| b[6] ^= 1); // chunk size
    tampered(|b| b[HEADER_LEN - 1] ^= 1); // nonce prefix
    tampered(|b| b[HEADER_LEN + 10] ^= 1); // first chunk's ciphertext
    tampered(|b| b[HEADER_LEN + RECORD - 1] ^= 1); // first chunk's tag
    tampered(|b| *b.last_mut().unwrap() ^= 1); // final chunk's tag
    tampered(|b| b.truncate(b.len() - 1)); // last chunk truncated
    tampered(|b| b.truncate(HEADER_LEN + 3 * RECORD)); // final chunk dropped
    tampered(|b| b.truncate(HEADER_LEN)); // every chunk dropped
    tampered(|b| b.truncate(5)); // header truncated
    tampered(|b| b.extend_from_slice(&[0; 40])); // bytes appended
    tampered(|b| {
        let (first, rest) = b[HEADER_LEN..].split_at_mut(RECORD);
        first.swap_with_slice(&mut rest[..RECORD]);
    }); // two chunks swapped
}

#[test]
fn a_wrong_key_is_an_integrity_error() {
    let (dir, store) = encrypted();
    let id = store.put(b"secret").unwrap();
    let other =
        ArtifactStore::open_encrypted(dir.path(), ArtifactKey::from_bytes([7; 32])).unwrap();
    assert_integrity(other.get(&id), &id);
}

#[test]
fn encrypted_objects_do_not_contain_the_plaintext() {
    let (_dir, store) = encrypted();
    let secret = b"a very recognisable secret string".repeat(10);
    let id = store.put(&secret).unwrap();
    let on_disk = fs::read(store.object_path(&id)).unwrap();
    assert!(!on_disk.windows(16).any(|w| w == &secret[..16]));
}

#[test]
fn damaged_plain_objects_are_integrity_errors() {
    let (_dir, store) = plain();
    let id = store.put(b"data").unwrap();
    fs::write(store.object_path(&id), b"tampered").unwrap();
    assert_integrity(store.get(&id), &id);
    let err = store.get(&id).unwrap_err().to_string();
    assert!(err.contains(&id), "{err}");
    let mut reader = store.open_artifact(&id).unwrap();
    let mut sink = Vec::new();
    assert!(reader.read_to_end(&mut sink).is_err());
    assert!(
        reader.read(&mut [0; 8]).is_err(),
        "the failure is not forgotten"
    );
}

#[test]
fn bad_and_missing_ids_are_told_apart() {
    let (_dir, store) = plain();
    for bad in ["../etc/passwd", "00", &"A".repeat(64)] {
        assert!(matches!(store.get(bad), Err(ArtifactError::BadId(_))));
        assert!(matches!(
            store.open_artifact(bad),
            Err(ArtifactError::BadId(_))
        ));
        assert!(matches!(store.contains(bad), Err(ArtifactError::BadId(_))));
    }
    let missing = hex::encode_sha256(b"nothing stored");
    assert!(matches!(
        store.get(&missing),
        Err(ArtifactError::NotFound(_))
    ));
    assert!(!store.contains(&missing).unwrap());
}

#[test]
fn a_store_is_reopened_only_in_the_mode_it_was_created_in() {
    let (dir, _store) = encrypted();
    let err = ArtifactStore::open(dir.path(), StoreOptions::default()).unwrap_err();
    assert!(matches!(err, ArtifactError::ModeMismatch { .. }), "{err}");
    let (dir, _store) = plain();
    let err = ArtifactStore::open_encrypted(dir.path(), key()).unwrap_err();
    assert!(matches!(err, ArtifactError::ModeMismatch { .. }), "{err}");
}

#[test]
fn a_store_in_the_first_layout_keeps_its_artifacts() {
    let dir = tempfile::tempdir().unwrap();
    let id = hex::encode_sha256(b"old");
    fs::create_dir_all(dir.path().join(&id[..2])).unwrap();
    fs::write(dir.path().join(&id[..2]).join(&id[2..]), b"old").unwrap();
    let err = ArtifactStore::open_encrypted(dir.path(), key()).unwrap_err();
    assert!(matches!(err, ArtifactError::ModeMismatch { .. }), "{err}");
    let store = ArtifactStore::open(dir.path(), StoreOptions::default()).unwrap();
    assert_eq!(store.get(&id).unwrap(), b"old");
    assert_eq!(store.stats().unwrap().unique_objects, 1);
}

#[test]
fn temporary_leftovers_are_cleaned_when_the_store_opens() {
    let (dir, store) = plain();
    store.put(b"kept").unwrap();
    // Named like ours, by a process that is gone.
    let leftover = dir.path().join("objects").join(".tmp-999999999-1-0");
    fs::write(&leftover, b"partial").unwrap();
    drop(store);
    let store = ArtifactStore::open(dir.path(), StoreOptions::default()).unwrap();
    assert!(!leftover.exists());
    assert_eq!(store.stats().unwrap().unique_objects, 1);
}

/// Yields `left` pseudo-random bytes without holding them.
struct Generated {
    left: u64,
    state: u64,
}

impl Read for Generated {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = out.len().min(self.left as usize);
        for byte in &mut out[..n] {
            self.state = self.state.wrapping_mul(6364136223846793005).wrapping_add(1);
            *byte = (self.state >> 33) as u8;
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// Hashes what is written to it, keeping nothing.
#[derive(Default)]
struct HashingSink(Sha256, u64);

impl Write for HashingSink {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.0.update(data);
        self.1 += data.len() as u64;
        Ok(data.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn fifty_megabytes_stream_in_and_out() {
    const LEN: u64 = 50 << 20;
    let mut expected = HashingSink::default();
    io::copy(
        &mut Generated {
            left: LEN,
            state: 1,
        },
        &mut expected,
    )
    .unwrap();
    let expected = super::objects::hex(&expected.0.finalize());
    let (_dir, store) = plain();
    let outcome = store
        .put_reader(Generated {
            left: LEN,
            state: 1,
        })
        .unwrap();
    assert_eq!(
        (outcome.id.as_str(), outcome.size),
        (expected.as_str(), LEN)
    );
    let mut sink = HashingSink::default();
    assert_eq!(store.get_to(&outcome.id, &mut sink).unwrap(), LEN);
    assert_eq!(super::objects::hex(&sink.0.finalize()), expected);
}

#[test]
fn an_encrypted_stream_of_several_megabytes_verifies_through_the_reader() {
    let (_dir, store) = encrypted();
    let outcome = store
        .put_reader(Generated {
            left: 5 << 20,
            state: 9,
        })
        .unwrap();
    let mut reader = store.open_artifact(&outcome.id).unwrap();
    assert_eq!(reader.id(), outcome.id);
    let mut sink = HashingSink::default();
    io::copy(&mut reader, &mut sink).unwrap();
    assert_eq!(super::objects::hex(&sink.0.finalize()), outcome.id);
}

mod hex {
    use sha2::{Digest, Sha256};

    pub(super) fn encode_sha256(bytes: &[u8]) -> String {
        super::super::objects::hex(&Sha256::digest(bytes))
    }
}
