//! Reading artifact rows back as [`ArtifactInfo`].

use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Row, params_from_iter};

use crate::meta::{ArtifactInfo, ListQuery, Location};
use crate::quality::Quality;

const SELECT: &str = "SELECT a.id, a.size, a.content_type, a.created_ms, a.creator,
       a.access_count, a.last_access_ms, a.structure, a.copies, a.pinned, a.placement,
       (SELECT count(*) FROM versions v WHERE v.id = a.id)
         + (SELECT count(*) FROM derived d JOIN artifacts c ON c.id = d.child
            WHERE d.parent = a.id)
FROM artifacts a";

/// Whether artifact `id` has a row.
pub(super) fn exists(conn: &Connection, id: &str) -> rusqlite::Result<bool> {
    conn.query_row("SELECT 1 FROM artifacts WHERE id = ?1", [id], |_| Ok(()))
        .optional()
        .map(|found| found.is_some())
}

/// Artifact `id`'s row, tags and fields.
pub(super) fn info(conn: &Connection, id: &str) -> rusqlite::Result<Option<ArtifactInfo>> {
    let row = conn
        .query_row(&format!("{SELECT} WHERE a.id = ?1"), [id], from_row)
        .optional()?;
    row.map(|info| with_labels(conn, info)).transpose()
}

/// Artifacts matching `query`, newest first.
pub(super) fn list(conn: &Connection, query: &ListQuery) -> rusqlite::Result<Vec<ArtifactInfo>> {
    let mut sql = format!("{SELECT} WHERE 1 = 1");
    let mut args: Vec<Value> = Vec::new();
    for tag in &query.tags {
        args.push(Value::Text(tag.clone()));
        sql.push_str(&format!(
            " AND EXISTS (SELECT 1 FROM tags t WHERE t.id = a.id AND t.tag = ?{})",
            args.len()
        ));
    }
    if let Some(content_type) = &query.content_type {
        args.push(Value::Text(content_type.clone()));
        sql.push_str(&format!(" AND a.content_type = ?{}", args.len()));
    }
    if let Some(after) = query.created_after_ms {
        args.push(Value::Integer(after));
        sql.push_str(&format!(" AND a.created_ms >= ?{}", args.len()));
    }
    if let Some(before) = query.created_before_ms {
        args.push(Value::Integer(before));
        sql.push_str(&format!(" AND a.created_ms < ?{}", args.len()));
    }
    if !query.include_trashed {
        sql.push_str(" AND a.placement != 'trashed'");
    }
    args.push(Value::Integer(
        i64::try_from(query.limit).unwrap_or(i64::MAX),
    ));
    args.push(Value::Integer(
        i64::try_from(query.offset).unwrap_or(i64::MAX),
    ));
    sql.push_str(&format!(
        " ORDER BY a.created_ms DESC, a.id LIMIT ?{} OFFSET ?{}",
        args.len() - 1,
        args.len()
    ));
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt
        .query_map(params_from_iter(args), from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    rows.into_iter()
        .map(|info| with_labels(conn, info))
        .collect()
}

/// Every artifact, oldest first.
pub(super) fn all(conn: &Connection) -> rusqlite::Result<Vec<ArtifactInfo>> {
    let mut stmt = conn.prepare(&format!("{SELECT} ORDER BY a.created_ms, a.id"))?;
    let rows = stmt
        .query_map([], from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    rows.into_iter()
        .map(|info| with_labels(conn, info))
        .collect()
}

fn from_row(row: &Row<'_>) -> rusqlite::Result<ArtifactInfo> {
    let access_count: u64 = row.get(5)?;
    let references: u64 = row.get(11)?;
    let placement: String = row.get(10)?;
    Ok(ArtifactInfo {
        id: row.get(0)?,
        size: row.get(1)?,
        content_type: row.get(2)?,
        created_ms: row.get(3)?,
        creator: row.get(4)?,
        tags: Vec::new(),
        fields: Vec::new(),
        access_count,
        last_access_ms: row.get(6)?,
        copies: row.get(8)?,
        references,
        pinned: row.get(9)?,
        location: Location::parse(&placement).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(
                10,
                rusqlite::types::Type::Text,
                format!("unknown placement '{placement}'").into(),
            )
        })?,
        quality: Quality::new(row.get(7)?, access_count, references),
    })
}

fn with_labels(conn: &Connection, mut info: ArtifactInfo) -> rusqlite::Result<ArtifactInfo> {
    let mut tags = conn.prepare_cached("SELECT tag FROM tags WHERE id = ?1 ORDER BY tag")?;
    info.tags = tags
        .query_map([&info.id], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut fields =
        conn.prepare_cached("SELECT key, value FROM fields WHERE id = ?1 ORDER BY key")?;
    info.fields = fields
        .query_map([&info.id], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(info)
}
