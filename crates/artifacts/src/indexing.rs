//! Keeping the search index in step with the catalog: every stored
//! artifact is indexed with its metadata, names and (for text) content;
//! trashed and forgotten ones leave it. The catalog is the truth: an index
//! that is missing, damaged or behind is rebuilt from it when the store
//! opens.
//!
//! Processes sharing a store share its index: one writes it (tantivy's
//! lock), the others read it and queue the ids of artifacts they change in
//! the catalog, which the writer indexes before its next search or change.
//! When the writer goes, the next process to change or search takes over.

use super::meta::{ArtifactInfo, Location};
use super::search::{IndexDoc, SearchIndex, SearchPage, SearchQuery};
use super::{ArtifactError, ArtifactStore};

/// The text of a content sample, if it is text: valid UTF-8, allowing a
/// character cut at the end of an incomplete sample.
pub(crate) fn sample_text(sample: &[u8]) -> Option<String> {
    match std::str::from_utf8(sample) {
        Ok(text) => Some(text.to_owned()),
        Err(e) if e.error_len().is_none() => {
            Some(String::from_utf8_lossy(&sample[..e.valid_up_to()]).into_owned())
        }
        Err(_) => None,
    }
}

impl ArtifactStore {
    /// Finds artifacts by words in their text, names, tags, creator and
    /// fields, filtered by tags, content type and creation time, a page at
    /// a time, best first (newest first without words), with highlighted
    /// snippets of the text.
    pub fn search(&self, query: &SearchQuery) -> Result<SearchPage, ArtifactError> {
        let index = self.index()?;
        // As the writer (taking over if the last one has gone), first index
        // what others queued; as a reader, search what the writer committed.
        if let Err(e) = self.writing(index) {
            tracing::debug!("searching the artifact index as a reader: {e}");
        }
        index.search(query)
    }

    fn index(&self) -> Result<&SearchIndex, ArtifactError> {
        self.index.as_ref().ok_or_else(|| ArtifactError::Index {
            path: self.root().join("index"),
            reason: "the search index is not open here (another process holding the store \
                     has it, or it failed to open; see the log)"
                .into(),
        })
    }

    /// Opens the index and, when this process writes it, indexes what
    /// other processes queued and rebuilds it from the catalog when it is
    /// new, damaged, or disagrees with the catalog about how many artifacts
    /// there are. Failing to open is logged, not fatal: storage works
    /// without search.
    pub(crate) fn open_index(&mut self) -> Result<(), ArtifactError> {
        let dir = self.root().join("index");
        let index = match SearchIndex::open(&dir) {
            Ok(index) => index,
            Err(e) => {
                tracing::warn!("artifact search is unavailable: {e}");
                return Ok(());
            }
        };
        if !index.is_writer() {
            tracing::debug!(
                dir = %dir.display(),
                "another process writes the artifact search index; this one reads it and \
                 queues its changes"
            );
            self.index = Some(index);
            return Ok(());
        }
        if let Err(e) = self.drain_index_queue(&index) {
            tracing::warn!("indexing what other processes queued: {e}");
        }
        self.rebuild_if_behind(&index)?;
        self.index = Some(index);
        Ok(())
    }

    /// Rebuilds `index` from the catalog if it needs it or counts another
    /// number of artifacts.
    fn rebuild_if_behind(&self, index: &SearchIndex) -> Result<(), ArtifactError> {
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

    /// Indexes the artifacts other processes queued while this one did
    /// not write the index, and commits them so every reader sees them.
    /// Nothing leaves the queue unless all of it was indexed (indexing is
    /// idempotent, so a retry does no harm).
    fn drain_index_queue(&self, index: &SearchIndex) -> Result<(), ArtifactError> {
        let (ids, last) = self.catalog.index_queue()?;
        if ids.is_empty() {
            return Ok(());
        }
        tracing::debug!(
            count = ids.len(),
            "indexing artifacts other processes queued"
        );
        for id in &ids {
            self.index_now(index, id, None)?;
        }
        index.flush()?;
        self.catalog.dequeue_for_index(last)
    }

    /// Whether this process writes the index now, taking it over if its
    /// writer has gone. A writer first catches up (what others queued, then
    /// a rebuild if it may be behind the catalog); a catch-up that fails is
    /// logged and tried again at the next change or search.
    fn writing(&self, index: &SearchIndex) -> Result<bool, ArtifactError> {
        if !index.is_writer() && !index.try_write()? {
            return Ok(false);
        }
        let caught_up = self.drain_index_queue(index).and_then(|()| {
            if index.needs_rebuild() {
                self.rebuild_if_behind(index)?;
            }
            Ok(())
        });
        if let Err(e) = caught_up {
            tracing::warn!("the artifact search index is behind the catalog: {e}");
        }
        Ok(true)
    }

    /// Indexes `id` as the catalog now has it (see `index_artifact`).
    fn index_now(
        &self,
        index: &SearchIndex,
        id: &str,
        text: Option<Option<String>>,
    ) -> Result<(), ArtifactError> {
        let Some(info) = self.catalog.info(id)? else {
            return index.remove(id);
        };
        if info.location == Location::Trashed {
            return index.remove(id);
        }
        let text = text.unwrap_or_else(|| self.read_text(id));
        index.add(&self.doc(info, text)?)
    }

    /// Indexes artifact `id` as the catalog now has it, with `text` (its
    /// content, for text) or, when `None`, re-read from the store.
    pub(crate) fn index_artifact(&self, id: &str, text: Option<Option<String>>) {
        let Some(index) = &self.index else {
            return;
        };
        // Whatever cannot be indexed now is queued, for this process or
        // another to index later.
        let result = match self.writing(index) {
            Ok(true) => self
                .index_now(index, id, text)
                .or_else(|_| self.catalog.queue_for_index(id)),
            Ok(false) | Err(_) => self.catalog.queue_for_index(id),
        };
        if let Err(e) = result {
            tracing::warn!(id, "could not index or queue an artifact: {e}");
        }
    }

    /// Takes artifact `id` out of search.
    pub(crate) fn unindex(&self, id: &str) {
        let Some(index) = &self.index else {
            return;
        };
        let result = match self.writing(index) {
            Ok(true) => index
                .remove(id)
                .or_else(|_| self.catalog.queue_for_index(id)),
            // The writer finds it gone from the catalog, or trashed.
            Ok(false) | Err(_) => self.catalog.queue_for_index(id),
        };
        if let Err(e) = result {
            tracing::warn!(id, "could not take an artifact out of the index: {e}");
        }
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
        sample_text(&self.content.sample(id).ok()?)
    }
}
