//! A condition variable that skips notifying when nobody waits.
//!
//! `std::sync::Condvar::notify_one` makes a system call even with no
//! waiters; on the hot paths of the instance pool and the bus queues that
//! call cost more than everything else a call does. [`Signal`] counts its
//! waiters so notifying an empty signal is a load and a compare.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, MutexGuard};
use std::time::Instant;

/// A condvar with a waiter count. A waiter counts itself while holding the
/// mutex, before checking nothing more and sleeping; a notifier changes the
/// state under the same mutex first, so it either sees the count or the
/// waiter sees the new state. Either way no wake-up is lost.
#[derive(Default)]
pub struct Signal {
    condvar: Condvar,
    waiting: AtomicUsize,
}

impl Signal {
    /// Waits once for a notification or `until`, whichever comes first.
    /// Returns `None` without waiting when `until` has already passed; the
    /// caller re-checks its condition after every return.
    pub fn wait_until<'a, T>(
        &self,
        guard: MutexGuard<'a, T>,
        until: Instant,
    ) -> Option<MutexGuard<'a, T>> {
        let now = Instant::now();
        if now >= until {
            return None;
        }
        self.waiting.fetch_add(1, Ordering::Relaxed);
        let guard = self
            .condvar
            .wait_timeout(guard, until - now)
            .unwrap_or_else(|e| e.into_inner())
            .0;
        self.waiting.fetch_sub(1, Ordering::Relaxed);
        Some(guard)
    }

    /// Wakes one waiter, if there is one. Call after changing the state
    /// under the mutex.
    // Inlined across crates: on the instance pool's check-in path the
    // usual case is a load and a compare, cheaper than the call.
    #[inline]
    pub fn notify_one(&self) {
        if self.waiting.load(Ordering::Relaxed) > 0 {
            self.condvar.notify_one();
        }
    }

    /// How many threads wait now.
    #[cfg(test)]
    pub fn waiters(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }

    /// Wakes every waiter, if there are any.
    #[inline]
    pub fn notify_all(&self) {
        if self.waiting.load(Ordering::Relaxed) > 0 {
            self.condvar.notify_all();
        }
    }
}
