//! The Artifact Store as the Stale Manager's [`Shelf`]: retention policies
//! applied to the catalog, archived content read back transparently, and
//! the trash with its undo window.
//!
//! Layout under the store's root: `warm/` (LZ4 copies), `cold/` (the local
//! cold tier unless a policy names another, remembered in `cold.json`) and
//! `trash/`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};

use super::meta::{self, ArtifactInfo, Location};
use super::{ArtifactError, ArtifactStore};
use crate::stale::{
    self, ArtifactFacts, CleanOptions, CleanReport, ColdConfig, Placement, RetentionPolicy, Shelf,
    StaleError, StaleManager, Tier, TierStore, Trash, TrashEntry,
};

/// The file remembering which cold tier archived artifacts went to.
const COLD_CONFIG: &str = "cold.json";

impl ArtifactStore {
    /// Applies `policy` to every artifact: archives idle ones to the warm or
    /// cold tier, moves worthless ones to the trash, purges the trash past
    /// its undo window. A dry run only reports the decisions. Pinned,
    /// keep-tagged and training artifacts are never deleted.
    pub fn clean(
        &self,
        policy: &RetentionPolicy,
        dry_run: bool,
    ) -> Result<CleanReport, ArtifactError> {
        if let Some(cold) = &policy.cold
            && !dry_run
        {
            self.set_cold_tier(cold)?;
        }
        self.flush_reads()?;
        let tiers = self.tiers()?;
        let trash = self.trash(policy.trash_days)?;
        let options = if dry_run {
            CleanOptions::dry_run_now()
        } else {
            CleanOptions::now()
        };
        Ok(stale::clean(self, policy, &tiers, &trash, &options)?)
    }

    /// Brings trashed artifact `id` back, if it was trashed less than
    /// `trash_days` ago.
    pub fn undo_delete(&self, id: &str, trash_days: u32) -> Result<TrashEntry, ArtifactError> {
        super::objects::check_id(id)?;
        let trash = self.trash(trash_days)?;
        Ok(stale::undo_delete(self, &trash, id, meta::now_ms())?)
    }

    /// Archives go to `config` from now on (remembered across opens);
    /// artifacts already archived must still be reachable there.
    pub fn set_cold_tier(&self, config: &ColdConfig) -> Result<(), ArtifactError> {
        let path = self.root().join(COLD_CONFIG);
        let text = serde_json::to_string_pretty(config)
            .map_err(|e| ArtifactError::Invalid(format!("cold tier configuration: {e}")))?;
        if std::fs::read_to_string(&path).ok().as_deref() == Some(text.as_str()) {
            return Ok(());
        }
        let tiers = TierStore::from_config(self.root().join("warm"), config)?;
        write_atomically(&path, text.as_bytes())?;
        *self.tiers.lock().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(tiers));
        Ok(())
    }

    /// The tier store, opened on first use.
    fn tiers(&self) -> Result<Arc<TierStore>, ArtifactError> {
        let mut slot = self.tiers.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(tiers) = &*slot {
            return Ok(tiers.clone());
        }
        let path = self.root().join(COLD_CONFIG);
        let config = match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| {
                ArtifactError::Invalid(format!(
                    "{}: {e}; fix or remove it (archived artifacts are then looked for in {})",
                    path.display(),
                    self.root().join("cold").display()
                ))
            })?,
            Err(_) => ColdConfig::Local {
                path: self.root().join("cold"),
            },
        };
        let tiers = Arc::new(TierStore::from_config(self.root().join("warm"), &config)?);
        *slot = Some(tiers.clone());
        Ok(tiers)
    }

    /// Runs `policy` on this store in the background on the policy's
    /// `[schedule]` (an interval, optionally only inside an off-peak window)
    /// until the returned manager is dropped. The manager holds the store
    /// weakly: it never keeps a dropped store alive, and stops finding
    /// anything to do once the store is gone.
    pub fn start_retention(
        self: &Arc<Self>,
        policy: RetentionPolicy,
    ) -> Result<StaleManager, StaleError> {
        let (tiers, trash) = self
            .retention_parts(&policy)
            .map_err(|e| StaleError::Shelf(e.to_string()))?;
        StaleManager::start(
            Arc::new(WeakShelf(Arc::downgrade(self))),
            policy,
            tiers,
            trash,
        )
    }

    /// The tiers and trash a background [`StaleManager`] running `policy`
    /// on this store works with.
    fn retention_parts(
        &self,
        policy: &RetentionPolicy,
    ) -> Result<(Arc<TierStore>, Arc<Trash>), ArtifactError> {
        if let Some(cold) = &policy.cold {
            self.set_cold_tier(cold)?;
        }
        Ok((self.tiers()?, Arc::new(self.trash(policy.trash_days)?)))
    }

    /// Removes any warm or cold copy of a forgotten artifact (one left by
    /// an archive that was read back before the artifact was trashed), so
    /// deleted content does not live on in a tier.
    pub(crate) fn drop_tier_copies(&self, id: &str) {
        let Ok(tiers) = self.tiers() else {
            return;
        };
        for tier in [Tier::Warm, Tier::Cold] {
            if matches!(tiers.contains(id, tier), Ok(true))
                && let Err(e) = tiers.remove(id, tier)
            {
                tracing::warn!(id, %tier, "could not remove a deleted artifact's tier copy: {e}");
            }
        }
    }

    fn trash(&self, trash_days: u32) -> Result<Trash, ArtifactError> {
        Ok(Trash::open(self.root().join("trash"), trash_days)?)
    }

    /// Copies artifact `id` back into the object tree if it was archived;
    /// `false` when it is not in a tier.
    ///
    /// Whatever the catalog says, a missing object with a row is looked
    /// for in the tiers: a crash between archiving and recording must not
    /// strand content.
    pub(crate) fn rehydrate(&self, id: &str) -> Result<bool, ArtifactError> {
        match self.catalog.location(id)? {
            Some(Location::Warm | Location::Cold | Location::Hot) => {}
            Some(Location::Trashed) | None => return Ok(false),
        }
        let path = self.content.object_path(id)?;
        let tier = match self.tiers()?.restore(id, &path) {
            Ok(tier) => tier,
            Err(StaleError::NotInTier { .. }) => return Ok(false),
            Err(e) => return Err(e.into()),
        };
        tracing::debug!(id, %tier, "restored an archived artifact");
        self.catalog.rehydrated(id, meta::now_ms())?;
        Ok(true)
    }
}

/// A store held weakly, for a manager running in the background.
struct WeakShelf(Weak<ArtifactStore>);

impl WeakShelf {
    fn store(&self) -> Result<Arc<ArtifactStore>, StaleError> {
        self.0
            .upgrade()
            .ok_or_else(|| StaleError::Shelf("the artifact store has been closed".into()))
    }
}

impl Shelf for WeakShelf {
    fn facts(&self) -> Result<Vec<ArtifactFacts>, StaleError> {
        self.store()?.facts()
    }

    fn object_path(&self, id: &str) -> PathBuf {
        match self.store() {
            Ok(store) => store.object_path(id),
            // Names no object: the cleaner finds nothing there and skips.
            Err(_) => PathBuf::from("/nonexistent/symphony-store-closed"),
        }
    }

    fn set_placement(&self, id: &str, placement: Placement) -> Result<(), StaleError> {
        self.store()?.set_placement(id, placement)
    }

    fn trash_if_unchanged(
        &self,
        seen: &ArtifactFacts,
        at_ms: i64,
        move_content: &mut dyn FnMut() -> Result<(), StaleError>,
    ) -> Result<bool, StaleError> {
        self.store()?.trash_if_unchanged(seen, at_ms, move_content)
    }
}

impl Shelf for ArtifactStore {
    fn facts(&self) -> Result<Vec<ArtifactFacts>, StaleError> {
        self.flush_reads().map_err(shelf_error)?;
        let all = self.catalog.all().map_err(shelf_error)?;
        Ok(all.into_iter().filter_map(facts_of).collect())
    }

    fn object_path(&self, id: &str) -> PathBuf {
        // The cleaner checks ids before asking; a bad one gets a path that
        // names no object.
        self.content
            .object_path(id)
            .unwrap_or_else(|_| self.root().join("objects").join("invalid-id"))
    }

    fn set_placement(&self, id: &str, placement: Placement) -> Result<(), StaleError> {
        let now = meta::now_ms();
        let location = match placement {
            Placement::Tier(Tier::Hot) => Location::Hot,
            Placement::Tier(Tier::Warm) => Location::Warm,
            Placement::Tier(Tier::Cold) => Location::Cold,
            Placement::Trashed { at_ms } => {
                self.cache.remove(id);
                // The catalog first: a writer indexing this id (queued by
                // this process) must find it trashed.
                self.catalog
                    .set_location(id, Location::Trashed, at_ms)
                    .map_err(shelf_error)?;
                self.unindex(id);
                return Ok(());
            }
            Placement::Deleted => {
                self.cache.remove(id);
                return self.forget(id).map_err(shelf_error);
            }
        };
        if location != Location::Hot {
            self.cache.remove(id);
        }
        let was = self.catalog.location(id).map_err(shelf_error)?;
        self.catalog
            .set_location(id, location, now)
            .map_err(shelf_error)?;
        if was == Some(Location::Trashed) {
            // Undone: searchable again.
            self.index_artifact(id, None);
        }
        Ok(())
    }

    fn trash_if_unchanged(
        &self,
        seen: &ArtifactFacts,
        at_ms: i64,
        move_content: &mut dyn FnMut() -> Result<(), StaleError>,
    ) -> Result<bool, StaleError> {
        // Reads counted in memory since the snapshot count as a touch.
        self.flush_reads().map_err(shelf_error)?;
        let trashed = self.catalog.write(|tx| {
            let now = self.catalog.info_in(tx, &seen.id)?.and_then(facts_of);
            if now.as_ref() != Some(seen) {
                return Ok::<_, StaleError>(false);
            }
            // The row first: if the move then fails, the transaction rolls
            // back and nothing changed; only a failed commit after the move
            // can leave the content in the trash under a live row.
            self.catalog.trashed_in(tx, &seen.id, at_ms)?;
            move_content()?;
            Ok(true)
        })?;
        if trashed {
            self.cache.remove(&seen.id);
            self.unindex(&seen.id);
        }
        Ok(trashed)
    }
}

/// What the Stale Manager is told about an artifact; nothing about one in
/// the trash.
fn facts_of(info: ArtifactInfo) -> Option<ArtifactFacts> {
    let tier = match info.location {
        Location::Hot => Tier::Hot,
        Location::Warm => Tier::Warm,
        Location::Cold => Tier::Cold,
        Location::Trashed => return None,
    };
    Some(ArtifactFacts {
        id: info.id,
        size: info.size,
        content_type: info.content_type,
        created_ms: info.created_ms,
        last_access_ms: info.last_access_ms,
        access_count: info.access_count,
        quality: info.quality.score,
        tags: info.tags,
        pinned: info.pinned,
        references: info.references,
        copies: info.copies,
        tier,
    })
}

impl From<ArtifactError> for StaleError {
    fn from(e: ArtifactError) -> Self {
        shelf_error(e)
    }
}

fn shelf_error(e: ArtifactError) -> StaleError {
    StaleError::Shelf(e.to_string())
}

/// Replaces the file at `path` with `bytes` so that a crash leaves the old
/// file or the new one, never a torn mix that would hide the cold tier.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), ArtifactError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let io_err = |e| ArtifactError::from_io(e, path);
    let mut temp = tempfile::NamedTempFile::new_in(dir).map_err(io_err)?;
    temp.write_all(bytes).map_err(io_err)?;
    temp.as_file().sync_all().map_err(io_err)?;
    temp.persist(path).map_err(|e| io_err(e.error))?;
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err)
}
