//! The DAG Tracker: parallel, recoverable execution of a workflow's nodes.
//!
//! This module holds the Tracker's building blocks: the run
//! [`ExecutionState`] machine, a run's [`Progress`], the shared
//! [`RunControl`] through which a run is paused, resumed, cancelled or
//! retried, and the per-node [`RecoveryPolicy`] with its [`BackoffPolicy`].
//!
//! ```
//! use std::time::Duration;
//! use symphony_host::{Directive, ExecutionState, RunControl};
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
//! # Ok::<(), symphony_host::RunTransitionError>(())
//! ```

mod control;
mod event;
mod outputs;
mod report;
mod state;
pub(crate) mod store;
pub(crate) mod tracker;
mod walk;

#[cfg(test)]
mod proptests;

pub use control::{CheckpointFuture, Directive, RunControl, StateChange};
pub use event::ExecEvent;
pub use report::{KindMetrics, NodeReport, NodeState, RunEvent, RunMetrics, RunReport};
pub use state::{ExecutionState, Progress, RunTransitionError};
pub use store::{NodeRecord, ResumeRefusal, RunStatus, RunStore, RunStoreError, RunSummary};
pub use symphony_workflow::{BackoffPolicy, DEFAULT_MAX_BACKOFF_MS, RecoveryError, RecoveryPolicy};
pub use tracker::RunOptions;
