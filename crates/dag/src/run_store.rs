//! The durable record of workflow runs: SQLite in WAL mode, a row per run
//! and the records of its finished nodes (a row per commit,
//! [`records`]), so a run killed at any point resumes
//! without re-running the nodes it finished, and `symphony runs` /
//! `symphony status` can list and show past runs.

mod records;
mod schema;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ExecutionState;
pub(crate) use records::{Finish, NodeCheckpoint};
pub(crate) use writer::CheckpointWriter;

/// Why the run store failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunStoreError {
    /// SQLite failed.
    #[error("run store {path}: {source}")]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// The database was written by a newer Symphony.
    #[error(
        "run store {path} has schema version {found}; this Symphony reads version {} — upgrade Symphony or use another --home",
        schema::VERSION
    )]
    Schema {
        /// The database file.
        path: PathBuf,
        /// Its version.
        found: i64,
    },
    /// No run has this id.
    #[error("no run '{0}' in the run store (`symphony runs` lists them)")]
    NotFound(String),
    /// A new run was given the id of an earlier one.
    #[error("run id '{0}' is taken by an earlier run; give the RunControl a new id")]
    Taken(String),
    /// A stored document does not parse.
    #[error("run '{run}': stored {what} is unreadable: {message}")]
    Corrupt {
        /// The run.
        run: String,
        /// Which document.
        what: &'static str,
        /// The parse error.
        message: String,
    },
    /// The run's process died before its workflow was stored (a large
    /// workflow is stored while the run starts).
    #[error(
        "run '{0}' stopped before its workflow was recorded, so it cannot be resumed; start it again"
    )]
    Unrecorded(String),
    /// The checkpoint writer stopped.
    #[error("checkpoint writer for {0} stopped: {1}")]
    Writer(PathBuf, String),
    /// The store's directory cannot be created.
    #[error("cannot create the run store's directory for {0}: {1}")]
    Directory(PathBuf, String),
}

/// One past or present run, as `symphony runs` lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    /// The run's id.
    pub id: String,
    /// The workflow's id.
    pub workflow_id: String,
    /// The workflow's name.
    pub workflow: String,
    /// Its state. A run whose process died while it ran stays `running`
    /// here; [`RunSummary::interrupted`] tells them apart.
    pub state: ExecutionState,
    /// The run was `running` but the process running it is gone: resume
    /// it with `symphony run --resume ID`.
    pub interrupted: bool,
    /// When it started, in milliseconds since the Unix epoch.
    pub started_ms: u64,
    /// When it ended, in milliseconds since the Unix epoch.
    pub finished_ms: Option<u64>,
    /// Wall-clock time of its last (or only) execution, in milliseconds.
    pub elapsed_ms: Option<f64>,
    /// Nodes in the workflow.
    pub total: usize,
    /// Nodes finished with an output.
    pub completed: usize,
    /// Nodes that failed.
    pub failed: usize,
    /// Nodes skipped.
    pub skipped: usize,
    /// How many times it was resumed.
    pub resumes: u32,
    /// Why it failed.
    pub error: Option<String>,
}

/// One finished node of a run as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeRecord {
    /// The node's id.
    pub node: String,
    /// `completed`, `skipped` or `failed`.
    pub state: String,
    /// The order nodes finished in, from 0.
    pub seq: u64,
    /// Attempts it took.
    pub attempts: u32,
    /// How long its last attempt ran, in milliseconds.
    pub duration_ms: Option<f64>,
    /// Why it failed.
    pub error: Option<String>,
}

/// A run with its nodes and output, as `symphony status` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunStatus {
    /// The run.
    #[serde(flatten)]
    pub summary: RunSummary,
    /// Its finished nodes, in the order they finished.
    pub nodes: Vec<NodeRecord>,
    /// Its output, once completed.
    pub output: Option<Value>,
}

/// What a resumed run starts from.
pub struct Checkpoint {
    /// The run's workflow, as JSON.
    pub workflow: String,
    /// The run's input, as JSON.
    pub input: String,
    /// The state the run was left in.
    pub state: ExecutionState,
    /// (node id, seq, outcome JSON) of the nodes that finished.
    pub finished: Vec<(String, u64, String)>,
}

/// A new run's row.
/// Its workflow and input follow through [`CheckpointWriter::documents`].
pub(crate) struct NewRun<'a> {
    pub(crate) id: &'a str,
    pub(crate) workflow_id: &'a str,
    pub(crate) workflow_name: &'a str,
    pub(crate) total: usize,
}

/// The run database at `<home>/runs.db`.
pub struct RunStore {
    path: PathBuf,
    conn: Mutex<Connection>,
}

impl RunStore {
    /// Opens (creating if needed) the run database at `path`.
    pub fn open(path: impl Into<PathBuf>) -> Result<RunStore, RunStoreError> {
        let path = path.into();
        let mut conn = connect(&path, true)?;
        match schema::prepare(&mut conn).map_err(sql_error(&path))? {
            schema::Found::Current => {}
            schema::Found::Newer(found) => return Err(RunStoreError::Schema { path, found }),
        }
        Ok(RunStore {
            path,
            conn: Mutex::new(conn),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // Every statement is its own transaction, so a panic elsewhere
        // leaves the connection usable.
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn sql(&self) -> impl Fn(rusqlite::Error) -> RunStoreError + Copy + '_ {
        sql_error(&self.path)
    }

    /// The most recent `limit` runs, newest first.
    pub fn runs(&self, limit: usize) -> Result<Vec<RunSummary>, RunStoreError> {
        let conn = self.lock();
        let mut statement = conn.prepare_cached(RECENT).map_err(self.sql())?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = statement
            .query_map([limit], summary_row)
            .map_err(self.sql())?;
        rows.map(|row| row.map_err(self.sql()).and_then(finish_summary))
            .collect()
    }

    /// Run `run_id` with its finished nodes and output.
    pub fn status(&self, run_id: &str) -> Result<RunStatus, RunStoreError> {
        let conn = self.lock();
        // Prepared once per connection: parsing the SQL would cost more
        // than running it.
        let (summary, output) = conn
            .prepare_cached(STATUS)
            .and_then(|mut statement| {
                statement
                    .query_row([run_id], |r| {
                        Ok((summary_row(r)?, r.get::<_, Option<String>>(14)?))
                    })
                    .optional()
            })
            .map_err(self.sql())?
            .ok_or_else(|| RunStoreError::NotFound(run_id.to_string()))?;
        let summary = finish_summary(summary)?;
        let output = output
            .map(|text| parse(run_id, "output", &text))
            .transpose()?;
        let nodes = records::load(&conn, run_id)?
            .into_iter()
            .map(|record| NodeRecord {
                node: record.node,
                state: record.state.as_str().to_string(),
                seq: record.seq,
                attempts: record.attempts,
                duration_ms: record.duration_ms,
                error: record.error,
            })
            .collect();
        Ok(RunStatus {
            summary,
            nodes,
            output,
        })
    }

    /// The workflow document run `run_id` runs (JSON).
    pub fn workflow(&self, run_id: &str) -> Result<String, RunStoreError> {
        self.lock()
            .query_row(
                "SELECT d.body FROM runs r LEFT JOIN documents d ON d.id = r.workflow
                 WHERE r.id = ?1",
                [run_id],
                |r| r.get::<_, Option<String>>(0),
            )
            .optional()
            .map_err(self.sql())?
            .ok_or_else(|| RunStoreError::NotFound(run_id.to_string()))?
            .ok_or_else(|| RunStoreError::Unrecorded(run_id.to_string()))
    }

    /// Records a new run as running.
    pub(crate) fn begin(&self, run: &NewRun<'_>) -> Result<(), RunStoreError> {
        let mut conn = self.lock();
        // Immediate: it reads before it writes, and a deferred transaction
        // that must then take the write lock fails at once ("database is
        // locked") when another process wrote meanwhile, instead of waiting.
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(self.sql())?;
        let taken: bool = tx
            .query_row(
                "SELECT EXISTS(SELECT 1 FROM runs WHERE id = ?1)",
                [run.id],
                |r| r.get(0),
            )
            .map_err(self.sql())?;
        if taken {
            return Err(RunStoreError::Taken(run.id.to_string()));
        }
        tx.execute(
            "INSERT INTO runs (id, workflow_id, workflow_name, state, pid, started_ms, total)
                 VALUES (?1, ?2, ?3, 'running', ?4, ?5, ?6)",
            params![
                run.id,
                run.workflow_id,
                run.workflow_name,
                std::process::id(),
                now_ms(),
                run.total
            ],
        )
        .map_err(self.sql())?;
        tx.commit().map_err(self.sql())
    }

    /// What run `run_id` resumes from. Refused for a completed or
    /// cancelled run, and for one another live process is still running.
    /// Changes nothing: `RunStore::reopen` marks it running once the
    /// resume can go ahead.
    pub fn checkpoint(&self, run_id: &str) -> Result<Checkpoint, ResumeRefusal> {
        type Row = (Option<String>, Option<String>, String, u32);
        let row: Option<Row> = self
            .lock()
            .query_row(
                "SELECT w.body, i.body, r.state, r.pid FROM runs r
                   LEFT JOIN documents w ON w.id = r.workflow
                   LEFT JOIN documents i ON i.id = r.input
                 WHERE r.id = ?1",
                [run_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()
            .map_err(self.sql())?;
        let Some((workflow, input, state, pid)) = row else {
            return Err(RunStoreError::NotFound(run_id.to_string()).into());
        };
        let state = parse_state(run_id, &state)?;
        if state.is_terminal() {
            return Err(ResumeRefusal::Finished(state));
        }
        if state == ExecutionState::Running && pid != std::process::id() && process_alive(pid) {
            return Err(ResumeRefusal::Live(pid));
        }
        let (Some(workflow), Some(input)) = (workflow, input) else {
            return Err(RunStoreError::Unrecorded(run_id.to_string()).into());
        };
        Ok(Checkpoint {
            workflow,
            input,
            state,
            finished: self.finished(run_id)?,
        })
    }

    /// Marks run `run_id` running again in this process, forgetting its
    /// failed nodes (they run again).
    pub(crate) fn reopen(&self, run_id: &str) -> Result<(), RunStoreError> {
        let mut conn = self.lock();
        // Immediate, as in `begin`: it reads before it writes.
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(self.sql())?;
        let mut kept = records::load(&tx, run_id)?;
        kept.retain(|record| record.state != Finish::Failed);
        records::replace(&tx, run_id, &kept).map_err(self.sql())?;
        tx.execute(
            "UPDATE runs SET state = 'running', pid = ?2, error = NULL, finished_ms = NULL,
                             resumes = resumes + 1
             WHERE id = ?1",
            params![run_id, std::process::id()],
        )
        .map_err(self.sql())?;
        tx.commit().map_err(self.sql())
    }

    /// The nodes of run `run_id` that finished (completed or skipped), as
    /// (node id, finish order, outcome JSON).
    pub(crate) fn finished(
        &self,
        run_id: &str,
    ) -> Result<Vec<(String, u64, String)>, RunStoreError> {
        let records = records::load(&self.lock(), run_id)?;
        Ok(records
            .into_iter()
            .filter(|record| record.state != Finish::Failed)
            .map(|record| (record.node, record.seq, record.outcome.unwrap_or_default()))
            .collect())
    }

    /// A writer that records finished nodes and the run's end on its own
    /// connection and thread.
    ///
    /// With `documents_follow`, it records no node before the run's
    /// documents ([`CheckpointWriter::documents`]).
    pub(crate) fn writer(
        &self,
        run_id: &str,
        documents_follow: bool,
    ) -> Result<CheckpointWriter, RunStoreError> {
        CheckpointWriter::start(&self.path, run_id, documents_follow)
    }
}

/// Why a run cannot be resumed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ResumeRefusal {
    /// The store failed or has no such run.
    #[error(transparent)]
    Store(#[from] RunStoreError),
    /// The run already ended for good.
    #[error("the run is {0}; only a failed or interrupted run can be resumed")]
    Finished(ExecutionState),
    /// Another process is running it.
    #[error("process {0} is still running it")]
    Live(u32),
}

/// Turns a SQLite error into one naming the store's file.
fn sql_error(path: &Path) -> impl Fn(rusqlite::Error) -> RunStoreError + Copy + '_ {
    move |source| RunStoreError::Sqlite {
        path: path.to_path_buf(),
        source,
    }
}

/// Opens a connection in WAL mode: a commit survives the process being
/// killed, and readers (`symphony status`) never block the writer.
///
/// `foreign_keys` checks each row's references; the checkpoint writer does
/// without, as its run's row exists before it starts and nothing deletes
/// it meanwhile.
fn connect(path: &Path, foreign_keys: bool) -> Result<Connection, RunStoreError> {
    let sql = sql_error(path);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| RunStoreError::Directory(path.into(), e.to_string()))?;
    }
    let conn = symphony_artifacts::sqlite::open_wal(path).map_err(sql)?;
    conn.pragma_update(None, "foreign_keys", foreign_keys)
        .map_err(sql)?;
    Ok(conn)
}

/// The summary columns of `runs` (a macro, so queries can extend it with
/// `concat!` and stay constants the statement cache keys on).
macro_rules! summary {
    () => {
        "SELECT r.id, r.workflow_id, r.workflow_name, r.state, r.pid, r.started_ms,
       r.finished_ms, r.elapsed_ms, r.total, r.resumes, r.error,
       r.completed, r.failed, r.skipped"
    };
}

const RECENT: &str = concat!(
    summary!(),
    " FROM runs r ORDER BY r.started_ms DESC, r.id LIMIT ?1"
);
/// One run's summary, and its output as column 14.
const STATUS: &str = concat!(summary!(), ", r.output FROM runs r WHERE r.id = ?1");

/// A summary row, with its state still text (checked by
/// [`finish_summary`], outside rusqlite's error type).
type SummaryRow = (RunSummary, String, u32);

fn summary_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<SummaryRow> {
    Ok((
        RunSummary {
            id: r.get(0)?,
            workflow_id: r.get(1)?,
            workflow: r.get(2)?,
            state: ExecutionState::Pending,
            interrupted: false,
            started_ms: r.get(5)?,
            finished_ms: r.get(6)?,
            elapsed_ms: r.get(7)?,
            total: r.get(8)?,
            resumes: r.get(9)?,
            error: r.get(10)?,
            completed: r.get(11)?,
            failed: r.get(12)?,
            skipped: r.get(13)?,
        },
        r.get(3)?,
        r.get(4)?,
    ))
}

fn finish_summary((mut summary, state, pid): SummaryRow) -> Result<RunSummary, RunStoreError> {
    summary.state = parse_state(&summary.id, &state)?;
    summary.interrupted = summary.state == ExecutionState::Running
        && pid != std::process::id()
        && !process_alive(pid);
    Ok(summary)
}

fn parse_state(run: &str, text: &str) -> Result<ExecutionState, RunStoreError> {
    serde_json::from_value(Value::String(text.to_string())).map_err(|e| RunStoreError::Corrupt {
        run: run.to_string(),
        what: "state",
        message: e.to_string(),
    })
}

fn parse(run: &str, what: &'static str, text: &str) -> Result<Value, RunStoreError> {
    serde_json::from_str(text).map_err(|e| RunStoreError::Corrupt {
        run: run.to_string(),
        what,
        message: e.to_string(),
    })
}

/// Whether process `pid` still exists. Where that cannot be told (not
/// Linux), a process is assumed gone, so a run can always be resumed.
fn process_alive(pid: u32) -> bool {
    cfg!(target_os = "linux") && Path::new(&format!("/proc/{pid}")).exists()
}

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> u64 {
    symphony_protocol::now_us() / 1000
}

#[cfg(test)]
mod tests;
