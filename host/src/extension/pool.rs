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
}

impl InstancePool {
    pub(crate) fn new(max: usize) -> Self {
        InstancePool {
            state: Mutex::new(PoolState {
                idle: Vec::new(),
                live: 0,
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
            let until = *until.get_or_insert_with(|| crate::sync::deadline(wait));
            state = self
                .returned
                .wait_until(state, until)
                .ok_or_else(|| CallError::Busy {
                    extension: extension.to_string(),
                    max_instances: self.max,
                    waited: wait,
                })?;
        }
    }

    /// Returns a healthy instance for reuse.
    pub(crate) fn checkin(&self, instance: Instance) {
        self.lock().idle.push(instance);
        self.returned.notify_one();
    }

    /// Drops an instance that must not be reused.
    pub(crate) fn discard(&self, instance: Instance) {
        drop(instance);
        self.forget_one();
    }

    fn forget_one(&self) {
        self.lock().live -= 1;
        self.returned.notify_one();
    }

    /// Takes every idle instance out of the pool.
    pub(crate) fn drain(&self) -> Vec<Instance> {
        let mut state = self.lock();
        let idle = std::mem::take(&mut state.idle);
        state.live -= idle.len();
        idle
    }
}
