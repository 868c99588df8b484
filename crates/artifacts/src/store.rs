//! [`ArtifactStore`]: content, catalog and read cache put together.

mod put;

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use super::catalog::Catalog;
use super::content::{ArtifactReader, ContentStore, StoreOptions};
use super::indexer::Indexer;
use super::indexing::Indexing;
use super::meta::{self, ArtifactInfo, ListQuery};
use super::quality;
use super::read_cache::ReadCache;
use super::{ArtifactError, ArtifactKey, DedupStats};
use crate::stale::TierStore;

/// Bytes of recently read content kept in memory.
const CACHE_BUDGET: usize = 64 << 20;
/// Reads are counted in memory and written to the catalog in batches of
/// this many artifacts (and whenever the counts are asked for), so a read
/// costs no database write.
const READS_PER_FLUSH: usize = 256;
/// ...and at least this often (milliseconds), so a process that keeps
/// reading a few artifacts does not hide its reads from retention.
const READS_FLUSH_MS: i64 = 5_000;

/// Content-addressed, deduplicated, optionally encrypted storage with a
/// metadata catalog: tags, custom fields, named versions, derived-from links,
/// access counts and quality scores.
///
/// Safe to share between threads. Ids are the SHA-256 of the plaintext, so
/// the same content stored twice is kept once, encrypted or not.
pub struct ArtifactStore {
    /// The object tree (shared with the indexer, which reads samples).
    pub(super) content: Arc<ContentStore>,
    /// The metadata catalog (shared with the indexer).
    pub(super) catalog: Arc<Catalog>,
    /// Recently read content.
    pub(super) cache: ReadCache,
    /// Reads not yet written to the catalog: id → (count, last read).
    reads: Mutex<HashMap<String, (u64, i64)>>,
    /// The background indexer, stopped when the store is dropped.
    indexer: Indexer,
    /// The full-text index and its queue, shared with the indexer.
    pub(super) indexing: Arc<Indexing>,
    /// When reads were last written to the catalog (Unix milliseconds).
    last_flush_ms: AtomicI64,
    /// The warm and cold tiers, opened when first needed.
    pub(super) tiers: Mutex<Option<Arc<TierStore>>>,
}

impl std::fmt::Debug for ArtifactStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArtifactStore")
            .field("root", &self.content.root())
            .field("encrypted", &self.content.is_encrypted())
            .finish_non_exhaustive()
    }
}

impl ArtifactStore {
    /// Opens (creating if needed) the store at `root`: removes temporary
    /// files a crash left behind and records in the catalog any object it
    /// does not know (one written just before a crash, or by a version
    /// without a catalog). Fails with [`ArtifactError::ModeMismatch`] when
    /// the store was created encrypted and is opened without a key, or the
    /// other way round.
    pub fn open(root: impl Into<PathBuf>, options: StoreOptions) -> Result<Self, ArtifactError> {
        ArtifactStore::open_with(root.into(), options, Indexer::start)
    }

    /// [`ArtifactStore::open`] without the background indexer: what puts
    /// queue stays queued until a search or the next open, as after a
    /// crash before the indexer ran.
    #[cfg(test)]
    pub(crate) fn open_without_indexer(root: impl Into<PathBuf>) -> Result<Self, ArtifactError> {
        ArtifactStore::open_with(root.into(), StoreOptions::default(), Indexer::idle)
    }

    fn open_with(
        root: PathBuf,
        options: StoreOptions,
        indexer: fn(Arc<Indexing>) -> Indexer,
    ) -> Result<Self, ArtifactError> {
        let content = Arc::new(ContentStore::open(root, options)?);
        let catalog = Arc::new(Catalog::open(&content.root().join("catalog.db"))?);
        adopt_unknown_objects(&content, &catalog)?;
        let indexing = Arc::new(Indexing::open(Arc::clone(&content), Arc::clone(&catalog))?);
        Ok(ArtifactStore {
            content,
            catalog,
            cache: ReadCache::new(CACHE_BUDGET),
            reads: Mutex::new(HashMap::new()),
            indexer: indexer(Arc::clone(&indexing)),
            indexing,
            last_flush_ms: AtomicI64::new(meta::now_ms()),
            tiers: Mutex::new(None),
        })
    }

    /// Opens the store at `root`, encrypted with `key`.
    pub fn open_encrypted(
        root: impl Into<PathBuf>,
        key: ArtifactKey,
    ) -> Result<Self, ArtifactError> {
        ArtifactStore::open(root, StoreOptions::default().with_key(key))
    }

    /// The store's root directory.
    pub fn root(&self) -> &Path {
        self.content.root()
    }

    /// Whether objects are encrypted at rest.
    pub fn is_encrypted(&self) -> bool {
        self.content.is_encrypted()
    }

    /// A reader of artifact `id`'s content. Encrypted chunks are
    /// authenticated before any of their bytes are returned; the content
    /// hash is checked when the reader reaches the end, which then fails
    /// with [`ArtifactError::Integrity`] (inside the `io::Error`) instead of
    /// reporting the end. Only trust the content once the end is reached.
    pub fn open_artifact(&self, id: &str) -> Result<ArtifactReader, ArtifactError> {
        let reader = self.hot_or_rehydrated(id, |content| content.open_artifact(id))?;
        self.note_read(id);
        Ok(reader)
    }

    /// Streams artifact `id` into `out`, verifying it; returns its length.
    /// On an integrity error, `out` may have received some unverified bytes
    /// and must be discarded.
    pub fn get_to(&self, id: &str, mut out: impl Write) -> Result<u64, ArtifactError> {
        if let Some(hit) = self.cache.get(id) {
            self.note_read(id);
            out.write_all(&hit)
                .and_then(|()| out.flush())
                .map_err(|source| ArtifactError::Output {
                    id: id.to_string(),
                    source,
                })?;
            return Ok(hit.len() as u64);
        }
        // A NotFound wrote nothing (the object file did not open), so the
        // retry starts `out` afresh.
        let total = self.hot_or_rehydrated(id, |content| content.get_to(id, &mut out))?;
        self.note_read(id);
        Ok(total)
    }

    /// The content of artifact `id`, verified. Recently read content comes
    /// from an in-memory LRU cache.
    pub fn get(&self, id: &str) -> Result<Vec<u8>, ArtifactError> {
        if let Some(hit) = self.cache.get(id) {
            self.note_read(id);
            return Ok(hit.to_vec());
        }
        let content = self.hot_or_rehydrated(id, |content| content.get(id))?;
        self.cache.insert(id, Arc::from(content.as_slice()));
        self.note_read(id);
        Ok(content)
    }

    /// Whether artifact `id`'s content is stored here, hot or archived.
    pub fn contains(&self, id: &str) -> Result<bool, ArtifactError> {
        Ok(self.content.contains(id)?
            || matches!(
                self.catalog.location(id)?,
                Some(meta::Location::Warm | meta::Location::Cold)
            ))
    }

    /// Forgets artifact `id` for good: its content is gone (purged from the
    /// trash). Its versions and links stay as history.
    pub(crate) fn forget(&self, id: &str) -> Result<(), ArtifactError> {
        if self.catalog.forget(id)? {
            self.cache.remove(id);
            self.unindex(id);
            self.drop_tier_copies(id);
        }
        Ok(())
    }

    /// Whether the catalog has a row for `id` (trashed or archived ones
    /// included).
    pub fn knows(&self, id: &str) -> bool {
        matches!(self.catalog.location(id), Ok(Some(_)))
    }

    /// Deduplication statistics over the store's life.
    pub fn stats(&self) -> Result<DedupStats, ArtifactError> {
        self.catalog.stats()
    }

    /// What the catalog knows about artifact `id`.
    pub fn info(&self, id: &str) -> Result<ArtifactInfo, ArtifactError> {
        super::objects::check_id(id)?;
        self.flush_reads()?;
        self.catalog
            .info(id)?
            .ok_or_else(|| ArtifactError::NotFound(id.to_string()))
    }

    /// Artifacts matching `query`, newest first.
    pub fn list(&self, query: &ListQuery) -> Result<Vec<ArtifactInfo>, ArtifactError> {
        self.flush_reads()?;
        self.catalog.list(query)
    }

    /// Adds and removes tags of artifact `id`.
    pub fn retag(&self, id: &str, add: &[String], remove: &[String]) -> Result<(), ArtifactError> {
        self.catalog.retag(id, add, remove)?;
        self.index_artifact(id, None);
        Ok(())
    }

    /// Pins artifact `id` against retention, or unpins it. Pinned
    /// artifacts stay hot, so pinning an archived one brings it back.
    /// A trashed artifact must be brought back with undo first.
    pub fn pin(&self, id: &str, pinned: bool) -> Result<(), ArtifactError> {
        let location = self.catalog.location(id)?;
        if pinned && location == Some(meta::Location::Trashed) {
            return Err(ArtifactError::Invalid(format!(
                "artifact {id} is in the trash: undo the delete before pinning it"
            )));
        }
        self.catalog.set_pinned(id, pinned)?;
        if pinned
            && matches!(location, Some(meta::Location::Warm | meta::Location::Cold))
            && let Err(e) = self.rehydrate(id)
        {
            // The pin holds and keeps it from deletion; the next read
            // brings it back.
            tracing::warn!(id, "pinned, but could not bring it back from its tier: {e}");
        }
        Ok(())
    }

    /// Runs `read` on the object tree; when artifact `id` is not there but
    /// was archived, copies it back and runs `read` again.
    pub(super) fn hot_or_rehydrated<T>(
        &self,
        id: &str,
        mut read: impl FnMut(&ContentStore) -> Result<T, ArtifactError>,
    ) -> Result<T, ArtifactError> {
        match read(&self.content) {
            Err(ArtifactError::NotFound(_)) if self.rehydrate(id)? => read(&self.content),
            other => other,
        }
    }

    /// Counts a read of `id`, writing the counts out in batches.
    fn note_read(&self, id: &str) {
        let now = meta::now_ms();
        let full = {
            let mut reads = self.reads.lock().unwrap_or_else(|e| e.into_inner());
            match reads.get_mut(id) {
                Some((count, at)) => {
                    *count += 1;
                    *at = now;
                }
                None => {
                    reads.insert(id.to_string(), (1, now));
                }
            }
            let due = self.last_flush_ms.load(Ordering::Relaxed) + READS_FLUSH_MS <= now;
            reads.len() >= READS_PER_FLUSH || due
        };
        if full && let Err(e) = self.flush_reads() {
            tracing::warn!(error = %e, "could not record artifact reads");
        }
    }

    /// Writes the counted reads to the catalog.
    pub(crate) fn flush_reads(&self) -> Result<(), ArtifactError> {
        self.last_flush_ms.store(meta::now_ms(), Ordering::Relaxed);
        let reads = std::mem::take(&mut *self.reads.lock().unwrap_or_else(|e| e.into_inner()));
        if reads.is_empty() {
            return Ok(());
        }
        let batch: Vec<_> = reads
            .iter()
            .map(|(id, &(count, at))| (id.clone(), count, at))
            .collect();
        let written = self.catalog.record_reads(batch);
        if written.is_err() {
            // Put the counts back for the next flush rather than lose them.
            let mut pending = self.reads.lock().unwrap_or_else(|e| e.into_inner());
            for (id, (count, at)) in reads {
                let entry = pending.entry(id).or_insert((0, at));
                entry.0 += count;
                entry.1 = entry.1.max(at);
            }
        }
        written
    }

    /// Where object `id` is on disk (for tests that damage it).
    #[cfg(test)]
    pub(crate) fn object_path(&self, id: &str) -> PathBuf {
        self.content.object_path(id).unwrap()
    }
}

impl Drop for ArtifactStore {
    /// Records the counted reads and stops the background indexer, which
    /// commits the batch in hand and leaves the rest queued.
    fn drop(&mut self) {
        if let Err(e) = self.flush_reads() {
            tracing::warn!(error = %e, "could not record artifact reads at close");
        }
        self.indexer.stop();
    }
}

/// Records in the catalog any object it does not know: one written just
/// before a crash, or by a version without a catalog.
fn adopt_unknown_objects(content: &ContentStore, catalog: &Catalog) -> Result<(), ArtifactError> {
    let known = catalog.ids()?;
    let mut found = Vec::new();
    for (id, size) in content.scan()? {
        if known.contains(&id) {
            continue;
        }
        let created_ms = content
            .modified(&id)
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or_else(meta::now_ms, |d| {
                i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
            });
        // A damaged leftover must not keep the store (and the host)
        // from opening; `verify` reports it once it has a row.
        let sample = content.sample(&id).unwrap_or_else(|e| {
            tracing::warn!(
                id,
                "an object found without a catalog row does not read back: {e}"
            );
            Vec::new()
        });
        found.push((
            id,
            size,
            created_ms,
            quality::structure(&sample, size, None),
        ));
    }
    if !found.is_empty() {
        let added = catalog.adopt(found)?;
        tracing::info!(added, "recorded artifacts found without catalog rows");
    }
    Ok(())
}
