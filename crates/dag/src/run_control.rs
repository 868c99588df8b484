//! A shared, thread-safe handle that steers one run: the commands
//! (pause, resume, cancel, retry-failed) and the checkpoint workers call
//! between nodes.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use crate::event::ExecEvent;
use crate::run_state::{ExecutionState, RunTransitionError};

/// What a worker should do at a checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Directive {
    /// The run is running: start the next node.
    Continue,
    /// The run is cancelled, failed or completed: start nothing more.
    Stop,
    /// The wait timed out while the run was still paused (or not started
    /// yet); check the checkpoint again.
    Wait,
}

/// The control handle of one run. Cloning it is cheap and every clone
/// steers the same run, so the CLI, the bus and the scheduler's workers can
/// each hold one.
///
/// Every command enforces the [`ExecutionState`] machine and wakes all
/// waiting workers at once through a condition variable (and async
/// wakers), so a pause, resume or cancel reaches workers waiting at a
/// checkpoint in microseconds, and a running worker at its next
/// checkpoint.
#[derive(Debug, Clone)]
pub struct RunControl {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    run: String,
    inner: Mutex<Inner>,
    changed: Condvar,
    events: tokio::sync::broadcast::Sender<ExecEvent>,
}

#[derive(Debug)]
struct Inner {
    state: ExecutionState,
    /// Tasks waiting in [`RunControl::checkpoint_async`].
    wakers: Vec<Waker>,
}

impl RunControl {
    /// A control for run `run_id`, in [`ExecutionState::Pending`].
    pub fn new(run_id: impl Into<String>) -> Self {
        RunControl {
            shared: Arc::new(Shared {
                run: run_id.into(),
                inner: Mutex::new(Inner {
                    state: ExecutionState::Pending,
                    wakers: Vec::new(),
                }),
                changed: Condvar::new(),
                events: tokio::sync::broadcast::channel(4096).0,
            }),
        }
    }

    /// The run's id.
    pub fn run_id(&self) -> &str {
        &self.shared.run
    }

    /// The run's current state.
    pub fn state(&self) -> ExecutionState {
        self.lock().state
    }

    /// Moves the run to `to` if the state machine allows it, waking every
    /// waiting worker, and returns the state it left. A refused move
    /// changes nothing.
    pub fn transition(&self, to: ExecutionState) -> Result<ExecutionState, RunTransitionError> {
        self.move_to(to, None)
    }

    /// [`transition`](Self::transition), but only from `only_from` when
    /// given, checked under the same lock as the move.
    fn move_to(
        &self,
        to: ExecutionState,
        only_from: Option<ExecutionState>,
    ) -> Result<ExecutionState, RunTransitionError> {
        let (from, wakers) = {
            let mut inner = self.lock();
            let from = inner.state;
            if only_from.is_some_and(|only| only != from) {
                return Err(RunTransitionError {
                    run: self.shared.run.clone(),
                    from,
                    to,
                });
            }
            inner.state = from.transition(&self.shared.run, to)?;
            self.shared.changed.notify_all();
            (from, std::mem::take(&mut inner.wakers))
        };
        // Woken outside the lock, so a woken task can take it at once.
        wakers.into_iter().for_each(Waker::wake);
        Ok(from)
    }

    /// Starts the run: Pending → Running (the scheduler calls this).
    pub fn start(&self) -> Result<(), RunTransitionError> {
        self.move_to(ExecutionState::Running, Some(ExecutionState::Pending))
            .map(drop)
    }

    /// Pauses the run: Running → Paused. Nodes already running finish;
    /// no new node starts until [`resume`](Self::resume).
    pub fn pause(&self) -> Result<(), RunTransitionError> {
        self.transition(ExecutionState::Paused).map(drop)
    }

    /// Resumes a paused run: Paused → Running.
    pub fn resume(&self) -> Result<(), RunTransitionError> {
        self.move_to(ExecutionState::Running, Some(ExecutionState::Paused))
            .map(drop)
    }

    /// Cancels the run from Pending, Running or Paused; workers stop at
    /// their next checkpoint.
    pub fn cancel(&self) -> Result<(), RunTransitionError> {
        self.transition(ExecutionState::Cancelled).map(drop)
    }

    /// Runs a failed run again (Failed → Running); the scheduler re-runs
    /// the nodes that failed, keeping those that finished.
    pub fn retry_failed(&self) -> Result<(), RunTransitionError> {
        self.move_to(ExecutionState::Running, Some(ExecutionState::Failed))
            .map(drop)
    }

    /// Marks the run completed: Running → Completed (the scheduler calls
    /// this when every node finished).
    pub fn complete(&self) -> Result<(), RunTransitionError> {
        self.transition(ExecutionState::Completed).map(drop)
    }

    /// Marks the run failed: Running → Failed (the scheduler calls this
    /// when a node's recovery policy fails the run).
    pub fn fail(&self) -> Result<(), RunTransitionError> {
        self.transition(ExecutionState::Failed).map(drop)
    }

    /// The call a worker makes before starting a node. Returns
    /// [`Directive::Continue`] at once while the run is running, blocks
    /// while it is paused or not started yet, and returns
    /// [`Directive::Stop`] once it is cancelled, failed or completed.
    /// Never returns [`Directive::Wait`].
    pub fn checkpoint(&self) -> Directive {
        let mut inner = self.lock();
        loop {
            match directive(inner.state) {
                Directive::Wait => {
                    inner = self
                        .shared
                        .changed
                        .wait(inner)
                        .unwrap_or_else(PoisonError::into_inner);
                }
                done => return done,
            }
        }
    }

    /// Like [`checkpoint`](Self::checkpoint) but waits at most `timeout`;
    /// returns [`Directive::Wait`] if the run is still paused (or not
    /// started) then, so the worker can check its own deadlines.
    pub fn wait_while_paused(&self, timeout: Duration) -> Directive {
        let deadline = Instant::now().checked_add(timeout);
        let mut inner = self.lock();
        loop {
            match directive(inner.state) {
                Directive::Wait => {
                    let left = match deadline {
                        Some(d) => d.saturating_duration_since(Instant::now()),
                        None => timeout,
                    };
                    if left.is_zero() {
                        return Directive::Wait;
                    }
                    inner = self
                        .shared
                        .changed
                        .wait_timeout(inner, left)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0;
                }
                done => return done,
            }
        }
    }

    /// Resolves once the run's state is no longer `seen`, to the new state:
    /// how a scheduler waiting on its nodes hears a pause, resume or
    /// cancel at once.
    pub fn changed(&self, seen: ExecutionState) -> StateChange<'_> {
        StateChange {
            control: self,
            seen,
        }
    }

    /// A stream of this run's events (nodes started, finished, retried,
    /// progress, the run's end) for one more subscriber. Each subscriber
    /// gets every event sent after it subscribed; one that falls more than
    /// 4096 events behind loses the oldest and is told how many.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<ExecEvent> {
        self.shared.events.subscribe()
    }

    /// Whether anyone subscribed to the run's events.
    pub(crate) fn has_subscribers(&self) -> bool {
        self.shared.events.receiver_count() > 0
    }

    /// Sends `event` to the subscribers.
    pub(crate) fn emit(&self, event: ExecEvent) {
        // An error only means every subscriber left meanwhile.
        let _ = self.shared.events.send(event);
    }

    /// [`checkpoint`](Self::checkpoint) for async workers: resolves to
    /// [`Directive::Continue`] or [`Directive::Stop`] without blocking the
    /// thread while the run is paused.
    pub fn checkpoint_async(&self) -> CheckpointFuture<'_> {
        CheckpointFuture { control: self }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // The guarded data is a plain state and a waker list, valid even if
        // a holder panicked.
        self.shared
            .inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

fn directive(state: ExecutionState) -> Directive {
    match state {
        ExecutionState::Running => Directive::Continue,
        ExecutionState::Pending | ExecutionState::Paused => Directive::Wait,
        ExecutionState::Completed | ExecutionState::Failed | ExecutionState::Cancelled => {
            Directive::Stop
        }
    }
}

/// The future returned by [`RunControl::checkpoint_async`].
#[derive(Debug)]
#[must_use = "a checkpoint does nothing unless awaited"]
pub struct CheckpointFuture<'a> {
    control: &'a RunControl,
}

impl Future for CheckpointFuture<'_> {
    type Output = Directive;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Directive> {
        let mut inner = self.control.lock();
        match directive(inner.state) {
            Directive::Wait => {
                if !inner.wakers.iter().any(|w| w.will_wake(cx.waker())) {
                    inner.wakers.push(cx.waker().clone());
                }
                Poll::Pending
            }
            done => Poll::Ready(done),
        }
    }
}

/// The future returned by [`RunControl::changed`].
#[derive(Debug)]
#[must_use = "a state change is only seen when awaited"]
pub struct StateChange<'a> {
    control: &'a RunControl,
    seen: ExecutionState,
}

impl Future for StateChange<'_> {
    type Output = ExecutionState;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<ExecutionState> {
        let mut inner = self.control.lock();
        if inner.state != self.seen {
            return Poll::Ready(inner.state);
        }
        if !inner.wakers.iter().any(|w| w.will_wake(cx.waker())) {
            inner.wakers.push(cx.waker().clone());
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests;
