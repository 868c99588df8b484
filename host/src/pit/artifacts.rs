//! Content-addressed artifact storage.
//!
//! Objects live under `<home>/artifacts/<first two hex digits>/<rest>`, named
//! by the SHA-256 of their bytes. Writes go to a temporary file that is
//! synced and renamed into place, so a crash never leaves a partial object.

use std::fs;
use std::io::Write;
use std::path::PathBuf;

use crate::runtime::sha256_hex;

/// Why an artifact operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ArtifactError {
    /// The id is not a SHA-256 hex digest.
    #[error("'{0}' is not an artifact id (64 lowercase hex digits)")]
    BadId(String),
    /// No artifact has this id.
    #[error("no artifact with id {0}")]
    NotFound(String),
    /// The stored bytes no longer hash to their id.
    #[error("artifact {0} is corrupt: its content does not match its hash")]
    Corrupt(String),
    /// The file system failed.
    #[error("artifact store at {path}: {source}")]
    Io {
        /// Where.
        path: PathBuf,
        /// What happened.
        source: std::io::Error,
    },
}

/// A directory of content-addressed objects.
pub struct ArtifactStore {
    root: PathBuf,
}

impl ArtifactStore {
    /// A store rooted at `root` (created on first write).
    pub fn new(root: PathBuf) -> Self {
        ArtifactStore { root }
    }

    fn path_of(&self, id: &str) -> Result<PathBuf, ArtifactError> {
        if id.len() != 64 || !id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(ArtifactError::BadId(id.to_string()));
        }
        Ok(self.root.join(&id[..2]).join(&id[2..]))
    }

    /// Stores `content` and returns its id; storing the same bytes twice
    /// keeps one copy.
    pub fn put(&self, content: &[u8]) -> Result<String, ArtifactError> {
        let id = sha256_hex(content);
        let path = self.path_of(&id)?;
        if path.is_file() {
            return Ok(id);
        }
        let dir = path.parent().unwrap_or(&self.root).to_path_buf();
        let io = |source| ArtifactError::Io {
            path: dir.clone(),
            source,
        };
        fs::create_dir_all(&dir).map_err(io)?;
        let mut tmp = tempfile::NamedTempFile::new_in(&dir).map_err(io)?;
        tmp.write_all(content).map_err(io)?;
        tmp.as_file().sync_all().map_err(io)?;
        tmp.persist(&path).map_err(|e| io(e.error))?;
        Ok(id)
    }

    /// The bytes of artifact `id`, checked against the id.
    pub fn get(&self, id: &str) -> Result<Vec<u8>, ArtifactError> {
        let path = self.path_of(id)?;
        let bytes = fs::read(&path).map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => ArtifactError::NotFound(id.to_string()),
            _ => ArtifactError::Io { path, source },
        })?;
        if sha256_hex(&bytes) != id {
            return Err(ArtifactError::Corrupt(id.to_string()));
        }
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_then_get_round_trips_and_dedups() {
        let dir = tempfile::tempdir().unwrap();
        let store = ArtifactStore::new(dir.path().to_path_buf());
        let id = store.put(b"hello").unwrap();
        assert_eq!(store.put(b"hello").unwrap(), id);
        assert_eq!(store.get(&id).unwrap(), b"hello");
    }

    #[test]
    fn bad_missing_and_corrupt_ids_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let store = ArtifactStore::new(dir.path().to_path_buf());
        assert!(matches!(
            store.get("../etc/passwd"),
            Err(ArtifactError::BadId(_))
        ));
        let missing = sha256_hex(b"nothing stored");
        assert!(matches!(
            store.get(&missing),
            Err(ArtifactError::NotFound(_))
        ));
        let id = store.put(b"data").unwrap();
        fs::write(store.path_of(&id).unwrap(), b"tampered").unwrap();
        assert!(matches!(store.get(&id), Err(ArtifactError::Corrupt(_))));
    }
}
