//! The Stale Manager: decides which artifacts have outlived their value and
//! cleans them up — moving idle ones to cheaper tiers, trashing worthless ones
//! with an undo window — without ever losing a protected artifact.
//!
//! # Core concepts
//!
//! - **The seam** ([`Shelf`], [`ArtifactFacts`]): the Stale Manager knows
//!   nothing about how the artifact store keeps its catalog. The store lists
//!   what it knows about each artifact, names the hot object file for an id
//!   and records where an artifact went ([`Placement`]).
//! - **Policies** ([`RetentionPolicy`], `policy.rs`): a strict TOML file.
//!   The default deletes nothing and archives nothing.
//! - **Scoring** ([`value_score`], `score.rs`): a value in `0..=1` from
//!   recency, frequency, quality, training value and uniqueness.
//! - **The evaluator** ([`evaluate`], `evaluate.rs`): a pure function from a policy
//!   and facts to one [`Decision`] per artifact, each with its reasons.
//!   Protected artifacts (pinned, keep-tagged, training data when preserved)
//!   are never deleted.
//! - **Tiers** ([`TierStore`], `tiers.rs`): warm is a local directory of LZ4
//!   frames, cold is any [`object_store::ObjectStore`].
//! - **Trash** ([`Trash`], `trash.rs`): deleting is a rename into the trash
//!   with a manifest; [`Trash::undo`] within the window, [`Trash::purge`] after.
//! - **The cleaner** ([`clean`], `cleaner.rs`): carries decisions out,
//!   throttled, copy-verify-then-remove, or only reports in a dry run.
//! - **Scheduling** ([`Schedule`], [`StaleManager`], `schedule.rs`): runs the
//!   cleaner on a background thread at intervals, optionally only off-peak.
//!
//! ```no_run
//! use symphony_artifacts::stale::{CleanOptions, RetentionPolicy, Shelf, TierStore, Trash, clean};
//! # fn demo(shelf: &dyn Shelf) -> Result<(), symphony_artifacts::stale::StaleError> {
//! let policy = RetentionPolicy::from_toml_str("max_age_days = 90\nmin_access_count = 1")?;
//! let tiers = TierStore::local("/srv/symphony/warm", "/srv/symphony/cold")?;
//! let trash = Trash::open("/srv/symphony/trash", policy.trash_days)?;
//! let report = clean(shelf, &policy, &tiers, &trash, &CleanOptions::dry_run_now())?;
//! for decision in &report.decisions {
//!     println!("{decision}");
//! }
//! # Ok(())
//! # }
//! ```

mod cleaner;
mod error;
mod evaluate;
mod facts;
mod fsio;
mod retention_policy;
mod schedule;
mod score;
mod throttle;
mod tiers;
mod trash;

pub use cleaner::{CleanFailure, CleanOptions, CleanReport, clean, undo_delete};
pub use error::StaleError;
pub use evaluate::{Action, Decision, Reason, evaluate};
pub use facts::{ArtifactFacts, Placement, Shelf, Tier};
pub use retention_policy::{
    ColdConfig, RetentionPolicy, SchedulePolicy, ThrottlePolicy, Weights, retention_schema,
};
pub use schedule::{OffPeakWindow, Schedule, StaleManager};
pub use score::value_score;
pub use throttle::{Clock, SystemClock};
pub use tiers::{ArchiveReceipt, TierStore};
pub use trash::{Trash, TrashEntry};

/// Milliseconds in a day.
pub(crate) const DAY_MS: i64 = 86_400_000;

/// Refuses anything but an artifact id before it reaches a path.
pub(crate) fn check_id(id: &str) -> Result<(), StaleError> {
    if crate::is_id(id) {
        Ok(())
    } else {
        Err(StaleError::BadId(id.to_owned()))
    }
}

/// The current time in unix milliseconds.
pub(crate) use crate::now_ms as unix_now_ms;
