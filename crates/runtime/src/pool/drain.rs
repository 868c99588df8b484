//! Graceful drain: an extension stops taking calls, its idle instances
//! cool at once, and the ones in a call cool as their calls finish.

use std::time::{Duration, Instant};

use serde::Serialize;
use symphony_manifest::{LifecycleState, TransitionError};

use crate::extension::Slot;

/// What draining an extension did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct DrainReport {
    /// The extension drained.
    pub extension: String,
    /// Idle instances cooled at once (Hot → Cooling → Cold).
    pub cooled: usize,
    /// Instances that were in a call and finished it within the timeout
    /// (then cooled).
    pub finished: usize,
    /// Instances still in a call when the timeout passed; each cools when
    /// its call returns.
    pub still_busy: usize,
    /// How long the drain waited, in milliseconds.
    pub waited_ms: u64,
}

impl Slot {
    /// Drains this extension: it stops taking calls (it becomes inactive,
    /// so new calls fail with `CallError::Unavailable` saying it was
    /// drained), its idle instances cool now, and this waits up to
    /// `timeout` for the calls in flight to finish.
    pub fn drain(&self, timeout: Duration) -> Result<DrainReport, TransitionError> {
        let started = Instant::now();
        // Held through the wait, so no activation reopens the pool meanwhile.
        let _ops = self.ops();
        let extension = self.current();
        let (idle, live) = extension.pool.counts();
        if self.state() == LifecycleState::Active {
            self.leave(LifecycleState::Inactive, "drained")?;
        } else {
            extension.retire();
        }
        let still_busy = extension.pool.wait_drained(
            started
                .checked_add(timeout)
                .unwrap_or_else(|| symphony_protocol::clock::deadline(timeout)),
        );
        let busy = live - idle;
        Ok(DrainReport {
            extension: self.name.to_string(),
            cooled: idle,
            finished: busy.saturating_sub(still_busy),
            still_busy,
            waited_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        })
    }
}
