//! Opening the index directory: reuse what is there when it is sound,
//! otherwise replace it with an empty index and say why, so the caller
//! rebuilds it from the catalog.

use std::fs;
use std::io;
use std::path::Path;

use tantivy::directory::error::OpenReadError;
use tantivy::directory::{Directory, INDEX_WRITER_LOCK, MmapDirectory};
use tantivy::{Index, IndexReader, IndexSettings, IndexWriter, ReloadPolicy, TantivyError};

use super::{RebuildReason, index_error};
use crate::ArtifactError;

/// The writer's memory budget: small, the artifact store shares the machine.
const WRITER_MEMORY_BYTES: usize = 32 * 1024 * 1024;

/// Present while changes are added but not committed; found at open, it
/// means the last process stopped before committing them.
pub(super) const UNCOMMITTED_MARKER: &str = ".symphony-uncommitted";

/// An index ready for use.
pub(super) struct Opened {
    /// The index (its schema is the expected one).
    pub index: Index,
    /// Its only writer, holding the directory's writer lock.
    pub writer: IndexWriter,
    /// A reader reloaded by hand after each commit.
    pub reader: IndexReader,
    /// Why the caller should rebuild it, if it should.
    pub rebuild: Option<RebuildReason>,
}

/// Opens the index in `dir`, creating `dir` and the index if missing and
/// replacing an unreadable index or one with another schema by an empty one.
pub(super) fn open(dir: &Path, schema: &tantivy::schema::Schema) -> Result<Opened, ArtifactError> {
    let io_err = |source: io::Error| ArtifactError::Io {
        path: dir.to_path_buf(),
        source,
    };
    fs::create_dir_all(dir).map_err(io_err)?;
    let interrupted = dir.join(UNCOMMITTED_MARKER).exists();
    let directory = MmapDirectory::open(dir).map_err(|e| index_error(dir, e))?;
    let exists = Index::exists(&directory).map_err(|e| index_error(dir, e))?;
    let reason = if exists {
        match open_existing(directory, schema) {
            Ok(Some(opened)) => {
                return Ok(Opened {
                    rebuild: interrupted.then_some(RebuildReason::Interrupted),
                    ..opened
                });
            }
            Ok(None) => RebuildReason::SchemaChanged,
            Err(e) if is_damage(&e) => RebuildReason::Damaged(e.to_string()),
            Err(e) => return Err(index_error(dir, e)),
        }
    } else {
        RebuildReason::Created
    };
    if reason != RebuildReason::Created {
        tracing::warn!(
            dir = %dir.display(),
            %reason,
            "replacing the artifact search index with an empty one; it must be rebuilt"
        );
    }
    create_fresh(dir, schema)?;
    let index = Index::open(MmapDirectory::open(dir).map_err(|e| index_error(dir, e))?)
        .map_err(|e| index_error(dir, e))?;
    let (writer, reader) = writer_and_reader(&index).map_err(|e| index_error(dir, e))?;
    Ok(Opened {
        index,
        writer,
        reader,
        rebuild: Some(reason),
    })
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
    let (writer, reader) = writer_and_reader(&index)?;
    Ok(Some(Opened {
        index,
        writer,
        reader,
        rebuild: None,
    }))
}

fn writer_and_reader(index: &Index) -> Result<(IndexWriter, IndexReader), TantivyError> {
    // One indexing thread: the host runs on small machines and indexing is
    // not its main work.
    let writer = index.writer_with_num_threads(1, WRITER_MEMORY_BYTES)?;
    let reader = index
        .reader_builder()
        .reload_policy(ReloadPolicy::Manual)
        .try_into()?;
    Ok((writer, reader))
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
/// the writer lock, then creates an empty index there.
fn create_fresh(dir: &Path, schema: &tantivy::schema::Schema) -> Result<(), ArtifactError> {
    let directory = MmapDirectory::open(dir).map_err(|e| index_error(dir, e))?;
    {
        // Another process with the index open holds this lock: its files
        // are then not ours to remove.
        let _lock = directory
            .acquire_lock(&INDEX_WRITER_LOCK)
            .map_err(|e| index_error(dir, e))?;
        remove_index_files(dir)?;
    }
    Index::create(directory, schema.clone(), IndexSettings::default())
        .map_err(|e| index_error(dir, e))?;
    Ok(())
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
