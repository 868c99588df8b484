//! The trash: deleted artifacts wait here, undoable, until their window closes.
//!
//! Layout: `<trash>/<id>` is the object file, moved in by rename, and
//! `<trash>/<id>.json` its manifest. Every step is a rename or a removal, in
//! an order that a crash at any point leaves recoverable:
//!
//! - trashing writes the manifest (temporary file, synced, renamed) *before*
//!   moving the object in, so an object in the trash always has a manifest;
//! - undo moves the object out *before* removing the manifest;
//! - purge removes the object *before* the manifest.
//!
//! A manifest without an object is therefore a step that did not finish; it
//! is ignored and removed by the next purge. An object without a manifest
//! (put there by hand) is given one dated now, so it is kept a full window.

use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::fsio::sync_dir;
use super::{DAY_MS, StaleError, check_id};

/// One trashed artifact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrashEntry {
    /// The artifact.
    pub id: String,
    /// When it was trashed, unix milliseconds.
    pub trashed_at_ms: i64,
    /// The size of the trashed file in bytes.
    pub size: u64,
    /// Where the file came from (for an artifact trashed from warm or cold,
    /// the staging copy it was restored to).
    pub from: PathBuf,
}

/// A trash directory with an undo window.
#[derive(Debug, Clone)]
pub struct Trash {
    /// The directory.
    dir: PathBuf,
    /// Days an entry can be undone before purge removes it.
    trash_days: u32,
}

impl Trash {
    /// Opens (creating if missing) the trash at `dir` with an undo window of
    /// `trash_days` (the policy's `trash_days`). It should be on the same
    /// file system as the objects so trashing is a rename; across file
    /// systems it falls back to copy, sync and remove.
    pub fn open(dir: impl Into<PathBuf>, trash_days: u32) -> Result<Self, StaleError> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir)
            .map_err(|e| StaleError::io("creating the trash directory", &dir, e))?;
        // Leftovers of interrupted writes: temporary manifests and staged copies.
        if let Ok(read) = std::fs::read_dir(&dir) {
            for entry in read.flatten() {
                if entry.file_name().to_string_lossy().starts_with('.') {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
        Ok(Trash { dir, trash_days })
    }

    /// The undo window in days.
    pub fn trash_days(&self) -> u32 {
        self.trash_days
    }

    /// Moves the file at `from` into the trash as artifact `id`, trashed at
    /// `now_ms`.
    pub fn put(&self, id: &str, from: &Path, now_ms: i64) -> Result<TrashEntry, StaleError> {
        check_id(id)?;
        let size = std::fs::metadata(from)
            .map_err(|e| StaleError::io("reading artifact file", from, e))?
            .len();
        let entry = TrashEntry {
            id: id.to_owned(),
            trashed_at_ms: now_ms,
            size,
            from: from.to_owned(),
        };
        self.write_manifest(&entry)?;
        move_file(from, &self.object_path(id))?;
        sync_dir(&self.dir);
        Ok(entry)
    }

    /// A path inside the trash directory where a copy of `id` can be staged
    /// before [`Trash::put`] moves it in (removed by [`Trash::open`] if left over).
    pub fn staging_path(&self, id: &str) -> PathBuf {
        self.dir.join(format!(".staging-{id}"))
    }

    /// Whether `id` is in the trash.
    pub fn contains(&self, id: &str) -> bool {
        check_id(id).is_ok() && self.object_path(id).is_file()
    }

    /// Every entry in the trash, by id.
    pub fn entries(&self) -> Result<Vec<TrashEntry>, StaleError> {
        let mut entries = Vec::new();
        for id in self.object_ids()? {
            entries.push(self.entry(&id, None)?);
        }
        Ok(entries)
    }

    /// Moves trashed artifact `id` back to `to`, if its window (counted at
    /// `now_ms`) is still open.
    pub fn undo(&self, id: &str, to: &Path, now_ms: i64) -> Result<TrashEntry, StaleError> {
        check_id(id)?;
        if !self.object_path(id).is_file() {
            return Err(StaleError::NotInTrash(id.to_owned()));
        }
        let entry = self.entry(id, Some(now_ms))?;
        if self.expired(&entry, now_ms) {
            return Err(StaleError::UndoExpired {
                id: id.to_owned(),
                trashed_at_ms: entry.trashed_at_ms,
                trash_days: self.trash_days,
            });
        }
        if to.exists() {
            return Err(StaleError::Exists {
                id: id.to_owned(),
                path: to.to_owned(),
            });
        }
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| StaleError::io("creating the restore directory", parent, e))?;
        }
        move_file(&self.object_path(id), to)?;
        remove_if_present(&self.manifest_path(id))?;
        Ok(entry)
    }

    /// Removes every entry trashed more than `trash_days` before `now_ms`,
    /// and leftovers of interrupted steps; returns the purged entries.
    pub fn purge(&self, now_ms: i64) -> Result<Vec<TrashEntry>, StaleError> {
        let ids = self.object_ids()?;
        let mut purged = Vec::new();
        for id in &ids {
            let entry = self.entry(id, Some(now_ms))?;
            if self.expired(&entry, now_ms) {
                remove_if_present(&self.object_path(id))?;
                remove_if_present(&self.manifest_path(id))?;
                purged.push(entry);
            }
        }
        // Manifests whose object never arrived or already left.
        for file in self.list()? {
            if let Some(id) = file.strip_suffix(".json")
                && check_id(id).is_ok()
                && !ids.iter().any(|i| i == id)
            {
                remove_if_present(&self.manifest_path(id))?;
            }
        }
        Ok(purged)
    }

    fn expired(&self, entry: &TrashEntry, now_ms: i64) -> bool {
        now_ms.saturating_sub(entry.trashed_at_ms) > i64::from(self.trash_days) * DAY_MS
    }

    fn object_path(&self, id: &str) -> PathBuf {
        self.dir.join(id)
    }

    fn manifest_path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.json"))
    }

    /// File names in the trash directory.
    fn list(&self) -> Result<Vec<String>, StaleError> {
        let read = std::fs::read_dir(&self.dir)
            .map_err(|e| StaleError::io("listing the trash", &self.dir, e))?;
        let mut names: Vec<String> = read
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        Ok(names)
    }

    /// Ids of the objects in the trash.
    fn object_ids(&self) -> Result<Vec<String>, StaleError> {
        Ok(self
            .list()?
            .into_iter()
            .filter(|name| check_id(name).is_ok())
            .collect())
    }

    /// The manifest of `id`; a missing one is recreated dated `now_ms` (or
    /// the file's size with time 0 for a read-only listing).
    fn entry(&self, id: &str, now_ms: Option<i64>) -> Result<TrashEntry, StaleError> {
        let path = self.manifest_path(id);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| StaleError::Manifest {
                path,
                message: e.to_string(),
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let size = std::fs::metadata(self.object_path(id))
                    .map(|m| m.len())
                    .unwrap_or(0);
                let entry = TrashEntry {
                    id: id.to_owned(),
                    trashed_at_ms: now_ms.unwrap_or(0),
                    size,
                    from: PathBuf::new(),
                };
                if now_ms.is_some() {
                    self.write_manifest(&entry)?;
                }
                Ok(entry)
            }
            Err(e) => Err(StaleError::io("reading trash manifest", path, e)),
        }
    }

    /// Writes `entry`'s manifest atomically.
    fn write_manifest(&self, entry: &TrashEntry) -> Result<(), StaleError> {
        let path = self.manifest_path(&entry.id);
        let temp = self.dir.join(format!(".{}.json.tmp", entry.id));
        let json = serde_json::to_vec_pretty(entry).expect("a trash entry serialises");
        let write = || -> io::Result<()> {
            let mut file = std::fs::File::create(&temp)?;
            io::Write::write_all(&mut file, &json)?;
            file.sync_all()?;
            std::fs::rename(&temp, &path)
        };
        write().map_err(|e| StaleError::io("writing trash manifest", &path, e))?;
        sync_dir(&self.dir);
        Ok(())
    }
}

/// Moves `from` to `to`: a rename, or across file systems a copy to a
/// temporary file beside `to`, synced and renamed, then removal of `from`.
pub(crate) fn move_file(from: &Path, to: &Path) -> Result<(), StaleError> {
    match std::fs::rename(from, to) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::CrossesDevices => {
            let dir = to.parent().unwrap_or(Path::new("."));
            let mut temp = tempfile::NamedTempFile::new_in(dir)
                .map_err(|e| StaleError::io("creating a temporary file in", dir, e))?;
            let mut source =
                std::fs::File::open(from).map_err(|e| StaleError::io("opening", from, e))?;
            io::copy(&mut source, temp.as_file_mut())
                .and_then(|_| temp.as_file().sync_all())
                .map_err(|e| StaleError::io("copying into", to, e))?;
            temp.persist(to)
                .map_err(|e| StaleError::io("moving into place at", to, e.error))?;
            sync_dir(dir);
            std::fs::remove_file(from).map_err(|e| StaleError::io("removing", from, e))
        }
        Err(e) => Err(StaleError::io("moving file to", to, e)),
    }
}

fn remove_if_present(path: &Path) -> Result<(), StaleError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => {
            Err(StaleError::io("removing from the trash", path, e))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests;
