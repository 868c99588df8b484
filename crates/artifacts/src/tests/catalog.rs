//! The catalog through the store: metadata, reads, versions, links,
//! listing, quality, recovery of rows and verification.

use std::fs;

use super::{encrypted, plain};
use crate::*;

fn meta() -> ArtifactMeta {
    ArtifactMeta::default()
}

#[test]
fn metadata_is_recorded_and_a_duplicate_put_merges_into_it() {
    let (_dir, store) = plain();
    let first = store
        .put_with(
            &b"{\"a\": 1, \"b\": [true, false]}"[..],
            &meta()
                .content_type("application/json")
                .creator("ext.one")
                .tag("draft")
                .field("model", "m1"),
        )
        .unwrap();
    let again = store
        .put_with(
            &b"{\"a\": 1, \"b\": [true, false]}"[..],
            &meta().creator("ext.two").tag("final").field("model", "m2"),
        )
        .unwrap();
    assert!(again.deduplicated);
    let info = store.info(&first.id).unwrap();
    assert_eq!(info.size, 28);
    assert_eq!(info.content_type.as_deref(), Some("application/json"));
    assert_eq!(
        info.creator.as_deref(),
        Some("ext.one"),
        "the first creator stays"
    );
    assert_eq!(info.tags, ["draft", "final"]);
    assert_eq!(info.field("model"), Some("m2"), "a field is overwritten");
    assert_eq!((info.copies, info.access_count), (2, 0));
    assert_eq!(info.location, Location::Hot);
    assert!(info.created_ms > 0);
    assert!(matches!(
        store.info(&"0".repeat(64)),
        Err(ArtifactError::NotFound(_))
    ));
    assert!(matches!(store.info("nope"), Err(ArtifactError::BadId(_))));
}

#[test]
fn reads_are_counted_and_survive_reopening() {
    let (dir, store) = encrypted();
    let id = store.put(b"read me twice, then once more").unwrap();
    store.get(&id).unwrap();
    store.get(&id).unwrap(); // from the cache, still a read
    store.get_to(&id, std::io::sink()).unwrap();
    let info = store.info(&id).unwrap();
    assert_eq!(info.access_count, 3);
    assert!(info.last_access_ms.is_some());
    store.get(&id).unwrap();
    drop(store);
    let store = ArtifactStore::open_encrypted(dir.path(), super::key()).unwrap();
    assert_eq!(store.info(&id).unwrap().access_count, 4);
}

#[test]
fn named_versions_keep_history_with_parents_and_diff_as_text() {
    let (_dir, store) = plain();
    let named = |text: &str| {
        store
            .put_with(text.as_bytes(), &meta().name("notes").creator("me"))
            .unwrap()
            .version
            .unwrap()
    };
    let v1 = named("alpha\nbeta\ngamma\n");
    let v2 = named("alpha\nBETA\ngamma\ndelta\n");
    let same = named("alpha\nBETA\ngamma\ndelta\n");
    assert_eq!((v1.version, v2.version), (1, 2));
    assert_eq!(same, v2, "storing the latest content again adds no version");
    assert_eq!((v1.parent, v2.parent), (None, Some(1)));
    let branch = store
        .put_with(&b"alpha\n"[..], &meta().name("notes").parent_version(1))
        .unwrap()
        .version
        .unwrap();
    assert_eq!((branch.version, branch.parent), (3, Some(1)));

    let history = store.history("notes").unwrap();
    assert_eq!(
        history.iter().map(|v| v.version).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert_eq!(history[1].size, 23);
    assert_eq!(
        store.get_version("notes", Some(1)).unwrap(),
        b"alpha\nbeta\ngamma\n"
    );
    assert_eq!(store.get_version("notes", None).unwrap(), b"alpha\n");
    assert_eq!(store.names_of(&v2.id).unwrap(), ["notes"]);

    let diff = store.diff("notes", 1, 2).unwrap();
    assert_eq!((diff.added, diff.removed), (2, 1));
    assert!(diff.unified.contains("-beta\n+BETA\n"), "{}", diff.unified);
    assert!(diff.unified.starts_with("--- notes@1\n+++ notes@2\n"));

    assert!(matches!(
        store.history("other"),
        Err(ArtifactError::UnknownName(_))
    ));
    let err = store.version("notes", Some(9)).unwrap_err();
    assert!(
        matches!(err, ArtifactError::UnknownVersion { latest: 3, .. }),
        "{err}"
    );
    let err = store
        .put_with(&b"x"[..], &meta().name("notes").parent_version(7))
        .unwrap_err();
    assert!(
        matches!(err, ArtifactError::UnknownVersion { version: 7, .. }),
        "{err}"
    );
}

#[test]
fn binary_versions_are_refused_as_text_diffs() {
    let (_dir, store) = plain();
    store
        .put_with(&[0xff, 0xfe][..], &meta().name("bin"))
        .unwrap();
    store
        .put_with(&[0xff, 0x00][..], &meta().name("bin"))
        .unwrap();
    assert!(matches!(
        store.diff("bin", 1, 2),
        Err(ArtifactError::NotText { .. })
    ));
}

#[test]
fn derived_from_links_are_queried_both_ways_and_unknown_parents_are_refused_before_writing() {
    let (dir, store) = plain();
    let a = store.put(b"input a").unwrap();
    let b = store.put(b"input b").unwrap();
    let out = store
        .put_with(&b"output"[..], &meta().derived_from(&a).derived_from(&b))
        .unwrap()
        .id;
    assert_eq!(store.derived_from(&out).unwrap(), {
        let mut both = vec![a.clone(), b.clone()];
        both.sort();
        both
    });
    assert_eq!(store.derivatives(&a).unwrap(), [out.as_str()]);
    assert_eq!(store.info(&a).unwrap().references, 1);

    let objects_before = count_files(&dir.path().join("objects"));
    let err = store
        .put_with(&b"orphan"[..], &meta().derived_from("f".repeat(64)))
        .unwrap_err();
    assert!(matches!(err, ArtifactError::NotFound(_)), "{err}");
    let err = store
        .put_with(&b"orphan"[..], &meta().derived_from("not-an-id"))
        .unwrap_err();
    assert!(matches!(err, ArtifactError::BadId(_)), "{err}");
    assert_eq!(count_files(&dir.path().join("objects")), objects_before);
}

#[test]
fn listing_filters_by_tag_type_and_date_and_pages_newest_first() {
    let (_dir, store) = plain();
    let mut ids = Vec::new();
    for i in 0..10 {
        let mut m = meta().content_type(if i % 2 == 0 {
            "text/plain"
        } else {
            "application/json"
        });
        if i % 3 == 0 {
            m = m.tag("third");
        }
        ids.push(store.put_with(format!("{i}").as_bytes(), &m).unwrap().id);
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let all = store.list(&ListQuery::default()).unwrap();
    assert_eq!(all.len(), 10);
    assert_eq!(all[0].id, ids[9], "newest first");

    let q = |f: &dyn Fn(&mut ListQuery)| {
        let mut query = ListQuery::default();
        f(&mut query);
        store
            .list(&query)
            .unwrap()
            .into_iter()
            .map(|i| i.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        q(&|q| q.tags = vec!["third".into()]),
        [ids[9].as_str(), &ids[6], &ids[3], &ids[0]]
    );
    assert_eq!(
        q(&|q| q.content_type = Some("application/json".into())).len(),
        5
    );
    let mid = store.info(&ids[5]).unwrap().created_ms;
    assert!(q(&|q| q.created_after_ms = Some(mid)).contains(&ids[5]));
    assert!(!q(&|q| q.created_before_ms = Some(mid)).contains(&ids[5]));
    let page2 = q(&|q| {
        q.offset = 3;
        q.limit = 3;
    });
    assert_eq!(page2, [ids[6].as_str(), &ids[5], &ids[4]]);
}

#[test]
fn quality_prefers_valid_json_and_rises_with_use() {
    let (_dir, store) = plain();
    let json = store
        .put_with(
            &br#"{"result": [1, 2, 3], "ok": true}"#[..],
            &meta().content_type("application/json"),
        )
        .unwrap()
        .id;
    let broken = store
        .put_with(
            &br#"{"result": [1, 2, 3], "ok": tru"#[..],
            &meta().content_type("application/json"),
        )
        .unwrap()
        .id;
    let q = |id: &str| store.info(id).unwrap().quality;
    assert!(q(&json).score > q(&broken).score);
    let before = q(&json).score;
    for _ in 0..5 {
        store.get(&json).unwrap();
    }
    assert!(q(&json).score > before);
}

#[test]
fn objects_without_rows_are_adopted_when_the_store_opens() {
    let (dir, store) = plain();
    let id = store.put(b"written just before a crash").unwrap();
    drop(store);
    for file in ["catalog.db", "catalog.db-wal", "catalog.db-shm"] {
        let _ = fs::remove_file(dir.path().join(file));
    }
    let store = ArtifactStore::open(dir.path(), StoreOptions::default()).unwrap();
    let info = store.info(&id).unwrap();
    assert_eq!(info.size, 27);
    assert_eq!(store.stats().unwrap().unique_objects, 1);
}

#[test]
fn verify_all_reports_damaged_and_missing_objects() {
    let (_dir, store) = plain();
    let good = store.put(b"good content").unwrap();
    let damaged = store.put(b"to be damaged").unwrap();
    let missing = store.put(b"to go missing").unwrap();
    assert_eq!(store.verify(&good).unwrap(), 12);
    fs::write(store.object_path(&damaged), b"to be DAMAGED").unwrap();
    fs::remove_file(store.object_path(&missing)).unwrap();
    let report = store.verify_all().unwrap();
    assert_eq!(report.verified, 1);
    assert_eq!(report.missing, [missing]);
    assert_eq!(report.damaged.len(), 1);
    assert_eq!(report.damaged[0].0, damaged);
    assert!(!report.is_clean());
}

#[test]
fn tags_and_pins_change_after_the_put() {
    let (_dir, store) = plain();
    let id = store.put_with(&b"x"[..], &meta().tag("a")).unwrap().id;
    store.retag(&id, &["b".into()], &["a".into()]).unwrap();
    store.pin(&id, true).unwrap();
    let info = store.info(&id).unwrap();
    assert_eq!(info.tags, ["b"]);
    assert!(info.pinned);
    assert!(matches!(
        store.retag(&id, &[" ".into()], &[]),
        Err(ArtifactError::Invalid(_))
    ));
    assert!(matches!(
        store.pin(&"1".repeat(64), true),
        Err(ArtifactError::NotFound(_))
    ));
}

fn count_files(dir: &std::path::Path) -> usize {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            if path.is_dir() { count_files(&path) } else { 1 }
        })
        .sum()
}

#[test]
fn a_batch_commits_together_links_within_itself_and_refuses_as_a_whole() {
    let (dir, store) = encrypted();
    let first = store.put(b"earlier").unwrap();
    let input = b"batch input".to_vec();
    let input_id =
        ArtifactStore::open(tempfile::tempdir().unwrap().path(), StoreOptions::default())
            .unwrap()
            .put(&input)
            .unwrap();
    let outcomes = store
        .put_batch([
            (&input[..], meta().name("flow/in")),
            (
                &b"batch output"[..],
                meta().derived_from(&input_id).derived_from(&first),
            ),
            (&input[..], meta().tag("again")),
        ])
        .unwrap();
    assert_eq!(outcomes[0].id, input_id);
    assert!(!outcomes[0].deduplicated && outcomes[2].deduplicated);
    assert_eq!(outcomes[0].version.as_ref().map(|v| v.version), Some(1));
    assert_eq!(
        store.derivatives(&input_id).unwrap(),
        [outcomes[1].id.clone()]
    );
    assert_eq!(store.get(&outcomes[1].id).unwrap(), b"batch output");
    assert_eq!(store.info(&input_id).unwrap().copies, 2);
    assert_eq!(store.stats().unwrap().puts, 4);

    let before = count_files(&dir.path().join("objects"));
    let err = store
        .put_batch([
            (&b"fine"[..], meta()),
            (&b"bad"[..], meta().derived_from("e".repeat(64))),
        ])
        .unwrap_err();
    assert!(matches!(err, ArtifactError::NotFound(_)), "{err}");
    assert_eq!(
        count_files(&dir.path().join("objects")),
        before,
        "nothing was stored"
    );
}
