//! Putting artifacts: content staged and hashed, then committed with its
//! catalog rows and (when search would see a change) its index queue entry
//! in one transaction. Indexing happens later, off the put path (see
//! `indexer.rs`).

use std::collections::HashSet;
use std::io::{self, Read};

use rusqlite::Transaction;

use super::ArtifactStore;
use crate::ArtifactError;
use crate::catalog::NewArtifact;
use crate::content::PutOutcome;
use crate::meta::{self, ArtifactMeta};
use crate::quality::{self, SAMPLE_LIMIT};

impl ArtifactStore {
    /// Stores `content` and returns its id; storing the same bytes twice
    /// keeps one copy.
    pub fn put(&self, content: &[u8]) -> Result<String, ArtifactError> {
        self.put_reader(content).map(|outcome| outcome.id)
    }

    /// Stores everything `reader` yields, streaming it through a temporary
    /// file while hashing, so content of any size is never held in memory.
    pub fn put_reader(&self, reader: impl Read) -> Result<PutOutcome, ArtifactError> {
        self.put_with(reader, &ArtifactMeta::default())
    }

    /// Stores everything `reader` yields with metadata: tags, fields, a
    /// name to version it under, the artifacts it derives from. What `meta`
    /// refers to is checked before anything is written.
    ///
    /// Returns once the content and its catalog row are durable; the
    /// artifact is queued for the search index in the same transaction and
    /// indexed in the background. A search in this process still finds it
    /// at once (it indexes the queue first).
    pub fn put_with(
        &self,
        reader: impl Read,
        meta: &ArtifactMeta,
    ) -> Result<PutOutcome, ArtifactError> {
        self.catalog.check_meta(meta, &HashSet::new())?;
        let mut sampler = Sampler {
            inner: reader,
            sample: Vec::new(),
        };
        let staged = self.content.stage(&mut sampler)?;
        let structure =
            quality::structure(&sampler.sample, staged.size, meta.content_type.as_deref());
        let (id, size) = (staged.id.clone(), staged.size);
        // One transaction around the commit, so concurrent puts of the same
        // content record one fresh object between them, a cleaner never
        // trashes content between its commit and its row, and the row and
        // its index queue entry commit together.
        let (fresh, version, queued) = self.catalog.write(|tx| {
            let fresh = self.content.commit(staged)?;
            let reindex = self.changes_search(tx, &id, fresh, meta)?;
            let new = NewArtifact {
                id: &id,
                size,
                structure,
                fresh,
                now_ms: meta::now_ms(),
            };
            let version = self.catalog.record_puts(tx, &[(new, meta)])?.pop();
            let queued = reindex && self.indexing.queue_put(tx, &id, sampler.sample)?;
            Ok::<_, ArtifactError>((fresh, version.flatten(), queued))
        })?;
        if queued {
            self.indexing.changed();
        }
        Ok(PutOutcome {
            id,
            size,
            deduplicated: !fresh,
            version,
        })
    }

    /// Stores many artifacts with one group commit: their contents are
    /// made durable by one file-system sync and their rows by one
    /// transaction, where separate puts would sync each. An item may derive
    /// from one before it in the batch. Nothing is stored when any item's
    /// metadata is refused.
    pub fn put_batch<R: Read>(
        &self,
        items: impl IntoIterator<Item = (R, ArtifactMeta)>,
    ) -> Result<Vec<PutOutcome>, ArtifactError> {
        let mut batch = self.content.batch();
        let mut staged = Vec::new();
        let mut metas = Vec::new();
        let mut structures = Vec::new();
        let mut samples = Vec::new();
        for (reader, meta) in items {
            let mut sampler = Sampler {
                inner: reader,
                sample: Vec::new(),
            };
            let one = batch.stage(&mut sampler)?;
            structures.push(quality::structure(
                &sampler.sample,
                one.size,
                meta.content_type.as_deref(),
            ));
            samples.push(sampler.sample);
            staged.push(one);
            metas.push(meta);
        }
        let pending: HashSet<String> = staged.iter().map(|s| s.id.clone()).collect();
        for meta in &metas {
            self.catalog.check_meta(meta, &pending)?;
        }
        let sized: Vec<(String, u64)> = staged.iter().map(|s| (s.id.clone(), s.size)).collect();
        let (fresh, versions, queued) = self.catalog.write(|tx| {
            let fresh = self.content.commit_batch(batch, staged)?;
            // Asked before the rows are recorded: whether each was
            // searchable already. Queued once per distinct artifact: a
            // batch of many identical outputs (every node echoing the same
            // value) is one document to update.
            let mut queued = false;
            let mut seen = HashSet::new();
            let items = sized.iter().zip(&fresh).zip(&metas).zip(samples);
            for ((((id, _), &fresh), meta), sample) in items {
                if !seen.contains(id.as_str()) && self.changes_search(tx, id, fresh, meta)? {
                    seen.insert(id.as_str());
                    queued |= self.indexing.queue_put(tx, id, sample)?;
                }
            }
            let now_ms = meta::now_ms();
            let puts: Vec<_> = sized
                .iter()
                .zip(&fresh)
                .zip(&structures)
                .zip(&metas)
                .map(|((((id, size), &fresh), &structure), meta)| {
                    let new = NewArtifact {
                        id,
                        size: *size,
                        structure,
                        fresh,
                        now_ms,
                    };
                    (new, meta)
                })
                .collect();
            let versions = self.catalog.record_puts(tx, &puts)?;
            Ok::<_, ArtifactError>((fresh, versions, queued))
        })?;
        if queued {
            self.indexing.changed();
        }
        Ok(sized
            .into_iter()
            .zip(fresh)
            .zip(versions)
            .map(|(((id, size), fresh), version)| PutOutcome {
                id,
                size,
                deduplicated: !fresh,
                version,
            })
            .collect())
    }

    /// Whether a put of artifact `id` (`fresh`: its object was new) with
    /// `meta` can change what search finds, asked inside the put's
    /// transaction before its row is recorded: new content, metadata
    /// search sees, or a row not searchable yet (none, or trashed: the put
    /// brings it back). Otherwise the indexed document stays right and the
    /// put queues nothing.
    fn changes_search(
        &self,
        tx: &Transaction<'_>,
        id: &str,
        fresh: bool,
        meta: &ArtifactMeta,
    ) -> Result<bool, ArtifactError> {
        Ok(fresh || meta.changes_search() || !self.catalog.searchable_in(tx, id)?)
    }
}

/// Passes a reader through, keeping its first [`SAMPLE_LIMIT`] bytes for
/// judging structure and for the search index.
struct Sampler<R> {
    /// The reader passed through.
    inner: R,
    /// Its first bytes, up to [`SAMPLE_LIMIT`].
    sample: Vec<u8>,
}

impl<R: Read> Read for Sampler<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let room = SAMPLE_LIMIT - self.sample.len();
        self.sample.extend_from_slice(&buf[..n.min(room)]);
        Ok(n)
    }
}
