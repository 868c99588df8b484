//! The background indexer: a thread owned by the store that indexes what
//! puts queue, so a put returns at hash-and-store speed.
//!
//! # Where the time went
//!
//! Ingesting a 300 MB mixed set ran at 0.15–0.18× `sha256sum` over the
//! same files while every put indexed its artifact in tantivy before
//! returning (a commit every 1000 changes, and one when the store closed).
//! A profile of that ingest: 72% of the CPU was tantivy's single indexing
//! thread, 8% its segment merges, 2% hashing. Storing is near the hashing
//! floor; indexing was the cost, and the put paid it.
//!
//! # The design, and why
//!
//! - **A durable queue, in the put's transaction.** A put inserts its id
//!   into the catalog's `index_queue` in the same SQLite transaction as its
//!   row, so there is no moment when an artifact is stored but nobody owes
//!   it an index entry: a crash after the put leaves the entry, and the
//!   next writer of the index (at open, or its next search) indexes it.
//!   That durability is what lets indexing leave the put: an in-memory
//!   queue would lose entries to a crash, and the index would silently
//!   miss artifacts until a full rebuild noticed the count.
//! - **Nothing queued that changes nothing.** A put of content already
//!   stored, with no metadata search sees, and a row already searchable,
//!   is not queued (dedup-heavy workloads re-put the same outputs often).
//! - **One thread, woken cheaply.** A put wakes the thread with one atomic
//!   swap when it is already awake ([`Signal`]). The thread takes the
//!   queue's head in order, indexes each artifact as the catalog has it
//!   then, commits the index, and only then takes those entries off the
//!   queue: an entry leaves the queue only once its document is durable.
//!   Batches of up to [`SearchIndex::COMMIT_EVERY`] entries, committed when
//!   full or when the queue is empty, keep commits (and the segments they
//!   make, and the merges those cause) few under load.
//! - **The text a put already read.** A put samples its content anyway; the
//!   text is kept in a small bounded cache ([`TextCache`]) until indexed,
//!   and read again from the store only when it did not fit.
//! - **Read-your-writes stays.** A search in the process writing the index
//!   takes the drain lock (waiting for the thread's batch in hand), indexes
//!   the rest of the queue, then searches: it finds everything put before
//!   it. `SearchPage::pending_index` says how much a process reading
//!   another's index could not find yet.
//! - **Dropping the store stops the thread promptly.** It finishes the
//!   document in hand, commits what it indexed and leaves the rest queued;
//!   the backlog is durable, so waiting for it at drop would only make the
//!   caller pay what the put was spared.
//! - **A writer sized for the machine** (`search/open.rs`): up to four
//!   indexing threads with 64 MiB each, where one thread with 32 MiB was
//!   the bottleneck and made many small segments to merge.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;

use super::ArtifactError;
use super::indexing::Indexing;
use super::search::SearchIndex;

/// Queue entries indexed per batch (one commit each).
const BATCH: usize = SearchIndex::COMMIT_EVERY;
/// The most texts [`TextCache`] keeps...
const MAX_TEXTS: usize = 4096;
/// ...and the most bytes of them.
const MAX_TEXT_BYTES: usize = 64 << 20;

/// Wakes the indexer thread, and tells it to stop.
#[derive(Default)]
pub(crate) struct Signal {
    /// Set by a change, cleared by the thread just before it reads the
    /// queue: a change committed after the clear sets it again.
    woken: AtomicBool,
    /// Set once, when the store is dropped.
    stopping: AtomicBool,
    /// Searches and changes waiting for the drain lock: the thread lets
    /// them have it rather than taking it again for its next batch.
    pub(crate) waiting: AtomicUsize,
    /// Guards the sleep, so a wake between the thread's check and its
    /// sleep is not lost.
    lock: Mutex<()>,
    /// Where the thread sleeps.
    cond: Condvar,
}

impl Signal {
    /// Wakes the thread. When it is already awake this is one atomic swap:
    /// the put path pays nothing more.
    pub(crate) fn wake(&self) {
        if self.woken.swap(true, Ordering::SeqCst) {
            return;
        }
        drop(self.lock.lock().unwrap_or_else(PoisonError::into_inner));
        self.cond.notify_one();
    }

    /// Tells the thread to stop after the document in hand.
    pub(crate) fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        drop(self.lock.lock().unwrap_or_else(PoisonError::into_inner));
        self.cond.notify_one();
    }

    /// Whether the thread was told to stop.
    pub(crate) fn stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// Sleeps until woken: true to look at the queue, false to stop.
    fn wait(&self) -> bool {
        let guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        let _guard = self
            .cond
            .wait_while(guard, |()| {
                !self.woken.load(Ordering::SeqCst) && !self.stopping()
            })
            .unwrap_or_else(PoisonError::into_inner);
        if self.stopping() {
            return false;
        }
        self.woken.store(false, Ordering::SeqCst);
        true
    }
}

/// The texts of queued artifacts, as their puts read them, until indexed.
///
/// Bounded by [`MAX_TEXTS`] and [`MAX_TEXT_BYTES`]. When full, new texts
/// are refused rather than old ones evicted: the indexer takes entries in
/// queue order, so the oldest texts are the next it needs; a refused one
/// is read again from the store when its turn comes. Texts whose entries
/// another path indexed (a search's drain takes them too) or whose put
/// failed after keeping them are dropped whenever the queue is found empty.
#[derive(Default)]
pub(crate) struct TextCache {
    inner: Mutex<Texts>,
}

#[derive(Default)]
struct Texts {
    /// Artifact id → its text (`None`: the content is not text).
    by_id: HashMap<String, Option<String>>,
    /// The bytes held, ids included.
    bytes: usize,
}

impl TextCache {
    /// Keeps `text` for artifact `id`, if there is room.
    pub(crate) fn insert(&self, id: &str, text: Option<String>) {
        let size = id.len() + text.as_ref().map_or(0, String::len);
        let mut texts = self.lock();
        if texts.by_id.len() >= MAX_TEXTS
            || texts.bytes + size > MAX_TEXT_BYTES
            || texts.by_id.contains_key(id)
        {
            return;
        }
        texts.bytes += size;
        texts.by_id.insert(id.to_string(), text);
    }

    /// Takes the text kept for artifact `id`, if any.
    pub(crate) fn take(&self, id: &str) -> Option<Option<String>> {
        let mut texts = self.lock();
        let text = texts.by_id.remove(id)?;
        texts.bytes -= id.len() + text.as_ref().map_or(0, String::len);
        Some(text)
    }

    /// Drops every kept text.
    fn clear(&self) {
        *self.lock() = Texts::default();
    }

    /// How many texts are kept, and their bytes.
    #[cfg(test)]
    pub(crate) fn usage(&self) -> (usize, usize) {
        let texts = self.lock();
        (texts.by_id.len(), texts.bytes)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Texts> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The store's handle on its indexer thread: stops and joins it on drop.
pub(crate) struct Indexer {
    /// What the thread works on; its signal stops it.
    indexing: Arc<Indexing>,
    /// The thread; `None` without an index, or when it could not start
    /// (then searches index what puts queue).
    thread: Option<JoinHandle<()>>,
}

impl Indexer {
    /// Starts the thread for `indexing` (none without an index).
    pub(crate) fn start(indexing: Arc<Indexing>) -> Indexer {
        let thread = match &indexing.index {
            Some(_) => {
                let shared = Arc::clone(&indexing);
                std::thread::Builder::new()
                    .name("artifact-indexer".into())
                    .spawn(move || run(&shared))
                    .inspect_err(|e| {
                        tracing::warn!(
                            "could not start the artifact indexer; searches index what puts \
                             queue: {e}"
                        );
                    })
                    .ok()
            }
            None => None,
        };
        Indexer { indexing, thread }
    }

    /// A handle without a thread: what is queued stays queued until a
    /// search or the next open (for tests that look at the queue, or stand
    /// for a crash before the indexer ran).
    #[cfg(test)]
    pub(crate) fn idle(indexing: Arc<Indexing>) -> Indexer {
        Indexer {
            indexing,
            thread: None,
        }
    }
}

impl Indexer {
    /// Stops the thread after the document in hand and waits for it to
    /// commit what it indexed; the rest stays queued (durably: the next
    /// open or search indexes it). Waiting for the whole backlog would make
    /// whoever drops the store pay what its puts were spared.
    pub(crate) fn stop(&mut self) {
        self.indexing.signal.stop();
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::warn!("the artifact indexer thread panicked");
        }
    }
}

impl Drop for Indexer {
    /// Stops the thread (see [`Indexer::stop`]).
    fn drop(&mut self) {
        self.stop();
    }
}

/// The thread: a pass over the queue per wake, until told to stop.
fn run(indexing: &Indexing) {
    while indexing.signal.wait() {
        if let Err(e) = indexing.background_pass() {
            tracing::warn!("indexing queued artifacts in the background: {e}");
        }
    }
}

/// What one batch did.
#[derive(Debug, PartialEq, Eq)]
enum Drained {
    /// Nothing was queued.
    Empty,
    /// A full batch: more may be queued.
    More,
    /// The rest of the queue (as far as asked): it was shorter than a batch.
    Done,
    /// Told to stop midway; what was indexed is committed.
    Stopped,
}

impl Indexing {
    /// Indexes the queue batch by batch, letting a search or change that
    /// waits for the drain lock have it between batches, until the queue
    /// is empty or the thread is told to stop; then rebuilds the index if
    /// it needs it.
    fn background_pass(&self) -> Result<(), ArtifactError> {
        let Some(index) = &self.index else {
            return Ok(());
        };
        if !index.is_writer() {
            // Another process writes the index and indexes what this one
            // queued; a change here takes it over when that one goes.
            return Ok(());
        }
        loop {
            if self.signal.waiting.load(Ordering::SeqCst) > 0 {
                // The waiter drains everything queued when it gets the
                // lock; later puts wake the thread again.
                return Ok(());
            }
            let _drain = self.lock_drain();
            if self.signal.stopping() {
                return Ok(());
            }
            match self.drain_batch(index, i64::MAX, Some(&self.signal))? {
                // Done: puts may have queued more meanwhile; look again.
                Drained::More | Drained::Done => {}
                Drained::Stopped => return Ok(()),
                Drained::Empty => {
                    self.texts.clear();
                    if index.needs_rebuild() {
                        self.rebuild_if_behind(index)?;
                    }
                    return Ok(());
                }
            }
        }
    }

    /// Indexes everything queued now. Called with the drain lock held.
    pub(crate) fn drain_queue(&self, index: &SearchIndex) -> Result<(), ArtifactError> {
        // Up to the end seen now: puts racing this drain are the thread's,
        // so a search under constant ingest still ends.
        let Some(end) = self.catalog().index_queue_end()? else {
            return Ok(());
        };
        tracing::debug!(end, "indexing the queued artifacts");
        while self.drain_batch(index, end, None)? == Drained::More {}
        Ok(())
    }

    /// Indexes the first [`BATCH`] queue entries at or before position
    /// `upto`, commits them, then takes them off the queue. With `stop`,
    /// stops early when told to, committing and dequeuing what it indexed.
    /// On an error nothing is dequeued (indexing again does no harm).
    fn drain_batch(
        &self,
        index: &SearchIndex,
        upto: i64,
        stop: Option<&Signal>,
    ) -> Result<Drained, ArtifactError> {
        let entries = self.catalog().index_queue_head(upto, BATCH)?;
        if entries.is_empty() {
            return Ok(Drained::Empty);
        }
        // The last position whose entries are all indexed. An id queued
        // twice in the batch is indexed once: both entries were committed
        // before the batch was read, so indexing it after covers both.
        let mut last = None;
        let mut indexed = HashSet::new();
        let mut stopped = false;
        for entry in &entries {
            if !indexed.contains(entry.id.as_str()) {
                if stop.is_some_and(Signal::stopping) {
                    stopped = true;
                    break;
                }
                self.index_now(index, &entry.id, None)?;
                indexed.insert(entry.id.as_str());
            }
            last = Some(entry.seq);
        }
        index.flush()?;
        if let Some(last) = last {
            self.catalog().dequeue_for_index(last)?;
        }
        Ok(if stopped {
            Drained::Stopped
        } else if entries.len() == BATCH {
            Drained::More
        } else {
            Drained::Done
        })
    }
}

#[cfg(test)]
mod tests;
