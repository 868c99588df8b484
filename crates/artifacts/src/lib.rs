//! The Artifact Store: content-addressed, deduplicated, optionally
//! encrypted storage for node outputs, checkpoints and extension files.
//!
//! # Core concepts
//!
//! - **Objects** (`objects.rs`): content is named by the SHA-256 of its
//!   plaintext and kept at `<root>/objects/<2 hex digits>/<62 hex digits>`.
//!   Writes stream through a temporary file that is synced, renamed into
//!   place and whose directory is synced, so a crash never leaves a visible
//!   partial object; leftovers are removed when the store opens. A batch
//!   ([`ArtifactStore::put_batch`]) keeps its contents of up to 256 KiB in
//!   one pack file (`<root>/objects/packs/*.pack`, `objects/pack.rs`),
//!   read in place; an object that must be moved or removed (by retention)
//!   is first made a file of its own.
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
//! - **Search** ([`ArtifactStore::search`], `indexer.rs`): a put queues its
//!   artifact for the Tantivy index in its own catalog transaction and
//!   returns; a background thread indexes the queue, and a search indexes
//!   what is still queued first, so it finds everything put before it.
//!   [`ArtifactStore::index_backlog`] says how much is waiting.
//!
//! ```
//! use symphony_artifacts::{ArtifactStore, StoreOptions};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let store = ArtifactStore::open(dir.path(), StoreOptions::default())?;
//! let outcome = store.put_reader(std::io::Cursor::new(b"report".to_vec()))?;
//! assert_eq!(store.get(&outcome.id)?, b"report");
//! # Ok(())
//! # }
//! ```

mod catalog;
mod content;
mod crypto;
mod dedup;
mod diff;
mod error;
mod indexer;
mod indexing;
mod lineage;
mod meta;
mod objects;
mod quality;
mod read_cache;
mod retention;
mod search;
pub mod sqlite;
pub mod stale;
mod store;
#[cfg(test)]
mod tests;
mod verify;

pub use content::{ArtifactReader, PutOutcome, StoreOptions};
pub use crypto::{ARTIFACT_KEY_ENV, ArtifactKey};
pub use dedup::DedupStats;
pub use diff::TextDiff;
pub use error::ArtifactError;
pub use meta::{ArtifactInfo, ArtifactMeta, ListQuery, Location, VersionInfo};
pub use quality::Quality;
pub use search::{
    Highlight, IndexDoc, RebuildReason, SearchHit, SearchIndex, SearchPage, SearchQuery,
};
pub use store::ArtifactStore;
pub use verify::VerifyReport;

pub(crate) use meta::now_ms;
pub use objects::content_id;
pub(crate) use objects::hex as objects_hex;
pub(crate) use objects::is_id;
