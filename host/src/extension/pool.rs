//! The idle instances of one extension.

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use crate::CallError;
use crate::runtime::Instance;
use crate::sync::Signal;

/// Idle instances, reused most-recently-returned first so a warm instance
/// (and an Addon's UI state) keeps serving sequential calls.
pub(crate) struct InstancePool {
    state: Mutex<PoolState>,
    returned: Signal,
    max: usize,
}

struct PoolState {
    idle: Vec<Instance>,
    /// Instances that exist: idle plus checked out plus being created.
    live: usize,
    /// Set when the extension version stops serving (deactivated, replaced
    /// by a reload, quarantined): no new instances, and instances coming
    /// back are shut down instead of kept.
    closed: bool,
}

impl InstancePool {
    pub(crate) fn new(max: usize) -> Self {
        InstancePool {
            state: Mutex::new(PoolState {
                idle: Vec::new(),
                live: 0,
                closed: false,
            }),
            returned: Signal::default(),
            max,
        }
    }

    fn lock(&self) -> MutexGuard<'_, PoolState> {
        // A panic while holding the lock leaves the state consistent (every
        // update is a single push, pop or counter change), so keep going.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// An idle instance, or a new one from `create` while under the maximum;
    /// otherwise waits up to `wait` for one to come back. `None` once the
    /// pool is closed.
    pub(crate) fn checkout(
        &self,
        extension: &str,
        wait: Duration,
        create: impl FnOnce() -> Result<Instance, CallError>,
    ) -> Option<Result<Instance, CallError>> {
        // Read the clock only once a wait is needed: the common path is a pop.
        let mut until = None;
        let mut state = self.lock();
        loop {
            if state.closed {
                return None;
            }
            if let Some(instance) = state.idle.pop() {
                return Some(Ok(instance));
            }
            if state.live < self.max {
                state.live += 1;
                drop(state);
                return Some(create().inspect_err(|_| self.forget_one()));
            }
            let until = *until.get_or_insert_with(|| crate::sync::deadline(wait));
            match self.returned.wait_until(state, until) {
                Some(next) => state = next,
                None => {
                    return Some(Err(CallError::Busy {
                        extension: extension.to_string(),
                        max_instances: self.max,
                        waited: wait,
                    }));
                }
            }
        }
    }

    /// Returns a healthy instance for reuse; once the pool is closed the
    /// instance is handed back instead, for the caller to shut down.
    pub(crate) fn checkin(&self, instance: Instance) -> Option<Instance> {
        let mut state = self.lock();
        if state.closed {
            state.live -= 1;
            drop(state);
            self.returned.notify_all();
            return Some(instance);
        }
        state.idle.push(instance);
        drop(state);
        self.returned.notify_one();
        None
    }

    /// The most recently returned idle instance, waiting up to `wait` for
    /// one to come back while every live instance is busy: `Ok(None)` when
    /// there is none (or the pool is closed), `Err` when none came back in
    /// time. The instance stays counted as live: give it back with
    /// [`InstancePool::checkin`].
    pub(crate) fn take_idle(&self, wait: Duration) -> Result<Option<Instance>, ()> {
        let until = crate::sync::deadline(wait);
        let mut state = self.lock();
        loop {
            if let Some(instance) = state.idle.pop() {
                return Ok(Some(instance));
            }
            if state.live == 0 || state.closed {
                return Ok(None);
            }
            state = self.returned.wait_until(state, until).ok_or(())?;
        }
    }

    /// Stops the pool: takes every idle instance out (for the caller to
    /// shut down) and makes later check-ins hand theirs back.
    pub(crate) fn close(&self) -> Vec<Instance> {
        let mut state = self.lock();
        state.closed = true;
        let idle = std::mem::take(&mut state.idle);
        state.live -= idle.len();
        drop(state);
        self.returned.notify_all();
        idle
    }

    /// Serves again after [`InstancePool::close`].
    pub(crate) fn reopen(&self) {
        self.lock().closed = false;
    }

    /// Drops an instance that must not be reused.
    pub(crate) fn discard(&self, instance: Instance) {
        drop(instance);
        self.forget_one();
    }

    fn forget_one(&self) {
        self.lock().live -= 1;
        // All: a snapshot waiting in `take_idle` must not swallow the wake-up
        // a caller that may now create an instance needs.
        self.returned.notify_all();
    }
}
