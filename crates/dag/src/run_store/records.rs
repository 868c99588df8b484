//! Finished nodes as stored: each commit of the checkpoint writer is one
//! row holding its nodes' records (msgpack), and the run's row counts them.
//!
//! Why not a row per node (schema version 1): SQLite's cost per inserted
//! row — binding, a B-tree insert keyed by run and node, page balancing,
//! and each page written twice (WAL, then its checkpoint) — was 2–2.5 µs
//! of the writer thread per node, more than the whole run costs without
//! checkpoints (0.9–1.5 µs per node on two cores, issue 22). A commit's
//! records in one row cost one insert for hundreds of nodes. Readers
//! (status, resume) decode a run's rows: a 100k-node run's records are a
//! few MB, read in milliseconds.

use rusqlite::{Connection, params};
use serde::{Deserialize, Serialize};

use super::RunStoreError;

/// How a node finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Finish {
    /// It produced an output (its own or a recovery policy's).
    Completed,
    /// It was skipped (a branch not taken, or skipped with a default).
    Skipped,
    /// It failed and nothing recovered it.
    Failed,
}

impl Finish {
    /// The state's name, as `symphony status` shows it.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Finish::Completed => "completed",
            Finish::Skipped => "skipped",
            Finish::Failed => "failed",
        }
    }
}

/// One finished node, as checkpointed. Encoded as a msgpack array in field
/// order: a change here is a new schema version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct NodeCheckpoint {
    pub(crate) node: String,
    /// The order nodes finished in.
    pub(crate) seq: u64,
    pub(crate) state: Finish,
    /// The node's outcome as JSON (absent for a failure).
    pub(crate) outcome: Option<String>,
    pub(crate) attempts: u32,
    pub(crate) duration_ms: Option<f64>,
    pub(crate) error: Option<String>,
}

/// How many records of each state a batch holds.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Counts {
    completed: u64,
    failed: u64,
    skipped: u64,
}

impl Counts {
    fn of(records: &[NodeCheckpoint]) -> Counts {
        let mut counts = Counts::default();
        for record in records {
            match record.state {
                Finish::Completed => counts.completed += 1,
                Finish::Failed => counts.failed += 1,
                Finish::Skipped => counts.skipped += 1,
            }
        }
        counts
    }
}

/// Stores `records` (one commit's worth) for run `run` and adds them to
/// its counts. Each node is recorded once per execution of a run, so the
/// counts stay exact.
pub(super) fn append(
    conn: &Connection,
    run: &str,
    records: &[NodeCheckpoint],
) -> rusqlite::Result<()> {
    if records.is_empty() {
        return Ok(());
    }
    let counts = Counts::of(records);
    conn.prepare_cached("INSERT INTO node_records (run_id, records) VALUES (?1, ?2)")?
        .execute(params![run, encode(records)])?;
    conn.prepare_cached(
        "UPDATE runs SET completed = completed + ?2, failed = failed + ?3,
                         skipped = skipped + ?4
         WHERE id = ?1",
    )?
    .execute(params![
        run,
        counts.completed,
        counts.failed,
        counts.skipped
    ])?;
    Ok(())
}

/// Replaces every record of run `run` with `records`, and its counts
/// with theirs (a resumed run forgetting its failures; an upgrade).
pub(super) fn replace(
    conn: &Connection,
    run: &str,
    records: &[NodeCheckpoint],
) -> rusqlite::Result<()> {
    conn.execute("DELETE FROM node_records WHERE run_id = ?1", [run])?;
    conn.execute(
        "UPDATE runs SET completed = 0, failed = 0, skipped = 0 WHERE id = ?1",
        [run],
    )?;
    append(conn, run, records)
}

/// The records of run `run`, in the order its nodes finished. Should a
/// node have been recorded twice, its later record stands.
pub(super) fn load(conn: &Connection, run: &str) -> Result<Vec<NodeCheckpoint>, RunStoreError> {
    let corrupt = |message: String| RunStoreError::Corrupt {
        run: run.to_string(),
        what: "record of its nodes",
        message,
    };
    let sql = |e: rusqlite::Error| corrupt(e.to_string());
    let mut statement = conn
        .prepare_cached("SELECT records FROM node_records WHERE run_id = ?1 ORDER BY id")
        .map_err(sql)?;
    let mut rows = statement.query([run]).map_err(sql)?;
    let mut records = Vec::new();
    while let Some(row) = rows.next().map_err(sql)? {
        let bytes = row
            .get_ref(0)
            .map_err(sql)?
            .as_blob()
            .map_err(|e| corrupt(e.to_string()))?;
        let batch: Vec<NodeCheckpoint> =
            rmp_serde::from_slice(bytes).map_err(|e| corrupt(e.to_string()))?;
        records.extend(batch);
    }
    let mut latest = rustc_hash::FxHashMap::default();
    for (at, record) in records.iter().enumerate() {
        latest.insert(record.node.as_str(), at);
    }
    if latest.len() < records.len() {
        let keep: Vec<bool> = (0..records.len())
            .map(|at| latest[records[at].node.as_str()] == at)
            .collect();
        let mut keep = keep.into_iter();
        records.retain(|_| keep.next().unwrap_or(true));
    }
    records.sort_by_key(|record| record.seq);
    Ok(records)
}

fn encode(records: &[NodeCheckpoint]) -> Vec<u8> {
    // Plain data into a Vec: encoding cannot fail.
    rmp_serde::to_vec(records).unwrap_or_default()
}

#[cfg(test)]
mod tests;
