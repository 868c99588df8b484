//! What happens when a node finishes: its outcome is recorded and
//! checkpointed and the nodes after it may become ready; a failure goes
//! to the node's recovery policy; and how the run ends.

use std::cmp::Reverse;
use std::time::{Duration, Instant};

use super::{MAX_RESTARTS, PROGRESS_EVERY, Scheduler};
use crate::report::{NodeState, RunEvent, RunReport};
use crate::run_store::{Finish, NodeCheckpoint};
use crate::runner::NodeError;
use crate::tracker::workers::{Handle, Job};
use crate::walk::Outcome;
use crate::{ExecEvent, ExecutionState, Progress, RecoveryPolicy};

impl Scheduler<'_, '_> {
    /// Node `index` (at `position`) finished with `outcome`; `recovered`
    /// says how a recovery policy gave it one.
    pub(super) fn completed(
        &mut self,
        position: usize,
        index: usize,
        outcome: Outcome,
        elapsed: Duration,
        recovered: Option<(NodeState, String)>,
    ) {
        let node = &self.graph.nodes[index];
        let ms = elapsed.as_secs_f64() * 1e3;
        let (state, note) = match recovered {
            Some((state, note)) => (state, Some(note)),
            None => (NodeState::Completed, None),
        };
        if note.is_none() {
            // A recovered failure was counted as one already.
            self.report.metrics.record(node.kind, ms, false);
        }
        let entry = &mut self.report.nodes[position];
        entry.state = state;
        entry.duration_ms = Some(ms);
        if note.is_some() {
            entry.recovered = note;
        }
        entry.error = None;
        let attempts = entry.attempts;
        let seq = self.record(
            index,
            if state == NodeState::Skipped {
                Finish::Skipped
            } else {
                Finish::Completed
            },
            Ok(&outcome),
            attempts,
            Some(ms),
        );
        self.archive_output(index, &outcome);
        self.outcomes[index] = outcome;
        self.finished_at[index] = seq;
        match state {
            NodeState::Skipped => self.skipped_nodes += 1,
            _ => self.completed_nodes += 1,
        }
        (self.observer)(RunEvent::NodeFinished {
            node: &self.report.nodes[position],
        });
        self.events
            .send("node.completed", || ExecEvent::NodeCompleted {
                run: self.run.clone(),
                node: node.id.as_str().into(),
                duration_ms: ms,
            });
        self.release(index);
    }

    /// Gives node `index` the next place in the finish order and queues its
    /// checkpoint: `state` with its outcome, or `failed` with the error.
    fn record(
        &mut self,
        index: usize,
        state: Finish,
        outcome: Result<&Outcome, &String>,
        attempts: u32,
        duration_ms: Option<f64>,
    ) -> usize {
        let seq = self.next_seq;
        self.next_seq += 1;
        if let Some(writer) = self.writer {
            writer.node(NodeCheckpoint {
                node: self.graph.nodes[index].id.clone(),
                seq: seq as u64,
                state,
                outcome: outcome
                    .ok()
                    .map(|o| serde_json::to_string(o).unwrap_or_default()),
                attempts,
                duration_ms,
                error: outcome.err().cloned(),
            });
        }
        seq
    }

    /// Node `index` is not to run: a path to it was not taken.
    pub(super) fn skipped(&mut self, position: usize, index: usize, reason: String) {
        let node = &self.graph.nodes[index];
        tracing::debug!(node = %node.id, "skipped: {reason}");
        let seq = self.record(index, Finish::Skipped, Ok(&Outcome::Skipped), 0, None);
        self.outcomes[index] = Outcome::Skipped;
        self.finished_at[index] = seq;
        self.skipped_nodes += 1;
        self.report.nodes[position].state = NodeState::Skipped;
        (self.observer)(RunEvent::NodeFinished {
            node: &self.report.nodes[position],
        });
        self.events.send("node.skipped", || ExecEvent::NodeSkipped {
            run: self.run.clone(),
            node: node.id.as_str().into(),
            reason,
        });
        self.release(index);
    }

    /// The nodes after `index` have one edge fewer to wait on.
    fn release(&mut self, index: usize) {
        for &next in self.outgoing.of(index) {
            // A successor may have finished already (restored from a
            // checkpoint that lost this node): it is not run again.
            if self.finished_at[next] != usize::MAX {
                continue;
            }
            self.waiting[next] = self.waiting[next].saturating_sub(1);
            if self.waiting[next] == 0 {
                self.ready.push(Reverse(self.position_of[next]));
            }
        }
        self.done += 1;
        if self.last_progress.elapsed() >= PROGRESS_EVERY {
            self.last_progress = Instant::now();
            self.send_progress();
        }
    }

    fn progress(&self) -> Progress {
        Progress::new(
            self.graph.nodes.len(),
            self.completed_nodes,
            self.failed_nodes,
            self.skipped_nodes,
        )
    }

    fn send_progress(&self) {
        self.events.send("progress", || ExecEvent::Progress {
            run: self.run.clone(),
            progress: self.progress(),
        });
    }

    /// An attempt of node `index` failed: its recovery policy decides.
    pub(super) fn failed(
        &mut self,
        position: usize,
        index: usize,
        error: NodeError,
        elapsed: Duration,
    ) {
        let NodeError { kind, message } = error;
        let node = &self.graph.nodes[index];
        let ms = elapsed.as_secs_f64() * 1e3;
        self.report.metrics.record(node.kind, ms, true);
        let entry = &mut self.report.nodes[position];
        entry.duration_ms = Some(ms);
        let attempt = entry.attempts;
        if self.on_fallback[position] || self.stop.is_some() {
            return self.failed_for_good(position, index, message);
        }
        let policy = node.recovery.clone().unwrap_or_default();
        match policy {
            RecoveryPolicy::Retry { .. } if !policy.retries(kind) => {
                // Another attempt with the same input cannot fix it.
                let message = format!("{message} (not retried: {})", kind.as_str());
                self.failed_for_good(position, index, message)
            }
            RecoveryPolicy::Retry { ref backoff, .. } => {
                if policy.retry_delay(attempt).is_none() {
                    let message = format!("{message} (attempt {attempt} of {attempt})");
                    return self.failed_for_good(position, index, message);
                }
                let delay = backoff.jittered_delay(attempt, random_sample());
                self.report.nodes[position].state = NodeState::Pending;
                self.report.nodes[position].error = Some(message.clone());
                self.retries
                    .push(Reverse((Instant::now() + delay, position)));
                self.events.send("node.retried", || ExecEvent::NodeRetried {
                    run: self.run.clone(),
                    node: node.id.as_str().into(),
                    attempt,
                    error: message,
                    delay_ms: delay.as_secs_f64() * 1e3,
                });
            }
            RecoveryPolicy::Fallback(value) => {
                let note = format!("used its fallback value after: {message}");
                let recovered = Some((NodeState::Completed, note));
                self.completed(position, index, Outcome::Output(value), elapsed, recovered);
            }
            RecoveryPolicy::SkipWithDefault(value) => {
                let note = format!("skipped with its default after: {message}");
                let recovered = Some((NodeState::Skipped, note));
                self.completed(position, index, Outcome::Output(value), elapsed, recovered);
            }
            RecoveryPolicy::FallbackNode(id) => {
                let entry = &mut self.report.nodes[position];
                entry.recovered = Some(format!("ran fallback node '{id}' after: {message}"));
                self.on_fallback[position] = true;
                self.fallback_queue.push(position);
            }
            RecoveryPolicy::FailRun => self.failed_for_good(position, index, message),
            RecoveryPolicy::RestartFromCheckpoint => {
                if self.restarts >= MAX_RESTARTS {
                    let message =
                        format!("{message} (after {MAX_RESTARTS} restarts from the checkpoint)");
                    return self.failed_for_good(position, index, message);
                }
                self.report.nodes[position].state = NodeState::Pending;
                self.report.nodes[position].error = Some(message);
                self.restart_pending = true;
            }
        }
    }

    /// Node `index` failed and nothing recovers it: the run stops starting
    /// nodes and fails once the running ones finish.
    fn failed_for_good(&mut self, position: usize, index: usize, message: String) {
        let node = &self.graph.nodes[index];
        let entry = &mut self.report.nodes[position];
        entry.state = NodeState::Failed;
        entry.error = Some(message.clone());
        let (attempts, duration_ms) = (entry.attempts, entry.duration_ms);
        self.record(index, Finish::Failed, Err(&message), attempts, duration_ms);
        self.failed_nodes += 1;
        (self.observer)(RunEvent::NodeFinished {
            node: &self.report.nodes[position],
        });
        self.stop
            .get_or_insert_with(|| format!("node '{}' failed: {message}", node.id));
        self.events.send("node.failed", || ExecEvent::NodeFailed {
            run: self.run.clone(),
            node: node.id.as_str().into(),
            error: message,
        });
    }

    /// Runs the fallback node of the node at `position` on that node's
    /// input.
    pub(super) fn start_fallback(&mut self, position: usize, workers: &Handle) {
        let index = self.graph.plan.order[position];
        let node = &self.graph.nodes[index];
        let Some(crate::RecoveryPolicy::FallbackNode(id)) = &node.recovery else {
            return;
        };
        let Some(&fallback) = self.fallbacks.get(id.as_str()) else {
            let message = format!("its fallback node '{id}' is not in the workflow");
            return self.failed_for_good(position, index, message);
        };
        let input = match self
            .graph
            .gather(index, self.input, &self.outcomes, &self.finished_at)
        {
            Ok(Ok(input)) => input,
            Ok(Err(reason)) | Err(reason) => {
                return self.failed_for_good(position, index, reason);
            }
        };
        if workers.workers == 0 {
            let message = "no worker thread could be started to run its fallback".to_string();
            return self.failed_for_good(position, index, message);
        }
        let bounds = self.bounds_for(&self.graph.nodes[fallback], position);
        self.report.nodes[position].state = NodeState::Running;
        workers.submit(Job {
            position,
            node: fallback,
            input,
            bounds,
        });
        self.in_flight += 1;
    }

    /// A node was stopped because the run stopped: it is not finished (a
    /// resume runs it again) and not a failure of its own.
    pub(super) fn interrupted(&mut self, position: usize, index: usize, message: String) {
        let entry = &mut self.report.nodes[position];
        entry.state = NodeState::Skipped;
        entry.error = Some(message.clone());
        (self.observer)(RunEvent::NodeFinished {
            node: &self.report.nodes[position],
        });
        self.events.send("node.skipped", || ExecEvent::NodeSkipped {
            run: self.run.clone(),
            node: self.graph.nodes[index].id.as_str().into(),
            reason: format!("interrupted: {message}"),
        });
    }

    /// The run was paused, resumed or cancelled.
    pub(super) fn state_changed(&mut self, state: ExecutionState) {
        if state == ExecutionState::Cancelled {
            self.stop
                .get_or_insert_with(|| "the run was cancelled".into());
        }
        self.events.send("state", || ExecEvent::State {
            run: self.run.clone(),
            state,
        });
    }

    /// Whether a restart from the checkpoint waits only for the running
    /// nodes, which have now finished.
    pub(super) fn restart_due(&self) -> bool {
        self.restart_pending && self.in_flight == 0 && self.stop.is_none()
    }

    /// Restarts from the checkpoint: forgets every outcome, reloads those
    /// the run store holds and schedules the rest again. Without a run
    /// store the checkpoint is what this run holds in memory, so only the
    /// failed node runs again.
    pub(super) fn restart(&mut self) {
        self.restart_pending = false;
        self.restarts += 1;
        // Whatever was to run again starts over from the checkpoint.
        self.retries.clear();
        self.fallback_queue.clear();
        self.on_fallback.iter_mut().for_each(|f| *f = false);
        let Some(writer) = self.writer else {
            self.recount();
            return;
        };
        writer.flush();
        let finished = match self
            .tracker
            .runs()
            .and_then(|store| store.finished(&self.run))
        {
            Ok(finished) => finished,
            Err(e) => {
                self.stop = Some(format!("cannot restart from the checkpoint: {e}"));
                return;
            }
        };
        let n = self.graph.nodes.len();
        self.outcomes = vec![Outcome::Skipped; n];
        self.finished_at = vec![usize::MAX; n];
        self.next_seq = 0;
        self.done = 0;
        (self.completed_nodes, self.failed_nodes, self.skipped_nodes) = (0, 0, 0);
        for entry in &mut self.report.nodes {
            entry.state = NodeState::Pending;
            // Restored nodes name their output again; the rest will, or
            // must not keep a superseded one.
            entry.artifact = None;
        }
        self.set_aside_standby();
        let resumed = self.report.resumed;
        if let Err(e) = self.restore(finished) {
            self.stop = Some(format!("cannot restart from the checkpoint: {e}"));
        }
        // A restart is not a resume; restored nodes say where they came from.
        self.report.resumed = resumed;
    }

    /// The report and final state once the loop is over.
    pub(super) fn end(mut self) -> (RunReport, ExecutionState) {
        if self.control.state() == ExecutionState::Paused {
            // A run that ends while paused (its last node finished, or the
            // deadline passed) leaves the pause behind.
            let _ = self.control.resume();
        }
        let cancelled = self.control.state() == ExecutionState::Cancelled;
        let state = match (&self.stop, cancelled) {
            (_, true) => ExecutionState::Cancelled,
            (Some(_), false) => ExecutionState::Failed,
            (None, false) => ExecutionState::Completed,
        };
        if !cancelled {
            let moved = match state {
                ExecutionState::Completed => self.control.complete(),
                _ => self.control.fail(),
            };
            if let Err(e) = moved {
                tracing::debug!("run control: {e}");
            }
        }
        for entry in &mut self.report.nodes {
            if matches!(entry.state, NodeState::Pending | NodeState::Running) {
                entry.state = NodeState::Skipped;
            }
        }
        if state == ExecutionState::Completed {
            self.report.output = Some(self.graph.output(&self.outcomes));
        }
        let elapsed = self.started.elapsed().as_secs_f64();
        let ran: usize = self.report.metrics.by_kind.values().map(|k| k.nodes).sum();
        self.report.metrics.nodes_per_second = if elapsed > 0.0 {
            ran as f64 / elapsed
        } else {
            0.0
        };
        self.report.state = state;
        self.report.error = self.stop.take();
        self.report.progress = self.progress();
        self.send_progress();
        self.events.send("state", || ExecEvent::State {
            run: self.run.clone(),
            state,
        });
        (self.report, state)
    }
}

/// A number in `[0, 1)` for backoff jitter, from the standard library's
/// randomly keyed hasher (no RNG crate for one number per retry).
fn random_sample() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let bits = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    (bits >> 11) as f64 / (1u64 << 53) as f64
}
