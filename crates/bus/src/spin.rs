//! Adaptive spinning before a waiter sleeps.
//!
//! A message handed to a thread asleep in a futex waits for the kernel to
//! schedule it: several microseconds on an idle machine, tens on a busy
//! two-core one. A waiter that polls for a moment first takes it in well
//! under one. Polling costs a core, though, so it is worth it only when
//! the wait is usually short and another core runs the thread that ends
//! it. [`Spin`] keeps a budget per waiting place (a queue, the reply table)
//! learned from how long its recent waits took: the whole [`MAX`] while
//! waits end within [`SHORT`], nothing once they take longer (a handler
//! that takes milliseconds, an idle subscription, is not polled for), and
//! never anything on a machine with one core, where polling only delays
//! the thread it waits for.
//!
//! A wait a little longer than the budget still counts as short: it is
//! what a partner asleep in a futex costs (40 µs a round trip on the
//! two-core machines measured), and learning "do not poll" from it would
//! put both sides of an exchange to sleep for good.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// The longest a waiter polls before sleeping.
pub(crate) const MAX: Duration = Duration::from_micros(20);

/// Waits up to this long are worth polling for.
pub(crate) const SHORT: Duration = Duration::from_millis(1);

/// A place's polling budget, in nanoseconds.
pub(crate) struct Spin {
    budget_ns: AtomicU32,
}

impl Default for Spin {
    fn default() -> Self {
        // Start by polling, so the first waits teach the budget.
        Spin {
            budget_ns: AtomicU32::new(MAX.as_nanos() as u32),
        }
    }
}

impl Spin {
    /// Polls `ready` until it holds (true), the budget is spent or `until`
    /// passes (false). `start` is when the wait began. A wait that ends
    /// while polling was short by definition (the budget is under
    /// [`SHORT`]) and is learned as such here, with no clock read; the
    /// caller learns from a wait that went on past it.
    pub(crate) fn poll(&self, start: Instant, until: Instant, ready: impl Fn() -> bool) -> bool {
        let ended = self.poll_only(start, until, ready);
        if ended {
            self.learn(Some(Duration::ZERO));
        }
        ended
    }

    fn poll_only(&self, start: Instant, until: Instant, ready: impl Fn() -> bool) -> bool {
        if ready() {
            return true;
        }
        if !may_spin() {
            return false;
        }
        let budget = Duration::from_nanos(u64::from(self.budget_ns.load(Ordering::Relaxed)));
        if budget.is_zero() {
            return false;
        }
        let stop = (start + budget).min(until);
        symphony_protocol::clock::spin_until(stop, || ready().then_some(())).is_some() || ready()
    }

    /// Learns from a wait that took `waited` (`None`: it timed out). The
    /// budget moves a quarter of the way towards [`MAX`] after a short
    /// wait, towards nothing after a long one.
    pub(crate) fn learn(&self, waited: Option<Duration>) {
        let target = match waited {
            Some(waited) if waited <= SHORT => MAX.as_nanos() as u32,
            _ => 0,
        };
        let old = self.budget_ns.load(Ordering::Relaxed);
        // Racing waiters may each apply their own sample; any of them is
        // a fine estimate, so a plain store does.
        let new = (u64::from(old) * 3 + u64::from(target)) / 4;
        self.budget_ns.store(new as u32, Ordering::Relaxed);
    }

    /// The current budget.
    #[cfg(test)]
    pub(crate) fn budget(&self) -> Duration {
        Duration::from_nanos(u64::from(self.budget_ns.load(Ordering::Relaxed)))
    }
}

/// Whether polling can help: only with another core to run the thread
/// being waited for.
pub(crate) fn may_spin() -> bool {
    static MAY: OnceLock<bool> = OnceLock::new();
    *MAY.get_or_init(|| std::thread::available_parallelism().is_ok_and(|n| n.get() > 1))
}

#[cfg(test)]
mod tests;
