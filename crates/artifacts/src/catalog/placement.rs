//! Where each artifact's content lives (hot, an archive tier, the trash)
//! and forgetting an artifact once its trash entry is purged.

use rusqlite::{OptionalExtension, Transaction, params};

use super::Catalog;
use crate::ArtifactError;
use crate::meta::Location;

impl Catalog {
    /// Records inside `tx` that artifact `id` went to the trash at `at_ms`.
    pub(crate) fn trashed_in(
        &self,
        tx: &Transaction<'_>,
        id: &str,
        at_ms: i64,
    ) -> Result<(), ArtifactError> {
        tx.execute(
            "UPDATE artifacts SET placement = 'trashed', placed_ms = ?2 WHERE id = ?1",
            params![id, at_ms],
        )
        .map(drop)
        .map_err(self.err())
    }

    /// Records where artifact `id`'s content now lives.
    pub(crate) fn set_location(
        &self,
        id: &str,
        location: Location,
        at_ms: i64,
    ) -> Result<(), ArtifactError> {
        let conn = self.lock();
        let changed = conn
            .execute(
                "UPDATE artifacts SET placement = ?2, placed_ms = ?3 WHERE id = ?1",
                params![id, location.as_str(), at_ms],
            )
            .map_err(self.err())?;
        if changed == 0 {
            return Err(ArtifactError::NotFound(id.to_string()));
        }
        Ok(())
    }

    /// Where artifact `id`'s content lives, if it has a row.
    pub(crate) fn location(&self, id: &str) -> Result<Option<Location>, ArtifactError> {
        let conn = self.lock();
        let found: Option<String> = conn
            .query_row(
                "SELECT placement FROM artifacts WHERE id = ?1",
                [id],
                |row| row.get(0),
            )
            .optional()
            .map_err(self.err())?;
        Ok(found.as_deref().and_then(Location::parse))
    }

    /// Marks archived artifact `id` hot again, unless something else moved
    /// it meanwhile (trashed it, or a put made it hot).
    pub(crate) fn rehydrated(&self, id: &str, at_ms: i64) -> Result<(), ArtifactError> {
        let conn = self.lock();
        conn.execute(
            "UPDATE artifacts SET placement = 'hot', placed_ms = ?2
             WHERE id = ?1 AND placement IN ('warm', 'cold')",
            params![id, at_ms],
        )
        .map_err(self.err())?;
        Ok(())
    }

    /// Forgets artifact `id` entirely (its content is gone for good) if it
    /// is still in the trash: content stored again since it was trashed
    /// keeps its row. Its versions stay as history; links from it go.
    /// Returns whether it was forgotten.
    pub(crate) fn forget(&self, id: &str) -> Result<bool, ArtifactError> {
        let mut conn = self.lock();
        let tx = conn.transaction().map_err(self.err())?;
        let trashed = tx
            .query_row(
                "SELECT 1 FROM artifacts WHERE id = ?1 AND placement = 'trashed'",
                [id],
                |_| Ok(()),
            )
            .optional()
            .map_err(self.err())?
            .is_some();
        if !trashed {
            return Ok(false);
        }
        for table in [
            "DELETE FROM artifacts WHERE id = ?1",
            "DELETE FROM tags WHERE id = ?1",
            "DELETE FROM fields WHERE id = ?1",
            "DELETE FROM derived WHERE child = ?1",
        ] {
            tx.execute(table, [id]).map_err(self.err())?;
        }
        tx.commit().map_err(self.err())?;
        Ok(true)
    }
}
