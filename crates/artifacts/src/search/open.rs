//! Opening the index directory: reuse what is there when it is sound,
//! otherwise replace it with an empty index and say why, so the caller
//! rebuilds it from the catalog.

use std::fs;
use std::io;
use std::path::Path;

use tantivy::directory::error::{LockError, OpenReadError};
use tantivy::directory::{Directory, INDEX_WRITER_LOCK, MmapDirectory};
use tantivy::{Index, IndexReader, IndexSettings, IndexWriter, ReloadPolicy, TantivyError};

use super::{RebuildReason, index_error};
use crate::ArtifactError;

/// The writer's memory budget per indexing thread. Tantivy fills it
/// before it writes a segment, so a larger budget means fewer, larger
/// segments and less merging; it is allocated as documents arrive, not up
/// front.
const WRITER_MEMORY_PER_THREAD: usize = 64 * 1024 * 1024;

/// The most indexing threads a writer runs.
const MAX_WRITER_THREADS: usize = 4;

/// Present while changes are added but not committed; found at open, it
/// means the last process stopped before committing them.
pub(super) const UNCOMMITTED_MARKER: &str = ".symphony-uncommitted";

/// An index ready for use.
pub(super) struct Opened {
    /// The index (its schema is the expected one).
    pub index: Index,
    /// Its only writer, holding the directory's writer lock; `None` when
    /// another process holds it, and this one only reads.
    pub writer: Option<IndexWriter>,
    /// A reader reloaded by hand after each commit.
    pub reader: IndexReader,
    /// Why the caller should rebuild it, if it should.
    pub rebuild: Option<RebuildReason>,
}

/// Opens the index in `dir`, creating `dir` and the index if missing and
/// replacing an unreadable index or one with another schema by an empty one.
/// When another process holds the writer lock, the index is opened to read
/// only (that process keeps it sound; its uncommitted marker is its own).
pub(super) fn open(dir: &Path, schema: &tantivy::schema::Schema) -> Result<Opened, ArtifactError> {
    // Processes started together may all find no index: one creates it
    // (holding the lock for milliseconds) while the others wait for it.
    for _ in 0..CREATE_WAITS {
        if let Some(opened) = try_open(dir, schema)? {
            return Ok(opened);
        }
        std::thread::sleep(CREATE_WAIT);
    }
    Err(index_error(
        dir,
        "another process has held the index's lock without creating it for a while",
    ))
}

/// How long, and how often, [`open`] waits for another process that is
/// creating the index.
const CREATE_WAIT: std::time::Duration = std::time::Duration::from_millis(20);
const CREATE_WAITS: usize = 250;

/// [`open`], or `None` when another process holds the lock while this one
/// would create or replace the index.
fn try_open(dir: &Path, schema: &tantivy::schema::Schema) -> Result<Option<Opened>, ArtifactError> {
    let io_err = |source: io::Error| ArtifactError::Io {
        path: dir.to_path_buf(),
        source,
    };
    fs::create_dir_all(dir).map_err(io_err)?;
    let directory = MmapDirectory::open(dir).map_err(|e| index_error(dir, e))?;
    let exists = Index::exists(&directory).map_err(|e| index_error(dir, e))?;
    let reason = if exists {
        match open_existing(directory, schema) {
            Ok(Some(opened)) => {
                // Looked at only with the lock held: a marker left by a
                // writer still at work is not an interruption.
                let interrupted = opened.writer.is_some() && dir.join(UNCOMMITTED_MARKER).exists();
                return Ok(Some(Opened {
                    rebuild: interrupted.then_some(RebuildReason::Interrupted),
                    ..opened
                }));
            }
            Ok(None) => RebuildReason::SchemaChanged,
            Err(e) if is_damage(&e) => RebuildReason::Damaged(e.to_string()),
            Err(e) => return Err(index_error(dir, e)),
        }
    } else {
        RebuildReason::Created
    };
    if !create_fresh(dir, schema, &reason)? {
        return Ok(None);
    }
    if reason != RebuildReason::Created {
        tracing::warn!(
            dir = %dir.display(),
            %reason,
            "replaced the artifact search index with an empty one; it must be rebuilt"
        );
    }
    let index = Index::open(MmapDirectory::open(dir).map_err(|e| index_error(dir, e))?)
        .map_err(|e| index_error(dir, e))?;
    let reader = reader(&index).map_err(|e| index_error(dir, e))?;
    // Another process may have opened the new index first; it rebuilds it.
    let writer = try_writer(&index).map_err(|e| index_error(dir, e))?;
    let rebuild = writer.is_some().then_some(reason);
    Ok(Some(Opened {
        index,
        writer,
        reader,
        rebuild,
    }))
}

/// Opens the existing index; `None` if its schema is not ours.
fn open_existing(
    directory: MmapDirectory,
    schema: &tantivy::schema::Schema,
) -> Result<Option<Opened>, TantivyError> {
    let index = Index::open(directory)?;
    if index.schema() != *schema {
        return Ok(None);
    }
    let reader = reader(&index)?;
    let writer = try_writer(&index)?;
    Ok(Some(Opened {
        index,
        writer,
        reader,
        rebuild: None,
    }))
}

/// A reader reloaded by hand: after each commit, or before each search
/// when another process writes.
fn reader(index: &Index) -> Result<IndexReader, TantivyError> {
    index
        .reader_builder()
        .reload_policy(ReloadPolicy::Manual)
        .try_into()
}

/// The index's writer, taking the directory's writer lock.
fn writer(index: &Index) -> Result<IndexWriter, TantivyError> {
    let threads = writer_threads();
    index.writer_with_num_threads(threads, threads * WRITER_MEMORY_PER_THREAD)
}

/// How many threads the writer indexes with: one per core but one (left
/// for the puts and hashing that feed it), at least one and at most
/// [`MAX_WRITER_THREADS`]. A single thread was ingest's bottleneck: it
/// took 72% of the CPU of a bulk ingest (see `indexer.rs`).
pub(super) fn writer_threads() -> usize {
    threads_for(std::thread::available_parallelism().map_or(1, std::num::NonZero::get))
}

/// Writer threads on a machine of `cores`: one per spare core, one to four.
fn threads_for(cores: usize) -> usize {
    cores.saturating_sub(1).clamp(1, MAX_WRITER_THREADS)
}

/// The writer, or `None` when another process holds the lock.
pub(super) fn try_writer(index: &Index) -> Result<Option<IndexWriter>, TantivyError> {
    match writer(index) {
        Ok(writer) => Ok(Some(writer)),
        Err(TantivyError::LockFailure(LockError::LockBusy, _)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Whether `e` says the index's files cannot be read as an index (so
/// replacing them loses nothing), rather than that the file system or
/// another writer is in the way.
fn is_damage(e: &TantivyError) -> bool {
    match e {
        TantivyError::DataCorruption(_)
        | TantivyError::IncompatibleIndex(_)
        | TantivyError::SchemaError(_)
        | TantivyError::DeserializeError(_) => true,
        TantivyError::OpenReadError(read) => matches!(
            read,
            OpenReadError::FileDoesNotExist(_) | OpenReadError::IncompatibleIndex(_)
        ),
        _ => false,
    }
}

/// Removes the index's files from `dir` (and nothing else) while holding
/// the writer lock, then creates an empty index there; false, touching
/// nothing, when another process holds the lock or has just created the
/// missing index.
fn create_fresh(
    dir: &Path,
    schema: &tantivy::schema::Schema,
    reason: &RebuildReason,
) -> Result<bool, ArtifactError> {
    let directory = MmapDirectory::open(dir).map_err(|e| index_error(dir, e))?;
    // Another process with the index open holds this lock: its files are
    // then not ours to remove. Held until the new index is whole, so a
    // process starting meanwhile waits for it instead of creating another.
    let _lock = match directory.acquire_lock(&INDEX_WRITER_LOCK) {
        Ok(lock) => lock,
        Err(LockError::LockBusy) => return Ok(false),
        Err(e) => return Err(index_error(dir, e)),
    };
    // Another process may have created the index between this one finding
    // none and taking the lock: then it is theirs, and opened as it is.
    if *reason == RebuildReason::Created
        && Index::exists(&directory).map_err(|e| index_error(dir, e))?
    {
        return Ok(false);
    }
    remove_index_files(dir)?;
    Index::create(directory.clone(), schema.clone(), IndexSettings::default())
        .map_err(|e| index_error(dir, e))?;
    Ok(true)
}

/// Removes tantivy's files (its metadata, its segment files named by a
/// 32-hex-digit segment id) and our marker; anything else in `dir` stays.
fn remove_index_files(dir: &Path) -> Result<(), ArtifactError> {
    let io_err = |source: io::Error| ArtifactError::Io {
        path: dir.to_path_buf(),
        source,
    };
    for entry in fs::read_dir(dir).map_err(io_err)? {
        let entry = entry.map_err(io_err)?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if is_index_file(name) && entry.file_type().map_err(io_err)?.is_file() {
            match fs::remove_file(entry.path()) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_err(e)),
            }
        }
    }
    Ok(())
}

fn is_index_file(name: &str) -> bool {
    const NAMED: [&str; 4] = [
        "meta.json",
        ".managed.json",
        ".tantivy-meta.lock",
        UNCOMMITTED_MARKER,
    ];
    NAMED.contains(&name)
        || name.as_bytes().get(32) == Some(&b'.')
            && name.as_bytes()[..32].iter().all(u8::is_ascii_hexdigit)
}

/// Marks `dir` as holding uncommitted changes, durably: the file and the
/// directory entry are synced.
pub(super) fn mark_uncommitted(dir: &Path) -> Result<(), ArtifactError> {
    let io_err = |source: io::Error| ArtifactError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let file = fs::File::create(dir.join(UNCOMMITTED_MARKER)).map_err(io_err)?;
    file.sync_all().map_err(io_err)?;
    sync_dir(dir).map_err(io_err)
}

/// Clears the mark after a commit. Not synced: a lost removal only costs
/// an unneeded rebuild.
pub(super) fn clear_uncommitted(dir: &Path) -> Result<(), ArtifactError> {
    match fs::remove_file(dir.join(UNCOMMITTED_MARKER)) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(ArtifactError::Io {
            path: dir.to_path_buf(),
            source,
        }),
    }
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    fs::File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests;
