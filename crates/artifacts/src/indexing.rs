//! Keeping the search index in step with the catalog: every stored
//! artifact is indexed with its metadata, names and (for text) content;
//! trashed and forgotten ones leave it. The catalog is the truth: an index
//! that is missing, damaged or behind is rebuilt from it when the store
//! opens.
//!
//! A put does not index: it queues its id in the catalog's index queue, in
//! its own transaction, and the store's background indexer (`indexer.rs`)
//! indexes the queue. A search indexes what is still queued first, so it
//! finds everything put before it.
//!
//! Processes sharing a store share its index: one writes it (tantivy's
//! lock), the others read it and queue the ids of artifacts they change in
//! the catalog, which the writer indexes before its next search, or in the
//! background after its next change. When the writer goes, the next
//! process to change or search takes over.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use rusqlite::Transaction;

use super::catalog::Catalog;
use super::content::ContentStore;
use super::indexer::{Signal, TextCache};
use super::meta::{ArtifactInfo, Location};
use super::search::{IndexDoc, SearchIndex, SearchPage, SearchQuery};
use super::{ArtifactError, ArtifactStore};

/// The text of a content sample, if it is text: valid UTF-8, allowing a
/// character cut at the end of an incomplete sample. Reuses the sample's
/// bytes.
pub(crate) fn sample_text(mut sample: Vec<u8>) -> Option<String> {
    match std::str::from_utf8(&sample) {
        Ok(_) => {}
        Err(e) if e.error_len().is_none() => sample.truncate(e.valid_up_to()),
        Err(_) => return None,
    }
    String::from_utf8(sample).ok()
}

impl ArtifactStore {
    /// Finds artifacts by words in their text, names, tags, creator and
    /// fields, filtered by tags, content type and creation time, a page at
    /// a time, best first (newest first without words), with highlighted
    /// snippets of the text.
    ///
    /// When this process writes the index, the search first indexes what
    /// is still queued (waiting for the background indexer's batch in
    /// hand), so it finds every artifact put before it. A process reading
    /// another's index finds what that one has indexed;
    /// [`SearchPage::pending_index`] says how many queued artifacts it
    /// could not find yet.
    pub fn search(&self, query: &SearchQuery) -> Result<SearchPage, ArtifactError> {
        let index = self.indexing.index()?;
        // As the writer (taking over if the last one has gone), first index
        // what is queued; as a reader, search what the writer committed.
        self.indexing.catch_up(index);
        let pending_index = self.catalog.index_backlog()?;
        let mut page = index.search(query)?;
        page.pending_index = pending_index;
        Ok(page)
    }

    /// How many artifacts wait in the index queue: stored, but not yet
    /// found by searches in processes that read the index. Puts return
    /// before their artifacts are indexed; the background indexer (or the
    /// next search in the process writing the index) brings this to 0.
    pub fn index_backlog(&self) -> Result<u64, ArtifactError> {
        self.catalog.index_backlog()
    }

    /// Indexes artifact `id` now, as the catalog has it, with `text` (its
    /// content, for text) or, when `None`, re-read from the store; queues
    /// it when this process cannot write the index.
    pub(crate) fn index_artifact(&self, id: &str, text: Option<Option<String>>) {
        self.indexing.index_artifact(id, text);
    }

    /// Takes artifact `id` out of search now (queues it when this process
    /// cannot write the index).
    pub(crate) fn unindex(&self, id: &str) {
        self.indexing.unindex(id);
    }
}

/// The search side of a store, shared by the store and its background
/// indexer: the index, the catalog it follows and its queue, and the locks
/// that keep the two writers of the index (the indexer, and searches or
/// changes in the store) in order.
pub(crate) struct Indexing {
    /// The store's content, to read the text of an artifact not in `texts`.
    content: Arc<ContentStore>,
    /// What the index follows; holds the index queue.
    catalog: Arc<Catalog>,
    /// The full-text index; `None` when it could not be opened.
    pub(crate) index: Option<SearchIndex>,
    /// Texts puts read, kept until their artifacts are indexed, so the
    /// indexer need not read them again.
    pub(crate) texts: TextCache,
    /// Held while draining the queue: one drain at a time, so the indexer
    /// and a search never index the same entries at once, and a search
    /// waits for the indexer's batch in hand.
    drain: Mutex<()>,
    /// Held from reading an artifact's row to handing its document (or its
    /// removal) to the index, so whoever read the catalog last writes the
    /// index last: a retag or a trash never loses to an indexer that read
    /// the row before it.
    doc: Mutex<()>,
    /// Wakes the background indexer and tells it to stop.
    pub(crate) signal: Signal,
}

impl Indexing {
    /// Opens the index under the store's root and, when this process writes
    /// it, indexes what is queued and rebuilds it from the catalog when it
    /// is new, damaged, or disagrees with the catalog about how many
    /// artifacts there are. Failing to open is logged, not fatal: storage
    /// works without search.
    pub(crate) fn open(
        content: Arc<ContentStore>,
        catalog: Arc<Catalog>,
    ) -> Result<Indexing, ArtifactError> {
        let dir = content.root().join("index");
        let index = match SearchIndex::open(&dir) {
            Ok(index) => Some(index),
            Err(e) => {
                tracing::warn!("artifact search is unavailable: {e}");
                None
            }
        };
        let indexing = Indexing {
            content,
            catalog,
            index,
            texts: TextCache::default(),
            drain: Mutex::new(()),
            doc: Mutex::new(()),
            signal: Signal::default(),
        };
        if let Some(index) = &indexing.index {
            if index.is_writer() {
                let _drain = indexing.lock_drain();
                if let Err(e) = indexing.drain_queue(index) {
                    tracing::warn!("indexing the queued artifacts: {e}");
                }
                indexing.rebuild_if_behind(index)?;
            } else {
                tracing::debug!(
                    dir = %dir.display(),
                    "another process writes the artifact search index; this one reads it and \
                     queues its changes"
                );
            }
        }
        Ok(indexing)
    }

    /// The index, or why there is none.
    pub(crate) fn index(&self) -> Result<&SearchIndex, ArtifactError> {
        self.index.as_ref().ok_or_else(|| ArtifactError::Index {
            path: self.content.root().join("index"),
            reason: "the search index is not open here (another process holding the store \
                     has it, or it failed to open; see the log)"
                .into(),
        })
    }

    /// Takes the drain lock (see `drain`).
    pub(crate) fn lock_drain(&self) -> MutexGuard<'_, ()> {
        self.drain.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues a put's artifact inside its transaction `tx`, keeping the
    /// text of its content `sample` for the indexer when this process
    /// indexes. False (nothing queued) without an index: the next process
    /// to open one counts the catalog and rebuilds it.
    pub(crate) fn queue_put(
        &self,
        tx: &Transaction<'_>,
        id: &str,
        sample: Vec<u8>,
    ) -> Result<bool, ArtifactError> {
        let Some(index) = &self.index else {
            return Ok(false);
        };
        self.catalog.queue_for_index_in(tx, id)?;
        // Only the writer takes texts back out; a reader's would stay.
        if index.is_writer() {
            self.texts.insert(id, sample_text(sample));
        }
        Ok(true)
    }

    /// After a change committed to the catalog: wakes the indexer when this
    /// process writes the index (taking it over if its writer has gone).
    pub(crate) fn changed(&self) {
        if let Some(index) = &self.index
            && self.writes(index)
        {
            self.signal.wake();
        }
    }

    /// Whether this process writes the index now, taking it over if its
    /// writer has gone. The caller wakes the indexer, which catches up with
    /// what others queued (and rebuilds the index if the last writer left
    /// it behind).
    fn writes(&self, index: &SearchIndex) -> bool {
        if index.is_writer() {
            return true;
        }
        match index.try_write() {
            Ok(taken) => taken,
            Err(e) => {
                tracing::debug!("taking over the artifact search index: {e}");
                false
            }
        }
    }

    /// As the writer (taking the index over if its writer has gone),
    /// catches up: everything queued, then a rebuild if it may be behind
    /// the catalog. A reader does nothing. A catch-up that fails is logged
    /// and tried again at the next change or search.
    pub(crate) fn catch_up(&self, index: &SearchIndex) {
        if !self.writes(index) {
            return;
        }
        // Counted while waiting, so the indexer hands over the lock after
        // its batch in hand instead of taking it again for the next.
        self.signal.waiting.fetch_add(1, Ordering::SeqCst);
        let _drain = self.lock_drain();
        self.signal.waiting.fetch_sub(1, Ordering::SeqCst);
        let caught_up = self.drain_queue(index).and_then(|()| {
            if index.needs_rebuild() {
                self.rebuild_if_behind(index)?;
            }
            Ok(())
        });
        if let Err(e) = caught_up {
            tracing::warn!("the artifact search index is behind the catalog: {e}");
        }
    }

    /// Rebuilds `index` from the catalog if it needs it or counts another
    /// number of artifacts. Called with the drain lock held.
    pub(crate) fn rebuild_if_behind(&self, index: &SearchIndex) -> Result<(), ArtifactError> {
        // Held throughout: a change indexed between reading the catalog and
        // the rebuild's commit would be overwritten by the older document.
        let _doc = self.lock_doc();
        let listed = self.catalog.searchable_count()?;
        if index.needs_rebuild() || index.len()? != listed {
            tracing::info!(
                listed,
                reason = ?index.rebuild_reason(),
                "rebuilding the artifact search index from the catalog"
            );
            let mut docs = Vec::new();
            for info in self.catalog.all()? {
                if info.location == Location::Trashed {
                    continue;
                }
                let text = match info.location {
                    Location::Hot => self.read_text(&info.id),
                    // Archived content stays where it is; its metadata is
                    // still found.
                    _ => None,
                };
                docs.push(self.doc(info, text)?);
            }
            index.rebuild(docs)?;
        }
        Ok(())
    }

    /// Indexes `id` as the catalog now has it, with `text` or, when `None`,
    /// the text a put kept or the content's sample read again.
    pub(crate) fn index_now(
        &self,
        index: &SearchIndex,
        id: &str,
        text: Option<Option<String>>,
    ) -> Result<(), ArtifactError> {
        // The text follows from the content, which follows from the id:
        // read outside the lock, it cannot go stale.
        let text = text
            .or_else(|| self.texts.take(id))
            .unwrap_or_else(|| self.read_text(id));
        let _doc = self.lock_doc();
        let Some(info) = self.catalog.info(id)? else {
            return index.remove(id);
        };
        if info.location == Location::Trashed {
            return index.remove(id);
        }
        index.add(&self.doc(info, text)?)
    }

    /// Indexes artifact `id` now (see [`ArtifactStore::index_artifact`]).
    fn index_artifact(&self, id: &str, text: Option<Option<String>>) {
        let Some(index) = &self.index else {
            return;
        };
        // Whatever cannot be indexed now is queued, for this process or
        // another to index later.
        let result = if self.writes(index) {
            // And what others queued, in the background.
            self.signal.wake();
            self.index_now(index, id, text)
                .or_else(|_| self.catalog.queue_for_index(id))
        } else {
            self.catalog.queue_for_index(id)
        };
        if let Err(e) = result {
            tracing::warn!(id, "could not index or queue an artifact: {e}");
        }
    }

    /// Takes artifact `id` out of search now.
    fn unindex(&self, id: &str) {
        let Some(index) = &self.index else {
            return;
        };
        let result = if self.writes(index) {
            self.signal.wake();
            let _doc = self.lock_doc();
            index
                .remove(id)
                .or_else(|_| self.catalog.queue_for_index(id))
        } else {
            // The writer finds it gone from the catalog, or trashed.
            self.catalog.queue_for_index(id)
        };
        if let Err(e) = result {
            tracing::warn!(id, "could not take an artifact out of the index: {e}");
        }
    }

    fn lock_doc(&self) -> MutexGuard<'_, ()> {
        self.doc.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn doc(&self, info: ArtifactInfo, text: Option<String>) -> Result<IndexDoc, ArtifactError> {
        Ok(IndexDoc {
            names: self.catalog.names_of(&info.id)?,
            id: info.id,
            content_type: info.content_type,
            creator: info.creator,
            tags: info.tags,
            fields: info.fields,
            created_ms: info.created_ms,
            text,
        })
    }

    /// The first bytes of a hot artifact (its sample), if they are text.
    fn read_text(&self, id: &str) -> Option<String> {
        sample_text(self.content.sample(id).ok()?)
    }

    /// The catalog, for the indexer.
    pub(crate) fn catalog(&self) -> &Catalog {
        &self.catalog
    }
}
