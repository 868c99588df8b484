//! The crash test's search checks: after a kill, search through the
//! reopened store finds what was stored.

use std::collections::{BTreeSet, HashMap};

use symphony_artifacts::{ArtifactStore, SearchQuery};

use super::Reported;

/// Search through the reopened store finds exactly the listed artifacts
/// (every one of them when there are few enough to page through), each
/// reported put under its child's tag, and nothing is left queued for the
/// index.
pub(crate) fn check_search(
    store: &ArtifactStore,
    listed: &BTreeSet<String>,
    reports: &[Reported],
    seeds: &[u64],
    at: &dyn Fn(&str) -> String,
) {
    let everything = SearchQuery {
        limit: 0,
        ..SearchQuery::default()
    };
    let page = store.search(&everything).expect("searching everything");
    assert_eq!(
        page.total,
        listed.len(),
        "{}",
        at("search counts another number of artifacts than the listing")
    );
    assert_eq!(
        page.pending_index,
        0,
        "{}",
        at("the index queue was not drained")
    );
    if listed.len() <= SearchQuery::MAX_WINDOW {
        assert_eq!(
            &search_ids(store, &SearchQuery::default()),
            listed,
            "{}",
            at("search finds other artifacts than listed")
        );
    }
    let mut by_seed: HashMap<u64, Vec<&str>> = HashMap::new();
    for (put, seed) in reports.iter().zip(seeds) {
        by_seed.entry(*seed).or_default().push(&put.id);
    }
    for (seed, ids) in by_seed {
        let tagged = search_ids(
            store,
            &SearchQuery {
                tags: vec![format!("seed-{seed}")],
                ..SearchQuery::default()
            },
        );
        for id in ids {
            assert!(
                tagged.contains(id),
                "{}: {id} not found by tag seed-{seed}",
                at("search misses a reported put's tag")
            );
        }
    }
}

/// The ids `query` finds, paging through up to [`SearchQuery::MAX_WINDOW`].
fn search_ids(store: &ArtifactStore, query: &SearchQuery) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut offset = 0;
    while offset < SearchQuery::MAX_WINDOW {
        let page = store
            .search(&SearchQuery {
                offset,
                limit: SearchQuery::MAX_LIMIT,
                ..query.clone()
            })
            .expect("paging through a search");
        let seen = page.hits.len();
        found.extend(page.hits.into_iter().map(|hit| hit.id));
        offset += SearchQuery::MAX_LIMIT;
        if seen < SearchQuery::MAX_LIMIT || offset >= page.total {
            break;
        }
    }
    found
}
