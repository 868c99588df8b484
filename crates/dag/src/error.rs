//! Why a run could not be started or resumed. (A node's failure is not one
//! of these: the run's report says which node failed and why.)

use crate::{ExecutionState, ResumeRefusal, RunStoreError, RunTransitionError};

/// Why the tracker could not start, resume or finish driving a run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// The same run is being driven in this process already (a resume
    /// while it runs).
    #[error("run {run} is already executing in this host")]
    AlreadyRunning {
        /// The run.
        run: String,
    },
    /// A run blocks its thread, and was started on an async runtime's.
    #[error(
        "a workflow run blocks its thread; call it from tokio::task::spawn_blocking, \
         not from inside an async task"
    )]
    InsideAsync,
    /// The control handle given belongs to another run.
    #[error("resuming run {run} with a control handle for run {control}")]
    ControlForAnotherRun {
        /// The run being resumed.
        run: String,
        /// The run the control handle is for.
        control: String,
    },
    /// The control handle already steered a run.
    #[error(
        "run {run}: its RunControl is already {state}; each run needs a new one \
         (a failed run's own control can retry it through Host::resume)"
    )]
    ControlUsed {
        /// The run.
        run: String,
        /// The state its control is in.
        state: ExecutionState,
    },
    /// The run cannot be resumed.
    #[error("cannot resume run {run}: {refusal}")]
    Resume {
        /// The run.
        run: String,
        /// Why not.
        refusal: ResumeRefusal,
    },
    /// The run's checkpoint does not fit its workflow.
    #[error("run {run}: the checkpoint {problem}")]
    Checkpoint {
        /// The run.
        run: String,
        /// What does not fit.
        problem: String,
    },
    /// The run store failed.
    #[error(transparent)]
    Store(#[from] RunStoreError),
    /// The run's state machine refused a step.
    #[error(transparent)]
    Transition(#[from] RunTransitionError),
    /// The run's scheduler could not be started.
    #[error("cannot start the run's scheduler: {0}")]
    Scheduler(std::io::Error),
}
