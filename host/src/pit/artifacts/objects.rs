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

/// Checks that `id` is 64 lowercase hex digits.
pub(crate) fn check_id(id: &str) -> Result<(), ArtifactError> {
    if id.len() != 64 || !id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(ArtifactError::BadId(id.to_string()));
    }
    Ok(())
}

/// Lowercase hex of a digest.
pub(crate) fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
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

/// The sharded tree of object files.
pub(crate) struct Objects {
    /// `<root>/objects`.
    dir: PathBuf,
}

impl Objects {
    /// Creates `<root>/objects` if needed and removes temporary files left by
    /// a crash. Only one process should have a store open for writing.
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
                if entry
                    .file_name()
                    .to_string_lossy()
                    .starts_with(LEFTOVER_PREFIX)
                {
                    let path = entry.path();
                    fs::remove_file(&path).map_err(io_at(&path))?;
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
        if target.is_file() {
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
        Ok(true)
    }
}

impl Drop for TempObject {
    fn drop(&mut self) {
        // After a successful rename the path no longer exists; that is fine.
        let _ = fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn ids_must_be_64_lowercase_hex_digits() {
        assert!(check_id(&"a".repeat(64)).is_ok());
        for bad in [
            "",
            "../etc/passwd",
            &"A".repeat(64),
            &"a".repeat(63),
            &"g".repeat(64),
        ] {
            assert!(
                matches!(check_id(bad), Err(ArtifactError::BadId(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn commit_places_the_object_in_its_shard_and_a_second_commit_dedups() {
        let dir = tempfile::tempdir().unwrap();
        let objects = Objects::open(dir.path()).unwrap();
        let id = "ab".repeat(32);
        let mut temp = objects.create_temp().unwrap();
        temp.file().write_all(b"x").unwrap();
        assert!(temp.commit(&objects, &id).unwrap());
        let path = dir.path().join("objects").join("ab").join(&id[2..]);
        assert_eq!(fs::read(&path).unwrap(), b"x");
        let temp = objects.create_temp().unwrap();
        assert!(!temp.commit(&objects, &id).unwrap());
        assert_eq!(objects.scan().unwrap(), vec![(id, 1)]);
        let leftovers: Vec<_> = fs::read_dir(dir.path().join("objects"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(leftovers, vec!["ab"], "no temporary file is left behind");
    }

    #[test]
    fn temporary_leftovers_are_removed_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let objects = Objects::open(dir.path()).unwrap();
        let temp = objects.create_temp().unwrap();
        let crashed = temp.path().to_path_buf();
        std::mem::forget(temp); // as if the process died mid-write
        let shard = dir.path().join("objects").join("cd");
        fs::create_dir_all(&shard).unwrap();
        fs::write(shard.join(".tmp-old"), b"partial").unwrap();
        fs::write(shard.join(".tmpAb12Cd"), b"partial").unwrap();
        assert!(crashed.exists());
        Objects::open(dir.path()).unwrap();
        assert!(!crashed.exists());
        assert!(!shard.join(".tmp-old").exists());
        assert!(!shard.join(".tmpAb12Cd").exists());
    }
}
