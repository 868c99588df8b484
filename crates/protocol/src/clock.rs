//! Time helpers shared by the client and the host's bus: deadlines that
//! cannot overflow, and moments recorded from any thread.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// `timeout` from now, saturating, so `Duration::MAX` means "no limit"
/// instead of overflowing the clock.
pub fn deadline(timeout: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(timeout)
        .unwrap_or_else(|| now + Duration::from_secs(100 * 365 * 24 * 3600))
}

/// A moment that any thread may record and read without a lock: when a
/// link was last written or read, say.
#[derive(Debug)]
pub struct Stamp {
    epoch: Instant,
    /// Microseconds after `epoch`.
    at_us: AtomicU64,
}

impl Default for Stamp {
    fn default() -> Self {
        Stamp::new()
    }
}

impl Stamp {
    /// A stamp set to now.
    pub fn new() -> Stamp {
        Stamp {
            epoch: Instant::now(),
            at_us: AtomicU64::new(0),
        }
    }

    /// Records now.
    pub fn mark(&self) {
        let us = u64::try_from(self.epoch.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.at_us.store(us, Ordering::Relaxed);
    }

    /// How long ago the last mark was.
    pub fn elapsed(&self) -> Duration {
        let at = Duration::from_micros(self.at_us.load(Ordering::Relaxed));
        self.epoch.elapsed().saturating_sub(at)
    }
}

#[cfg(test)]
mod tests;
