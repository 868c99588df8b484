//! Throttling: token buckets on bytes and operations per second, over an
//! injectable clock so tests can see the sleeps without waiting for them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::ThrottlePolicy;

/// A monotonic clock that can sleep; the cleaner paces itself with one.
pub trait Clock: Send + Sync {
    /// Time elapsed since some fixed point.
    fn now(&self) -> Duration;
    /// Blocks for `duration`.
    fn sleep(&self, duration: Duration);
}

/// The real clock: [`Instant`] and [`std::thread::sleep`].
#[derive(Debug, Clone, Copy)]
pub struct SystemClock {
    /// The fixed point `now` counts from.
    origin: Instant,
}

impl Default for SystemClock {
    fn default() -> Self {
        SystemClock {
            origin: Instant::now(),
        }
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Duration {
        self.origin.elapsed()
    }

    fn sleep(&self, duration: Duration) {
        std::thread::sleep(duration);
    }
}

/// One token bucket: `rate` tokens a second, holding at most one second's
/// worth. Taking more than is there runs into debt, paid off by sleeping, so
/// a single item larger than the bucket still goes through at the rate.
#[derive(Debug)]
struct Bucket {
    /// Tokens added per second.
    rate: f64,
    /// Tokens available now; negative while in debt.
    tokens: f64,
    /// When `tokens` was last brought up to date.
    updated: Duration,
}

impl Bucket {
    fn new(rate: f64, now: Duration) -> Self {
        Bucket {
            rate,
            tokens: rate,
            updated: now,
        }
    }

    /// Takes `amount` tokens at `now`; returns how long to wait before the
    /// work may go ahead.
    fn take(&mut self, amount: f64, now: Duration) -> Duration {
        let elapsed = now.saturating_sub(self.updated).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.rate);
        self.updated = now;
        self.tokens -= amount;
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.tokens / self.rate)
        }
    }
}

/// The cleaner's pacing: a bytes bucket and an operations bucket.
pub(crate) struct Throttle {
    /// The clock to read and sleep on.
    clock: Arc<dyn Clock>,
    /// Bytes per second, if limited.
    bytes: Option<Bucket>,
    /// Operations per second, if limited.
    ops: Option<Bucket>,
    /// Total time slept, for the report.
    slept: Duration,
}

impl Throttle {
    /// A throttle for `policy` on `clock`.
    pub(crate) fn new(policy: &ThrottlePolicy, clock: Arc<dyn Clock>) -> Self {
        let now = clock.now();
        Throttle {
            bytes: policy.max_bytes_per_sec.map(|r| Bucket::new(r as f64, now)),
            ops: policy.max_ops_per_sec.map(|r| Bucket::new(r, now)),
            clock,
            slept: Duration::ZERO,
        }
    }

    /// Waits until one operation moving `bytes` bytes may go ahead.
    pub(crate) fn admit(&mut self, bytes: u64) {
        let now = self.clock.now();
        let wait_ops = self
            .ops
            .as_mut()
            .map_or(Duration::ZERO, |b| b.take(1.0, now));
        let wait_bytes = self
            .bytes
            .as_mut()
            .map_or(Duration::ZERO, |b| b.take(bytes as f64, now));
        let wait = wait_ops.max(wait_bytes);
        if !wait.is_zero() {
            self.clock.sleep(wait);
            self.slept += wait;
        }
    }

    /// Total time slept so far.
    pub(crate) fn slept(&self) -> Duration {
        self.slept
    }
}

#[cfg(test)]
pub(crate) mod tests;
