use std::io::Read;

use super::super::{Body, Objects, hex};
use super::*;

/// Commits `contents` as one batch of packed objects; returns their ids.
fn commit_packed(objects: &Objects, contents: &[&[u8]]) -> Vec<String> {
    let mut pack = objects.create_pack().unwrap();
    let mut items = Vec::new();
    for content in contents {
        let raw: RawId = Sha256::digest(content).into();
        if !pack.entries.iter().any(|e| e.id == raw) {
            pack.append(raw, content).unwrap();
        }
        items.push((raw, hex(&raw)));
    }
    let bodies = items
        .iter()
        .map(|(raw, id)| (Body::Packed(*raw), id.as_str()))
        .collect();
    objects.commit_batch(bodies, Some(pack)).unwrap();
    items.into_iter().map(|(_, id)| id).collect()
}

fn read(objects: &Objects, id: &str) -> Vec<u8> {
    let (mut file, _) = objects.open_object(id).unwrap();
    let mut out = Vec::new();
    file.read_to_end(&mut out).unwrap();
    out
}

fn packs_in(root: &Path) -> Vec<PathBuf> {
    match fs::read_dir(root.join("objects").join("packs")) {
        Ok(entries) => entries.map(|e| e.unwrap().path()).collect(),
        Err(_) => Vec::new(),
    }
}

#[test]
fn raw_ids_round_trip_through_hex_and_refuse_anything_else() {
    let id = hex(&Sha256::digest(b"x"));
    assert_eq!(hex(&raw_id(&id).unwrap()), id);
    assert_eq!(raw_id(&id.to_uppercase()), None);
    assert_eq!(raw_id("ab"), None);
}

#[test]
fn a_batch_of_small_objects_is_one_pack_read_in_place_and_found_after_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let objects = Objects::open(dir.path()).unwrap();
    let ids = commit_packed(&objects, &[b"one", b"two", b"one", b""]);
    assert_eq!(packs_in(dir.path()).len(), 1);
    let shards: Vec<_> = fs::read_dir(dir.path().join("objects"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(shards, vec!["packs"], "no loose file, no temporary file");
    assert_eq!(read(&objects, &ids[0]), b"one");
    assert_eq!(read(&objects, &ids[1]), b"two");
    assert_eq!(read(&objects, &ids[3]), b"");

    let reopened = Objects::open(dir.path()).unwrap();
    assert_eq!(read(&reopened, &ids[1]), b"two");
    let mut scanned = reopened.scan().unwrap();
    scanned.sort();
    let mut expected = vec![
        (ids[0].clone(), 3),
        (ids[1].clone(), 3),
        (ids[3].clone(), 0),
    ];
    expected.sort();
    assert_eq!(scanned, expected);
    assert!(reopened.modified(&ids[0]).is_some());
}

#[test]
fn a_batch_of_content_already_stored_leaves_no_pack() {
    let dir = tempfile::tempdir().unwrap();
    let objects = Objects::open(dir.path()).unwrap();
    commit_packed(&objects, &[b"a", b"b"]);
    commit_packed(&objects, &[b"b", b"a"]);
    assert_eq!(packs_in(dir.path()).len(), 1);
}

#[test]
fn a_pack_written_by_another_process_is_found_when_read() {
    let dir = tempfile::tempdir().unwrap();
    let here = Objects::open(dir.path()).unwrap();
    let there = Objects::open(dir.path()).unwrap();
    let ids = commit_packed(&there, &[b"from elsewhere"]);
    assert!(here.contains(&ids[0]).unwrap());
    assert_eq!(read(&here, &ids[0]), b"from elsewhere");
}

#[test]
fn loosening_turns_the_whole_pack_into_files_and_removes_it() {
    let dir = tempfile::tempdir().unwrap();
    let objects = Objects::open(dir.path()).unwrap();
    let other = Objects::open(dir.path()).unwrap();
    let ids = commit_packed(&objects, &[b"kept", b"moved"]);
    assert_eq!(read(&other, &ids[0]), b"kept");
    let path = objects.loosen(&ids[1]).unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"moved");
    assert!(packs_in(dir.path()).is_empty());
    assert_eq!(
        read(&objects, &ids[0]),
        b"kept",
        "its neighbour is loose too"
    );
    // Another process that knew the pack reads the loose file instead.
    assert_eq!(read(&other, &ids[0]), b"kept");
    // Removing the loose file removes the object: no packed copy is left.
    fs::remove_file(&path).unwrap();
    assert!(!objects.contains(&ids[1]).unwrap());
    assert!(!other.contains(&ids[1]).unwrap());
}

#[test]
fn the_same_content_packed_twice_is_loosened_out_of_both() {
    let dir = tempfile::tempdir().unwrap();
    let first = Objects::open(dir.path()).unwrap();
    let second = Objects::open(dir.path()).unwrap();
    // Two processes pack the same content, neither knowing the other's.
    let ids = commit_packed(&first, &[b"twice"]);
    commit_packed(&second, &[b"twice"]);
    assert_eq!(packs_in(dir.path()).len(), 2);
    let path = first.loosen(&ids[0]).unwrap();
    assert!(packs_in(dir.path()).is_empty());
    fs::remove_file(path).unwrap();
    assert!(!first.contains(&ids[0]).unwrap());
}

#[test]
fn damaged_pack_indexes_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let objects = Objects::open(dir.path()).unwrap();
    commit_packed(&objects, &[b"a", b"b"]);
    let path = packs_in(dir.path()).remove(0);
    let good = fs::read(&path).unwrap();
    assert_eq!(read_index(&path).unwrap().len(), 2);
    let index_at = good.len() - FOOTER_LEN - 2 * ENTRY_LEN;
    let mut flipped = good.clone();
    flipped[index_at + 40] ^= 1;
    for (what, bytes) in [
        ("truncated", good[..good.len() - 1].to_vec()),
        ("an index byte flipped", flipped),
        ("too short", b"SYMPACK1".to_vec()),
    ] {
        fs::write(&path, &bytes).unwrap();
        let err = read_index(&path).expect_err(what);
        assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{what}: {err}");
    }
    // A pack that does not read back is skipped, not fatal.
    Objects::open(dir.path()).unwrap();
}

mod decoding {
    use proptest::prelude::*;

    use super::*;

    /// A whole pack of `contents`, as bytes.
    fn pack_bytes(contents: &[Vec<u8>]) -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        let objects = Objects::open(dir.path()).unwrap();
        let refs: Vec<&[u8]> = contents.iter().map(Vec::as_slice).collect();
        commit_packed(&objects, &refs);
        fs::read(packs_in(dir.path()).remove(0)).unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Whatever a pack file holds, reading its index returns entries
        /// inside its data or an error; it never panics or allocates past
        /// the file's size.
        #[test]
        fn any_bytes_read_as_an_index_or_an_error(
            bytes in proptest::collection::vec(any::<u8>(), 0..256),
            framed in any::<bool>(),
        ) {
            let mut bytes = bytes;
            if framed {
                // Give the footer a chance: the magic at both ends.
                bytes.splice(0..0, *MAGIC);
                bytes.extend_from_slice(MAGIC);
            }
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("x.pack");
            fs::write(&path, &bytes).unwrap();
            if let Ok(entries) = read_index(&path) {
                for e in entries {
                    prop_assert!(e.offset + e.len <= bytes.len() as u64);
                }
            }
        }

        /// Changing any byte of a pack's index or footer is noticed.
        #[test]
        fn a_changed_index_or_footer_byte_is_refused(
            contents in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 1..6),
            pick in any::<prop::sample::Index>(),
            flip in 1..=255u8,
        ) {
            let good = pack_bytes(&contents);
            let distinct = contents.iter().collect::<std::collections::HashSet<_>>().len();
            let tail = distinct * ENTRY_LEN + FOOTER_LEN;
            let at = good.len() - tail + pick.index(tail);
            let mut bad = good.clone();
            bad[at] ^= flip;
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("x.pack");
            fs::write(&path, &bad).unwrap();
            prop_assert!(read_index(&path).is_err(), "byte {} of {} changed", at, good.len());
        }
    }
}
