//! Named versions and derived-from links.

use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};

use super::{Catalog, NewArtifact};
use crate::ArtifactError;
use crate::meta::{ArtifactMeta, VersionInfo};

impl Catalog {
    /// The history of `name`, oldest first.
    pub(crate) fn history(&self, name: &str) -> Result<Vec<VersionInfo>, ArtifactError> {
        let conn = self.lock();
        let history = history(&conn, name).map_err(self.err())?;
        if history.is_empty() {
            return Err(ArtifactError::UnknownName(name.to_string()));
        }
        Ok(history)
    }

    /// Version `version` of `name`, the latest when `None`.
    pub(crate) fn version(
        &self,
        name: &str,
        version: Option<u32>,
    ) -> Result<VersionInfo, ArtifactError> {
        let conn = self.lock();
        let latest = latest_version(&conn, name)
            .map_err(self.err())?
            .ok_or_else(|| ArtifactError::UnknownName(name.to_string()))?;
        let wanted = version.unwrap_or(latest);
        self::version(&conn, name, wanted)
            .map_err(self.err())?
            .ok_or(ArtifactError::UnknownVersion {
                name: name.to_string(),
                version: wanted,
                latest,
            })
    }

    /// The names whose versions point at artifact `id`.
    pub(crate) fn names_of(&self, id: &str) -> Result<Vec<String>, ArtifactError> {
        let conn = self.lock();
        names_of(&conn, id).map_err(self.err())
    }

    /// The artifacts `id` was derived from.
    pub(crate) fn parents(&self, id: &str) -> Result<Vec<String>, ArtifactError> {
        let conn = self.lock();
        related(
            &conn,
            "SELECT parent FROM derived WHERE child = ?1 ORDER BY parent",
            id,
        )
        .map_err(self.err())
    }

    /// The artifacts derived from `id`.
    pub(crate) fn children(&self, id: &str) -> Result<Vec<String>, ArtifactError> {
        let conn = self.lock();
        related(
            &conn,
            "SELECT child FROM derived WHERE parent = ?1 ORDER BY child",
            id,
        )
        .map_err(self.err())
    }
}

const SELECT_VERSION: &str = "SELECT v.name, v.version, v.id, v.parent, v.created_ms, v.creator,
       coalesce(a.size, 0)
FROM versions v LEFT JOIN artifacts a ON a.id = v.id";

/// The latest version of `name`.
pub(super) fn latest_version(conn: &Connection, name: &str) -> rusqlite::Result<Option<u32>> {
    conn.query_row(
        "SELECT max(version) FROM versions WHERE name = ?1",
        [name],
        |row| row.get(0),
    )
}

/// Version `version` of `name`.
pub(super) fn version(
    conn: &Connection,
    name: &str,
    version: u32,
) -> rusqlite::Result<Option<VersionInfo>> {
    conn.query_row(
        &format!("{SELECT_VERSION} WHERE v.name = ?1 AND v.version = ?2"),
        params![name, version],
        from_row,
    )
    .optional()
}

/// Every version of `name`, oldest first.
pub(super) fn history(conn: &Connection, name: &str) -> rusqlite::Result<Vec<VersionInfo>> {
    let mut stmt = conn.prepare(&format!(
        "{SELECT_VERSION} WHERE v.name = ?1 ORDER BY v.version"
    ))?;
    stmt.query_map([name], from_row)?.collect()
}

/// The names with a version pointing at `id`.
pub(super) fn names_of(conn: &Connection, id: &str) -> rusqlite::Result<Vec<String>> {
    related(
        conn,
        "SELECT DISTINCT name FROM versions WHERE id = ?1 ORDER BY name",
        id,
    )
}

/// The first column of `sql` run with `id`.
pub(super) fn related(conn: &Connection, sql: &str, id: &str) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(sql)?;
    stmt.query_map([id], |row| row.get(0))?.collect()
}

/// Records `new` as the next version of `name`, unless the content is the
/// same as the version it would be based on: storing the same thing twice
/// under one name keeps one version.
pub(super) fn add_version(
    tx: &Transaction<'_>,
    name: &str,
    new: &NewArtifact<'_>,
    meta: &ArtifactMeta,
) -> rusqlite::Result<VersionInfo> {
    let latest = latest_version(tx, name)?;
    let parent = meta.parent_version.or(latest);
    if let Some(parent) = parent
        && let Some(based_on) = version(tx, name, parent)?
        && based_on.id == new.id
    {
        return Ok(based_on);
    }
    let number = latest.unwrap_or(0) + 1;
    tx.execute(
        "INSERT INTO versions (name, version, id, parent, created_ms, creator)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![name, number, new.id, parent, new.now_ms, meta.creator],
    )?;
    Ok(VersionInfo {
        name: name.to_string(),
        version: number,
        id: new.id.to_string(),
        parent,
        created_ms: new.now_ms,
        creator: meta.creator.clone(),
        size: new.size,
    })
}

fn from_row(row: &Row<'_>) -> rusqlite::Result<VersionInfo> {
    Ok(VersionInfo {
        name: row.get(0)?,
        version: row.get(1)?,
        id: row.get(2)?,
        parent: row.get(3)?,
        created_ms: row.get(4)?,
        creator: row.get(5)?,
        size: row.get(6)?,
    })
}
