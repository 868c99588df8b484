//! The warm and cold tiers.
//!
//! - **Warm** is a local directory of LZ4 frames (`lz4_flex`, pure Rust):
//!   `<warm>/ab/<62 hex>.lz4`. LZ4 compresses and decompresses at several
//!   hundred MB/s with no C toolchain and a small build; zstd would squeeze
//!   more but costs a C build and is slower, which matters for a tier that is
//!   meant to be quick to restore from.
//! - **Cold** is any [`ObjectStore`] (a local directory, or S3 with the `s3`
//!   feature), objects at `objects/<id>`, stored as they are (already
//!   encrypted if the artifact store encrypts).
//!
//! Object files are opaque bytes: encrypted objects are archived as they are.
//! Every archive streams (never holding a whole object in memory), and is
//! read back and compared by SHA-256 with what was read from the source
//! before [`TierStore::archive`] returns; a copy that does not match is
//! removed. Restores write to a temporary file that is synced and renamed
//! into place, so a crash never leaves a partial file at the destination.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures_util::StreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use sha2::{Digest, Sha256};

use super::fsio::{HashingReader, HashingWriter, hex, read_chunk, remove_temp_leftovers, sync_dir};
use super::{ColdConfig, StaleError, Tier, check_id};

/// Parts of this size are uploaded one at a time (S3 wants at least 5 MiB).
const PART_SIZE: usize = 8 << 20;

/// What an archive wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveReceipt {
    /// The tier written to.
    pub tier: Tier,
    /// Bytes read from the source file.
    pub bytes: u64,
    /// Bytes the tier holds for it (smaller than `bytes` when compressed).
    pub stored_bytes: u64,
    /// The SHA-256 of the source file's bytes, verified against the copy.
    pub sha256: String,
}

/// The warm and cold tiers, with a small tokio runtime for the object store.
pub struct TierStore {
    /// The warm directory.
    warm_dir: PathBuf,
    /// The cold object store.
    cold: Arc<dyn ObjectStore>,
    /// Runs the object store's futures; current-thread, owned by this store.
    /// Taken only by `drop`.
    runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for TierStore {
    /// Dropping a runtime blocks, which panics inside another runtime (an
    /// async host dropping its store); this one runs no tasks of its own,
    /// so it is shut down without waiting.
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl std::fmt::Debug for TierStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TierStore")
            .field("warm_dir", &self.warm_dir)
            .field("cold", &self.cold.to_string())
            .finish()
    }
}

impl TierStore {
    /// A tier store with warm copies under `warm_dir` (created if missing)
    /// and cold copies in `cold`.
    pub fn new(
        warm_dir: impl Into<PathBuf>,
        cold: Arc<dyn ObjectStore>,
    ) -> Result<Self, StaleError> {
        let warm_dir = warm_dir.into();
        std::fs::create_dir_all(&warm_dir)
            .map_err(|e| StaleError::io("creating the warm tier directory", &warm_dir, e))?;
        remove_temp_leftovers(&warm_dir);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| StaleError::ColdConfig(format!("starting its runtime: {e}")))?;
        Ok(TierStore {
            warm_dir,
            cold,
            runtime: Some(runtime),
        })
    }

    /// A tier store whose cold tier is the local directory `cold_dir`
    /// (created if missing).
    pub fn local(
        warm_dir: impl Into<PathBuf>,
        cold_dir: impl AsRef<Path>,
    ) -> Result<Self, StaleError> {
        let cold_dir = cold_dir.as_ref();
        std::fs::create_dir_all(cold_dir)
            .map_err(|e| StaleError::io("creating the cold tier directory", cold_dir, e))?;
        let cold = object_store::local::LocalFileSystem::new_with_prefix(cold_dir)
            .map_err(|e| StaleError::ColdConfig(format!("{}: {e}", cold_dir.display())))?;
        Self::new(warm_dir, Arc::new(cold))
    }

    /// A tier store with the cold tier `config` describes.
    pub fn from_config(
        warm_dir: impl Into<PathBuf>,
        config: &ColdConfig,
    ) -> Result<Self, StaleError> {
        match config {
            ColdConfig::Local { path } => Self::local(warm_dir, path),
            #[cfg(feature = "s3")]
            ColdConfig::S3 {
                bucket,
                endpoint,
                region,
            } => Self::with_s3(warm_dir, bucket, endpoint.as_deref(), region.as_deref()),
            #[cfg(not(feature = "s3"))]
            ColdConfig::S3 { bucket, .. } => Err(StaleError::ColdConfig(format!(
                "bucket {bucket}: this build has no S3 support; rebuild symphony-host with \
                 the `s3` feature or use kind = \"local\""
            ))),
        }
    }

    /// A tier store whose cold tier is the S3 bucket `bucket`; credentials
    /// come from the `AWS_*` environment variables. `endpoint` is for
    /// S3-compatible stores (plain `http://` is allowed for it).
    #[cfg(feature = "s3")]
    pub fn with_s3(
        warm_dir: impl Into<PathBuf>,
        bucket: &str,
        endpoint: Option<&str>,
        region: Option<&str>,
    ) -> Result<Self, StaleError> {
        let mut builder = object_store::aws::AmazonS3Builder::from_env().with_bucket_name(bucket);
        if let Some(endpoint) = endpoint {
            builder = builder.with_endpoint(endpoint).with_allow_http(true);
        }
        if let Some(region) = region {
            builder = builder.with_region(region);
        }
        let cold = builder
            .build()
            .map_err(|e| StaleError::ColdConfig(format!("bucket {bucket}: {e}")))?;
        Self::new(warm_dir, Arc::new(cold))
    }

    /// Copies the file at `from` into `tier` (warm or cold) as artifact `id`,
    /// then reads the copy back and checks it. The source is left alone.
    pub fn archive(&self, id: &str, from: &Path, tier: Tier) -> Result<ArchiveReceipt, StaleError> {
        check_id(id)?;
        let source =
            File::open(from).map_err(|e| StaleError::io("opening artifact file", from, e))?;
        let mut source = HashingReader::new(BufReader::new(source));
        let stored_bytes = match tier {
            Tier::Hot => {
                return Err(StaleError::BadTier {
                    id: id.to_owned(),
                    tier,
                });
            }
            Tier::Warm => self.write_warm(id, &mut source, from)?,
            Tier::Cold => self.write_cold(id, &mut source, from)?,
        };
        let (bytes, sha256) = source.finish();
        let (copy_bytes, copy_sha) = self.hash_copy(id, tier)?;
        if (copy_bytes, &copy_sha) != (bytes, &sha256) {
            let _ = self.remove(id, tier);
            return Err(StaleError::Verify {
                id: id.to_owned(),
                tier,
                reason: format!(
                    "{bytes} bytes with SHA-256 {sha256} read, \
                     {copy_bytes} bytes with SHA-256 {copy_sha} stored"
                ),
            });
        }
        Ok(ArchiveReceipt {
            tier,
            bytes,
            stored_bytes,
            sha256,
        })
    }

    /// Writes artifact `id` from whichever tier holds it (warm first) to
    /// `to`, atomically, and returns the tier it came from.
    pub fn restore(&self, id: &str, to: &Path) -> Result<Tier, StaleError> {
        check_id(id)?;
        let tier = if self.contains(id, Tier::Warm)? {
            Tier::Warm
        } else if self.contains(id, Tier::Cold)? {
            Tier::Cold
        } else {
            return Err(StaleError::NotInTier {
                id: id.to_owned(),
                tier: Tier::Cold,
            });
        };
        let parent = to
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::create_dir_all(parent)
            .map_err(|e| StaleError::io("creating the restore directory", parent, e))?;
        let temp = tempfile::NamedTempFile::new_in(parent)
            .map_err(|e| StaleError::io("creating a temporary file in", parent, e))?;
        let mut out = BufWriter::new(temp);
        self.read_copy(id, tier, &mut out)
            .map_err(|e| e.or_io("writing restored artifact", to))?;
        let temp = out
            .into_inner()
            .map_err(|e| StaleError::io("writing restored artifact", to, e.into_error()))?;
        temp.as_file()
            .sync_all()
            .map_err(|e| StaleError::io("syncing restored artifact", to, e))?;
        temp.persist(to)
            .map_err(|e| StaleError::io("moving restored artifact into place at", to, e.error))?;
        sync_dir(parent);
        Ok(tier)
    }

    /// Moves artifact `id` from warm to cold: decompresses it to a staging
    /// file in the warm directory, archives and verifies that in cold, and
    /// only then removes the warm copy. Returns the warm copy's size.
    pub fn move_warm_to_cold(&self, id: &str) -> Result<u64, StaleError> {
        check_id(id)?;
        let warm = self.warm_path(id);
        let warm_size = std::fs::metadata(&warm)
            .map_err(|e| StaleError::io("reading warm copy", &warm, e))?
            .len();
        let staging = tempfile::NamedTempFile::new_in(&self.warm_dir)
            .map_err(|e| StaleError::io("creating a staging file in", &self.warm_dir, e))?;
        let mut out = BufWriter::new(staging.as_file());
        self.read_copy(id, Tier::Warm, &mut out)
            .map_err(|e| e.or_io("staging warm copy", staging.path()))?;
        out.flush()
            .map_err(|e| StaleError::io("staging warm copy", staging.path(), e))?;
        drop(out);
        self.archive(id, staging.path(), Tier::Cold)?;
        self.remove(id, Tier::Warm)?;
        Ok(warm_size)
    }

    /// Whether `tier` holds a copy of artifact `id` (the hot tier never does).
    pub fn contains(&self, id: &str, tier: Tier) -> Result<bool, StaleError> {
        check_id(id)?;
        match tier {
            Tier::Hot => Ok(false),
            Tier::Warm => Ok(self.warm_path(id).is_file()),
            Tier::Cold => match self.block_on(self.cold.head(&cold_path(id))) {
                Ok(_) => Ok(true),
                Err(object_store::Error::NotFound { .. }) => Ok(false),
                Err(source) => Err(StaleError::ObjectStore {
                    action: "lookup",
                    id: id.to_owned(),
                    source,
                }),
            },
        }
    }

    /// Removes `tier`'s copy of artifact `id`; removing a missing copy is not
    /// an error.
    pub fn remove(&self, id: &str, tier: Tier) -> Result<(), StaleError> {
        check_id(id)?;
        match tier {
            Tier::Hot => Ok(()),
            Tier::Warm => {
                let path = self.warm_path(id);
                match std::fs::remove_file(&path) {
                    Err(e) if e.kind() != io::ErrorKind::NotFound => {
                        Err(StaleError::io("removing warm copy", path, e))
                    }
                    _ => Ok(()),
                }
            }
            Tier::Cold => match self.block_on(self.cold.delete(&cold_path(id))) {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                Err(source) => Err(StaleError::ObjectStore {
                    action: "delete",
                    id: id.to_owned(),
                    source,
                }),
            },
        }
    }

    /// Runs an object-store future to completion on this store's runtime.
    /// Callers may themselves be inside a tokio runtime (an async host
    /// reading an archived artifact), where blocking on another runtime
    /// panics; there the future runs on a scoped thread of its own.
    fn block_on<T: Send>(&self, future: impl Future<Output = T> + Send) -> T {
        let runtime = self.runtime.as_ref().expect("only drop takes the runtime");
        if tokio::runtime::Handle::try_current().is_err() {
            return runtime.block_on(future);
        }
        std::thread::scope(|scope| {
            scope
                .spawn(|| runtime.block_on(future))
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
    }

    /// Where the warm copy of `id` lives.
    fn warm_path(&self, id: &str) -> PathBuf {
        self.warm_dir
            .join(&id[..2])
            .join(format!("{}.lz4", &id[2..]))
    }

    /// Compresses `source` into the warm tier; returns the compressed size.
    fn write_warm(&self, id: &str, source: &mut impl Read, from: &Path) -> Result<u64, StaleError> {
        let path = self.warm_path(id);
        let dir = path.parent().expect("warm paths have a shard directory");
        std::fs::create_dir_all(dir).map_err(|e| StaleError::io("creating warm shard", dir, e))?;
        let temp = tempfile::NamedTempFile::new_in(dir)
            .map_err(|e| StaleError::io("creating a temporary file in", dir, e))?;
        // The frame's content checksum makes a damaged warm copy fail on
        // restore instead of coming back wrong.
        let info = lz4_flex::frame::FrameInfo::new().content_checksum(true);
        let mut encoder =
            lz4_flex::frame::FrameEncoder::with_frame_info(info, BufWriter::new(temp));
        io::copy(source, &mut encoder).map_err(|e| StaleError::io("compressing", from, e))?;
        let temp = encoder
            .finish()
            .map_err(|e| StaleError::io("compressing", from, e.into()))?
            .into_inner()
            .map_err(|e| StaleError::io("writing warm copy", &path, e.into_error()))?;
        temp.as_file()
            .sync_all()
            .map_err(|e| StaleError::io("syncing warm copy", &path, e))?;
        let stored = temp.as_file().metadata().map(|m| m.len()).unwrap_or(0);
        temp.persist(&path)
            .map_err(|e| StaleError::io("moving warm copy into place at", &path, e.error))?;
        sync_dir(dir);
        Ok(stored)
    }

    /// Uploads `source` to the cold tier in parts; returns the size sent.
    fn write_cold(
        &self,
        id: &str,
        source: &mut (impl Read + Send),
        from: &Path,
    ) -> Result<u64, StaleError> {
        let location = cold_path(id);
        let store_err = |action| {
            move |source| StaleError::ObjectStore {
                action,
                id: id.to_owned(),
                source,
            }
        };
        let mut first =
            read_chunk(source, PART_SIZE).map_err(|e| StaleError::io("reading", from, e))?;
        let mut sent = first.len() as u64;
        if first.len() < PART_SIZE {
            // Small enough for one request.
            self.block_on(self.cold.put(&location, PutPayload::from(first)))
                .map_err(store_err("upload"))?;
            return Ok(sent);
        }
        self.block_on(async {
            let mut upload = self
                .cold
                .put_multipart(&location)
                .await
                .map_err(store_err("starting upload"))?;
            let result: Result<(), StaleError> = async {
                loop {
                    upload
                        .put_part(PutPayload::from(std::mem::take(&mut first)))
                        .await
                        .map_err(store_err("uploading part"))?;
                    first = read_chunk(source, PART_SIZE)
                        .map_err(|e| StaleError::io("reading", from, e))?;
                    if first.is_empty() {
                        break;
                    }
                    sent += first.len() as u64;
                }
                upload
                    .complete()
                    .await
                    .map_err(store_err("completing upload"))?;
                Ok(())
            }
            .await;
            if result.is_err() {
                let _ = upload.abort().await;
            }
            result
        })?;
        Ok(sent)
    }

    /// Streams the plain bytes of `tier`'s copy of `id` into `out`.
    fn read_copy(
        &self,
        id: &str,
        tier: Tier,
        out: &mut (impl Write + Send),
    ) -> Result<u64, CopyError> {
        match tier {
            Tier::Hot => Err(CopyError::Stale(StaleError::BadTier {
                id: id.to_owned(),
                tier,
            })),
            Tier::Warm => {
                let path = self.warm_path(id);
                let file = File::open(&path).map_err(|e| match e.kind() {
                    io::ErrorKind::NotFound => CopyError::Stale(StaleError::NotInTier {
                        id: id.to_owned(),
                        tier,
                    }),
                    _ => CopyError::Stale(StaleError::io("opening warm copy", &path, e)),
                })?;
                let mut decoder = lz4_flex::frame::FrameDecoder::new(BufReader::new(file));
                // Copied by hand to tell a damaged copy from a failing writer.
                let mut buf = vec![0u8; 64 * 1024];
                let mut total = 0u64;
                loop {
                    let n = match decoder.read(&mut buf) {
                        Ok(0) => return Ok(total),
                        Ok(n) => n,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        Err(e) => {
                            return Err(CopyError::Stale(StaleError::io(
                                "decompressing warm copy (damaged?)",
                                &path,
                                e,
                            )));
                        }
                    };
                    out.write_all(&buf[..n]).map_err(CopyError::Io)?;
                    total += n as u64;
                }
            }
            Tier::Cold => self.block_on(async {
                let get_err = |source| match source {
                    object_store::Error::NotFound { .. } => StaleError::NotInTier {
                        id: id.to_owned(),
                        tier,
                    },
                    source => StaleError::ObjectStore {
                        action: "download",
                        id: id.to_owned(),
                        source,
                    },
                };
                let result = self.cold.get(&cold_path(id)).await.map_err(get_err)?;
                let mut stream = result.into_stream();
                let mut total = 0u64;
                while let Some(chunk) = stream.next().await {
                    let chunk = chunk.map_err(get_err)?;
                    out.write_all(&chunk).map_err(CopyError::Io)?;
                    total += chunk.len() as u64;
                }
                Ok(total)
            }),
        }
    }

    /// The size and SHA-256 of `tier`'s copy of `id`, read back in full.
    fn hash_copy(&self, id: &str, tier: Tier) -> Result<(u64, String), StaleError> {
        let mut hasher = HashingWriter(Sha256::new());
        let bytes = self
            .read_copy(id, tier, &mut hasher)
            .map_err(|e| e.or_io("reading back the copy of", self.warm_path(id)))?;
        Ok((bytes, hex(&hasher.0.finalize())))
    }
}

/// A failure while copying between a tier and a writer: a Stale Manager
/// error, or the writer's own I/O error, which the caller names.
enum CopyError {
    /// Already described.
    Stale(StaleError),
    /// The writer failed.
    Io(io::Error),
}

impl From<StaleError> for CopyError {
    fn from(e: StaleError) -> Self {
        CopyError::Stale(e)
    }
}

impl CopyError {
    fn or_io(self, action: &'static str, path: impl Into<PathBuf>) -> StaleError {
        match self {
            CopyError::Stale(e) => e,
            CopyError::Io(e) => StaleError::io(action, path, e),
        }
    }
}

/// The cold-store location of `id`.
fn cold_path(id: &str) -> ObjectPath {
    ObjectPath::from(format!("objects/{id}"))
}

#[cfg(test)]
pub(crate) mod tests;
