//! The seam between the Stale Manager and the artifact store.

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::StaleError;

/// What the Stale Manager knows about one artifact (the artifact store's
/// catalog fills it in).
#[derive(Debug, Clone, PartialEq)]
pub struct ArtifactFacts {
    /// The artifact id: 64 lowercase hex digits of the plaintext's SHA-256.
    pub id: String,
    /// The plaintext size in bytes.
    pub size: u64,
    /// The content type, when known (e.g. `"application/json"`).
    pub content_type: Option<String>,
    /// When the artifact was first stored, unix milliseconds.
    pub created_ms: i64,
    /// When the artifact was last read, unix milliseconds; `None` if never.
    pub last_access_ms: Option<i64>,
    /// How many times the artifact has been read.
    pub access_count: u64,
    /// A quality mark in `0..=1` (values outside are clamped when scoring).
    pub quality: f64,
    /// Free-form tags, e.g. `"training"` or `"keep"`.
    pub tags: Vec<String>,
    /// Pinned by a user: never deleted, never moved out of the hot tier.
    pub pinned: bool,
    /// Versions and derived-from links pointing at this artifact.
    pub references: u64,
    /// Times the same content was stored (dedup hits + 1).
    pub copies: u64,
    /// The tier the artifact lives in now.
    pub tier: Tier,
}

/// A storage tier, from fastest to cheapest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    /// The artifact store's own object directory.
    Hot,
    /// A local directory of compressed copies.
    Warm,
    /// An object store (a local directory or S3).
    Cold,
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Tier::Hot => "hot",
            Tier::Warm => "warm",
            Tier::Cold => "cold",
        })
    }
}

/// Where the cleaner put an artifact; the store records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// The artifact now lives in this tier.
    Tier(Tier),
    /// The artifact was moved to the trash at this unix-millisecond time and
    /// can be brought back until the undo window closes.
    Trashed {
        /// When it was trashed, unix milliseconds.
        at_ms: i64,
    },
    /// The artifact is gone for good (purged from the trash).
    Deleted,
}

/// The store the cleaner acts on; the artifact store implements it.
pub trait Shelf: Send + Sync {
    /// Facts about every artifact the store holds, in any tier.
    fn facts(&self) -> Result<Vec<ArtifactFacts>, StaleError>;
    /// Where the hot object file for `id` lives (it may not exist when the
    /// artifact is in another tier). The file is treated as opaque bytes.
    fn object_path(&self, id: &str) -> PathBuf;
    /// Records that the artifact `id` now has `placement`.
    fn set_placement(&self, id: &str, placement: Placement) -> Result<(), StaleError>;
    /// Moves artifact `seen.id` to the trash with `move_content` and records
    /// it [`Placement::Trashed`] at `at_ms`, but only if nothing touched it
    /// since `seen` was read: no put of the same content, read, pin, retag
    /// or move, each of which the store holds off until this returns.
    /// `Ok(false)` when it had changed, and nothing was moved: a decision
    /// taken on a snapshot must not trash content a put has just been told
    /// is stored.
    ///
    /// The default suits a shelf nobody else writes to: no check.
    fn trash_if_unchanged(
        &self,
        seen: &ArtifactFacts,
        at_ms: i64,
        move_content: &mut dyn FnMut() -> Result<(), StaleError>,
    ) -> Result<bool, StaleError> {
        move_content()?;
        self.set_placement(&seen.id, Placement::Trashed { at_ms })?;
        Ok(true)
    }
}
