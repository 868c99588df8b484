//! The catalog: what is known about each artifact, in SQLite (WAL) at
//! `<root>/catalog.db`. Content lives in the object tree; a row is written
//! only after its object is durable, so a crash can leave an object without
//! a row (found and recorded on the next open) but never a row without an
//! object.

mod links;
mod placement;
mod queue;
mod rows;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};

use super::ArtifactError;
use super::dedup::DedupStats;
use super::meta::{ArtifactInfo, ArtifactMeta, ListQuery, VersionInfo};

/// The schema this code reads and writes (`PRAGMA user_version`).
const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS artifacts (
    id             TEXT PRIMARY KEY,
    size           INTEGER NOT NULL,
    content_type   TEXT,
    created_ms     INTEGER NOT NULL,
    creator        TEXT,
    access_count   INTEGER NOT NULL DEFAULT 0,
    last_access_ms INTEGER,
    structure      REAL NOT NULL,
    copies         INTEGER NOT NULL DEFAULT 1,
    pinned         INTEGER NOT NULL DEFAULT 0,
    placement      TEXT NOT NULL DEFAULT 'hot',
    placed_ms      INTEGER
);
CREATE INDEX IF NOT EXISTS artifacts_by_created ON artifacts(created_ms);
CREATE TABLE IF NOT EXISTS tags (
    id  TEXT NOT NULL,
    tag TEXT NOT NULL,
    PRIMARY KEY (id, tag)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS tags_by_tag ON tags(tag, id);
CREATE TABLE IF NOT EXISTS fields (
    id    TEXT NOT NULL,
    key   TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (id, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS versions (
    name       TEXT NOT NULL,
    version    INTEGER NOT NULL,
    id         TEXT NOT NULL,
    parent     INTEGER,
    created_ms INTEGER NOT NULL,
    creator    TEXT,
    PRIMARY KEY (name, version)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS versions_by_id ON versions(id);
CREATE TABLE IF NOT EXISTS derived (
    child  TEXT NOT NULL,
    parent TEXT NOT NULL,
    PRIMARY KEY (child, parent)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS derived_by_parent ON derived(parent, child);
CREATE TABLE IF NOT EXISTS counters (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS index_queue (
    seq INTEGER PRIMARY KEY,
    id  TEXT NOT NULL
);
";

/// A stored object about to get (or update) its row.
pub(crate) struct NewArtifact<'a> {
    pub(crate) id: &'a str,
    pub(crate) size: u64,
    /// The structure part of the quality score.
    pub(crate) structure: f64,
    /// The object file was new (not a duplicate).
    pub(crate) fresh: bool,
    pub(crate) now_ms: i64,
}

/// The SQLite catalog of artifact metadata.
pub(crate) struct Catalog {
    path: PathBuf,
    conn: Mutex<Connection>,
}

impl Catalog {
    /// Opens (creating if needed) the catalog at `path`.
    pub(crate) fn open(path: &Path) -> Result<Catalog, ArtifactError> {
        let sql = sql_error(path);
        // The objects themselves are fsynced; a row lost to a power loss
        // is recovered when the store next opens.
        let conn = crate::sqlite::open_wal(path).map_err(sql)?;
        let found: i64 = conn
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .map_err(sql)?;
        if found > SCHEMA_VERSION {
            return Err(ArtifactError::Catalog {
                path: path.into(),
                reason: format!(
                    "schema version {found} is newer than this Symphony reads \
                     ({SCHEMA_VERSION}); upgrade Symphony or use another --home"
                ),
            });
        }
        conn.execute_batch(SCHEMA).map_err(sql)?;
        conn.pragma_update(None, "user_version", SCHEMA_VERSION)
            .map_err(sql)?;
        Ok(Catalog {
            path: path.into(),
            conn: Mutex::new(conn),
        })
    }

    /// The connection. Also serialises puts, so concurrent puts of the same
    /// content count it once.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Maps a SQLite error to the store's error type.
    pub(crate) fn err(&self) -> impl Fn(rusqlite::Error) -> ArtifactError + Copy + '_ {
        sql_error(&self.path)
    }

    /// Checks what a put refers to before anything is written: the
    /// derived-from ids exist (in the catalog, or among `pending`, the ids
    /// of the same batch) and the parent version does.
    pub(crate) fn check_meta(
        &self,
        meta: &ArtifactMeta,
        pending: &HashSet<String>,
    ) -> Result<(), ArtifactError> {
        check_tags(&meta.tags)?;
        if meta.name.as_deref().is_some_and(|n| n.trim().is_empty()) {
            return Err(ArtifactError::Invalid("the artifact name is empty".into()));
        }
        if meta.parent_version.is_some() && meta.name.is_none() {
            return Err(ArtifactError::Invalid(
                "a parent version needs a name to be a version of".into(),
            ));
        }
        let conn = self.lock();
        for parent in &meta.derived_from {
            super::objects::check_id(parent)?;
            if !pending.contains(parent) && !rows::exists(&conn, parent).map_err(self.err())? {
                return Err(ArtifactError::NotFound(parent.clone()));
            }
        }
        if let (Some(name), Some(version)) = (&meta.name, meta.parent_version) {
            let latest = links::latest_version(&conn, name).map_err(self.err())?;
            match latest {
                None => return Err(ArtifactError::UnknownName(name.clone())),
                Some(latest) if version == 0 || version > latest => {
                    return Err(ArtifactError::UnknownVersion {
                        name: name.clone(),
                        version,
                        latest,
                    });
                }
                Some(_) => {}
            }
        }
        Ok(())
    }

    /// Runs `f` in one write transaction, committed when `f` succeeds. It
    /// begins at once (`IMMEDIATE`), so this process's other catalog users
    /// wait on the connection and other processes' writers on SQLite's lock
    /// until it ends: what `f` does to object files beside the rows (a put's
    /// commit, a cleaner's move to the trash) is atomic with them.
    pub(crate) fn write<T, E: From<ArtifactError>>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| E::from(self.err()(e)))?;
        let value = f(&tx)?;
        tx.commit().map_err(|e| E::from(self.err()(e)))?;
        Ok(value)
    }

    /// Records puts inside `tx` (begun by [`Catalog::write`] around the
    /// objects' commit): each artifact's row, its tags, fields and links, a
    /// new version when named, and the dedup counters. Returns the versions
    /// recorded, for those named.
    pub(crate) fn record_puts(
        &self,
        tx: &Transaction<'_>,
        puts: &[(NewArtifact<'_>, &ArtifactMeta)],
    ) -> Result<Vec<Option<VersionInfo>>, ArtifactError> {
        puts.iter()
            .map(|(new, meta)| record_put(tx, new, meta))
            .collect::<rusqlite::Result<_>>()
            .map_err(self.err())
    }

    /// Artifact `id`'s row as `tx` sees it.
    pub(crate) fn info_in(
        &self,
        tx: &Transaction<'_>,
        id: &str,
    ) -> Result<Option<ArtifactInfo>, ArtifactError> {
        rows::info(tx, id).map_err(self.err())
    }

    /// Records objects found on disk without a row (written before a crash,
    /// or before the catalog existed). Returns how many were added.
    pub(crate) fn adopt(
        &self,
        found: impl IntoIterator<Item = (String, u64, i64, f64)>,
    ) -> Result<usize, ArtifactError> {
        let mut conn = self.lock();
        let tx = conn.transaction().map_err(self.err())?;
        let mut added = 0;
        {
            let mut insert = tx
                .prepare(
                    "INSERT OR IGNORE INTO artifacts (id, size, created_ms, structure)
                     VALUES (?1, ?2, ?3, ?4)",
                )
                .map_err(self.err())?;
            for (id, size, created_ms, structure) in found {
                added += insert
                    .execute(params![id, size, created_ms, structure])
                    .map_err(self.err())?;
            }
        }
        tx.commit().map_err(self.err())?;
        Ok(added)
    }

    /// The ids of every artifact with a row.
    pub(crate) fn ids(&self) -> Result<HashSet<String>, ArtifactError> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare("SELECT id FROM artifacts")
            .map_err(self.err())?;
        let ids = stmt
            .query_map([], |row| row.get(0))
            .map_err(self.err())?
            .collect::<Result<_, _>>()
            .map_err(self.err())?;
        Ok(ids)
    }

    /// Adds reads to artifacts' access counts.
    pub(crate) fn record_reads(
        &self,
        reads: impl IntoIterator<Item = (String, u64, i64)>,
    ) -> Result<(), ArtifactError> {
        let mut conn = self.lock();
        let tx = conn.transaction().map_err(self.err())?;
        {
            let mut update = tx
                .prepare(
                    "UPDATE artifacts SET access_count = access_count + ?2,
                         last_access_ms = max(coalesce(last_access_ms, 0), ?3)
                     WHERE id = ?1",
                )
                .map_err(self.err())?;
            for (id, count, at) in reads {
                update.execute(params![id, count, at]).map_err(self.err())?;
            }
        }
        tx.commit().map_err(self.err())
    }

    /// What is known about artifact `id`.
    pub(crate) fn info(&self, id: &str) -> Result<Option<ArtifactInfo>, ArtifactError> {
        let conn = self.lock();
        rows::info(&conn, id).map_err(self.err())
    }

    /// Artifacts matching `query`, newest first.
    pub(crate) fn list(&self, query: &ListQuery) -> Result<Vec<ArtifactInfo>, ArtifactError> {
        let conn = self.lock();
        rows::list(&conn, query).map_err(self.err())
    }

    /// Every artifact, trashed ones included.
    pub(crate) fn all(&self) -> Result<Vec<ArtifactInfo>, ArtifactError> {
        let conn = self.lock();
        rows::all(&conn).map_err(self.err())
    }

    /// Adds `add` and removes `remove` from artifact `id`'s tags.
    pub(crate) fn retag(
        &self,
        id: &str,
        add: &[String],
        remove: &[String],
    ) -> Result<(), ArtifactError> {
        let mut conn = self.lock();
        let tx = conn.transaction().map_err(self.err())?;
        if !rows::exists(&tx, id).map_err(self.err())? {
            return Err(ArtifactError::NotFound(id.to_string()));
        }
        check_tags(add)?;
        for tag in add {
            tx.execute(
                "INSERT OR IGNORE INTO tags (id, tag) VALUES (?1, ?2)",
                params![id, tag],
            )
            .map_err(self.err())?;
        }
        for tag in remove {
            tx.execute(
                "DELETE FROM tags WHERE id = ?1 AND tag = ?2",
                params![id, tag],
            )
            .map_err(self.err())?;
        }
        tx.commit().map_err(self.err())
    }

    /// Pins or unpins artifact `id`.
    pub(crate) fn set_pinned(&self, id: &str, pinned: bool) -> Result<(), ArtifactError> {
        let conn = self.lock();
        let changed = conn
            .execute(
                "UPDATE artifacts SET pinned = ?2 WHERE id = ?1",
                params![id, pinned],
            )
            .map_err(self.err())?;
        if changed == 0 {
            return Err(ArtifactError::NotFound(id.to_string()));
        }
        Ok(())
    }

    /// How many artifacts search should find (all but trashed ones).
    pub(crate) fn searchable_count(&self) -> Result<u64, ArtifactError> {
        let conn = self.lock();
        conn.query_row(
            "SELECT count(*) FROM artifacts WHERE placement != 'trashed'",
            [],
            |row| row.get(0),
        )
        .map_err(self.err())
    }

    /// Deduplication statistics over the store's whole life.
    pub(crate) fn stats(&self) -> Result<DedupStats, ArtifactError> {
        let conn = self.lock();
        let (unique_objects, bytes_stored): (u64, u64) = conn
            .query_row(
                "SELECT count(*), coalesce(sum(size), 0) FROM artifacts WHERE placement != 'trashed'",
                [],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .map_err(self.err())?;
        let counter = |name: &str| -> Result<u64, ArtifactError> {
            conn.query_row(
                "SELECT value FROM counters WHERE name = ?1",
                [name],
                |row| row.get(0),
            )
            .optional()
            .map(Option::unwrap_or_default)
            .map_err(self.err())
        };
        Ok(DedupStats::new(
            counter("puts")?,
            unique_objects,
            bytes_stored,
            counter("bytes_saved")?,
        ))
    }
}

fn record_put(
    tx: &Transaction<'_>,
    new: &NewArtifact<'_>,
    meta: &ArtifactMeta,
) -> rusqlite::Result<Option<VersionInfo>> {
    tx.execute(
        "INSERT INTO artifacts (id, size, content_type, created_ms, creator, structure, pinned)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT(id) DO UPDATE SET
             copies = copies + 1,
             content_type = coalesce(content_type, excluded.content_type),
             creator = coalesce(creator, excluded.creator),
             pinned = pinned OR excluded.pinned",
        params![
            new.id,
            new.size,
            meta.content_type,
            new.now_ms,
            meta.creator,
            new.structure,
            meta.pinned
        ],
    )?;
    // The object file is in the hot tree now, written anew or found there:
    // wherever the row said the content was (trash, an archive tier), it is
    // hot. A trashed row beside a found file is a read that brought the
    // content back while a clean trashed it; left trashed, the purge would
    // forget an artifact this put was told is stored.
    tx.execute(
        "UPDATE artifacts SET placement = 'hot', placed_ms = ?2
         WHERE id = ?1 AND (?3 OR placement = 'trashed')",
        params![new.id, new.now_ms, new.fresh],
    )?;
    for tag in &meta.tags {
        tx.execute(
            "INSERT OR IGNORE INTO tags (id, tag) VALUES (?1, ?2)",
            params![new.id, tag],
        )?;
    }
    for (key, value) in &meta.fields {
        tx.execute(
            "INSERT OR REPLACE INTO fields (id, key, value) VALUES (?1, ?2, ?3)",
            params![new.id, key, value],
        )?;
    }
    for parent in &meta.derived_from {
        tx.execute(
            "INSERT OR IGNORE INTO derived (child, parent) VALUES (?1, ?2)",
            params![new.id, parent],
        )?;
    }
    let bump = "INSERT INTO counters (name, value) VALUES (?1, ?2)
                ON CONFLICT(name) DO UPDATE SET value = value + excluded.value";
    tx.execute(bump, params!["puts", 1])?;
    if !new.fresh {
        tx.execute(bump, params!["bytes_saved", new.size])?;
    }
    match &meta.name {
        Some(name) => links::add_version(tx, name, new, meta).map(Some),
        None => Ok(None),
    }
}

/// Refuses empty (or all-blank) tags.
fn check_tags(tags: &[String]) -> Result<(), ArtifactError> {
    if tags.iter().any(|tag| tag.trim().is_empty()) {
        return Err(ArtifactError::Invalid("a tag is empty".into()));
    }
    Ok(())
}

fn sql_error(path: &Path) -> impl Fn(rusqlite::Error) -> ArtifactError + Copy + '_ {
    move |e| ArtifactError::Catalog {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}
