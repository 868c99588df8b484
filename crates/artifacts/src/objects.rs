//! The object tree: content-addressed files under `<root>/objects/ab/cdef…`.
//!
//! An object is named by the SHA-256 of its plaintext. It is written to a
//! temporary file (`objects/.tmp-…`, on the same file system as its final
//! place), synced, renamed into its shard directory, and the directory is
//! synced; a crash leaves either the whole object or nothing visible, and
//! the leftover temporary files are removed when the store is next opened.

use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::ArtifactError;

/// The prefix of temporary files; nothing else in the tree starts with it.
const TMP_PREFIX: &str = ".tmp-";
/// What leftovers to remove on open start with: also matches the
/// `tempfile` names (`.tmpXXXXXX`) the first layout wrote into shards.
const LEFTOVER_PREFIX: &str = ".tmp";

/// Whether `id` is an artifact id: 64 lowercase hex digits. Ids become file
/// names, so nothing else may reach a path.
pub(crate) fn is_id(id: &str) -> bool {
    id.len() == 64 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Checks that `id` is 64 lowercase hex digits.
pub(crate) fn check_id(id: &str) -> Result<(), ArtifactError> {
    if !is_id(id) {
        return Err(ArtifactError::BadId(id.to_string()));
    }
    Ok(())
}

/// The id the store gives `content`: the lowercase hex SHA-256 of its
/// plaintext, so a caller can name content before (or without) storing it.
pub fn content_id(content: &[u8]) -> String {
    use sha2::Digest;
    hex(&sha2::Sha256::digest(content))
}

/// Lowercase hex of a digest.
pub(crate) fn hex(digest: &[u8]) -> String {
    use std::fmt::Write as _;
    digest
        .iter()
        .fold(String::with_capacity(digest.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

fn io_at(path: &Path) -> impl Fn(std::io::Error) -> ArtifactError + '_ {
    move |source| ArtifactError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Makes a directory's entries (a rename, a new file) durable.
fn sync_dir(dir: &Path) -> Result<(), ArtifactError> {
    #[cfg(unix)]
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_at(dir))?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Writes everything dirty on the file system holding `dir` to disk: one
/// call covers any number of files, where `fsync` would take one each.
#[cfg(target_os = "linux")]
fn syncfs(dir: &Path) -> Result<(), ArtifactError> {
    let handle = File::open(dir).map_err(io_at(dir))?;
    rustix::fs::syncfs(&handle).map_err(|e| io_at(dir)(e.into()))
}

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

/// The sharded tree of object files.
pub(crate) struct Objects {
    /// `<root>/objects`.
    dir: PathBuf,
}

impl Objects {
    /// Creates `<root>/objects` if needed and removes temporary files left by
    /// a crash: those of processes that are gone, and any older than an
    /// hour; another process writing into the store keeps its own.
    pub(crate) fn open(root: &Path) -> Result<Objects, ArtifactError> {
        let dir = root.join("objects");
        fs::create_dir_all(&dir).map_err(io_at(&dir))?;
        let objects = Objects { dir };
        objects.clean_temps()?;
        Ok(objects)
    }

    fn clean_temps(&self) -> Result<(), ArtifactError> {
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

    /// Where object `id` lives.
    pub(crate) fn path_of(&self, id: &str) -> Result<PathBuf, ArtifactError> {
        check_id(id)?;
        Ok(self.dir.join(&id[..2]).join(&id[2..]))
    }

    /// Opens object `id` for reading.
    pub(crate) fn open_object(&self, id: &str) -> Result<(File, PathBuf), ArtifactError> {
        let path = self.path_of(id)?;
        match File::open(&path) {
            Ok(file) => Ok((file, path)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(ArtifactError::NotFound(id.to_string()))
            }
            Err(source) => Err(ArtifactError::Io { path, source }),
        }
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

    /// Makes many written temporary objects durable and visible at once
    /// (group commit): one sync of the file system for all their contents,
    /// the renames, and one more sync for the directory entries; elsewhere
    /// than Linux, each file and directory is synced. Returns, per object,
    /// whether it was new; duplicates are dropped unsynced.
    pub(crate) fn commit_many(
        &self,
        temps: Vec<(TempObject, &str)>,
    ) -> Result<Vec<bool>, ArtifactError> {
        let mut fresh = Vec::with_capacity(temps.len());
        let mut pending = Vec::new();
        for (temp, id) in temps {
            let target = self.path_of(id)?;
            let queued = pending
                .iter()
                .any(|(_, t): &(TempObject, PathBuf)| *t == target);
            let stored = Stored::check(&target, &temp, id);
            fresh.push(stored == Stored::Missing && !queued);
            if stored != Stored::Intact && !queued {
                pending.push((temp, target));
            }
        }
        if pending.is_empty() {
            return Ok(fresh);
        }
        self.sync_contents(pending.iter().map(|(temp, _)| temp))?;
        let mut shards = Vec::new();
        for (temp, target) in &pending {
            let shard = target.parent().expect("objects have a shard directory");
            if !shard.is_dir() {
                fs::create_dir_all(shard).map_err(io_at(shard))?;
                shards.push(self.dir.clone());
            }
            fs::rename(&temp.path, target).map_err(io_at(target))?;
            shards.push(shard.to_path_buf());
        }
        shards.sort();
        shards.dedup();
        self.sync_entries(&shards).map(|()| fresh)
    }

    /// Makes the temporary files' contents durable.
    fn sync_contents<'t>(
        &self,
        temps: impl Iterator<Item = &'t TempObject>,
    ) -> Result<(), ArtifactError> {
        #[cfg(target_os = "linux")]
        {
            let _ = temps;
            syncfs(&self.dir)
        }
        #[cfg(not(target_os = "linux"))]
        {
            for temp in temps {
                temp.file.sync_all().map_err(io_at(&temp.path))?;
            }
            Ok(())
        }
    }

    /// Makes the entries of `dirs` durable.
    fn sync_entries(&self, dirs: &[PathBuf]) -> Result<(), ArtifactError> {
        #[cfg(target_os = "linux")]
        {
            let _ = dirs;
            syncfs(&self.dir)
        }
        #[cfg(not(target_os = "linux"))]
        {
            dirs.iter().try_for_each(|dir| sync_dir(dir))
        }
    }

    /// Every stored object's id and its size on disk.
    pub(crate) fn scan(&self) -> Result<Vec<(String, u64)>, ArtifactError> {
        let mut found = Vec::new();
        for shard in fs::read_dir(&self.dir).map_err(io_at(&self.dir))? {
            let shard = shard.map_err(io_at(&self.dir))?;
            let prefix = shard.file_name().to_string_lossy().into_owned();
            if prefix.len() != 2 || !shard.path().is_dir() {
                continue;
            }
            let shard = shard.path();
            for entry in fs::read_dir(&shard).map_err(io_at(&shard))? {
                let entry = entry.map_err(io_at(&shard))?;
                let id = format!("{prefix}{}", entry.file_name().to_string_lossy());
                if check_id(&id).is_ok() {
                    let len = entry.metadata().map_err(io_at(&shard))?.len();
                    found.push((id, len));
                }
            }
        }
        Ok(found)
    }
}

/// A temporary file being filled with an object; removed on drop unless
/// committed.
pub(crate) struct TempObject {
    path: PathBuf,
    file: File,
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
        let stored = Stored::check(&target, &self, id);
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

/// What a store already holds where a new object would go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stored {
    /// Nothing: the new object is fresh.
    Missing,
    /// A copy the new one duplicates.
    Intact,
    /// A copy of the wrong size, damaged outside the store: the new copy
    /// replaces it (and is still a duplicate for the counters).
    Damaged,
}

impl Stored {
    fn check(target: &Path, temp: &TempObject, id: &str) -> Stored {
        let Some(stored) = fs::metadata(target).ok().filter(|m| m.is_file()) else {
            return Stored::Missing;
        };
        // The same content in the same store has the same size on disk,
        // encrypted or not.
        match temp.file.metadata() {
            Ok(written) if written.len() != stored.len() => {
                tracing::warn!(id, path = %target.display(), "replacing a damaged object file");
                Stored::Damaged
            }
            _ => Stored::Intact,
        }
    }
}

impl Drop for TempObject {
    fn drop(&mut self) {
        // After a successful rename the path no longer exists; that is fine.
        let _ = fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests;
