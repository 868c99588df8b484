//! The Artifact Store: content-addressed, deduplicated, optionally
//! encrypted storage for node outputs, checkpoints and extension files.
//!
//! # Core concepts
//!
//! - **Objects** (`objects.rs`): content is named by the SHA-256 of its
//!   plaintext and kept at `<root>/objects/<2 hex digits>/<62 hex digits>`.
//!   Writes stream through a temporary file that is synced, renamed into
//!   place and whose directory is synced, so a crash never leaves a visible
//!   partial object; leftovers are removed when the store opens.
//! - **Streaming**: [`ArtifactStore::put_reader`] and
//!   [`ArtifactStore::get_to`] / [`ArtifactStore::open_artifact`] move content
//!   of any size without holding it in memory, and reading checks the content
//!   against its id. [`ArtifactStore::put`] and [`ArtifactStore::get`] are the
//!   in-memory conveniences.
//! - **Deduplication** ([`DedupStats`]): the same content is kept once.
//! - **Encryption at rest** (`crypto.rs`): with an [`ArtifactKey`] (from a key file or
//!   `SYMPHONY_ARTIFACT_KEY`) every object is AES-256-GCM sealed in 64 KiB
//!   chunks; damage, truncation or a wrong key is an
//!   [`ArtifactError::Integrity`] naming the artifact. Ids stay the plaintext
//!   hash, so dedup works the same.
//!
//! ```no_run
//! use symphony_host::{ArtifactStore, StoreOptions};
//! # fn main() -> Result<(), symphony_host::ArtifactError> {
//! let store = ArtifactStore::open("/tmp/artifacts", StoreOptions::from_env()?)?;
//! let outcome = store.put_reader(std::io::Cursor::new(b"report".to_vec()))?;
//! assert_eq!(store.get(&outcome.id)?, b"report");
//! # Ok(())
//! # }
//! ```

mod crypto;
mod error;
mod objects;
mod stats;
mod store;
#[cfg(test)]
mod tests;

pub use crypto::{ARTIFACT_KEY_ENV, ArtifactKey};
pub use error::ArtifactError;
pub use stats::DedupStats;
pub use store::{ArtifactReader, ArtifactStore, PutOutcome, StoreOptions};
