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
mod tests {
    use super::*;

    const H: i64 = 3_600_000;
    const M: i64 = 60_000;

    fn schedule(interval: &str, window: Option<&str>) -> Schedule {
        Schedule {
            interval: parse_interval(interval).unwrap(),
            off_peak: window.map(|w| OffPeakWindow::parse(w).unwrap()),
        }
    }

    #[test]
    fn intervals_and_windows_parse() {
        assert_eq!(parse_interval("90s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_interval("6h"), Some(Duration::from_secs(6 * 3600)));
        assert_eq!(parse_interval("1d"), Some(Duration::from_secs(86_400)));
        for bad in ["", "6", "h", "0h", "6w", "-1h", "1.5h"] {
            assert_eq!(parse_interval(bad), None, "{bad}");
        }
        let w = OffPeakWindow::parse("01:00-05:30").unwrap();
        assert_eq!((w.start_minute, w.end_minute), (60, 330));
        for bad in [
            "",
            "01:00",
            "24:00-01:00",
            "01:60-02:00",
            "03:00-03:00",
            "1-2",
        ] {
            assert_eq!(OffPeakWindow::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn next_run_without_a_window_is_one_interval_later() {
        let s = schedule("6h", None);
        assert_eq!(s.next_run(0), 6 * H);
        assert_eq!(s.next_run(10 * DAY_MS + 7), 10 * DAY_MS + 7 + 6 * H);
    }

    #[test]
    fn next_run_waits_for_the_window() {
        let s = schedule("1h", Some("01:00-05:00"));
        let day = 20_000 * DAY_MS;
        // 00:30 + 1h = 01:30: inside.
        assert_eq!(s.next_run(day + 30 * M), day + 90 * M);
        // 22:00 + 1h = 23:00: outside, before midnight: tomorrow 01:00.
        assert_eq!(s.next_run(day + 22 * H), day + DAY_MS + H);
        // 04:30 + 1h = 05:30: past the end: tomorrow 01:00.
        assert_eq!(s.next_run(day + 4 * H + 30 * M), day + DAY_MS + H);
        // The end is exclusive: 04:00 + 1h = 05:00 is outside.
        assert_eq!(s.next_run(day + 4 * H), day + DAY_MS + H);
        // Start is inclusive: 00:00 + 1h = 01:00.
        assert_eq!(s.next_run(day), day + H);
    }

    #[test]
    fn next_run_with_a_window_crossing_midnight() {
        let s = schedule("30m", Some("23:00-02:00"));
        let day = 20_000 * DAY_MS;
        // 23:40 + 30m = 00:10 next day: inside (after midnight).
        assert_eq!(s.next_run(day + 23 * H + 40 * M), day + DAY_MS + 10 * M);
        // 22:50 + 30m = 23:20: inside (before midnight).
        assert_eq!(s.next_run(day + 22 * H + 50 * M), day + 23 * H + 20 * M);
        // 01:45 + 30m = 02:15: outside: 23:00 the same day.
        assert_eq!(s.next_run(day + H + 45 * M), day + 23 * H);
        // 12:00 + 30m: outside: 23:00 today.
        assert_eq!(s.next_run(day + 12 * H), day + 23 * H);
        // A long interval lands on another day, still in its window.
        let weekly = schedule("7d", Some("23:00-02:00"));
        assert_eq!(weekly.next_run(day + 12 * H), day + 7 * DAY_MS + 23 * H);
    }

    #[test]
    fn next_run_before_1970_and_at_the_limit_do_not_panic() {
        let s = schedule("1h", Some("01:00-05:00"));
        assert_eq!(s.next_run(-DAY_MS), -DAY_MS + H);
        let _ = schedule("1d", None).next_run(i64::MAX);
        let _ = s.next_run(i64::MAX - 1);
    }

    #[test]
    fn manager_runs_on_schedule_and_stops_on_drop() {
        use crate::stale::cleaner::tests::TestShelf;
        use crate::stale::{ArtifactFacts, Placement, Tier};

        let dir = tempfile::tempdir().unwrap();
        let shelf = Arc::new(TestShelf::new(dir.path()));
        let id = shelf.add(
            b"old",
            ArtifactFacts {
                id: String::new(),
                size: 0,
                content_type: None,
                created_ms: 0,
                last_access_ms: None,
                access_count: 0,
                quality: 0.0,
                tags: vec![],
                pinned: false,
                references: 0,
                copies: 1,
                tier: Tier::Hot,
            },
        );
        let policy =
            RetentionPolicy::from_toml_str("max_age_days = 1\n[schedule]\ninterval = \"1s\"")
                .unwrap();
        let tiers = Arc::new(TierStore::local(dir.path().join("w"), dir.path().join("c")).unwrap());
        let trash = Arc::new(Trash::open(dir.path().join("t"), 7).unwrap());
        let manager = StaleManager::start(shelf.clone(), policy, tiers, trash.clone()).unwrap();
        // Not a timing assertion: wait (generously) for the first run.
        for _ in 0..200 {
            if trash.contains(&id) {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        drop(manager);
        assert!(trash.contains(&id));
        assert!(matches!(
            shelf.placements()[0],
            (_, Placement::Trashed { .. })
        ));

        // Stopping before the first run returns promptly (a day-long wait is cut short).
        let idle = RetentionPolicy::default();
        let shelf: Arc<dyn Shelf> = shelf;
        let tiers =
            Arc::new(TierStore::local(dir.path().join("w2"), dir.path().join("c2")).unwrap());
        StaleManager::start(shelf, idle, tiers, trash)
            .unwrap()
            .stop();
    }
}
