//! Search through the store: what is put is found with highlights and
//! filters, trashing hides it, and the index is rebuilt from the catalog.

use std::fs;
use std::time::Duration;

use super::plain;
use crate::stale::RetentionPolicy;
use crate::*;

fn words(text: &str) -> SearchQuery {
    SearchQuery {
        text: text.into(),
        ..SearchQuery::default()
    }
}

fn ids(page: &SearchPage) -> Vec<&str> {
    page.hits.iter().map(|h| h.id.as_str()).collect()
}

#[test]
fn stored_text_is_found_with_highlights_tags_and_names() {
    let (_dir, store) = plain();
    let report = store
        .put_with(
            &b"The quarterly report shows latency falling by half."[..],
            &ArtifactMeta::default()
                .tag("finance")
                .name("reports/q3")
                .content_type("text/plain"),
        )
        .unwrap()
        .id;
    let other = store
        .put_with(
            &b"Latency notes from the load test."[..],
            &ArtifactMeta::default().tag("perf"),
        )
        .unwrap()
        .id;
    store.put(&[0xff, 0xfe, 0x00, 0x01]).unwrap();

    let page = store.search(&words("latency")).unwrap();
    assert_eq!(page.total, 2);
    let hit = page.hits.iter().find(|h| h.id == report).unwrap();
    let marked = hit.highlight.as_ref().unwrap().to_marked("[", "]");
    assert!(marked.contains("[latency]"), "{marked}");

    let filtered = store
        .search(&SearchQuery {
            tags: vec!["perf".into()],
            ..words("latency")
        })
        .unwrap();
    assert_eq!(ids(&filtered), [other.as_str()]);
    assert_eq!(
        ids(&store.search(&words("q3")).unwrap()),
        [report.as_str()],
        "by name"
    );

    store.retag(&other, &["archive".into()], &[]).unwrap();
    let by_new_tag = store
        .search(&SearchQuery {
            tags: vec!["archive".into()],
            ..SearchQuery::default()
        })
        .unwrap();
    assert_eq!(ids(&by_new_tag), [other.as_str()]);
}

#[test]
fn trashed_artifacts_leave_search_and_come_back_with_undo() {
    let (_dir, store) = plain();
    let id = store.put(b"ephemeral scratch text").unwrap();
    std::thread::sleep(Duration::from_millis(5));
    let policy = RetentionPolicy::from_toml_str("max_age_days = 0").unwrap();
    store.clean(&policy, false).unwrap();
    assert_eq!(store.search(&words("ephemeral")).unwrap().total, 0);
    store.undo_delete(&id, 7).unwrap();
    assert_eq!(
        ids(&store.search(&words("ephemeral")).unwrap()),
        [id.as_str()]
    );
}

#[test]
fn a_lost_index_is_rebuilt_from_the_catalog_on_open() {
    let (dir, store) = plain();
    let id = store
        .put_with(
            &b"durable words survive"[..],
            &ArtifactMeta::default().tag("kept"),
        )
        .unwrap()
        .id;
    assert_eq!(store.search(&words("durable")).unwrap().total, 1);
    drop(store);
    let reopened = ArtifactStore::open(dir.path(), StoreOptions::default()).unwrap();
    assert_eq!(
        ids(&reopened.search(&words("durable")).unwrap()),
        [id.as_str()]
    );
    drop(reopened);

    fs::remove_dir_all(dir.path().join("index")).unwrap();
    let rebuilt = ArtifactStore::open(dir.path(), StoreOptions::default()).unwrap();
    let page = rebuilt
        .search(&SearchQuery {
            tags: vec!["kept".into()],
            ..words("survive")
        })
        .unwrap();
    assert_eq!(ids(&page), [id.as_str()]);
}

/// Processes sharing a store share its index without a warning: one
/// writes, the others read it and queue their changes, which the writer
/// indexes before its next search; when it goes, another takes over.
#[test]
fn stores_sharing_a_root_share_one_index_one_writes_the_others_queue() {
    let dir = tempfile::tempdir().unwrap();
    let first = ArtifactStore::open(dir.path(), StoreOptions::default()).unwrap();
    let second = ArtifactStore::open(dir.path(), StoreOptions::default()).unwrap();
    assert!(first.index.as_ref().unwrap().is_writer());
    assert!(!second.index.as_ref().unwrap().is_writer());

    let alpha = second
        .put_with(
            &b"alpha centauri notes"[..],
            &ArtifactMeta::default().tag("queued"),
        )
        .unwrap()
        .id;
    assert_eq!(
        ids(&first.search(&words("centauri")).unwrap()),
        [alpha.as_str()]
    );
    // The reader sees what the writer committed.
    assert_eq!(
        ids(&second.search(&words("centauri")).unwrap()),
        [alpha.as_str()]
    );
    // A retag and a trash from the reader reach the index too.
    second.retag(&alpha, &["moved".into()], &[]).unwrap();
    let by_tag = SearchQuery {
        tags: vec!["moved".into()],
        ..SearchQuery::default()
    };
    assert_eq!(ids(&first.search(&by_tag).unwrap()), [alpha.as_str()]);
    std::thread::sleep(Duration::from_millis(5));
    let policy = RetentionPolicy::from_toml_str("max_age_days = 0").unwrap();
    second.clean(&policy, false).unwrap();
    assert_eq!(first.search(&words("centauri")).unwrap().total, 0);

    // The writer goes: the next change takes the index over.
    drop(first);
    let beta = second.put(&b"beta pictoris"[..]).unwrap();
    assert!(second.index.as_ref().unwrap().is_writer());
    assert_eq!(
        ids(&second.search(&words("pictoris")).unwrap()),
        [beta.as_str()]
    );
    let third = ArtifactStore::open(dir.path(), StoreOptions::default()).unwrap();
    assert_eq!(
        ids(&third.search(&words("pictoris")).unwrap()),
        [beta.as_str()]
    );
}
