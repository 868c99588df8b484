//! The decision log: an append-only SQLite table in the host's data
//! directory (`<home>/arbitration.db`), bounded to the newest rows, opened
//! and written by a thread of its own, so no decision waits on the disk:
//! decisions are made under resources' locks, so when the writer falls
//! behind by a whole queue, further decisions are counted and the count is
//! logged (as `unlogged`) instead of stalling the resource.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, params};

use crate::explain::{Decision, DecisionSink, Usage, Verdict};
use crate::shared::Sample;
use crate::stats::{ResourceView, Stats};

#[cfg(test)]
mod tests;

/// Messages queued for the writer at most.
const QUEUE: usize = 4096;

/// Rows written between prunes to the bound.
const PRUNE_EVERY: u64 = 1024;

/// The log could not be opened or read.
#[derive(Debug, thiserror::Error)]
#[error("arbitration log {path}: {message}")]
pub struct LogError {
    /// The database.
    pub path: String,
    /// What went wrong.
    pub message: String,
}

impl LogError {
    fn at(path: &Path, e: impl std::fmt::Display) -> Self {
        LogError {
            path: path.display().to_string(),
            message: e.to_string(),
        }
    }
}

enum Message {
    Decision(Decision),
    Usage(Vec<Usage>),
    Flush(SyncSender<()>),
}

/// The SQLite decision log. The database is opened (and its writer
/// started) with the first decision, so a host that never contends pays
/// nothing for it.
pub struct SqliteLog {
    path: PathBuf,
    max_rows: u64,
    writer: Mutex<Writer>,
    /// Decisions not queued because the writer was a whole queue behind,
    /// since the writer last logged the count.
    unlogged: Arc<AtomicU64>,
}

enum Writer {
    NotStarted,
    Running {
        tx: SyncSender<Message>,
        thread: JoinHandle<()>,
    },
    /// It could not be opened (said once, in the host's log).
    Failed,
    Closed,
}

/// Which decisions to read.
#[derive(Debug, Clone, Default)]
pub struct LogQuery {
    /// The newest this many (default 50).
    pub limit: Option<usize>,
    /// Only this tenant's.
    pub tenant: Option<String>,
    /// Only this resource's.
    pub resource: Option<String>,
    /// Only these verdicts.
    pub verdict: Option<Verdict>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS decisions (
    id INTEGER PRIMARY KEY,
    at_ms INTEGER NOT NULL,
    resource TEXT NOT NULL,
    tenant TEXT NOT NULL,
    label TEXT NOT NULL,
    verdict TEXT NOT NULL,
    reason TEXT NOT NULL,
    waited_us INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS decisions_at ON decisions (at_ms);
CREATE TABLE IF NOT EXISTS usage (
    id INTEGER PRIMARY KEY,
    at_ms INTEGER NOT NULL,
    resource TEXT NOT NULL,
    tenant TEXT NOT NULL,
    grants INTEGER NOT NULL,
    free INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS usage_at ON usage (at_ms);
";

fn open(path: &Path) -> Result<Connection, LogError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| LogError::at(path, e))?;
    }
    let db = Connection::open(path).map_err(|e| LogError::at(path, e))?;
    db.busy_timeout(Duration::from_secs(5))
        .map_err(|e| LogError::at(path, e))?;
    db.pragma_update(None, "journal_mode", "WAL")
        .map_err(|e| LogError::at(path, e))?;
    db.pragma_update(None, "synchronous", "NORMAL")
        .map_err(|e| LogError::at(path, e))?;
    db.execute_batch(SCHEMA)
        .map_err(|e| LogError::at(path, e))?;
    Ok(db)
}

impl SqliteLog {
    /// The log at `path` (created with the first decision), keeping the
    /// newest `max_rows` decisions.
    pub fn new(path: &Path, max_rows: u64) -> Arc<Self> {
        Arc::new(SqliteLog {
            path: path.to_path_buf(),
            max_rows: max_rows.max(1),
            writer: Mutex::new(Writer::NotStarted),
            unlogged: Arc::default(),
        })
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The writer's queue, starting it on first use.
    fn sender(&self) -> Option<SyncSender<Message>> {
        let mut writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        if let Writer::NotStarted = *writer {
            *writer = match self.start() {
                Ok((tx, thread)) => Writer::Running { tx, thread },
                Err(e) => {
                    tracing::warn!("{e}; arbitration decisions are not logged");
                    Writer::Failed
                }
            };
        }
        match &*writer {
            Writer::Running { tx, .. } => Some(tx.clone()),
            _ => None,
        }
    }

    /// Starts the writer, which opens the database itself (off the caller's
    /// path, which may hold a resource's lock).
    fn start(&self) -> Result<(SyncSender<Message>, JoinHandle<()>), LogError> {
        let (tx, rx) = sync_channel(QUEUE);
        let path = self.path.clone();
        let max_rows = self.max_rows;
        let unlogged = Arc::clone(&self.unlogged);
        let thread = std::thread::Builder::new()
            .name("symphony-arbitration-log".into())
            .spawn(move || match open(&path) {
                Ok(db) => write(db, rx, &path, max_rows, &unlogged),
                Err(e) => {
                    tracing::warn!("{e}; arbitration decisions are not logged");
                    // Still answer flushes, so nobody waits on a dead log.
                    for message in rx {
                        if let Message::Flush(done) = message {
                            let _ = done.send(());
                        }
                    }
                }
            })
            .map_err(|e| LogError::at(&self.path, e))?;
        Ok((tx, thread))
    }

    /// Queues `message`, waiting for room (usage counts and flushes, sent
    /// with no lock held).
    fn send(&self, message: Message) {
        if let Some(tx) = self.sender()
            && tx.send(message).is_err()
        {
            tracing::warn!(path = %self.path.display(), "the arbitration log's writer stopped");
        }
    }

    /// Waits until everything recorded so far is written.
    pub fn flush(&self) {
        let started = matches!(
            *self.writer.lock().unwrap_or_else(|e| e.into_inner()),
            Writer::Running { .. }
        );
        if !started {
            return;
        }
        let (done, wait) = sync_channel(1);
        self.send(Message::Flush(done));
        let _ = wait.recv_timeout(Duration::from_secs(10));
    }

    /// Reads decisions from the log at `path`, newest first (none when it
    /// does not exist yet: nothing was decided).
    pub fn read(path: &Path, query: &LogQuery) -> Result<Vec<Decision>, LogError> {
        let Some(db) = read_only(path)? else {
            return Ok(Vec::new());
        };
        let mut sql = String::from(
            "SELECT at_ms, resource, tenant, label, verdict, reason, waited_us FROM decisions WHERE 1=1",
        );
        let mut args: Vec<String> = Vec::new();
        if let Some(tenant) = &query.tenant {
            args.push(tenant.clone());
            sql += &format!(" AND tenant = ?{}", args.len());
        }
        if let Some(resource) = &query.resource {
            args.push(resource.clone());
            sql += &format!(" AND resource = ?{}", args.len());
        }
        if let Some(verdict) = query.verdict {
            args.push(verdict.name().to_string());
            sql += &format!(" AND verdict = ?{}", args.len());
        }
        sql += &format!(" ORDER BY id DESC LIMIT {}", query.limit.unwrap_or(50));
        let mut statement = db.prepare(&sql).map_err(|e| LogError::at(path, e))?;
        let rows = statement
            .query_map(rusqlite::params_from_iter(args.iter()), |row| {
                let verdict: String = row.get(4)?;
                Ok(Decision {
                    at_ms: row.get(0)?,
                    resource: row.get::<_, String>(1)?.into(),
                    tenant: row.get::<_, String>(2)?.into(),
                    label: row.get::<_, String>(3)?.into(),
                    verdict: Verdict::parse(&verdict).unwrap_or(Verdict::Refused),
                    reason: row.get(5)?,
                    waited_us: row.get(6)?,
                })
            })
            .map_err(|e| LogError::at(path, e))?;
        rows.collect::<Result<_, _>>()
            .map_err(|e| LogError::at(path, e))
    }

    /// The stats over the last `window` of the log at `path`: grants and
    /// waits per tenant and resource, shares, Jain's index and Gini, with
    /// tenants' weights from `weight`.
    pub fn stats(
        path: &Path,
        window: Duration,
        weight: impl Fn(&str) -> f64,
    ) -> Result<Stats, LogError> {
        let Some(db) = read_only(path)? else {
            return Ok(Stats {
                window_secs: window.as_secs_f64(),
                ..Stats::default()
            });
        };
        let since = crate::explain::unix_ms().saturating_sub(window.as_millis() as u64);
        let mut names: Vec<String> = Vec::new();
        let mut id = |name: String| -> u32 {
            match names.iter().position(|n| *n == name) {
                Some(i) => i as u32,
                None => {
                    names.push(name);
                    names.len() as u32 - 1
                }
            }
        };
        let mut views: Vec<ResourceView> = Vec::new();
        let now = std::time::Instant::now();
        let view = |views: &mut Vec<ResourceView>, resource: String| -> usize {
            match views.iter().position(|v| v.name == resource) {
                Some(i) => i,
                None => {
                    views.push(ResourceView::empty(resource));
                    views.len() - 1
                }
            }
        };
        // Grants after a wait, one row each.
        let mut statement = db
            .prepare("SELECT resource, tenant, waited_us FROM decisions WHERE verdict = 'granted' AND at_ms >= ?1")
            .map_err(|e| LogError::at(path, e))?;
        let waited: Vec<(String, String, u64)> = statement
            .query_map(params![since], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?))
            })
            .and_then(|rows| rows.collect())
            .map_err(|e| LogError::at(path, e))?;
        for (resource, tenant, waited_us) in waited {
            let v = view(&mut views, resource);
            views[v].samples.push(Sample {
                at: now,
                tenant: id(tenant),
                units: 1,
                waited: Duration::from_micros(waited_us),
            });
        }
        // Grants made at once, counted.
        let mut statement = db
            .prepare("SELECT resource, tenant, SUM(free) FROM usage WHERE at_ms >= ?1 GROUP BY resource, tenant")
            .map_err(|e| LogError::at(path, e))?;
        let free: Vec<(String, String, u64)> = statement
            .query_map(params![since], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?))
            })
            .and_then(|rows| rows.collect())
            .map_err(|e| LogError::at(path, e))?;
        for (resource, tenant, count) in free {
            let v = view(&mut views, resource);
            views[v].add_free(&[(id(tenant), count)]);
        }
        let mut book = crate::ledger::Book::default();
        for (i, name) in names.iter().enumerate() {
            book.set_weight(i as u32, weight(name));
        }
        Ok(crate::stats::compute(
            views,
            &book,
            |t| names.get(t as usize).cloned().unwrap_or_default(),
            window,
        ))
    }
}

/// The log, read-only; `None` when it does not exist yet (it is created
/// with a host's first decision).
fn read_only(path: &Path) -> Result<Option<Connection>, LogError> {
    if !path.exists() {
        return Ok(None);
    }
    let db = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| LogError::at(path, e))?;
    db.busy_timeout(Duration::from_secs(5))
        .map_err(|e| LogError::at(path, e))?;
    Ok(Some(db))
}

impl DecisionSink for SqliteLog {
    fn record(&self, decision: Decision) {
        let Some(tx) = self.sender() else { return };
        match tx.try_send(Message::Decision(decision)) {
            Ok(()) => {}
            // A whole queue behind: counted, and the count logged.
            Err(TrySendError::Full(_)) => {
                self.unlogged.fetch_add(1, Ordering::Relaxed);
            }
            Err(TrySendError::Disconnected(_)) => {
                tracing::warn!(path = %self.path.display(), "the arbitration log's writer stopped");
            }
        }
    }

    fn usage(&self, rows: Vec<Usage>) {
        self.send(Message::Usage(rows));
    }

    fn flush(&self) {
        SqliteLog::flush(self);
    }
}

impl Drop for SqliteLog {
    fn drop(&mut self) {
        let writer = std::mem::replace(
            &mut *self.writer.lock().unwrap_or_else(|e| e.into_inner()),
            Writer::Closed,
        );
        if let Writer::Running { tx, thread } = writer {
            // Closing the channel ends the writer once it has written the
            // rest.
            drop(tx);
            let _ = thread.join();
        }
    }
}

/// The writer: batches what is queued into one transaction at a time.
fn write(
    mut db: Connection,
    rx: Receiver<Message>,
    path: &Path,
    max_rows: u64,
    unlogged: &AtomicU64,
) {
    let mut since_prune = 0u64;
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < 512
            && let Ok(next) = rx.try_recv()
        {
            batch.push(next);
        }
        let missed = unlogged.swap(0, Ordering::Relaxed);
        if missed > 0 {
            let note = Decision::now(
                &"log".into(),
                &"-".into(),
                &"arbitration log".into(),
                Verdict::Unlogged,
                format!("{missed} decisions were not logged: the writer fell a whole queue behind"),
                Duration::ZERO,
            );
            batch.push(Message::Decision(note));
        }
        let mut flushed = Vec::new();
        let written = (|| -> rusqlite::Result<u64> {
            let tx = db.transaction()?;
            let mut rows = 0;
            {
                let mut decision = tx.prepare_cached(
                    "INSERT INTO decisions (at_ms, resource, tenant, label, verdict, reason, waited_us) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )?;
                let mut usage = tx.prepare_cached(
                    "INSERT INTO usage (at_ms, resource, tenant, grants, free) VALUES (?1, ?2, ?3, ?4, ?5)",
                )?;
                for message in batch {
                    match message {
                        Message::Decision(d) => {
                            decision.execute(params![
                                d.at_ms,
                                &*d.resource,
                                &*d.tenant,
                                &*d.label,
                                d.verdict.name(),
                                d.reason,
                                d.waited_us
                            ])?;
                            rows += 1;
                        }
                        Message::Usage(list) => {
                            for u in list {
                                usage.execute(params![
                                    u.at_ms,
                                    &*u.resource,
                                    &*u.tenant,
                                    u.grants,
                                    u.free
                                ])?;
                                rows += 1;
                            }
                        }
                        Message::Flush(done) => flushed.push(done),
                    }
                }
            }
            tx.commit()?;
            Ok(rows)
        })();
        match written {
            Ok(rows) => since_prune += rows,
            Err(e) => {
                tracing::warn!(path = %path.display(), "cannot write arbitration decisions: {e}")
            }
        }
        if since_prune >= PRUNE_EVERY {
            since_prune = 0;
            for table in ["decisions", "usage"] {
                let prune =
                    format!("DELETE FROM {table} WHERE id <= (SELECT MAX(id) FROM {table}) - ?1");
                if let Err(e) = db.execute(&prune, params![max_rows]) {
                    tracing::warn!(path = %path.display(), "cannot prune the arbitration log: {e}");
                }
            }
        }
        for done in flushed {
            let _ = done.send(());
        }
    }
}
