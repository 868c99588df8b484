//! Node outputs kept in the Artifact Store, written off the scheduler's
//! path. The scheduler names each output by its hash at once (so reports
//! and downstream links can use it) and hands the bytes to a thread that
//! stores whatever has queued up as one batch: one file-system sync and one
//! catalog transaction per batch, however many nodes finished meanwhile.

use std::collections::HashSet;
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;

use serde_json::Value;

use symphony_artifacts::{ArtifactMeta, ArtifactStore, content_id};

/// The most outputs one batch takes.
const MAX_BATCH: usize = 512;

/// One output (or the run's input) to store.
pub(crate) struct StoredOutput {
    /// The artifact's id, already worked out from `bytes`.
    pub(crate) id: String,
    pub(crate) bytes: Vec<u8>,
    pub(crate) meta: ArtifactMeta,
}

impl StoredOutput {
    /// `value` as the stored artifact: pretty JSON, so a version diff of a
    /// node's output across runs reads line by line.
    pub(crate) fn new(value: &Value, meta: ArtifactMeta) -> StoredOutput {
        let bytes = serde_json::to_vec_pretty(value).unwrap_or_default();
        StoredOutput {
            id: content_id(&bytes),
            bytes,
            meta: meta.content_type("application/json"),
        }
    }

    /// The same output with `meta` instead.
    pub(crate) fn with_meta(self, meta: ArtifactMeta) -> StoredOutput {
        StoredOutput {
            meta: meta.content_type("application/json"),
            ..self
        }
    }
}

/// Stores one run's node outputs on a thread of its own.
pub(crate) struct OutputArchive {
    tx: mpsc::Sender<StoredOutput>,
    thread: JoinHandle<Option<String>>,
}

impl OutputArchive {
    /// Starts the archive thread for a run of `host`.
    pub(crate) fn start(store: &Arc<ArtifactStore>) -> Result<OutputArchive, String> {
        let (tx, rx) = mpsc::channel();
        let store = store.clone();
        let thread = std::thread::Builder::new()
            .name("symphony-outputs".into())
            .spawn(move || store_loop(&store, &rx))
            .map_err(|e| format!("cannot start the output archive thread: {e}"))?;
        Ok(OutputArchive { tx, thread })
    }

    /// Queues an output to store.
    pub(crate) fn store(&self, output: StoredOutput) {
        // The thread only stops once this archive is finished.
        let _ = self.tx.send(output);
    }

    /// Waits until every queued output is stored; the first failure, if
    /// any.
    pub(crate) fn finish(self) -> Option<String> {
        drop(self.tx);
        self.thread
            .join()
            .unwrap_or_else(|_| Some("the output archive thread panicked".into()))
    }
}

fn store_loop(store: &ArtifactStore, rx: &mpsc::Receiver<StoredOutput>) -> Option<String> {
    let mut first_error = None;
    // Outputs stored by this run: links to them need no catalog lookup.
    let mut stored: HashSet<String> = HashSet::new();
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(output) => batch.push(output),
                Err(_) => break,
            }
        }
        let in_batch: HashSet<String> = batch.iter().map(|o| o.id.clone()).collect();
        let items: Vec<_> = batch
            .iter()
            .map(|output| {
                let mut meta = output.meta.clone();
                // A link to an output that is gone (deleted by retention
                // since a resumed run first stored it) is dropped, not
                // allowed to lose this output.
                meta.derived_from
                    .retain(|id| stored.contains(id) || in_batch.contains(id) || store.knows(id));
                (output.bytes.as_slice(), meta)
            })
            .collect();
        match store.put_batch(items.iter().map(|(b, m)| (*b, m.clone()))) {
            Ok(_) => stored.extend(in_batch),
            Err(e) => {
                // One bad output must not cost the batch: store them one by
                // one, so only the ones that really fail are lost (and named).
                tracing::debug!(
                    "storing {} node outputs as a batch failed: {e}",
                    items.len()
                );
                for ((bytes, mut meta), output) in items.into_iter().zip(&batch) {
                    meta.derived_from
                        .retain(|id| stored.contains(id) || store.knows(id));
                    if let Err(e) = store.put_with(bytes, &meta) {
                        let node = meta.fields.iter().find(|(k, _)| k == "node");
                        let node = node.map_or("the run's input", |(_, v)| v.as_str());
                        tracing::warn!(node, id = output.id, "storing a node output failed: {e}");
                        first_error.get_or_insert_with(|| {
                            format!("storing the output of {node} ({}): {e}", output.id)
                        });
                    } else {
                        stored.insert(output.id.clone());
                    }
                }
            }
        }
    }
    first_error
}
