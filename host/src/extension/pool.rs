//! The idle instances of one extension.

use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::CallError;
use crate::runtime::Instance;

/// Idle instances, reused most-recently-returned first so a warm instance
/// (and an Addon's UI state) keeps serving sequential calls.
pub(crate) struct InstancePool {
    state: Mutex<PoolState>,
    returned: Condvar,
    max: usize,
}

struct PoolState {
    idle: Vec<Instance>,
    /// Instances that exist: idle plus checked out plus being created.
    live: usize,
    /// Callers waiting for an instance. Notifying a condvar costs a system
    /// call even when nobody waits, so it is skipped when this is zero.
    waiting: usize,
}

impl InstancePool {
    pub(crate) fn new(max: usize) -> Self {
        InstancePool {
            state: Mutex::new(PoolState {
                idle: Vec::new(),
                live: 0,
                waiting: 0,
            }),
            returned: Condvar::new(),
            max,
        }
    }

    fn lock(&self) -> MutexGuard<'_, PoolState> {
        // A panic while holding the lock leaves the state consistent (every
        // update is a single push, pop or counter change), so keep going.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// An idle instance, or a new one from `create` while under the maximum;
    /// otherwise waits up to `wait` for one to come back.
    pub(crate) fn checkout(
        &self,
        extension: &str,
        wait: Duration,
        create: impl FnOnce() -> Result<Instance, CallError>,
    ) -> Result<Instance, CallError> {
        // Read the clock only once a wait is needed: the common path is a pop.
        let mut until = None;
        let mut state = self.lock();
        loop {
            if let Some(instance) = state.idle.pop() {
                return Ok(instance);
            }
            if state.live < self.max {
                state.live += 1;
                drop(state);
                return create().inspect_err(|_| self.forget_one());
            }
            let now = Instant::now();
            let until = *until.get_or_insert(now + wait);
            if now >= until {
                return Err(CallError::Busy {
                    extension: extension.to_string(),
                    max_instances: self.max,
                    waited: wait,
                });
            }
            state.waiting += 1;
            state = self
                .returned
                .wait_timeout(state, until - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
            state.waiting -= 1;
        }
    }

    /// Returns a healthy instance for reuse.
    pub(crate) fn checkin(&self, instance: Instance) {
        let mut state = self.lock();
        state.idle.push(instance);
        self.wake_one(&state);
    }

    /// Drops an instance that must not be reused.
    pub(crate) fn discard(&self, instance: Instance) {
        drop(instance);
        self.forget_one();
    }

    fn forget_one(&self) {
        let mut state = self.lock();
        state.live -= 1;
        self.wake_one(&state);
    }

    fn wake_one(&self, state: &PoolState) {
        if state.waiting > 0 {
            self.returned.notify_one();
        }
    }

    /// Takes every idle instance out of the pool.
    pub(crate) fn drain(&self) -> Vec<Instance> {
        let mut state = self.lock();
        let idle = std::mem::take(&mut state.idle);
        state.live -= idle.len();
        idle
    }
}
