//! Time helpers shared by the client and the host's bus: deadlines that
//! cannot overflow, busy-waiting, and moments recorded from any thread.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// `timeout` from now, saturating, so `Duration::MAX` means "no limit"
/// instead of overflowing the clock.
pub fn deadline(timeout: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(timeout)
        .unwrap_or_else(|| now + Duration::from_secs(100 * 365 * 24 * 3600))
}

/// Polls `poll` until it gives a value (`Some`) or `stop` passes (`None`),
/// reading the clock only every 64 polls: a clock read costs more than a
/// poll. The busy-wait of the client, the rings and the bus alike.
pub fn spin_until<T>(stop: Instant, mut poll: impl FnMut() -> Option<T>) -> Option<T> {
    loop {
        for _ in 0..64 {
            if let Some(value) = poll() {
                return Some(value);
            }
            std::hint::spin_loop();
        }
        if Instant::now() >= stop {
            return None;
        }
    }
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
