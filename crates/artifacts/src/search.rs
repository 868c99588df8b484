//! Full-text search over artifacts, with metadata filters (tantivy).
//!
//! # Core concepts
//!
//! - **Derived data.** The index holds what the catalog says about each
//!   artifact ([`IndexDoc`]); the catalog is the truth. Anything lost here
//!   is rebuilt from it with [`SearchIndex::rebuild`], so the index trades
//!   durability for cheap writes.
//! - **Cheap writes, read-your-writes.** [`SearchIndex::add`] and
//!   [`SearchIndex::remove`] queue changes without committing; a commit
//!   happens every [`SearchIndex::COMMIT_EVERY`] changes, on
//!   [`SearchIndex::flush`], on drop, and before a [`SearchIndex::search`]
//!   or [`SearchIndex::len`] that would otherwise miss queued changes.
//! - **Durability.** Queued changes are lost if the process dies before
//!   they are committed; a marker file written (and synced) when the first
//!   change is queued and removed after the commit lets the next
//!   [`SearchIndex::open`] notice, and [`SearchIndex::needs_rebuild`] then
//!   tells the store to rebuild. The same happens when the index on disk is
//!   missing, unreadable or from another schema: it is replaced by an empty
//!   one, never an error the caller has to untangle.
//! - **Queries.** The user's words are parsed leniently (stray quotes,
//!   colons or operators never fail a search) over the text, names, tags,
//!   creator and custom fields, every word required; tag, content-type and
//!   creation-time filters narrow the result without changing the ranking.
//!   With no words, every artifact matches, newest first.
//!
//! ```
//! use symphony_artifacts::{IndexDoc, SearchIndex, SearchQuery};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! let index = SearchIndex::open(dir.path().join("search"))?;
//! if index.needs_rebuild() {
//!     // Created or replaced: refill it from the catalog.
//!     index.rebuild(Vec::new())?;
//! }
//! index.add(&IndexDoc {
//!     id: "ab".repeat(32),
//!     names: vec!["report@1".into()],
//!     text: Some("quarterly revenue grew".into()),
//!     ..IndexDoc::default()
//! })?;
//! let page = index.search(&SearchQuery {
//!     text: "revenue".into(),
//!     ..SearchQuery::default()
//! })?;
//! let marked = page.hits[0].highlight.as_ref().map(|h| h.to_marked("**", "**"));
//! assert_eq!(marked.as_deref(), Some("quarterly **revenue** grew"));
//! # Ok(())
//! # }
//! ```

mod open;
mod query;
mod schema;
#[cfg(test)]
mod tests;

use std::fmt;
use std::ops::Range;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use tantivy::query::QueryParser;
use tantivy::snippet::Snippet;
use tantivy::{Index, IndexReader, IndexWriter, TantivyError, Term};

use super::ArtifactError;
use super::objects::check_id;
use schema::Fields;

/// One artifact as the index sees it: what the catalog knows about it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IndexDoc {
    /// The artifact id (64 lowercase hex digits); one document per id.
    pub id: String,
    /// The names (e.g. versioned names) that point at the artifact; each
    /// matches whole and by word.
    pub names: Vec<String>,
    /// The content type, e.g. `text/markdown`; matched case-insensitively.
    pub content_type: Option<String>,
    /// Who created the artifact.
    pub creator: Option<String>,
    /// Tags, matched exactly by the tag filter and by words in the query.
    pub tags: Vec<String>,
    /// Custom key/value fields, searchable as the text "key value".
    pub fields: Vec<(String, String)>,
    /// When the artifact was created, in unix milliseconds.
    pub created_ms: i64,
    /// The content as UTF-8 text, if it is text. All of it is indexed (the
    /// caller decides how much to pass); the first 64 KiB are kept for
    /// highlights.
    pub text: Option<String>,
}

/// What to look for and which page of the results to return.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchQuery {
    /// The user's words, e.g. `revenue "next quarter" tags:draft`; every
    /// word must match. Empty matches every artifact (newest first).
    pub text: String,
    /// Tags the artifact must all carry (exact match).
    pub tags: Vec<String>,
    /// The content type the artifact must have (case-insensitive).
    pub content_type: Option<String>,
    /// Only artifacts created at or after this time (unix ms, inclusive).
    pub created_after_ms: Option<i64>,
    /// Only artifacts created before this time (unix ms, exclusive).
    pub created_before_ms: Option<i64>,
    /// How many hits to skip.
    pub offset: usize,
    /// How many hits to return, at most [`SearchQuery::MAX_LIMIT`]; 0
    /// returns only the total.
    pub limit: usize,
}

impl SearchQuery {
    /// The largest page a search returns.
    pub const MAX_LIMIT: usize = 1000;
    /// How deep a search pages: `offset + limit` may not exceed it.
    pub const MAX_WINDOW: usize = 10_000;
    /// The page size of [`SearchQuery::default`].
    pub const DEFAULT_LIMIT: usize = 20;
}

impl Default for SearchQuery {
    /// Every artifact, first page of [`SearchQuery::DEFAULT_LIMIT`] hits.
    fn default() -> Self {
        SearchQuery {
            text: String::new(),
            tags: Vec::new(),
            content_type: None,
            created_after_ms: None,
            created_before_ms: None,
            offset: 0,
            limit: SearchQuery::DEFAULT_LIMIT,
        }
    }
}

/// One artifact found.
#[derive(Clone, Debug, PartialEq)]
pub struct SearchHit {
    /// The artifact id.
    pub id: String,
    /// How well it matches (BM25; higher is better; 1.0 for every hit of a
    /// search without words).
    pub score: f32,
    /// The best passage of its text with the matched words marked, when
    /// the words matched in its first 64 KiB of text.
    pub highlight: Option<Highlight>,
}

/// A passage of an artifact's text with the matched words located.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Highlight {
    /// The passage.
    pub fragment: String,
    /// Where the passage starts in the artifact's text, in bytes.
    pub offset: usize,
    /// The matched words, as sorted, non-overlapping byte ranges of
    /// `fragment`.
    pub ranges: Vec<Range<usize>>,
}

impl Highlight {
    fn new(snippet: &Snippet) -> Highlight {
        Highlight {
            fragment: snippet.fragment().to_string(),
            offset: snippet.fragment_range().start,
            ranges: tantivy::snippet::collapse_overlapped_ranges(snippet.highlighted()),
        }
    }

    /// The passage with each matched word between `open` and `close`, e.g.
    /// `to_marked("**", "**")` for `quarterly **revenue** grew`.
    pub fn to_marked(&self, open: &str, close: &str) -> String {
        let mut out = String::with_capacity(
            self.fragment.len() + self.ranges.len() * (open.len() + close.len()),
        );
        let mut at = 0;
        for range in &self.ranges {
            // Ranges come from the tokenizer and lie on char boundaries;
            // `get` keeps a surprise from panicking.
            let (Some(before), Some(word)) = (
                self.fragment.get(at..range.start),
                self.fragment.get(range.clone()),
            ) else {
                continue;
            };
            out.push_str(before);
            out.push_str(open);
            out.push_str(word);
            out.push_str(close);
            at = range.end;
        }
        out.push_str(self.fragment.get(at..).unwrap_or_default());
        out
    }
}

/// One page of results.
#[derive(Clone, Debug, PartialEq)]
pub struct SearchPage {
    /// How many artifacts match in all.
    pub total: usize,
    /// The hits of the page asked for, best first.
    pub hits: Vec<SearchHit>,
    /// How many artifacts were waiting in the store's index queue, not yet
    /// in the index, when the search ran: what it could not find yet. 0
    /// when this process writes the index (the search indexes the queue
    /// first) unless puts raced it; possibly more in a process that reads
    /// another's index, until that process catches up. Always 0 from
    /// [`SearchIndex::search`], which knows no queue.
    pub pending_index: u64,
}

/// Why the index should be rebuilt from the catalog.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RebuildReason {
    /// There was no index; an empty one was created.
    Created,
    /// The index could not be read (damaged, or written by an incompatible
    /// tantivy); it was replaced by an empty one.
    Damaged(String),
    /// The index was written with another schema; it was replaced by an
    /// empty one.
    SchemaChanged,
    /// Changes were queued but not committed when the index was last used:
    /// the process stopped early and they are lost.
    Interrupted,
}

impl fmt::Display for RebuildReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RebuildReason::Created => f.write_str("the index was just created"),
            RebuildReason::Damaged(why) => write!(f, "the index could not be read ({why})"),
            RebuildReason::SchemaChanged => {
                f.write_str("the index was written with another schema")
            }
            RebuildReason::Interrupted => {
                f.write_str("the last process stopped before committing its changes")
            }
        }
    }
}

/// The artifact search index in one directory. Cheap to share: every
/// method takes `&self`.
///
/// One process writes an index directory at a time (tantivy's writer
/// lock). Others open it to read: their searches see what the writer has
/// committed, and [`SearchIndex::try_write`] takes over the writing once
/// the writer has gone.
pub struct SearchIndex {
    /// The index directory.
    dir: PathBuf,
    /// The index, to take the writer lock later.
    index: Index,
    /// The schema's fields.
    fields: Fields,
    /// Parses user queries; built once.
    parser: QueryParser,
    /// Sees the last commit; reloaded by hand right after each commit,
    /// or, without the writer, before each search.
    reader: IndexReader,
    /// The only writer; tantivy's commit needs it exclusively. `None`
    /// while another process writes the directory.
    writer: Mutex<Option<IndexWriter>>,
    /// Whether `writer` is set (it never goes back to `None`): asking must
    /// not wait on the writer's lock, held through a whole commit.
    writes: AtomicBool,
    /// Changes queued since the last commit. Changed only with `writer`
    /// locked, and set to 0 only after the reader is reloaded, so a search
    /// that reads 0 sees every change made before it.
    pending: AtomicUsize,
    /// Why the caller should rebuild, until it does.
    rebuild: Mutex<Option<RebuildReason>>,
}

impl fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SearchIndex")
            .field("dir", &self.dir)
            .field("pending", &self.pending.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl SearchIndex {
    /// Queued changes that trigger a commit.
    pub const COMMIT_EVERY: usize = 1000;

    /// Opens the index in `dir`, creating the directory and the index if
    /// missing. The directory belongs to the index.
    ///
    /// An index that cannot be read or has another schema is replaced by
    /// an empty one, and so is a missing one; [`SearchIndex::needs_rebuild`]
    /// then says the caller should [`SearchIndex::rebuild`] it from the
    /// catalog.
    ///
    /// When another process writes the index, it is opened to read
    /// ([`SearchIndex::is_writer`] is false).
    ///
    /// # Errors
    ///
    /// [`ArtifactError::Io`] if the directory cannot be created or read,
    /// [`ArtifactError::Index`] if the index must be replaced while another
    /// process has it open, or tantivy fails otherwise.
    pub fn open(dir: impl AsRef<Path>) -> Result<SearchIndex, ArtifactError> {
        let dir = dir.as_ref();
        let (schema, fields) = Fields::schema();
        let opened = open::open(dir, &schema)?;
        Ok(SearchIndex {
            dir: dir.to_path_buf(),
            parser: query::parser(&opened.index, &fields),
            index: opened.index,
            fields,
            reader: opened.reader,
            writes: AtomicBool::new(opened.writer.is_some()),
            writer: Mutex::new(opened.writer),
            pending: AtomicUsize::new(0),
            rebuild: Mutex::new(opened.rebuild),
        })
    }

    /// The index directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether this process writes the index (holds its writer lock).
    pub fn is_writer(&self) -> bool {
        self.writes.load(Ordering::Acquire)
    }

    /// Becomes the index's writer if no other process is: true when this
    /// process writes it now. Taking over from a writer that stopped before
    /// committing marks the index for a rebuild
    /// ([`SearchIndex::needs_rebuild`]).
    ///
    /// # Errors
    ///
    /// [`ArtifactError::Index`] if tantivy fails otherwise than finding the
    /// lock held.
    pub fn try_write(&self) -> Result<bool, ArtifactError> {
        let mut writer = self.lock_writer();
        if writer.is_some() {
            return Ok(true);
        }
        let Some(taken) = open::try_writer(&self.index).map_err(|e| index_error(&self.dir, e))?
        else {
            return Ok(false);
        };
        *writer = Some(taken);
        if self.dir.join(open::UNCOMMITTED_MARKER).exists() {
            *self.rebuild.lock().unwrap_or_else(PoisonError::into_inner) =
                Some(RebuildReason::Interrupted);
        }
        // After the rebuild mark, so whoever sees this writer sees it.
        self.writes.store(true, Ordering::Release);
        self.reader
            .reload()
            .map_err(|e| index_error(&self.dir, e))?;
        Ok(true)
    }

    /// Whether the index may be missing artifacts the catalog has, because
    /// it was just created or replaced, or the last process lost changes.
    /// Cleared by [`SearchIndex::rebuild`].
    pub fn needs_rebuild(&self) -> bool {
        self.rebuild_reason().is_some()
    }

    /// Why the index should be rebuilt, if it should.
    pub fn rebuild_reason(&self) -> Option<RebuildReason> {
        self.rebuild
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Indexes `doc`, replacing any document with the same id. Queued: seen
    /// by the next search, committed in batches.
    ///
    /// # Errors
    ///
    /// [`ArtifactError::BadId`] for an id that is not an artifact id;
    /// [`ArtifactError::Index`] or [`ArtifactError::Io`] if queueing or a
    /// batch commit fails.
    pub fn add(&self, doc: &IndexDoc) -> Result<(), ArtifactError> {
        check_id(&doc.id)?;
        let document = self.fields.document(doc);
        let mut guard = self.lock_writer();
        let writer = self.writing(&mut guard)?;
        self.before_change()?;
        writer.delete_term(self.id_term(&doc.id));
        let queued = writer.add_document(document);
        self.after_change(writer)?;
        queued.map(drop).map_err(|e| index_error(&self.dir, e))
    }

    /// Removes the document of artifact `id`, if any. Queued like
    /// [`SearchIndex::add`].
    ///
    /// # Errors
    ///
    /// [`ArtifactError::BadId`] for an id that is not an artifact id;
    /// [`ArtifactError::Index`] or [`ArtifactError::Io`] if a batch commit
    /// fails.
    pub fn remove(&self, id: &str) -> Result<(), ArtifactError> {
        check_id(id)?;
        let mut guard = self.lock_writer();
        let writer = self.writing(&mut guard)?;
        self.before_change()?;
        writer.delete_term(self.id_term(id));
        self.after_change(writer)
    }

    /// Commits the queued changes and makes them visible to searches.
    ///
    /// # Errors
    ///
    /// [`ArtifactError::Index`] if the commit fails; the changes stay
    /// queued and the index is marked for a rebuild at the next open.
    pub fn flush(&self) -> Result<(), ArtifactError> {
        let mut guard = self.lock_writer();
        if let Some(writer) = guard.as_mut()
            && self.pending.load(Ordering::Acquire) > 0
        {
            self.commit(writer)?;
        }
        Ok(())
    }

    /// Searches, committing queued changes first so they are found.
    ///
    /// # Errors
    ///
    /// [`ArtifactError::Index`] for a page beyond [`SearchQuery::MAX_LIMIT`]
    /// or [`SearchQuery::MAX_WINDOW`], or if tantivy fails. The words never
    /// cause an error: what cannot be parsed matches nothing, and a query
    /// tantivy cannot run is searched as its plain words.
    pub fn search(&self, q: &SearchQuery) -> Result<SearchPage, ArtifactError> {
        query::check_page(q).map_err(|reason| index_error(&self.dir, reason))?;
        self.catch_up()?;
        let searcher = self.reader.searcher();
        let run = |text: &str| {
            let text = query::text_query(&self.parser, text);
            let full = query::full_query(&self.fields, text.as_deref(), q);
            // A user's query can reach corners of tantivy that panic (its
            // phrase scorer trips a debug assertion under `-tags-tags*`); the
            // searcher is read-only, so nothing shared is left half-done.
            panic::catch_unwind(AssertUnwindSafe(|| {
                query::run(&searcher, &self.fields, &*full, text.as_deref(), q)
            }))
            .unwrap_or_else(|_| {
                Err(TantivyError::InvalidArgument(
                    "tantivy panicked running the query".into(),
                ))
            })
        };
        match run(&q.text) {
            // What the parser let through but cannot run: search the
            // words alone.
            Err(e) if query::is_query_error(&e) => {
                tracing::debug!(error = %e, text = q.text, "searching the words of an artifact query alone");
                run(&query::plain_words(&q.text))
            }
            result => result,
        }
        .map_err(|e| index_error(&self.dir, e))
    }

    /// How many artifacts the index holds, committing queued changes first.
    ///
    /// # Errors
    ///
    /// [`ArtifactError::Index`] if the commit fails.
    pub fn len(&self) -> Result<u64, ArtifactError> {
        self.catch_up()?;
        Ok(self.reader.searcher().num_docs())
    }

    /// Whether the index holds no artifacts (see [`SearchIndex::len`]).
    ///
    /// # Errors
    ///
    /// As [`SearchIndex::len`].
    pub fn is_empty(&self) -> Result<bool, ArtifactError> {
        Ok(self.len()? == 0)
    }

    /// Replaces the whole index with `docs` in one commit: searches meanwhile
    /// see the old index, then the new one. Clears
    /// [`SearchIndex::needs_rebuild`].
    ///
    /// # Errors
    ///
    /// [`ArtifactError::BadId`] if a document's id is not an artifact id,
    /// [`ArtifactError::Index`] if tantivy fails. Either way the index is
    /// left as it was.
    pub fn rebuild(&self, docs: impl IntoIterator<Item = IndexDoc>) -> Result<(), ArtifactError> {
        let mut guard = self.lock_writer();
        let writer = self.writing(&mut guard)?;
        // Commit earlier changes first, so a failed rebuild rolls back only
        // its own.
        if self.pending.load(Ordering::Acquire) > 0 {
            self.commit(writer)?;
        }
        open::mark_uncommitted(&self.dir)?;
        let filled = self.fill(writer, docs);
        let result = filled.and_then(|()| self.commit(writer));
        if result.is_err() {
            if let Err(e) = writer.rollback() {
                tracing::warn!(dir = %self.dir.display(), error = %e, "rolling back a failed search index rebuild");
            }
            return result;
        }
        *self.rebuild.lock().unwrap_or_else(PoisonError::into_inner) = None;
        Ok(())
    }

    fn fill(
        &self,
        writer: &IndexWriter,
        docs: impl IntoIterator<Item = IndexDoc>,
    ) -> Result<(), ArtifactError> {
        writer
            .delete_all_documents()
            .map_err(|e| index_error(&self.dir, e))?;
        for doc in docs {
            check_id(&doc.id)?;
            writer
                .add_document(self.fields.document(&doc))
                .map_err(|e| index_error(&self.dir, e))?;
        }
        Ok(())
    }

    fn lock_writer(&self) -> MutexGuard<'_, Option<IndexWriter>> {
        self.writer.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The writer in `guard`, or why there is none.
    fn writing<'g>(
        &self,
        guard: &'g mut MutexGuard<'_, Option<IndexWriter>>,
    ) -> Result<&'g mut IndexWriter, ArtifactError> {
        guard.as_mut().ok_or_else(|| {
            index_error(
                &self.dir,
                "another process writes this index; this one only reads it",
            )
        })
    }

    /// Makes every change visible to the next search: commits this
    /// process's queued changes, or, reading another process's index,
    /// reloads to see its last commit.
    fn catch_up(&self) -> Result<(), ArtifactError> {
        if self.is_writer() {
            self.flush_if_pending()
        } else {
            self.reader.reload().map_err(|e| index_error(&self.dir, e))
        }
    }

    fn id_term(&self, id: &str) -> Term {
        Term::from_field_text(self.fields.id, id)
    }

    /// Marks the directory before the first change of a batch is queued,
    /// so a crash before the commit is noticed at the next open.
    fn before_change(&self) -> Result<(), ArtifactError> {
        if self.pending.load(Ordering::Acquire) == 0 {
            open::mark_uncommitted(&self.dir)?;
        }
        Ok(())
    }

    /// Counts a queued change and commits a full batch.
    fn after_change(&self, writer: &mut IndexWriter) -> Result<(), ArtifactError> {
        if self.pending.fetch_add(1, Ordering::AcqRel) + 1 >= Self::COMMIT_EVERY {
            self.commit(writer)?;
        }
        Ok(())
    }

    fn flush_if_pending(&self) -> Result<(), ArtifactError> {
        if self.pending.load(Ordering::Acquire) > 0 {
            self.flush()?;
        }
        Ok(())
    }

    /// Commits, reloads the reader, then clears the count and the marker.
    fn commit(&self, writer: &mut IndexWriter) -> Result<(), ArtifactError> {
        writer.commit().map_err(|e| index_error(&self.dir, e))?;
        self.reader
            .reload()
            .map_err(|e| index_error(&self.dir, e))?;
        self.pending.store(0, Ordering::Release);
        open::clear_uncommitted(&self.dir)
    }
}

impl Drop for SearchIndex {
    /// Commits queued changes; a failure is logged, and the marker left
    /// behind has the next open ask for a rebuild.
    fn drop(&mut self) {
        if let Err(e) = self.flush() {
            tracing::warn!(dir = %self.dir.display(), error = %e, "committing the artifact search index on close");
        }
    }
}

/// An [`ArtifactError::Index`] for the index at `path`.
fn index_error(path: &Path, reason: impl fmt::Display) -> ArtifactError {
    ArtifactError::Index {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}
