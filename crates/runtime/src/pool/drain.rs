//! Graceful drain: an extension stops taking calls, its idle instances
//! cool at once, and the ones in a call cool as their calls finish.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::extension::LifecycleState;
use crate::{Error, Host};

/// What [`Host::drain`] did.
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

impl Host {
    /// Drains the extension `name`: it stops taking calls (it becomes
    /// inactive, so new calls fail with [`CallError::Unavailable`] saying
    /// it was drained), its idle instances cool now, and this waits up to
    /// `timeout` for the calls in flight to finish. Bring it back with
    /// [`Host::activate`].
    ///
    /// [`CallError::Unavailable`]: crate::CallError::Unavailable
    pub fn drain(&self, name: &str, timeout: Duration) -> Result<DrainReport, Error> {
        let started = Instant::now();
        let slot = self.inner.find(name)?;
        // Held through the wait, so no activation reopens the pool meanwhile.
        let _ops = slot.ops();
        let extension = slot.current();
        let (idle, live) = extension.pool.counts();
        if slot.state() == LifecycleState::Active {
            slot.leave(LifecycleState::Inactive, "drained")?;
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
            extension: name.to_string(),
            cooled: idle,
            finished: busy.saturating_sub(still_busy),
            still_busy,
            waited_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        })
    }

    /// Like [`Host::shutdown`], draining each active extension (dependants
    /// first) so that calls in flight can finish, all within `timeout`;
    /// stops the background health checks.
    pub fn shutdown_within(&self, timeout: Duration) -> Vec<DrainReport> {
        let until = symphony_protocol::clock::deadline(timeout);
        self.inner.pool.stop_health_checks();
        self.inner
            .active_dependants_first()
            .into_iter()
            .filter_map(|slot| {
                let left = until.saturating_duration_since(Instant::now());
                self.drain(&slot.name, left)
                    .inspect_err(|e| tracing::debug!("{e}"))
                    .ok()
            })
            .collect()
    }
}
