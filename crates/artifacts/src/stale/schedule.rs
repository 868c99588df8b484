//! When the cleaner runs, and the background [`StaleManager`] that runs it.

use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use super::{
    CleanOptions, DAY_MS, RetentionPolicy, Shelf, StaleError, TierStore, Trash, clean, unix_now_ms,
};

/// A daily UTC window, `start` inclusive to `end` exclusive, in minutes after
/// midnight. `start > end` means the window crosses midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OffPeakWindow {
    /// Minutes after midnight UTC at which the window opens.
    pub start_minute: u16,
    /// Minutes after midnight UTC at which the window closes.
    pub end_minute: u16,
}

impl OffPeakWindow {
    /// Parses `"HH:MM-HH:MM"`; `None` if malformed or the ends are equal.
    pub fn parse(text: &str) -> Option<Self> {
        let (start, end) = text.trim().split_once('-')?;
        let minute = |hm: &str| -> Option<u16> {
            let (h, m) = hm.trim().split_once(':')?;
            let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
            (h < 24 && m < 60).then_some(h * 60 + m)
        };
        let (start_minute, end_minute) = (minute(start)?, minute(end)?);
        (start_minute != end_minute).then_some(OffPeakWindow {
            start_minute,
            end_minute,
        })
    }

    /// Whether `ms_of_day` (milliseconds after midnight) is inside the window.
    fn contains(&self, ms_of_day: i64) -> bool {
        let (start, end) = (self.start_ms(), i64::from(self.end_minute) * 60_000);
        if start < end {
            (start..end).contains(&ms_of_day)
        } else {
            ms_of_day >= start || ms_of_day < end
        }
    }

    fn start_ms(&self) -> i64 {
        i64::from(self.start_minute) * 60_000
    }
}

/// `"90s"`, `"30m"`, `"6h"`, `"1d"` as a duration; `None` if malformed or zero.
pub(crate) fn parse_interval(text: &str) -> Option<Duration> {
    let text = text.trim();
    let unit_at = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(unit_at);
    let n: u64 = number.parse().ok()?;
    let secs = match unit.trim() {
        "s" => Some(n),
        "m" => n.checked_mul(60),
        "h" => n.checked_mul(3_600),
        "d" => n.checked_mul(86_400),
        _ => None,
    }?;
    (secs > 0).then(|| Duration::from_secs(secs))
}

/// When to run: every `interval`, but only starting inside `off_peak`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    /// The least time between runs.
    pub interval: Duration,
    /// If set, runs only start inside this daily UTC window.
    pub off_peak: Option<OffPeakWindow>,
}

impl Schedule {
    /// The next run after one at `after_ms` (unix milliseconds): `interval`
    /// later, or if that falls outside the off-peak window, the window's next
    /// opening after that.
    pub fn next_run(&self, after_ms: i64) -> i64 {
        let interval_ms = i64::try_from(self.interval.as_millis()).unwrap_or(i64::MAX);
        let candidate = after_ms.saturating_add(interval_ms);
        let Some(window) = self.off_peak else {
            return candidate;
        };
        let ms_of_day = candidate.rem_euclid(DAY_MS);
        if window.contains(ms_of_day) {
            return candidate;
        }
        let midnight = candidate - ms_of_day;
        let day = if ms_of_day < window.start_ms() {
            0
        } else {
            DAY_MS
        };
        midnight
            .saturating_add(day)
            .saturating_add(window.start_ms())
    }
}

/// Runs [`clean`] on a background thread on a [`Schedule`], logging each run
/// through `tracing`. Stopped and joined by [`StaleManager::stop`] or on drop.
pub struct StaleManager {
    /// Set to true to stop; the condvar wakes the thread.
    stop: Arc<(Mutex<bool>, Condvar)>,
    /// The background thread.
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for StaleManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaleManager").finish_non_exhaustive()
    }
}

impl StaleManager {
    /// Starts the manager: the first run is one schedule step from now.
    /// `trash` should have been opened with `policy.trash_days` (a mismatch
    /// is logged; the trash's own window wins). Fails if the policy's
    /// schedule is invalid or the thread cannot start.
    pub fn start(
        shelf: Arc<dyn Shelf>,
        policy: RetentionPolicy,
        tiers: Arc<TierStore>,
        trash: Arc<Trash>,
    ) -> Result<Self, StaleError> {
        let schedule = policy.schedule.to_schedule()?;
        if trash.trash_days() != policy.trash_days {
            tracing::warn!(
                policy_days = policy.trash_days,
                trash_days = trash.trash_days(),
                "the trash's undo window differs from the retention policy's trash_days"
            );
        }
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let signal = stop.clone();
        let thread = std::thread::Builder::new()
            .name("symphony-stale".into())
            .spawn(move || {
                let mut last = unix_now_ms();
                loop {
                    let next = schedule.next_run(last);
                    if wait_until(&signal, next) {
                        break;
                    }
                    last = unix_now_ms();
                    run_once(&*shelf, &policy, &tiers, &trash, last);
                }
                tracing::debug!("stale manager stopped");
            })
            .map_err(|e| {
                StaleError::io("starting the stale manager thread", "symphony-stale", e)
            })?;
        Ok(StaleManager {
            stop,
            thread: Some(thread),
        })
    }

    /// Stops the manager, waiting for a run in progress to finish.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        let (stopped, wake) = &*self.stop;
        *stopped.lock().unwrap_or_else(|e| e.into_inner()) = true;
        wake.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for StaleManager {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Waits until `deadline_ms` (unix) or a stop; true if stopped.
fn wait_until(signal: &(Mutex<bool>, Condvar), deadline_ms: i64) -> bool {
    let (stopped, wake) = signal;
    let mut guard = stopped.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        if *guard {
            return true;
        }
        let left = deadline_ms.saturating_sub(unix_now_ms());
        if left <= 0 {
            return false;
        }
        guard = wake
            .wait_timeout(guard, Duration::from_millis(left as u64))
            .unwrap_or_else(|e| e.into_inner())
            .0;
    }
}

/// One scheduled run, reported through `tracing`.
fn run_once(
    shelf: &dyn Shelf,
    policy: &RetentionPolicy,
    tiers: &TierStore,
    trash: &Trash,
    now: i64,
) {
    match clean(shelf, policy, tiers, trash, &CleanOptions::at(now)) {
        Ok(report) => {
            tracing::info!(
                archived = report.archived.len(),
                deleted = report.deleted.len(),
                purged = report.purged.len(),
                bytes_freed = report.bytes_freed,
                skipped = report.skipped.len(),
                errors = report.errors.len(),
                throttled_ms = report.throttled.as_millis() as u64,
                "stale manager run finished"
            );
            for failure in &report.errors {
                tracing::warn!(artifact = %failure.id, error = %failure.error, "stale manager could not act on an artifact");
            }
        }
        Err(error) => tracing::error!(%error, "stale manager run failed"),
    }
}

#[cfg(test)]
mod tests;
