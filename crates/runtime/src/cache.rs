//! The on-disk cache of compiled components.
//!
//! Compiling a component with Cranelift takes tens of milliseconds per 100 KB;
//! loading its serialized machine code takes well under one. Entries are keyed
//! by the SHA-256 of the component bytes together with a fingerprint of the
//! engine settings, so a changed engine never loads code compiled for another.

use std::fs;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

use crate::LoadError;

/// How often the cache was used. Returned by `Host::cache_stats`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Components compiled with Cranelift (cache misses).
    pub compiled: u64,
    /// Components loaded from the cache without compiling.
    pub hits: u64,
}

/// Compiled components on disk, under `<home>/cache/components`.
pub struct ComponentCache {
    dir: PathBuf,
    fingerprint: String,
    compiled: AtomicU64,
    hits: AtomicU64,
}

/// Lowercase hex of a SHA-256 digest.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl ComponentCache {
    pub fn new(engine: &Engine, dir: PathBuf) -> Self {
        let mut hasher = DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        ComponentCache {
            dir,
            fingerprint: format!("{:016x}", hasher.finish()),
            compiled: AtomicU64::new(0),
            hits: AtomicU64::new(0),
        }
    }

    pub fn stats(&self) -> CacheStats {
        CacheStats {
            compiled: self.compiled.load(Ordering::Relaxed),
            hits: self.hits.load(Ordering::Relaxed),
        }
    }

    /// Returns the compiled component for `bytes` (read from `path`) and the
    /// SHA-256 of the bytes, compiling only on a cache miss.
    pub fn load(
        &self,
        engine: &Engine,
        bytes: &[u8],
        path: &Path,
    ) -> Result<(Component, String), LoadError> {
        check_header(bytes, path)?;
        let hash = sha256_hex(bytes);
        let entry = self
            .dir
            .join(format!("{}-{}.cwasm", &hash[..32], self.fingerprint));
        if let Some(component) = self.cached(engine, &entry) {
            return Ok((component, hash));
        }
        // One compile per entry across threads and processes: a large
        // component (a Python guest) takes tens of seconds, and hosts
        // started together (tests, a service and a CLI) would each pay it.
        // Whoever waits for the lock finds the entry written.
        let _lock = lock_entry(&self.dir, &entry);
        if let Some(component) = self.cached(engine, &entry) {
            return Ok((component, hash));
        }
        let component = Component::new(engine, bytes).map_err(|e| LoadError::Invalid {
            path: path.to_path_buf(),
            reason: format!("{e:#}"),
        })?;
        self.compiled.fetch_add(1, Ordering::Relaxed);
        match component.serialize() {
            Ok(code) => {
                if let Err(e) = write_atomically(&self.dir, &entry, &code) {
                    tracing::warn!(entry = %entry.display(), "cannot write the compile cache: {e}");
                }
            }
            Err(e) => tracing::warn!("cannot serialize compiled component: {e:#}"),
        }
        Ok((component, hash))
    }
}

impl ComponentCache {
    /// The compiled component in `entry`, if it is there and usable.
    fn cached(&self, engine: &Engine, entry: &Path) -> Option<Component> {
        if !entry.is_file() {
            return None;
        }
        // SAFETY: the file was written by `load` from `Component::serialize`
        // for an engine with this fingerprint, and its name carries the hash
        // of the source bytes.
        match unsafe { Component::deserialize_file(engine, entry) } {
            Ok(component) => {
                self.hits.fetch_add(1, Ordering::Relaxed);
                Some(component)
            }
            Err(e) => {
                tracing::warn!(
                    entry = %entry.display(),
                    "compiled-component cache entry unusable, recompiling: {e:#}"
                );
                None
            }
        }
    }
}

/// Holds an exclusive lock on `<entry>.lock` until dropped; `None` when the
/// lock file cannot be made (a read-only cache), and then compiles run
/// unserialised, as before.
fn lock_entry(dir: &Path, entry: &Path) -> Option<fs::File> {
    fs::create_dir_all(dir).ok()?;
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(entry.with_extension("lock"))
        .ok()?;
    file.lock().ok()?;
    Some(file)
}

/// Rejects bytes that are not a component with a message saying what they are.
fn check_header(bytes: &[u8], path: &Path) -> Result<(), LoadError> {
    let reason = match bytes {
        [0, b'a', b's', b'm', 0x0d, 0x00, 0x01, 0x00, ..] => return Ok(()),
        [0, b'a', b's', b'm', 0x01, 0x00, 0x00, 0x00, ..] => {
            "it is a core WebAssembly module; build extensions for wasm32-wasip2 (or run \
             `wasm-tools component new`) to get a component"
                .to_string()
        }
        [0, b'a', b's', b'm', ..] => {
            "it has an unsupported WebAssembly version or layer".to_string()
        }
        _ if bytes.len() < 8 => format!("it is only {} bytes long", bytes.len()),
        _ => "it does not start with the WebAssembly magic bytes \\0asm".to_string(),
    };
    Err(LoadError::NotAComponent {
        path: path.to_path_buf(),
        reason,
    })
}

/// Writes `bytes` to `path` so that readers see either nothing or all of it.
fn write_atomically(dir: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests;
