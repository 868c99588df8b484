//! Temporary files: where an object is written before it is renamed into
//! place, named after the process writing it, so opening a store removes
//! the ones a crash left behind and never another live process's.

use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::{Objects, Stored, io_at, sync_dir};
use crate::ArtifactError;

/// The prefix of temporary files; nothing else in the tree starts with it.
pub(super) const TMP_PREFIX: &str = ".tmp-";
/// What leftovers to remove on open start with: also matches the
/// `tempfile` names (`.tmpXXXXXX`) the first layout wrote into shards.
const LEFTOVER_PREFIX: &str = ".tmp";

/// How old a temporary file of unknown origin must be before opening a
/// store removes it: another process may still be writing it.
const UNOWNED_TEMP_AGE: std::time::Duration = std::time::Duration::from_secs(3600);

/// Whether temporary file `name` was left by a crash rather than being
/// written right now by another process: ours (`.tmp-<pid>-…`) from a
/// process that is gone (or this one), else one older than an hour.
fn abandoned(name: &str, entry: &fs::DirEntry) -> bool {
    let pid = name
        .strip_prefix(TMP_PREFIX)
        .and_then(|rest| rest.split('-').next())
        .and_then(|pid| pid.parse::<u32>().ok());
    match pid {
        Some(pid) if pid == std::process::id() => true,
        Some(pid) => !process_alive(pid),
        None => entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_none_or(|age| age > UNOWNED_TEMP_AGE),
    }
}

/// Whether a process with this id is running (a reused pid makes a
/// leftover wait for the next open after that process ends).
fn process_alive(pid: u32) -> bool {
    #[cfg(target_os = "linux")]
    {
        Path::new("/proc").join(pid.to_string()).exists()
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = pid;
        false
    }
}

impl Objects {
    /// Removes the temporary files left by a crash: those of processes
    /// that are gone, and any older than an hour.
    pub(super) fn clean_temps(&self) -> Result<(), ArtifactError> {
        let mut dirs = vec![self.dir.clone()];
        for entry in fs::read_dir(&self.dir).map_err(io_at(&self.dir))? {
            let entry = entry.map_err(io_at(&self.dir))?;
            if entry.file_type().map_err(io_at(&self.dir))?.is_dir() {
                dirs.push(entry.path());
            }
        }
        for dir in dirs {
            for entry in fs::read_dir(&dir).map_err(io_at(&dir))? {
                let entry = entry.map_err(io_at(&dir))?;
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.starts_with(LEFTOVER_PREFIX) && abandoned(&name, &entry) {
                    let path = entry.path();
                    match fs::remove_file(&path) {
                        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                            return Err(io_at(&path)(e));
                        }
                        _ => {}
                    }
                }
            }
        }
        Ok(())
    }

    /// A new, empty temporary file to write an object into.
    pub(crate) fn create_temp(&self) -> Result<TempObject, ArtifactError> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        loop {
            let name = format!(
                "{TMP_PREFIX}{}-{nanos}-{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            );
            let path = self.dir.join(name);
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(file) => return Ok(TempObject { path, file }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(source) => return Err(ArtifactError::Io { path, source }),
            }
        }
    }
}

/// A temporary file being filled with an object; removed on drop unless
/// committed.
pub(crate) struct TempObject {
    pub(super) path: PathBuf,
    pub(super) file: File,
}

impl TempObject {
    /// The file to write into.
    pub(crate) fn file(&mut self) -> &mut File {
        &mut self.file
    }

    /// Where the temporary file is (for errors).
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Makes the written bytes object `id`: syncs the file, renames it into
    /// its shard and syncs the shard directory. Returns `false`, and drops the
    /// temporary file, when the object was already stored.
    pub(crate) fn commit(self, objects: &Objects, id: &str) -> Result<bool, ArtifactError> {
        let target = objects.path_of(id)?;
        let len = self.file.metadata().map_or(0, |m| m.len());
        let stored = objects.stored(id, &target, len)?;
        if stored == Stored::Intact {
            return Ok(false);
        }
        self.file.sync_all().map_err(io_at(&self.path))?;
        let shard = target.parent().expect("objects have a shard directory");
        if !shard.is_dir() {
            fs::create_dir_all(shard).map_err(io_at(shard))?;
            sync_dir(&objects.dir)?;
        }
        fs::rename(&self.path, &target).map_err(io_at(&target))?;
        sync_dir(shard)?;
        Ok(stored == Stored::Missing)
    }
}

impl Drop for TempObject {
    fn drop(&mut self) {
        // After a successful rename the path no longer exists; that is fine.
        let _ = fs::remove_file(&self.path);
    }
}
