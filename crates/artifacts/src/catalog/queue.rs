//! The index queue: ids of artifacts whose search document is out of date,
//! in the order they changed. A put adds its id in the same transaction as
//! its row, so the row and the promise to index it commit together; the
//! process writing the index takes ids off the queue only after the index
//! commit that holds them (see `indexer.rs`).

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::Catalog;
use crate::ArtifactError;

/// One queued change: its position in the queue and the artifact's id.
pub(crate) struct Queued {
    /// The queue position (ascending in the order ids were queued).
    pub(crate) seq: i64,
    /// The artifact whose search document is out of date.
    pub(crate) id: String,
}

impl Catalog {
    /// Queues artifact `id` for the search index, for the process that
    /// writes it: this one changed the artifact while another held the
    /// index, or could not index it now.
    pub(crate) fn queue_for_index(&self, id: &str) -> Result<(), ArtifactError> {
        self.queue_for_index_in(&self.lock(), id)
    }

    /// Queues artifact `id` for the search index on `conn`; inside a put's
    /// transaction, the put and its queue entry commit or vanish together:
    /// a crash after the commit leaves the entry for the next writer of
    /// the index.
    pub(crate) fn queue_for_index_in(
        &self,
        conn: &Connection,
        id: &str,
    ) -> Result<(), ArtifactError> {
        conn.prepare_cached("INSERT INTO index_queue (id) VALUES (?1)")
            .and_then(|mut insert| insert.execute(params![id]))
            .map(drop)
            .map_err(self.err())
    }

    /// Whether `tx` sees a row for artifact `id` that search should find
    /// (one not in the trash).
    pub(crate) fn searchable_in(
        &self,
        tx: &Transaction<'_>,
        id: &str,
    ) -> Result<bool, ArtifactError> {
        tx.prepare_cached("SELECT placement != 'trashed' FROM artifacts WHERE id = ?1")
            .and_then(|mut select| {
                select
                    .query_row(params![id], |row| row.get::<_, bool>(0))
                    .optional()
            })
            .map(|found| found.unwrap_or(false))
            .map_err(self.err())
    }

    /// The first `limit` queued entries at or before position `upto`,
    /// oldest first. Once they are indexed and committed, pass the last
    /// position indexed to [`Catalog::dequeue_for_index`]: an id queued
    /// again meanwhile has a later position and stays queued.
    pub(crate) fn index_queue_head(
        &self,
        upto: i64,
        limit: usize,
    ) -> Result<Vec<Queued>, ArtifactError> {
        let conn = self.lock();
        let mut select = conn
            .prepare_cached("SELECT seq, id FROM index_queue WHERE seq <= ?1 ORDER BY seq LIMIT ?2")
            .map_err(self.err())?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = select
            .query_map(params![upto, limit], |row| {
                Ok(Queued {
                    seq: row.get(0)?,
                    id: row.get(1)?,
                })
            })
            .map_err(self.err())?;
        rows.collect::<Result<_, _>>().map_err(self.err())
    }

    /// The last queue position, if anything is queued.
    pub(crate) fn index_queue_end(&self) -> Result<Option<i64>, ArtifactError> {
        let conn = self.lock();
        conn.query_row("SELECT max(seq) FROM index_queue", [], |row| row.get(0))
            .map_err(self.err())
    }

    /// Forgets the queue up to position `last` (see
    /// [`Catalog::index_queue_head`]).
    pub(crate) fn dequeue_for_index(&self, last: i64) -> Result<(), ArtifactError> {
        let conn = self.lock();
        conn.execute("DELETE FROM index_queue WHERE seq <= ?1", params![last])
            .map(drop)
            .map_err(self.err())
    }

    /// How many distinct artifacts wait in the queue.
    pub(crate) fn index_backlog(&self) -> Result<u64, ArtifactError> {
        let conn = self.lock();
        conn.query_row("SELECT count(DISTINCT id) FROM index_queue", [], |row| {
            row.get(0)
        })
        .map_err(self.err())
    }
}
