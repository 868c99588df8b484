//! The cleaner: carries the engine's decisions out on a [`Shelf`].
//!
//! - **Archive**: copy the object file to the tier, read the copy back and
//!   verify it ([`TierStore::archive`]), then remove the hot file, then
//!   record the new placement. A warm artifact going cold is decompressed to
//!   a staging file, archived to cold and verified before its warm copy goes.
//! - **Delete**: move the object file into the [`Trash`] and record
//!   [`Placement::Trashed`], through [`Shelf::trash_if_unchanged`], so an
//!   artifact stored again, read or pinned since the decision stays. An
//!   artifact in warm or cold is first restored into the trash's staging
//!   area, so undo always brings back a hot file.
//! - Afterwards the trash is purged of entries past their window and those
//!   are recorded as [`Placement::Deleted`].
//!
//! A step that fails leaves the artifact where it was: the hot file is only
//! removed once its copy is verified. Failures are collected per artifact in
//! the report; one bad artifact does not stop the rest. Every archive or
//! delete first passes the throttle (bytes and operations per second).

use std::sync::Arc;
use std::time::Duration;

use super::throttle::Throttle;
use super::{
    Action, ArtifactFacts, Clock, Decision, Placement, RetentionPolicy, Shelf, StaleError,
    SystemClock, Tier, TierStore, Trash, TrashEntry, evaluate, unix_now_ms,
};

/// How to run [`clean`].
#[derive(Clone)]
pub struct CleanOptions {
    /// Only decide and report; change nothing.
    pub dry_run: bool,
    /// "Now" for the policy's age and idleness rules, unix milliseconds.
    pub now_ms: i64,
    /// The clock the throttle reads and sleeps on. Default: [`SystemClock`].
    pub clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for CleanOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CleanOptions")
            .field("dry_run", &self.dry_run)
            .field("now_ms", &self.now_ms)
            .finish_non_exhaustive()
    }
}

impl CleanOptions {
    /// A real run at `now_ms` on the system clock.
    pub fn at(now_ms: i64) -> Self {
        CleanOptions {
            dry_run: false,
            now_ms,
            clock: Arc::new(SystemClock::default()),
        }
    }

    /// A real run now.
    pub fn now() -> Self {
        Self::at(unix_now_ms())
    }

    /// A dry run now.
    pub fn dry_run_now() -> Self {
        CleanOptions {
            dry_run: true,
            ..Self::now()
        }
    }
}

/// One artifact whose action failed; it was left where it was.
#[derive(Debug)]
pub struct CleanFailure {
    /// The artifact; empty when the failure concerns no single artifact
    /// (purging the trash).
    pub id: String,
    /// What went wrong.
    pub error: StaleError,
}

/// What a [`clean`] did (or, in a dry run, would do).
#[derive(Debug, Default)]
pub struct CleanReport {
    /// Whether this was a dry run (nothing was changed).
    pub dry_run: bool,
    /// The engine's decision for every artifact.
    pub decisions: Vec<Decision>,
    /// Artifacts moved to a colder tier, with the tier.
    pub archived: Vec<(String, Tier)>,
    /// Artifacts moved to the trash.
    pub deleted: Vec<String>,
    /// Trash entries purged for good because their window closed.
    pub purged: Vec<String>,
    /// Bytes of object files removed from the hot tier (archived or
    /// trashed) plus warm copies moved to cold; in a dry run, the sizes of
    /// hot artifacts that would go.
    pub bytes_freed: u64,
    /// Artifacts whose action did not apply, with why (e.g. the hot file was
    /// already gone).
    pub skipped: Vec<(String, &'static str)>,
    /// Artifacts whose action failed.
    pub errors: Vec<CleanFailure>,
    /// Time spent waiting on the throttle.
    pub throttled: Duration,
}

/// Evaluates `policy` against everything on `shelf` and carries the
/// decisions out (see the module docs). Fails only if the shelf cannot list
/// its artifacts; per-artifact failures go into the report.
pub fn clean(
    shelf: &dyn Shelf,
    policy: &RetentionPolicy,
    tiers: &TierStore,
    trash: &Trash,
    options: &CleanOptions,
) -> Result<CleanReport, StaleError> {
    let facts = shelf.facts()?;
    let decisions = evaluate(policy, &facts, options.now_ms);
    let mut report = CleanReport {
        dry_run: options.dry_run,
        ..CleanReport::default()
    };
    let mut throttle = Throttle::new(&policy.throttle, options.clock.clone());
    for (f, d) in facts.iter().zip(&decisions) {
        let outcome = match d.action {
            Action::Keep => continue,
            _ if options.dry_run => Ok(Done::Freed(if f.tier == Tier::Hot { f.size } else { 0 })),
            Action::Archive(tier) => {
                throttle.admit(f.size);
                archive_one(shelf, tiers, f, tier)
            }
            Action::Delete => {
                throttle.admit(f.size);
                delete_one(shelf, tiers, trash, f, options.now_ms)
            }
        };
        match outcome {
            Ok(Done::Freed(freed)) => {
                report.bytes_freed += freed;
                match d.action {
                    Action::Archive(tier) => report.archived.push((f.id.clone(), tier)),
                    _ => report.deleted.push(f.id.clone()),
                }
            }
            Ok(Done::Skipped(why)) => report.skipped.push((f.id.clone(), why)),
            Err(error) => report.errors.push(CleanFailure {
                id: f.id.clone(),
                error,
            }),
        }
    }
    if !options.dry_run {
        match trash.purge(options.now_ms) {
            Ok(purged) => {
                for entry in purged {
                    if let Err(error) = shelf.set_placement(&entry.id, Placement::Deleted) {
                        report.errors.push(CleanFailure {
                            id: entry.id.clone(),
                            error,
                        });
                    }
                    report.purged.push(entry.id);
                }
            }
            Err(error) => report.errors.push(CleanFailure {
                id: String::new(),
                error,
            }),
        }
    }
    report.throttled = throttle.slept();
    report.decisions = decisions;
    Ok(report)
}

/// Brings trashed artifact `id` back to its hot path on `shelf` and records
/// it as hot again, if its undo window is still open at `now_ms`.
pub fn undo_delete(
    shelf: &dyn Shelf,
    trash: &Trash,
    id: &str,
    now_ms: i64,
) -> Result<TrashEntry, StaleError> {
    let entry = trash.undo(id, &shelf.object_path(id), now_ms)?;
    shelf.set_placement(id, Placement::Tier(Tier::Hot))?;
    Ok(entry)
}

/// What carrying out one decision came to.
enum Done {
    /// Done, freeing this many bytes.
    Freed(u64),
    /// Not applicable, for this reason.
    Skipped(&'static str),
}

/// Why an artifact the store lists cannot be moved.
fn missing(f: &ArtifactFacts) -> Done {
    Done::Skipped(match f.tier {
        Tier::Hot => "the hot object file is missing",
        _ => "no copy in the tier the store says it is in",
    })
}

/// The hot object file of `f` and its size, if it is there.
fn hot_file(shelf: &dyn Shelf, f: &ArtifactFacts) -> Option<(std::path::PathBuf, u64)> {
    let hot = shelf.object_path(&f.id);
    let size = std::fs::metadata(&hot).ok()?.len();
    Some((hot, size))
}

/// Why a deletion decided on a snapshot was dropped.
const CHANGED: Done = Done::Skipped("stored again, read, pinned or moved since the decision");

/// Archives one artifact.
fn archive_one(
    shelf: &dyn Shelf,
    tiers: &TierStore,
    f: &ArtifactFacts,
    target: Tier,
) -> Result<Done, StaleError> {
    let id = &f.id;
    match f.tier {
        Tier::Hot => {
            let Some((hot, size)) = hot_file(shelf, f) else {
                return Ok(missing(f));
            };
            tiers.archive(id, &hot, target)?;
            // Recorded before the hot file goes: a crash in between leaves
            // a spare hot copy of an archived artifact, never a row saying
            // hot whose content is only in a tier.
            shelf.set_placement(id, Placement::Tier(target))?;
            std::fs::remove_file(&hot)
                .map_err(|e| StaleError::io("removing archived hot file", &hot, e))?;
            Ok(Done::Freed(size))
        }
        Tier::Warm if target == Tier::Cold => {
            if !tiers.contains(id, Tier::Warm)? {
                return Ok(missing(f));
            }
            let freed = tiers.move_warm_to_cold(id)?;
            shelf.set_placement(id, Placement::Tier(Tier::Cold))?;
            Ok(Done::Freed(freed))
        }
        _ => Ok(Done::Skipped("already in that tier or a colder one")),
    }
}

/// Trashes one artifact, unless it changed since `f` was read.
fn delete_one(
    shelf: &dyn Shelf,
    tiers: &TierStore,
    trash: &Trash,
    f: &ArtifactFacts,
    now_ms: i64,
) -> Result<Done, StaleError> {
    let id = &f.id;
    match f.tier {
        Tier::Hot => {
            let Some((hot, size)) = hot_file(shelf, f) else {
                return Ok(missing(f));
            };
            let mut move_hot = || trash.put(id, &hot, now_ms).map(drop);
            Ok(if shelf.trash_if_unchanged(f, now_ms, &mut move_hot)? {
                Done::Freed(size)
            } else {
                CHANGED
            })
        }
        tier => {
            if !tiers.contains(id, tier)? {
                return Ok(missing(f));
            }
            // Stage a hot-form copy in the trash so undo restores a hot file.
            let staging = trash.staging_path(id);
            tiers.restore(id, &staging)?;
            let mut size = 0;
            let mut move_staged = || {
                size = trash.put(id, &staging, now_ms)?.size;
                Ok(())
            };
            if !shelf.trash_if_unchanged(f, now_ms, &mut move_staged)? {
                let _ = std::fs::remove_file(&staging);
                return Ok(CHANGED);
            }
            tiers.remove(id, tier)?;
            Ok(Done::Freed(size))
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
