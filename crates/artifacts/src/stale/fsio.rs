//! Small file and hashing helpers for the tiers and the trash.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;

use sha2::{Digest, Sha256};

/// Reads up to `size` bytes (fewer only at the end of `source`).
pub(crate) fn read_chunk(source: &mut impl Read, size: usize) -> io::Result<Vec<u8>> {
    let mut chunk = Vec::with_capacity(size);
    source.take(size as u64).read_to_end(&mut chunk)?;
    Ok(chunk)
}

/// Removes temporary files (`.tmp…`) an interrupted archive or move left in
/// the warm directory or its shards; best effort.
pub(crate) fn remove_temp_leftovers(warm_dir: &Path) {
    let Ok(top) = std::fs::read_dir(warm_dir) else {
        return;
    };
    for entry in top.flatten() {
        let path = entry.path();
        if path.is_dir() {
            for inner in std::fs::read_dir(&path).into_iter().flatten().flatten() {
                if inner.file_name().to_string_lossy().starts_with(".tmp") {
                    let _ = std::fs::remove_file(inner.path());
                }
            }
        } else if entry.file_name().to_string_lossy().starts_with(".tmp") {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Syncs a directory so a rename in it survives a crash; best effort.
pub(crate) fn sync_dir(dir: &Path) {
    if let Ok(dir) = File::open(dir) {
        let _ = dir.sync_all();
    }
}

/// Lowercase hex, as artifact ids are written.
pub(crate) use crate::objects_hex as hex;

/// A reader that hashes and counts what passes through it.
pub(crate) struct HashingReader<R> {
    /// The source.
    inner: R,
    /// The hash so far.
    hasher: Sha256,
    /// Bytes so far.
    count: u64,
}

impl<R> HashingReader<R> {
    pub(crate) fn new(inner: R) -> Self {
        HashingReader {
            inner,
            hasher: Sha256::new(),
            count: 0,
        }
    }

    pub(crate) fn finish(self) -> (u64, String) {
        (self.count, hex(&self.hasher.finalize()))
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
}

/// A writer that only hashes.
pub(crate) struct HashingWriter(pub(crate) Sha256);

impl Write for HashingWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
