//! Checkpoints written off the scheduler's path: a thread with its own
//! connection commits finished nodes in groups.
//!
//! Why group commit did not amortise under load (issue 22: 8.9–11.9 µs per
//! checkpointed node against 1.0–2.0 unchecked): the thread committed as
//! soon as one record arrived, and
//! a commit of one row is quick, so the thread was back asleep on the
//! channel before the next node finished — every node cost a wake-up of
//! the writer (a futex and a context switch on a two-core machine shared
//! with the workers) and a transaction of its own. Now the writer, woken
//! by the first record of a burst, first lets the burst gather for
//! [`GATHER`] without anyone waiting on the channel (so finishing nodes
//! wake nothing), then commits all of it at once. A checkpoint is
//! committed at most [`GATHER`] plus one commit after its node finishes;
//! a flush or the run's end is committed at once.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::JoinHandle;

use rusqlite::{Connection, TransactionBehavior, params};

use super::records::{self, NodeCheckpoint};
use super::{RunStoreError, connect, now_ms, schema};
use crate::ExecutionState;

/// The most records one transaction takes, so a flood of tiny nodes
/// still commits now and then.
const MAX_BATCH: usize = 4096;

/// How long the first record of a burst waits for the rest.
const GATHER: std::time::Duration = std::time::Duration::from_millis(1);

enum Message {
    Node(NodeCheckpoint),
    /// The run's workflow and input, as JSON.
    Documents {
        workflow: String,
        input: String,
    },
    Finish {
        state: ExecutionState,
        output: Option<String>,
        error: Option<String>,
        elapsed_ms: f64,
    },
    Flush(mpsc::SyncSender<()>),
}

/// Writes one run's checkpoints on a thread of its own.
pub(crate) struct CheckpointWriter {
    path: PathBuf,
    tx: mpsc::Sender<Message>,
    thread: JoinHandle<Result<(), String>>,
}

impl CheckpointWriter {
    /// Opens a connection to the store at `path` (failing here, before
    /// the run starts, if it cannot) and starts the writer thread. With
    /// `documents_follow`, no node is recorded before the run's documents
    /// arrive ([`CheckpointWriter::documents`]): a run whose nodes are
    /// recorded can be resumed.
    pub(super) fn start(
        path: &Path,
        run_id: &str,
        documents_follow: bool,
    ) -> Result<CheckpointWriter, RunStoreError> {
        let conn = connect(path, false)?;
        let (tx, rx) = mpsc::channel();
        let run = run_id.to_string();
        let thread = std::thread::Builder::new()
            .name("symphony-checkpoint".into())
            .spawn(move || write_loop(conn, &run, &rx, documents_follow))
            .map_err(|e| RunStoreError::Writer(path.to_path_buf(), e.to_string()))?;
        Ok(CheckpointWriter {
            path: path.to_path_buf(),
            tx,
            thread,
        })
    }

    /// Queues a finished node's checkpoint.
    pub(crate) fn node(&self, checkpoint: NodeCheckpoint) {
        // The thread only stops when this writer is finished; a send error
        // means it died, which `finish` reports.
        let _ = self.tx.send(Message::Node(checkpoint));
    }

    /// Queues the run's workflow and input (JSON) to be stored.
    pub(crate) fn documents(&self, workflow: String, input: String) {
        let _ = self.tx.send(Message::Documents { workflow, input });
    }

    /// Waits until everything queued so far is committed.
    pub(crate) fn flush(&self) {
        let (ack, done) = mpsc::sync_channel(1);
        if self.tx.send(Message::Flush(ack)).is_ok() {
            let _ = done.recv();
        }
    }

    /// Records how the run ended, waits for every checkpoint to be
    /// committed and stops the thread. Reports the first write that
    /// failed, if any did.
    pub(crate) fn finish(
        self,
        state: ExecutionState,
        output: Option<String>,
        error: Option<String>,
        elapsed_ms: f64,
    ) -> Result<(), RunStoreError> {
        let _ = self.tx.send(Message::Finish {
            state,
            output,
            error,
            elapsed_ms,
        });
        drop(self.tx);
        match self.thread.join() {
            Ok(result) => result.map_err(|e| RunStoreError::Writer(self.path, e)),
            Err(_) => Err(RunStoreError::Writer(
                self.path,
                "the writer thread panicked".into(),
            )),
        }
    }
}

/// Commits whatever has queued up, batch after batch, until the writer is
/// dropped. A failed commit is remembered (the first one is reported) and
/// writing goes on: a later checkpoint may still succeed.
fn write_loop(
    mut conn: Connection,
    run: &str,
    rx: &mpsc::Receiver<Message>,
    documents_follow: bool,
) -> Result<(), String> {
    let mut first_error = None;
    let mut batch = Vec::new();
    let mut awaiting_documents = documents_follow;
    while let Ok(first) = rx.recv() {
        // Someone waits for a flush or the end; a node's record can wait
        // for its burst.
        if matches!(first, Message::Node(_)) && !awaiting_documents {
            std::thread::sleep(GATHER);
        }
        let received = batch.len();
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(message) => batch.push(message),
                Err(_) => break,
            }
        }
        if awaiting_documents {
            let new = &batch[received..];
            if new.iter().any(|m| matches!(m, Message::Documents { .. })) {
                awaiting_documents = false;
            } else if new.iter().all(|m| matches!(m, Message::Node(_))) {
                // Nodes wait for the documents; a flush or the end does not.
                continue;
            }
        }
        let mut acks = Vec::new();
        if let Err(e) = commit(&mut conn, run, &mut batch, &mut acks) {
            tracing::warn!(run, "checkpoint failed: {e}");
            first_error.get_or_insert(e.to_string());
        }
        // What a failed commit left unwritten is lost (and reported), but
        // its flushes are still answered.
        for message in batch.drain(..) {
            if let Message::Flush(ack) = message {
                acks.push(ack);
            }
        }
        // Acknowledged after the commit, failed or not: a flush waits for
        // the attempt, and the error is reported at the end.
        for ack in acks {
            let _ = ack.send(());
        }
    }
    first_error.map_or(Ok(()), Err)
}

fn commit(
    conn: &mut Connection,
    run: &str,
    batch: &mut Vec<Message>,
    acks: &mut Vec<mpsc::SyncSender<()>>,
) -> rusqlite::Result<()> {
    // Immediate, as storing documents reads before it writes (see
    // `RunStore::begin`).
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut nodes = Vec::with_capacity(batch.len());
    let mut finish = None;
    for message in batch.drain(..) {
        match message {
            Message::Node(node) => nodes.push(node),
            Message::Finish {
                state,
                output,
                error,
                elapsed_ms,
            } => finish = Some((state, output, error, elapsed_ms)),
            Message::Documents { workflow, input } => {
                let workflow = schema::document(&tx, &workflow)?;
                let input = schema::document(&tx, &input)?;
                tx.execute(
                    "UPDATE runs SET workflow = ?2, input = ?3 WHERE id = ?1",
                    params![run, workflow, input],
                )?;
            }
            Message::Flush(ack) => acks.push(ack),
        }
    }
    records::append(&tx, run, &nodes)?;
    if let Some((state, output, error, elapsed_ms)) = finish {
        tx.execute(
            "UPDATE runs SET state = ?2, output = ?3, error = ?4, elapsed_ms = ?5,
                             finished_ms = ?6
             WHERE id = ?1",
            params![run, state.as_str(), output, error, elapsed_ms, now_ms()],
        )?;
    }
    tx.commit()
}
