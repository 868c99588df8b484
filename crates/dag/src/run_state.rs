//! The execution state machine of a run, and its progress.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Where a run stands in the DAG Tracker.
///
/// The allowed transitions are exactly:
///
/// | from      | to                                  |
/// |-----------|-------------------------------------|
/// | Pending   | Running, Cancelled                  |
/// | Running   | Paused, Completed, Failed, Cancelled |
/// | Paused    | Running, Cancelled                  |
/// | Failed    | Running (retry the failed nodes)    |
///
/// [`Completed`](Self::Completed) and [`Cancelled`](Self::Cancelled) are
/// terminal. [`Failed`](Self::Failed) is not: retry-failed runs it again.
/// Serialized as the lowercase name (`"running"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExecutionState {
    /// Created, not started yet.
    Pending,
    /// Nodes are being scheduled.
    Running,
    /// No new node starts until the run is resumed or cancelled.
    Paused,
    /// Every node finished; terminal.
    Completed,
    /// A node failed and its recovery policy failed the run; the failed
    /// nodes can be retried.
    Failed,
    /// Stopped on request; terminal.
    Cancelled,
}

impl ExecutionState {
    /// Every state, in declaration order.
    pub const ALL: [ExecutionState; 6] = [
        ExecutionState::Pending,
        ExecutionState::Running,
        ExecutionState::Paused,
        ExecutionState::Completed,
        ExecutionState::Failed,
        ExecutionState::Cancelled,
    ];

    /// Whether a run in this state may move to `to` (see the table on
    /// [`ExecutionState`]).
    pub fn can_become(self, to: ExecutionState) -> bool {
        use ExecutionState::*;
        matches!(
            (self, to),
            (Pending, Running)
                | (Pending, Cancelled)
                | (Running, Paused)
                | (Paused, Running)
                | (Running, Completed)
                | (Running, Failed)
                | (Running, Cancelled)
                | (Paused, Cancelled)
                | (Failed, Running)
        )
    }

    /// Whether no transition leaves this state (completed or cancelled).
    pub fn is_terminal(self) -> bool {
        matches!(self, ExecutionState::Completed | ExecutionState::Cancelled)
    }

    /// Checks the move from this state to `to` for run `run`, returning
    /// `to` when it is allowed.
    pub fn transition(self, run: &str, to: ExecutionState) -> Result<Self, RunTransitionError> {
        if self.can_become(to) {
            Ok(to)
        } else {
            Err(RunTransitionError {
                run: run.to_string(),
                from: self,
                to,
            })
        }
    }

    /// The lowercase name, as serialized.
    pub fn as_str(self) -> &'static str {
        match self {
            ExecutionState::Pending => "pending",
            ExecutionState::Running => "running",
            ExecutionState::Paused => "paused",
            ExecutionState::Completed => "completed",
            ExecutionState::Failed => "failed",
            ExecutionState::Cancelled => "cancelled",
        }
    }
}

impl fmt::Display for ExecutionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A run was asked to make a transition the state machine does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("run {run}: cannot go from {from} to {to}")]
pub struct RunTransitionError {
    /// The run's id.
    pub run: String,
    /// The state it is in (and stays in).
    pub from: ExecutionState,
    /// The state it was asked to move to.
    pub to: ExecutionState,
}

/// How far a run has got: nodes finished out of the total.
///
/// `done` counts every node that will not run again in this attempt:
/// completed, failed and skipped. `percent` is `done / total` in percent,
/// rounded to one decimal, but never shows 100.0 before every node is done
/// nor 0.0 once one is; a run with no nodes is at 100.0.
///
/// ```
/// use symphony_dag::Progress;
///
/// let p = Progress::new(3, 1, 0, 0);
/// assert_eq!((p.done(), p.percent()), (1, 33.3));
/// let json = serde_json::to_value(p).unwrap();
/// assert_eq!(json["percent"], 33.3);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    total: usize,
    done: usize,
    completed: usize,
    failed: usize,
    skipped: usize,
    percent: f64,
}

impl Progress {
    /// Progress of a run of `total` nodes of which `completed` completed,
    /// `failed` failed and `skipped` were skipped. Counts above `total`
    /// are kept as given but `percent` stays at most 100.
    pub fn new(total: usize, completed: usize, failed: usize, skipped: usize) -> Self {
        let done = completed.saturating_add(failed).saturating_add(skipped);
        Progress {
            total,
            done,
            completed,
            failed,
            skipped,
            percent: percent(done, total),
        }
    }

    /// Nodes in the run.
    pub fn total(&self) -> usize {
        self.total
    }

    /// Nodes finished one way or another: completed + failed + skipped.
    pub fn done(&self) -> usize {
        self.done
    }

    /// Nodes that completed with an output.
    pub fn completed(&self) -> usize {
        self.completed
    }

    /// Nodes that failed.
    pub fn failed(&self) -> usize {
        self.failed
    }

    /// Nodes that were skipped.
    pub fn skipped(&self) -> usize {
        self.skipped
    }

    /// Nodes not finished yet (pending or running).
    pub fn remaining(&self) -> usize {
        self.total.saturating_sub(self.done)
    }

    /// `done / total` in percent, rounded to one decimal (see [`Progress`]).
    pub fn percent(&self) -> f64 {
        self.percent
    }
}

fn percent(done: usize, total: usize) -> f64 {
    if done >= total {
        return 100.0;
    }
    // Rounded to tenths, but kept strictly between 0 and 100 while part
    // of the run is done, so a bar never reads "100%" too early.
    let tenths = (done as f64 * 1000.0 / total as f64).round();
    tenths.clamp(if done == 0 { 0.0 } else { 1.0 }, 999.0) / 10.0
}

#[cfg(test)]
mod tests;
