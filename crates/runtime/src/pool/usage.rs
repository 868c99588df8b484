//! Recording every call in the usage history without a lock per call.
//!
//! Where the warm call's time went (issue 22's profile: the host adds 0.39
//! µs to a 0.59 µs raw call, 0.08 µs of it the pool, the rest mostly
//! `UsageHistory::record` and clock reads): every call took the host-wide
//! usage lock for SipHash lookups of the extension's name, its followers
//! and counters, after a wall-clock read to date the use. Most calls repeat the
//! extension used just before, in the same hour: for those the history
//! learns nothing new but a count. So the run of uses of the last
//! extension is a *streak*, counted in one atomic word (its pool's tag and
//! the count) with one compare-and-swap; only a use that changes the
//! extension, the hour or the follow window takes the lock, first folding
//! the streak into the history. The date comes from the call's own start
//! instant, converted with one base (no second clock read).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::UsageHistory;

/// Bits of the streak word that count uses; the rest hold the pool's tag.
const COUNT_BITS: u32 = 40;
const COUNT: u64 = (1 << COUNT_BITS) - 1;

/// How long the Unix time at the epoch serves before it is read again, so
/// the wall clock's adjustments are followed.
const REBASE: Duration = Duration::from_secs(3600);

/// The usage history and the streak not yet folded into it.
pub(crate) struct UsageRecorder {
    locked: Mutex<Locked>,
    /// The streak: the tag of the pool used last (high bits) and its uses
    /// since it was last folded in (low bits). Zero: no streak.
    streak: AtomicU64,
    /// When the streak's last use was, in Unix seconds.
    streak_at: AtomicU64,
    /// The hour (Unix seconds / 3600) every use in the streak falls in.
    streak_hour: AtomicU64,
    /// Calls are dated by their start instant: the Unix time at `epoch`
    /// plus the time since. One base for every use, with the lock or
    /// without, so a streak's hour and window compare like with like.
    epoch: Instant,
    /// The Unix time at `epoch`, in seconds; read again under the lock
    /// every [`REBASE`].
    epoch_unix: AtomicU64,
}

struct Locked {
    history: UsageHistory,
    /// When `epoch_unix` was last read.
    rebased: Instant,
}

/// The Unix time at `epoch`, from the wall clock now.
fn unix_at(epoch: Instant) -> u64 {
    (symphony_protocol::now_us() / 1_000_000).saturating_sub(epoch.elapsed().as_secs())
}

/// A pool's tag in the streak word: never zero.
fn tag_of(pool: u64) -> u64 {
    (pool % ((1 << (64 - COUNT_BITS)) - 1)) + 1
}

impl Default for UsageRecorder {
    fn default() -> Self {
        let epoch = Instant::now();
        UsageRecorder {
            locked: Mutex::new(Locked {
                history: UsageHistory::new(),
                rebased: epoch,
            }),
            streak: AtomicU64::new(0),
            streak_at: AtomicU64::new(0),
            streak_hour: AtomicU64::new(0),
            epoch,
            epoch_unix: AtomicU64::new(unix_at(epoch)),
        }
    }
}

impl UsageRecorder {
    fn lock(&self) -> MutexGuard<'_, Locked> {
        self.locked.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A call that started at `at`, in Unix seconds.
    fn secs_at(&self, at: Instant) -> u64 {
        self.epoch_unix.load(Ordering::Relaxed) + at.saturating_duration_since(self.epoch).as_secs()
    }

    /// Records a use of `extension` (whose pool is `pool`) by a call that
    /// started at `at`. When the use starts a run, returns what `on_run`
    /// makes of the history (predictions, say); a use that continues the
    /// streak returns `None` without taking the lock.
    pub(crate) fn record<R>(
        &self,
        pool: u64,
        extension: &str,
        at: Instant,
        on_run: impl FnOnce(&UsageHistory) -> Option<R>,
    ) -> Option<R> {
        let tag = tag_of(pool) << COUNT_BITS;
        let secs = self.secs_at(at);
        let word = self.streak.load(Ordering::Acquire);
        if word & !COUNT == tag
            && word & COUNT < COUNT
            && secs / 3600 == self.streak_hour.load(Ordering::Relaxed)
            && secs.saturating_sub(self.streak_at.load(Ordering::Relaxed))
                <= UsageHistory::DEFAULT_FOLLOW_WINDOW.as_secs()
            && self
                .streak
                .compare_exchange(word, word + 1, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        {
            // It moves once a second.
            crate::histogram::raise(&self.streak_at, secs);
            return None;
        }
        let mut locked = self.lock();
        if at.saturating_duration_since(locked.rebased) > REBASE {
            self.epoch_unix
                .store(unix_at(self.epoch), Ordering::Relaxed);
            locked.rebased = at;
        }
        let secs = self.secs_at(at);
        // Emptied, not just counted off: until the new streak is stored,
        // every use takes this lock, so none lands in a word about to be
        // overwritten.
        let word = self.streak.swap(0, Ordering::AcqRel);
        self.fold_uses(&mut locked.history, word & COUNT);
        let started = locked.history.record(extension, secs);
        // The streak is now this extension's: later uses in this hour and
        // window only count. Stored under the lock, after the fold, so no
        // count lands on the wrong extension.
        self.streak_at.store(secs, Ordering::Relaxed);
        self.streak_hour.store(secs / 3600, Ordering::Relaxed);
        self.streak.store(tag, Ordering::Release);
        if started {
            on_run(&locked.history)
        } else {
            None
        }
    }

    /// Folds the streak's uses into `history` (whose last use is the
    /// streak's extension), keeping the streak going.
    fn fold(&self, history: &mut UsageHistory) {
        let word = self.streak.fetch_and(!COUNT, Ordering::AcqRel);
        self.fold_uses(history, word & COUNT);
    }

    /// Adds `uses` of the streak's extension to `history`.
    fn fold_uses(&self, history: &mut UsageHistory, uses: u64) {
        if uses > 0 {
            history.repeat_last(uses, self.streak_at.load(Ordering::Relaxed));
        }
    }

    /// A copy of the history, the streak folded in.
    pub(crate) fn snapshot(&self) -> UsageHistory {
        let mut locked = self.lock();
        self.fold(&mut locked.history);
        locked.history.clone()
    }
}

#[cfg(test)]
mod tests;
