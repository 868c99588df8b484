//! Retention through the store: archived artifacts read back identically
//! and transparently, deletes go to the trash and can be undone, protected
//! artifacts stay, and a dry run changes nothing.

use std::fs;
use std::time::Duration;

use super::{encrypted, plain};
use crate::meta;
use crate::stale::{RetentionPolicy, Tier};
use crate::*;

fn policy(toml: &str) -> RetentionPolicy {
    RetentionPolicy::from_toml_str(toml).unwrap()
}

/// Cleans with the policy in `toml` a moment after the artifacts were
/// touched, so they are older than a policy's "0 days".
fn clean_later(store: &ArtifactStore, toml: &str) -> crate::stale::CleanReport {
    std::thread::sleep(Duration::from_millis(5));
    store.clean(&policy(toml), false).unwrap()
}

fn large(seed: u8) -> Vec<u8> {
    (0..3 * 1024 * 1024 + 17)
        .map(|i: usize| (i.wrapping_mul(seed as usize + 7) >> 3) as u8)
        .collect()
}

#[test]
fn archived_artifacts_read_back_identical_bytes_from_warm_and_cold() {
    for (dir, store) in [plain(), encrypted()] {
        let pinned = store
            .put_with(
                &b"pinned stays hot"[..],
                &ArtifactMeta::default().pinned(true),
            )
            .unwrap()
            .id;
        let content = large(3);
        let id = store.put(&content).unwrap();
        std::thread::sleep(Duration::from_millis(5));

        let report = store
            .clean(&policy("archive_after_days = 0"), false)
            .unwrap();
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        assert!(report.archived.contains(&(id.clone(), Tier::Warm)));
        assert_eq!(store.info(&id).unwrap().location, Location::Warm);
        assert_eq!(store.info(&pinned).unwrap().location, Location::Hot);
        assert!(!store.object_path(&id).exists(), "the hot copy is gone");
        assert!(store.contains(&id).unwrap());

        assert_eq!(store.get(&id).unwrap(), content, "read back from warm");
        assert_eq!(store.info(&id).unwrap().location, Location::Hot);

        std::thread::sleep(Duration::from_millis(5));
        let report = store
            .clean(
                &policy("archive_after_days = 0\ncold_after_days = 0"),
                false,
            )
            .unwrap();
        assert!(
            report.archived.contains(&(id.clone(), Tier::Cold)),
            "{report:?}"
        );
        assert!(dir.path().join("cold").is_dir());
        assert_eq!(store.info(&id).unwrap().location, Location::Cold);
        let mut streamed = Vec::new();
        store.get_to(&id, &mut streamed).unwrap();
        assert_eq!(streamed, content, "read back from cold");
        assert!(store.verify_all().unwrap().is_clean());
    }
}

#[test]
fn pinning_an_archived_artifact_brings_it_back_hot() {
    for (_dir, store) in [plain(), encrypted()] {
        let content = large(5);
        let id = store.put(&content).unwrap();
        clean_later(&store, "archive_after_days = 0");
        assert_eq!(store.info(&id).unwrap().location, Location::Warm);
        store.pin(&id, true).unwrap();
        let info = store.info(&id).unwrap();
        assert!(info.pinned);
        assert_eq!(info.location, Location::Hot);
        assert!(store.object_path(&id).is_file());
        assert_eq!(store.get(&id).unwrap(), content);
    }
}

#[test]
fn a_deletion_decided_before_a_put_pin_or_read_of_the_artifact_is_dropped() {
    use crate::stale::Shelf;
    type Touch = fn(&ArtifactStore, &str);
    let touches: [(&str, Touch); 3] = [
        ("stored again", |store, _| {
            drop(store.put(b"doomed?").unwrap())
        }),
        ("pinned", |store, id| store.pin(id, true).unwrap()),
        ("read", |store, id| drop(store.get(id).unwrap())),
    ];
    for (touch, act) in touches {
        let (_dir, store) = plain();
        let id = store.put(b"doomed?").unwrap();
        let seen = store.facts().unwrap().pop().unwrap();
        act(&store, &id);
        let trashed = store
            .trash_if_unchanged(&seen, meta::now_ms(), &mut || {
                panic!("{touch}: the content must not move")
            })
            .unwrap();
        assert!(!trashed, "{touch}");
        assert_eq!(store.info(&id).unwrap().location, Location::Hot, "{touch}");
        assert_eq!(store.get(&id).unwrap(), b"doomed?", "{touch}");
    }

    // Untouched, it goes.
    let (_dir, store) = plain();
    let id = store.put(b"doomed").unwrap();
    let seen = store.facts().unwrap().pop().unwrap();
    let mut moved = false;
    let trashed = store
        .trash_if_unchanged(&seen, meta::now_ms(), &mut || {
            moved = true;
            Ok(())
        })
        .unwrap();
    assert!(trashed && moved);
    assert_eq!(store.info(&id).unwrap().location, Location::Trashed);
    let error = store.pin(&id, true).unwrap_err().to_string();
    assert!(error.contains("is in the trash"), "{error}");

    // The closure left the hot file in place, as a read racing the clean
    // would: storing the content again finds it there and makes the row
    // hot, so the purge will not forget what this put was told is stored.
    let again = store.put_reader(&b"doomed"[..]).unwrap();
    assert!(again.deduplicated);
    assert_eq!(store.info(&id).unwrap().location, Location::Hot);
}

#[test]
fn deleted_artifacts_go_to_the_trash_and_undo_brings_them_back() {
    let (_dir, store) = plain();
    let doomed = store.put(b"nobody reads this").unwrap();
    let kept = store
        .put_with(&b"tagged keep"[..], &ArtifactMeta::default().tag("keep"))
        .unwrap()
        .id;
    let training = store
        .put_with(
            &b"training example"[..],
            &ArtifactMeta::default().tag("training"),
        )
        .unwrap()
        .id;
    let read = store.put(b"read once").unwrap();
    store.get(&read).unwrap();
    std::thread::sleep(Duration::from_millis(5));

    let delete_unread = policy("max_age_days = 0\nmin_access_count = 1");
    let dry = store.clean(&delete_unread, true).unwrap();
    assert_eq!(dry.deleted, [doomed.as_str()], "{dry:?}");
    assert!(
        store.object_path(&doomed).exists(),
        "a dry run deletes nothing"
    );

    let report = store.clean(&delete_unread, false).unwrap();
    assert_eq!(report.deleted, [doomed.as_str()]);
    assert!(matches!(
        store.get(&doomed),
        Err(ArtifactError::NotFound(_))
    ));
    assert_eq!(store.info(&doomed).unwrap().location, Location::Trashed);
    let listed: Vec<String> = store
        .list(&ListQuery::default())
        .unwrap()
        .into_iter()
        .map(|i| i.id)
        .collect();
    assert!(!listed.contains(&doomed));
    for protected in [&kept, &training, &read] {
        assert!(listed.contains(protected));
        assert!(store.get(protected).is_ok());
    }

    store.undo_delete(&doomed, 7).unwrap();
    assert_eq!(store.get(&doomed).unwrap(), b"nobody reads this");
    assert_eq!(store.info(&doomed).unwrap().location, Location::Hot);
}

#[test]
fn a_trash_past_its_window_is_purged_and_the_artifact_forgotten() {
    let (dir, store) = plain();
    let doomed = store.put(b"short-lived").unwrap();
    clean_later(&store, "max_age_days = 0\ntrash_days = 0");
    let report = clean_later(&store, "trash_days = 0");
    assert_eq!(report.purged, [doomed.as_str()]);
    assert!(matches!(
        store.info(&doomed),
        Err(ArtifactError::NotFound(_))
    ));
    assert_eq!(store.stats().unwrap().unique_objects, 0);
    let trash_files = fs::read_dir(dir.path().join("trash"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .contains(&doomed)
        })
        .count();
    assert_eq!(trash_files, 0);
}

#[test]
fn content_stored_again_after_trashing_survives_the_purge() {
    let (_dir, store) = plain();
    let id = store
        .put_with(&b"comes back"[..], &ArtifactMeta::default().tag("first"))
        .unwrap()
        .id;
    clean_later(&store, "max_age_days = 0\ntrash_days = 0");
    assert_eq!(store.info(&id).unwrap().location, Location::Trashed);
    // A run produces the same bytes again before the trash is purged.
    store
        .put_with(&b"comes back"[..], &ArtifactMeta::default().pinned(true))
        .unwrap();
    let report = clean_later(&store, "trash_days = 0");
    assert_eq!(report.purged, [id.as_str()], "the old trash entry goes");
    let info = store.info(&id).unwrap();
    assert_eq!(info.location, Location::Hot);
    assert!(
        info.pinned && info.tags == ["first"],
        "its row and metadata stay"
    );
    assert_eq!(store.get(&id).unwrap(), b"comes back");
}

#[test]
fn a_row_left_hot_by_a_crash_after_archiving_still_reads_from_the_tier() {
    let (_dir, store) = encrypted();
    let id = store.put(&large(9)).unwrap();
    clean_later(&store, "archive_after_days = 0");
    // As if the process died after copying and removing the hot file but
    // before recording the new tier.
    store
        .catalog
        .set_location(&id, Location::Hot, meta::now_ms())
        .unwrap();
    assert!(!store.object_path(&id).exists());
    assert_eq!(store.get(&id).unwrap(), large(9));
    assert!(store.verify_all().unwrap().is_clean());
}

#[test]
fn purging_an_artifact_also_removes_the_tier_copy_a_read_left_behind() {
    let (dir, store) = plain();
    let id = store.put(&large(5)).unwrap();
    clean_later(&store, "archive_after_days = 0");
    let warm_copy = dir
        .path()
        .join("warm")
        .join(&id[..2])
        .join(format!("{}.lz4", &id[2..]));
    let warm_files = || usize::from(warm_copy.exists());
    assert_eq!(warm_files(), 1);
    store.verify(&id).unwrap(); // reads it back into the object tree
    clean_later(&store, "max_age_days = 0\ntrash_days = 0");
    let report = clean_later(&store, "trash_days = 0");
    assert_eq!(report.purged, [id.as_str()]);
    assert_eq!(
        warm_files(),
        0,
        "deleted content does not live on in a tier"
    );
}

#[test]
fn packed_artifacts_are_trashed_restored_and_archived_alone() {
    for (dir, store) in [plain(), encrypted()] {
        let doomed = b"packed, nobody reads this".to_vec();
        let archived = large(5)[..200 * 1024].to_vec();
        let kept = b"packed beside it, tagged keep".to_vec();
        let ids: Vec<String> = store
            .put_batch([
                (&doomed[..], ArtifactMeta::default()),
                (&archived[..], ArtifactMeta::default().tag("old")),
                (&kept[..], ArtifactMeta::default().tag("keep")),
            ])
            .unwrap()
            .into_iter()
            .map(|o| o.id)
            .collect();
        let packs = dir.path().join("objects").join("packs");
        assert_eq!(fs::read_dir(&packs).unwrap().count(), 1, "one pack");
        store.get(&ids[1]).unwrap();
        store.get(&ids[2]).unwrap();

        let report = clean_later(&store, "max_age_days = 0\nmin_access_count = 1");
        assert_eq!(report.deleted, [ids[0].as_str()], "{report:?}");
        assert!(matches!(
            store.get(&ids[0]),
            Err(ArtifactError::NotFound(_))
        ));
        assert!(!store.contains(&ids[0]).unwrap(), "no packed copy is left");
        assert_eq!(fs::read_dir(&packs).unwrap().count(), 0, "unpacked");
        assert_eq!(store.get(&ids[2]).unwrap(), kept);

        store.undo_delete(&ids[0], 7).unwrap();
        assert_eq!(store.get(&ids[0]).unwrap(), doomed);

        let report = clean_later(&store, "archive_after_days = 0\nkeep_tags = [\"keep\"]");
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        assert_eq!(store.info(&ids[1]).unwrap().location, Location::Warm);
        assert_eq!(store.get(&ids[1]).unwrap(), archived);
        assert_eq!(store.get(&ids[2]).unwrap(), kept);
        assert!(store.verify_all().unwrap().is_clean());
        drop(store);
    }
}
