//! The run store's tables, the documents runs share, and the upgrade of
//! stores an older Symphony wrote.
//!
//! Why documents live in a table of their own (version 2): a run's row is
//! updated when it ends, and SQLite rewrites a whole row on update. With
//! the workflow (1.5 MB for a 10k-node workflow) in the row, every run
//! wrote its workflow into the WAL three times (insert, end, and the WAL
//! checkpoint of each), about 2 µs per node of a checkpointed run (issue
//! 22). Now a workflow and an input are stored once by content, and a run
//! of a workflow already stored writes none of it. The checkpoint writer
//! stores them after the run's row (so serialising a large workflow does
//! not hold up the run's start): a run's `workflow` is NULL until then,
//! and none of its nodes is recorded before it.

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use sha2::{Digest, Sha256};

use super::records::{self, Finish, NodeCheckpoint};

/// The schema this code reads and writes (`PRAGMA user_version`).
pub(super) const VERSION: i64 = 2;

const TABLES: &str = "
CREATE TABLE IF NOT EXISTS documents (
    id   INTEGER PRIMARY KEY,
    hash BLOB NOT NULL UNIQUE,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    id            TEXT PRIMARY KEY,
    workflow_id   TEXT NOT NULL,
    workflow_name TEXT NOT NULL,
    workflow      INTEGER REFERENCES documents(id),
    input         INTEGER REFERENCES documents(id),
    state         TEXT NOT NULL,
    pid           INTEGER NOT NULL,
    started_ms    INTEGER NOT NULL,
    finished_ms   INTEGER,
    elapsed_ms    REAL,
    total         INTEGER NOT NULL,
    output        TEXT,
    error         TEXT,
    resumes       INTEGER NOT NULL DEFAULT 0,
    completed     INTEGER NOT NULL DEFAULT 0,
    failed        INTEGER NOT NULL DEFAULT 0,
    skipped       INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS node_records (
    id      INTEGER PRIMARY KEY,
    run_id  TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    records BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS node_records_by_run ON node_records(run_id, id);
CREATE INDEX IF NOT EXISTS runs_by_start ON runs(started_ms);
";

/// What opening a store found.
pub(super) enum Found {
    /// The store is at [`VERSION`] (created or upgraded just now, or
    /// already).
    Current,
    /// A newer Symphony wrote it, at this version.
    Newer(i64),
}

/// Brings the store on `conn` to [`VERSION`]: creates a new one's tables,
/// or upgrades an older one, in one transaction that waits for any other
/// process doing the same (so the loser finds the work done).
pub(super) fn prepare(conn: &mut Connection) -> rusqlite::Result<Found> {
    let version = |conn: &Connection| conn.query_row("PRAGMA user_version", [], |r| r.get(0));
    let found: i64 = version(conn)?;
    if found == VERSION {
        return Ok(Found::Current);
    }
    if found > VERSION {
        return Ok(Found::Newer(found));
    }
    // Rebuilding `runs` drops the table `nodes` refers to; references are
    // checked once the rebuild is done instead. (The pragma is a no-op
    // inside a transaction, so it is set around it.)
    conn.pragma_update(None, "foreign_keys", false)?;
    let upgraded = (|| {
        let tx = Transaction::new(conn, TransactionBehavior::Immediate)?;
        match version(&tx)? {
            0 => tx.execute_batch(TABLES)?,
            1 => from_version_1(&tx)?,
            _ => return Ok(()),
        }
        tx.pragma_update(None, "user_version", VERSION)?;
        tx.commit()
    })();
    conn.pragma_update(None, "foreign_keys", true)?;
    upgraded?;
    match version(conn)? {
        VERSION => Ok(Found::Current),
        newer => Ok(Found::Newer(newer)),
    }
}

/// Version 1 kept each run's workflow and input in its row, and a row per
/// finished node: the documents move to `documents`, each run's nodes
/// become one row of records, and `runs` is rebuilt to refer to them.
fn from_version_1(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    let runs: Vec<(String, String, String)> = tx
        .prepare("SELECT id, workflow, input FROM runs")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    // The index moves with the table it indexes, under its name: dropped,
    // so the new table gets its own.
    tx.execute_batch("DROP INDEX IF EXISTS runs_by_start; ALTER TABLE runs RENAME TO runs_v1;")?;
    tx.execute_batch(TABLES)?;
    for (run, workflow, input) in runs {
        tx.execute(
            "INSERT INTO runs (id, workflow_id, workflow_name, workflow, input, state, pid,
                               started_ms, finished_ms, elapsed_ms, total, output, error,
                               resumes)
               SELECT id, workflow_id, workflow_name, ?2, ?3, state, pid, started_ms,
                      finished_ms, elapsed_ms, total, output, error, resumes
               FROM runs_v1 WHERE id = ?1",
            params![run, document(tx, &workflow)?, document(tx, &input)?],
        )?;
        let nodes = tx
            .prepare_cached(
                "SELECT node, seq, state, outcome, attempts, duration_ms, error FROM nodes
                 WHERE run_id = ?1 ORDER BY seq",
            )?
            .query_map([&run], |r| {
                let state = match r.get_ref(2)?.as_str()? {
                    "completed" => Finish::Completed,
                    "skipped" => Finish::Skipped,
                    _ => Finish::Failed,
                };
                Ok(NodeCheckpoint {
                    node: r.get(0)?,
                    seq: r.get(1)?,
                    state,
                    outcome: r.get(3)?,
                    attempts: r.get(4)?,
                    duration_ms: r.get(5)?,
                    error: r.get(6)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        records::append(tx, &run, &nodes)?;
    }
    tx.execute_batch("DROP TABLE nodes; DROP TABLE runs_v1;")?;
    let broken: Option<String> = tx
        .query_row("PRAGMA foreign_key_check", [], |r| r.get(0))
        .optional()?;
    match broken {
        None => Ok(()),
        Some(table) => Err(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY),
            Some(format!(
                "upgrading the run store left a broken reference in table {table}"
            )),
        )),
    }
}

/// The id of the document holding `body`, storing it if no run stored
/// the same text before.
pub(super) fn document(conn: &Connection, body: &str) -> rusqlite::Result<i64> {
    let hash = Sha256::digest(body.as_bytes());
    let hash = hash.as_slice();
    let mut find = conn.prepare_cached("SELECT id FROM documents WHERE hash = ?1")?;
    if let Some(id) = find.query_row([hash], |r| r.get(0)).optional()? {
        return Ok(id);
    }
    // Another process may store the same text between the two statements:
    // then its row is the one.
    conn.prepare_cached("INSERT OR IGNORE INTO documents (hash, body) VALUES (?1, ?2)")?
        .execute(params![hash, body])?;
    find.query_row([hash], |r| r.get(0))
}
