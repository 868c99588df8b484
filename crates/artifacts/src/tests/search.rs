//! Search through the store: what is put is found with highlights and
//! filters, trashing hides it, and the index is rebuilt from the catalog;
//! puts only queue their artifacts, which the background indexer (or the
//! next search, or the next open) indexes without losing any.

use std::fs;
use std::time::{Duration, Instant};

use super::plain;
use crate::catalog::Catalog;
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
    assert!(first.indexing.index.as_ref().unwrap().is_writer());
    assert!(!second.indexing.index.as_ref().unwrap().is_writer());

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
    assert!(second.indexing.index.as_ref().unwrap().is_writer());
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

/// The rows in the store's index queue (an id queued twice counts twice).
fn queued_rows(store: &ArtifactStore) -> i64 {
    store
        .catalog
        .lock()
        .query_row("SELECT count(*) FROM index_queue", [], |row| row.get(0))
        .unwrap()
}

/// What the index holds for `text`, asked of the index itself: a search
/// through the store would index the queue first.
fn indexed(store: &ArtifactStore, text: &str) -> usize {
    let index = store.indexing.index.as_ref().unwrap();
    index.search(&words(text)).unwrap().total
}

#[test]
fn a_put_returns_before_indexing_and_a_search_right_after_finds_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = ArtifactStore::open_without_indexer(dir.path()).unwrap();
    let id = store
        .put_with(
            &b"queued words wait their turn"[..],
            &ArtifactMeta::default().tag("later"),
        )
        .unwrap()
        .id;
    assert_eq!(store.index_backlog().unwrap(), 1, "the queue holds the put");
    assert_eq!(indexed(&store, "queued"), 0, "the put did not index");

    let page = store.search(&words("queued")).unwrap();
    assert_eq!(ids(&page), [id.as_str()]);
    assert_eq!(page.pending_index, 0);
    assert_eq!(store.index_backlog().unwrap(), 0);
    assert_eq!(
        queued_rows(&store),
        0,
        "indexed and committed, then dequeued"
    );
}

#[test]
fn the_background_indexer_indexes_puts_without_a_search() {
    let (_dir, store) = plain();
    let batch: Vec<String> = (0..50).map(|i| format!("drifting kelp {i}")).collect();
    store
        .put_batch(
            batch
                .iter()
                .map(|t| (t.as_bytes(), ArtifactMeta::default())),
        )
        .unwrap();
    let id = store.put(b"lonely kelp").unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while store.index_backlog().unwrap() > 0 {
        assert!(
            Instant::now() < deadline,
            "the indexer did not drain the queue"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(indexed(&store, "kelp"), 51);
    assert_eq!(indexed(&store, "lonely"), 1);
    assert_eq!(ids(&store.search(&words("lonely")).unwrap()), [id.as_str()]);
}

#[test]
fn a_put_of_stored_content_without_new_metadata_queues_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = ArtifactStore::open_without_indexer(dir.path()).unwrap();
    let id = store.put(b"the same bytes again").unwrap();
    assert_eq!(queued_rows(&store), 1);
    store.search(&SearchQuery::default()).unwrap();
    assert_eq!(queued_rows(&store), 0);

    store.put(b"the same bytes again").unwrap();
    store
        .put_batch([(&b"the same bytes again"[..], ArtifactMeta::default())])
        .unwrap();
    assert_eq!(queued_rows(&store), 0, "nothing search sees changed");

    store
        .put_with(
            &b"the same bytes again"[..],
            &ArtifactMeta::default().tag("fresh-tag"),
        )
        .unwrap();
    assert_eq!(queued_rows(&store), 1, "a new tag is searchable");
    let by_tag = SearchQuery {
        tags: vec!["fresh-tag".into()],
        ..SearchQuery::default()
    };
    assert_eq!(ids(&store.search(&by_tag).unwrap()), [id.as_str()]);

    // Once per distinct artifact in a batch, however often it appears.
    let twin = ArtifactMeta::default().tag("twin");
    store
        .put_batch((0..3).map(|_| (&b"twins all alike"[..], twin.clone())))
        .unwrap();
    assert_eq!(queued_rows(&store), 1);
    assert_eq!(store.search(&words("twins")).unwrap().total, 1);
}

/// A store dropped while its indexer has a backlog leaves the backlog
/// queued (the indexer is stopped, not waited for), and the next open
/// indexes it.
#[test]
fn a_store_dropped_with_a_backlog_leaves_it_queued_and_a_reopened_one_finds_it() {
    const ITEMS: u64 = 3000;
    let dir = tempfile::tempdir().unwrap();
    let store = ArtifactStore::open(dir.path(), StoreOptions::default()).unwrap();
    // Holding the drain lock keeps the indexer from its first batch until
    // the drop's stop has reached it: the backlog is all of the puts.
    let held = store.indexing.lock_drain();
    let texts: Vec<String> = (0..ITEMS).map(|i| format!("zebra herd {i}")).collect();
    store
        .put_batch(
            texts
                .iter()
                .map(|t| (t.as_bytes(), ArtifactMeta::default().tag("herd"))),
        )
        .unwrap();
    store.indexing.signal.stop();
    drop(held);
    drop(store);

    let catalog = Catalog::open(&dir.path().join("catalog.db")).unwrap();
    assert_eq!(catalog.index_backlog().unwrap(), ITEMS);
    drop(catalog);

    let reopened = ArtifactStore::open(dir.path(), StoreOptions::default()).unwrap();
    assert_eq!(reopened.index_backlog().unwrap(), 0, "the open indexed it");
    assert_eq!(indexed(&reopened, "zebra"), ITEMS as usize);
    let page = reopened
        .search(&SearchQuery {
            tags: vec!["herd".into()],
            ..words("herd")
        })
        .unwrap();
    assert_eq!((page.total, page.pending_index), (ITEMS as usize, 0));
}

/// What a crash right after puts leaves (rows and queue entries
/// committed, the index untouched; here a store without its indexer,
/// dropped) is indexed by the next open: the queue entry commits with the
/// put, so no artifact is lost to search. First a put that only adds
/// metadata (the index's count of documents still agrees with the
/// catalog, so no rebuild would mend a lost entry), then new content.
#[test]
fn a_crash_between_put_and_index_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let notes = &b"orbital mechanics notes"[..];
    let store = ArtifactStore::open(dir.path(), StoreOptions::default()).unwrap();
    let named = store.put(notes).unwrap();
    assert_eq!(store.search(&words("orbital")).unwrap().total, 1);
    drop(store);
    let space = SearchQuery {
        tags: vec!["space".into()],
        ..SearchQuery::default()
    };

    let store = ArtifactStore::open_without_indexer(dir.path()).unwrap();
    store
        .put_with(
            notes,
            &ArtifactMeta::default().name("notes/orbits").tag("space"),
        )
        .unwrap();
    assert_eq!(store.index_backlog().unwrap(), 1);
    assert_eq!(indexed(&store, "orbits"), 0, "the put did not index");
    // Nothing was handed to the index, so dropping writes nothing a crash
    // would not have: no commit, no marker asking for a rebuild.
    drop(store);
    assert!(!dir.path().join("index/.symphony-uncommitted").exists());
    let reopened = ArtifactStore::open(dir.path(), StoreOptions::default()).unwrap();
    assert_eq!(reopened.index_backlog().unwrap(), 0, "the open indexed it");
    assert_eq!(ids(&reopened.search(&space).unwrap()), [named.as_str()]);
    assert_eq!(indexed(&reopened, "orbits"), 1, "by name");
    drop(reopened);

    let store = ArtifactStore::open_without_indexer(dir.path()).unwrap();
    let batch = store
        .put_batch([
            (&b"orbital decay model"[..], ArtifactMeta::default()),
            (
                &[0xff, 0x00, 0xfe][..],
                ArtifactMeta::default().tag("space"),
            ),
        ])
        .unwrap();
    assert_eq!(store.index_backlog().unwrap(), 2);
    drop(store);
    let reopened = ArtifactStore::open(dir.path(), StoreOptions::default()).unwrap();
    let mut found = reopened.search(&words("orbital")).unwrap();
    found.hits.sort_by(|a, b| a.id.cmp(&b.id));
    let mut expected = vec![named.as_str(), batch[0].id.as_str()];
    expected.sort_unstable();
    assert_eq!(ids(&found), expected);
    assert_eq!(reopened.search(&space).unwrap().total, 2);
    assert_eq!(reopened.index_backlog().unwrap(), 0);
}

#[test]
fn a_reader_sees_how_many_queued_artifacts_the_writer_has_not_indexed() {
    let dir = tempfile::tempdir().unwrap();
    let writer = ArtifactStore::open(dir.path(), StoreOptions::default()).unwrap();
    let reader = ArtifactStore::open(dir.path(), StoreOptions::default()).unwrap();
    let id = reader.put(b"distant nebula survey").unwrap();
    // The writer has not looked at the queue: nothing of its own woke it.
    let behind = reader.search(&words("nebula")).unwrap();
    assert_eq!((behind.total, behind.pending_index), (0, 1));
    assert_eq!(reader.index_backlog().unwrap(), 1);

    let caught_up = writer.search(&words("nebula")).unwrap();
    assert_eq!(ids(&caught_up), [id.as_str()]);
    assert_eq!(caught_up.pending_index, 0);
    let seen = reader.search(&words("nebula")).unwrap();
    assert_eq!((ids(&seen), seen.pending_index), (vec![id.as_str()], 0));
}
