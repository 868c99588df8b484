//! [`ContentStore`]: objects and encryption put together — the content half
//! of the [`ArtifactStore`](super::ArtifactStore).

use std::fs::{self, File};
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::ArtifactError;
use super::crypto::{self, ArtifactKey, Opener, Sealer};
use super::objects::{self, ObjectFile, Objects, TempObject};

/// The file recording how a store was created, so it is never reopened in
/// the other mode.
const FORMAT_FILE: &str = "FORMAT";
const FORMAT_PLAIN: &str = "symphony-artifacts 1 plain\n";
const FORMAT_ENCRYPTED: &str = "symphony-artifacts 1 aes-256-gcm\n";

/// How to open an `ArtifactStore`.
///
/// Defaults: no key, so objects are stored in plaintext.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct StoreOptions {
    /// Encrypts every object at rest with this key (AES-256-GCM). A store is
    /// encrypted or not for its whole life.
    pub key: Option<ArtifactKey>,
}

impl StoreOptions {
    /// Encrypts objects with `key`.
    pub fn with_key(mut self, key: ArtifactKey) -> Self {
        self.key = Some(key);
        self
    }

    /// Options keyed from `SYMPHONY_ARTIFACT_KEY` when it is set.
    pub fn from_env() -> Result<Self, ArtifactError> {
        Ok(StoreOptions {
            key: ArtifactKey::from_env()?,
        })
    }
}

/// What a put did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct PutOutcome {
    /// The artifact's id: the SHA-256 of its content, in hex.
    pub id: String,
    /// The content's length in bytes.
    pub size: u64,
    /// The content was already stored, so nothing new was kept.
    pub deduplicated: bool,
    /// The version recorded, when the put named the artifact.
    pub version: Option<super::VersionInfo>,
}

/// A directory of content-addressed objects, optionally encrypted at rest.
///
/// Safe to share between threads. Ids are the SHA-256 of the plaintext, so
/// the same content stored twice is kept once, encrypted or not.
pub(crate) struct ContentStore {
    /// The store's root directory.
    root: PathBuf,
    /// The object tree under `root/objects`.
    objects: Objects,
    /// The encryption key, if the store is encrypted.
    key: Option<ArtifactKey>,
}

/// Content written to a temporary file and hashed, not yet visible; see
/// [`ContentStore::stage`].
pub(crate) struct Staged {
    temp: TempObject,
    /// The content's id.
    pub(crate) id: String,
    /// The content's length in bytes.
    pub(crate) size: u64,
}

impl std::fmt::Debug for ContentStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContentStore")
            .field("root", &self.root)
            .field("encrypted", &self.key.is_some())
            .finish_non_exhaustive()
    }
}

impl ContentStore {
    /// Opens (creating if needed) the store at `root`: removes temporary
    /// files a crash left behind and counts the stored objects. Fails with
    /// [`ArtifactError::ModeMismatch`] when the store was created encrypted
    /// and is opened without a key, or the other way round.
    pub fn open(root: impl Into<PathBuf>, options: StoreOptions) -> Result<Self, ArtifactError> {
        let root = root.into();
        fs::create_dir_all(&root).map_err(|e| ArtifactError::from_io(e, &root))?;
        migrate_legacy_layout(&root, options.key.is_some())?;
        check_format(&root, options.key.is_some())?;
        let objects = Objects::open(&root)?;
        Ok(ContentStore {
            root,
            objects,
            key: options.key,
        })
    }

    /// Every stored object's id and content length.
    pub(crate) fn scan(&self) -> Result<Vec<(String, u64)>, ArtifactError> {
        let encrypted = self.key.is_some();
        Ok(self
            .objects
            .scan()?
            .into_iter()
            .map(|(id, len)| {
                let size = if encrypted {
                    crypto::plaintext_len(len).unwrap_or(0)
                } else {
                    len
                };
                (id, size)
            })
            .collect())
    }

    /// The store's root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Whether objects are encrypted at rest.
    pub fn is_encrypted(&self) -> bool {
        self.key.is_some()
    }

    /// Streams everything `reader` yields into a temporary file while
    /// hashing it (sealing it when encrypted), so content of any size is never
    /// held in memory. Nothing is visible until [`ContentStore::commit`].
    pub(crate) fn stage(&self, reader: impl Read) -> Result<Staged, ArtifactError> {
        self.stage_after(&[], reader)
    }

    /// [`ContentStore::stage`] of `head` followed by what `reader` yields.
    fn stage_after(&self, head: &[u8], mut reader: impl Read) -> Result<Staged, ArtifactError> {
        let mut temp = self.objects.create_temp()?;
        let temp_path = temp.path().to_path_buf();
        let at_temp = |e| ArtifactError::from_io(e, &temp_path);
        let mut hasher = Sha256::new();
        let mut size = head.len() as u64;
        let mut buf = vec![0; crypto::CHUNK_SIZE];
        let mut sink = match &self.key {
            Some(key) => Sink::Sealed(Box::new(Sealer::new(temp.file(), key).map_err(at_temp)?)),
            None => Sink::Plain(temp.file()),
        };
        hasher.update(head);
        sink.write_all(head).map_err(at_temp)?;
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(ArtifactError::Input(e)),
            };
            hasher.update(&buf[..n]);
            size += n as u64;
            sink.write_all(&buf[..n]).map_err(at_temp)?;
        }
        sink.finish().map_err(at_temp)?;
        Ok(Staged {
            temp,
            id: objects::hex(&hasher.finalize()),
            size,
        })
    }

    /// Makes staged content durable and visible under its id; `false` when
    /// the object was already stored (the staged copy is dropped).
    pub(crate) fn commit(&self, staged: Staged) -> Result<bool, ArtifactError> {
        staged.temp.commit(&self.objects, &staged.id)
    }

    /// The first [`SAMPLE_LIMIT`](super::quality::SAMPLE_LIMIT) bytes of
    /// object `id`: what quality and the search index judge it by.
    pub(crate) fn sample(&self, id: &str) -> Result<Vec<u8>, ArtifactError> {
        let reader = self.open_artifact(id)?;
        let path = reader.path.clone();
        let mut sample = Vec::new();
        reader
            .take(super::quality::SAMPLE_LIMIT as u64)
            .read_to_end(&mut sample)
            .map_err(|e| ArtifactError::from_io(e, path))?;
        Ok(sample)
    }

    /// Where object `id`'s file is (whether or not it exists), for code
    /// that moves or removes object files: a packed object is made a file
    /// of its own first.
    pub(crate) fn object_path(&self, id: &str) -> Result<PathBuf, ArtifactError> {
        self.objects.loosen(id)
    }

    /// When object `id` was written, if it is stored.
    pub(crate) fn modified(&self, id: &str) -> Option<std::time::SystemTime> {
        self.objects.modified(id)
    }

    /// A reader of artifact `id`'s content. Encrypted chunks are
    /// authenticated before any of their bytes are returned; the content
    /// hash is checked when the reader reaches the end, which then fails
    /// with [`ArtifactError::Integrity`] (inside the `io::Error`) instead of
    /// reporting the end. Only trust the content once the end is reached.
    pub fn open_artifact(&self, id: &str) -> Result<ArtifactReader, ArtifactError> {
        let (file, path): (ObjectFile, PathBuf) = self.objects.open_object(id)?;
        let inner: Box<dyn Read + Send> = match &self.key {
            Some(key) => {
                Box::new(Opener::new(file, key, id).map_err(|e| ArtifactError::from_io(e, &path))?)
            }
            None => Box::new(BufReader::with_capacity(crypto::CHUNK_SIZE, file)),
        };
        Ok(ArtifactReader {
            inner,
            id: id.to_string(),
            path,
            hasher: Sha256::new(),
            verified: false,
            failed: None,
        })
    }

    /// Streams artifact `id` into `out`, verifying it; returns its length.
    /// On an integrity error, `out` may have received some unverified bytes
    /// and must be discarded.
    pub fn get_to(&self, id: &str, mut out: impl Write) -> Result<u64, ArtifactError> {
        let mut reader = self.open_artifact(id)?;
        let mut buf = vec![0; crypto::CHUNK_SIZE];
        let mut total = 0;
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(ArtifactError::from_io(e, &reader.path)),
            };
            out.write_all(&buf[..n])
                .map_err(|source| ArtifactError::Output {
                    id: id.to_string(),
                    source,
                })?;
            total += n as u64;
        }
        out.flush().map_err(|source| ArtifactError::Output {
            id: id.to_string(),
            source,
        })?;
        Ok(total)
    }

    /// The content of artifact `id`, verified.
    pub fn get(&self, id: &str) -> Result<Vec<u8>, ArtifactError> {
        let mut out = Vec::new();
        self.get_to(id, &mut out)?;
        Ok(out)
    }

    /// Whether artifact `id` is stored.
    pub fn contains(&self, id: &str) -> Result<bool, ArtifactError> {
        self.objects.contains(id)
    }
}

/// Moves the shard directories of the first layout (`<root>/ab/cdef…`,
/// plaintext, no format file) under `<root>/objects/`, so stores written by
/// earlier versions keep their artifacts.
fn migrate_legacy_layout(root: &Path, encrypted: bool) -> Result<(), ArtifactError> {
    if root.join(FORMAT_FILE).exists() {
        return Ok(());
    }
    let io = |e| ArtifactError::from_io(e, root);
    let mut shards = Vec::new();
    for entry in fs::read_dir(root).map_err(io)? {
        let entry = entry.map_err(io)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let is_shard = name.len() == 2 && name.bytes().all(|b| b.is_ascii_hexdigit());
        if is_shard && !name.bytes().any(|b| b.is_ascii_uppercase()) && entry.path().is_dir() {
            shards.push(name);
        }
    }
    if shards.is_empty() {
        return Ok(());
    }
    if encrypted {
        return Err(ArtifactError::ModeMismatch {
            root: root.to_path_buf(),
            on_disk: "not encrypted",
            requested: "with a key",
        });
    }
    let objects = root.join("objects");
    fs::create_dir_all(&objects).map_err(|e| ArtifactError::from_io(e, &objects))?;
    for shard in shards {
        let to = objects.join(&shard);
        if !to.exists() {
            fs::rename(root.join(&shard), &to).map_err(|e| ArtifactError::from_io(e, &to))?;
        }
    }
    Ok(())
}

/// Checks the recorded mode against the requested one, recording it for a
/// new store.
fn check_format(root: &Path, encrypted: bool) -> Result<(), ArtifactError> {
    let path = root.join(FORMAT_FILE);
    let wanted = if encrypted {
        FORMAT_ENCRYPTED
    } else {
        FORMAT_PLAIN
    };
    match fs::read_to_string(&path) {
        Ok(found) if found == wanted => Ok(()),
        Ok(found) if found == FORMAT_PLAIN || found == FORMAT_ENCRYPTED => {
            Err(ArtifactError::ModeMismatch {
                root: root.to_path_buf(),
                on_disk: if encrypted {
                    "not encrypted"
                } else {
                    "encrypted"
                },
                requested: if encrypted {
                    "with a key"
                } else {
                    "without a key"
                },
            })
        }
        Ok(_) => Err(ArtifactError::Io {
            path,
            source: io::Error::new(io::ErrorKind::InvalidData, "unrecognised store format"),
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            // Written whole under another name, then moved into place only
            // if nothing is there: processes creating one store at once
            // never read each other's half-written file, and the one that
            // loses checks the winner's mode.
            let staged = tempfile::NamedTempFile::new_in(root).and_then(|mut staged| {
                staged.write_all(wanted.as_bytes())?;
                staged.as_file().sync_all()?;
                Ok(staged)
            });
            match staged
                .map_err(|e| ArtifactError::from_io(e, &path))?
                .persist_noclobber(&path)
            {
                Ok(_) => Ok(()),
                Err(e) if e.error.kind() == io::ErrorKind::AlreadyExists => {
                    check_format(root, encrypted)
                }
                Err(e) => Err(ArtifactError::from_io(e.error, &path)),
            }
        }
        Err(e) => Err(ArtifactError::from_io(e, path)),
    }
}

/// Where a put's bytes go: straight to the file, or through encryption.
enum Sink<'a> {
    Plain(&'a mut File),
    // Boxed: the cipher's key schedule is large.
    Sealed(Box<Sealer<&'a mut File>>),
}

impl Sink<'_> {
    fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        match self {
            Sink::Plain(file) => file.write_all(data),
            Sink::Sealed(sealer) => sealer.write_all(data),
        }
    }

    fn finish(self) -> io::Result<()> {
        match self {
            Sink::Plain(file) => file.flush(),
            Sink::Sealed(sealer) => sealer.finish()?.flush(),
        }
    }
}

/// Streams one artifact's content, checking it against its id at the end.
/// Made by `ArtifactStore::open_artifact`.
pub struct ArtifactReader {
    /// Plaintext, decrypted and authenticated chunk by chunk if encrypted.
    inner: Box<dyn Read + Send>,
    /// The artifact being read.
    id: String,
    /// Its object file (for errors).
    path: PathBuf,
    /// Hash of the plaintext returned so far.
    hasher: Sha256,
    /// The end was reached and the hash matched.
    verified: bool,
    /// The reason verification failed, repeated by every later read.
    failed: Option<String>,
}

impl std::fmt::Debug for ArtifactReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArtifactReader")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl ArtifactReader {
    /// The id of the artifact being read.
    pub fn id(&self) -> &str {
        &self.id
    }
}

impl Read for ArtifactReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if let Some(reason) = &self.failed {
            return Err(ArtifactError::integrity_io(&self.id, reason.clone()));
        }
        if self.verified || out.is_empty() {
            return Ok(0);
        }
        let n = self.inner.read(out)?;
        if n > 0 {
            self.hasher.update(&out[..n]);
            return Ok(n);
        }
        let digest = objects::hex(&std::mem::take(&mut self.hasher).finalize());
        if digest != self.id {
            let reason = format!("the content hashes to {digest}");
            self.failed = Some(reason.clone());
            return Err(ArtifactError::integrity_io(&self.id, reason));
        }
        self.verified = true;
        Ok(0)
    }
}

mod batch;

#[cfg(test)]
mod tests;
