//! The DAG Tracker: parallel, recoverable execution of a workflow's nodes.
//!
//! A [`Tracker`] runs a validated workflow's ready nodes in parallel, applies
//! each node's timeout and [`RecoveryPolicy`] (by the [`FailureKind`] of its
//! [`NodeError`]), checkpoints every finished node in its [`RunStore`],
//! takes pause/resume/cancel through a [`RunControl`] and publishes
//! [`ExecEvent`]s on the bus. It calls extensions through the
//! [`NodeRunner`] each run is given, which the host implements: this crate
//! depends on `symphony-workflow`, `symphony-artifacts` and `symphony-bus`,
//! never on the runtime or the host.
//!
//! Its building blocks work on their own: the run [`ExecutionState`]
//! machine, a run's [`Progress`], and the shared [`RunControl`] through
//! which a run is paused, resumed, cancelled or retried.
//!
//! ```
//! use std::time::Duration;
//! use symphony_dag::{Directive, ExecutionState, RunControl};
//!
//! let control = RunControl::new("run-1");
//! control.start()?;
//!
//! // A worker checks in before each node; while paused it waits.
//! let worker = {
//!     let control = control.clone();
//!     std::thread::spawn(move || {
//!         let mut nodes = 0;
//!         while control.checkpoint() == Directive::Continue {
//!             nodes += 1; // run one node here
//!             std::thread::sleep(Duration::from_millis(1));
//!         }
//!         nodes
//!     })
//! };
//! control.pause()?;
//! assert_eq!(control.wait_while_paused(Duration::ZERO), Directive::Wait);
//! control.resume()?;
//! control.cancel()?; // the worker stops at its next checkpoint
//! worker.join().unwrap();
//!
//! // Cancelled is terminal: every command is refused, naming the run.
//! assert_eq!(control.state(), ExecutionState::Cancelled);
//! let err = control.resume().unwrap_err();
//! assert_eq!(err.to_string(), "run run-1: cannot go from cancelled to running");
//! # Ok::<(), symphony_dag::RunTransitionError>(())
//! ```

mod error;
mod event;
mod output_archive;
mod report;
mod run_control;
mod run_state;
mod run_store;
mod runner;
mod tracker;
mod walk;

#[cfg(test)]
mod proptests;

pub use error::RunError;
pub use event::ExecEvent;
pub use report::{KindMetrics, NodeReport, NodeState, RunEvent, RunMetrics, RunReport};
pub use run_control::{CheckpointFuture, Directive, RunControl, StateChange};
pub use run_state::{ExecutionState, Progress, RunTransitionError};
pub use run_store::{
    Checkpoint, NodeRecord, ResumeRefusal, RunStatus, RunStore, RunStoreError, RunSummary,
};
pub use runner::{Bounds, Deadline, DeadlineCause, NodeError, NodeRunner};
pub use symphony_workflow::{
    BackoffPolicy, DEFAULT_MAX_BACKOFF_MS, FailureKind, RecoveryError, RecoveryPolicy,
};
pub use tracker::{Resume, RunOptions, Tracker, new_run_id};
