//! Usage history: which extensions are used at which hour of the day, and
//! which one tends to follow which, so the Pool Manager can start an
//! instance before it is asked for.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// What is known about one key's use.
#[derive(Debug, Clone, Default)]
struct Usage {
    /// Every recorded use.
    calls: u64,
    /// Uses by hour of the day (UTC), 0 to 23.
    by_hour: [u64; 24],
    /// Runs: uses that came after a different key, after a gap longer
    /// than the follow window, or first. The denominator of "what follows".
    runs: u64,
    /// How often each other key was the next one used, within the window.
    followers: HashMap<Box<str>, u64>,
}

/// Records uses of extensions (or any named thing) over time and predicts
/// what will be used next: from the hour of the day and from which name
/// tends to follow which.
///
/// A use of B counts as following A when A was the last use recorded, B
/// differs from A, and B came within the follow window (default 5
/// minutes) of it. The probability that B follows A is how often that
/// happened per run of A (a run is a stretch of consecutive uses of A), so
/// sessions that end after A lower it.
///
/// ```
/// use symphony_runtime::pool::UsageHistory;
///
/// let mut history = UsageHistory::new();
/// let hour = 3600;
/// for day in 0..10u64 {
///     let t = day * 24 * hour + 9 * hour; // every morning at nine
///     history.record("llm-a", t);
///     history.record("llm-a", t + 1);
///     history.record(if day < 8 { "llm-b" } else { "llm-c" }, t + 2);
/// }
/// assert_eq!(history.successors("llm-a")[0], ("llm-b".to_string(), 0.8));
/// assert_eq!(history.likely_successors("llm-a", 0.5), vec!["llm-b".to_string()]);
/// assert_eq!(history.busiest_at(9, 1), vec![("llm-a".to_string(), 20)]);
/// assert!(history.busiest_at(10, 1).is_empty());
/// ```
#[derive(Debug, Clone)]
pub struct UsageHistory {
    uses: HashMap<Arc<str>, Usage>,
    /// The last use: its key and when, in seconds since the Unix epoch.
    /// (Its key is the map's own, shared: switching keys allocates nothing.)
    last: Option<(Arc<str>, u64)>,
    follow_window: u64,
}

impl Default for UsageHistory {
    fn default() -> Self {
        Self::new()
    }
}

/// The hour of the day (UTC) of `at_secs` seconds since the Unix epoch.
pub(crate) fn hour_of(at_secs: u64) -> usize {
    ((at_secs / 3600) % 24) as usize
}

impl UsageHistory {
    /// The follow window unless told otherwise.
    pub const DEFAULT_FOLLOW_WINDOW: Duration = Duration::from_secs(300);

    /// An empty history with the default follow window.
    pub fn new() -> Self {
        Self::with_follow_window(Self::DEFAULT_FOLLOW_WINDOW)
    }

    /// An empty history in which a use follows another only within
    /// `window` of it.
    pub fn with_follow_window(window: Duration) -> Self {
        UsageHistory {
            uses: HashMap::new(),
            last: None,
            follow_window: window.as_secs(),
        }
    }

    /// Records a use of `key` at `at_secs` (seconds since the Unix epoch;
    /// times should not go backwards, and one that does is taken as no
    /// gap). Returns whether it started a run: the previous use was of
    /// another key, too long ago, or there was none. Allocates only for a
    /// key or a pair of keys not seen before.
    pub fn record(&mut self, key: &str, at_secs: u64) -> bool {
        let window = self.follow_window;
        let (previous, within) = match self.last.take() {
            Some((previous, at)) => (Some(previous), at_secs.saturating_sub(at) <= window),
            None => (None, false),
        };
        let same = within && previous.as_deref() == Some(key);
        if within
            && !same
            && let Some(usage) = previous.as_deref().and_then(|p| self.uses.get_mut(p))
        {
            match usage.followers.get_mut(key) {
                Some(n) => *n += 1,
                None => {
                    usage.followers.insert(key.into(), 1);
                }
            }
        }
        let stored = match self.uses.get_key_value(key) {
            Some((stored, _)) => stored.clone(),
            None => {
                let stored: Arc<str> = key.into();
                self.uses.insert(stored.clone(), Usage::default());
                stored
            }
        };
        if let Some(usage) = self.uses.get_mut(key) {
            usage.calls += 1;
            usage.by_hour[hour_of(at_secs)] += 1;
            if !same {
                usage.runs += 1;
            }
        }
        self.last = Some((stored, at_secs));
        !same
    }

    /// Records `uses` more uses of the key used last, the latest at
    /// `at_secs`, each continuing its run (as [`record`](Self::record) of
    /// the same key within the follow window would). Nothing happens when
    /// nothing was used yet.
    pub fn repeat_last(&mut self, uses: u64, at_secs: u64) {
        let Some((key, at)) = &mut self.last else {
            return;
        };
        if let Some(usage) = self.uses.get_mut(&**key) {
            usage.calls += uses;
            usage.by_hour[hour_of(at_secs)] += uses;
        }
        *at = (*at).max(at_secs);
    }

    /// The keys seen to follow `key`, each with the probability that it
    /// follows a run of `key`, most likely first (ties by name).
    pub fn successors(&self, key: &str) -> Vec<(String, f64)> {
        let Some(usage) = self.uses.get(key).filter(|u| u.runs > 0) else {
            return Vec::new();
        };
        let mut next: Vec<(String, f64)> = usage
            .followers
            .iter()
            .map(|(k, n)| (k.to_string(), *n as f64 / usage.runs as f64))
            .collect();
        next.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        next
    }

    /// The keys that follow `key` with probability at least `min_p`, most
    /// likely first.
    pub fn likely_successors(&self, key: &str, min_p: f64) -> Vec<String> {
        self.successors(key)
            .into_iter()
            .take_while(|(_, p)| *p >= min_p)
            .map(|(k, _)| k)
            .collect()
    }

    /// The `n` keys used most in `hour` (0 to 23, UTC) over the whole
    /// history, with their use counts, busiest first (ties by name); keys
    /// never used in that hour are left out.
    pub fn busiest_at(&self, hour: usize, n: usize) -> Vec<(String, u64)> {
        let Some(hour) = (hour < 24).then_some(hour) else {
            return Vec::new();
        };
        let mut busiest: Vec<(String, u64)> = self
            .uses
            .iter()
            .filter(|(_, u)| u.by_hour[hour] > 0)
            .map(|(k, u)| (k.to_string(), u.by_hour[hour]))
            .collect();
        busiest.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        busiest.truncate(n);
        busiest
    }

    /// What to start ahead of use at `at_secs`: the likely successors (at
    /// least `min_p`) of the last key used, if it was used within the
    /// follow window, then the `per_hour` busiest keys of that hour; each
    /// key once, the last one used left out (it is warm already).
    pub fn predict(&self, at_secs: u64, min_p: f64, per_hour: usize) -> Vec<String> {
        let recent = self
            .last
            .as_ref()
            .filter(|(_, at)| at_secs.saturating_sub(*at) <= self.follow_window)
            .map(|(key, _)| &**key);
        let mut keys: Vec<String> = recent
            .map(|key| self.likely_successors(key, min_p))
            .unwrap_or_default();
        let busiest = self.busiest_at(hour_of(at_secs), per_hour + 1);
        let busiest = busiest
            .into_iter()
            .filter(|(key, _)| Some(key.as_str()) != recent);
        for (key, _) in busiest.take(per_hour) {
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
        keys
    }

    /// How many uses of `key` were recorded.
    pub fn calls(&self, key: &str) -> u64 {
        self.uses.get(key).map_or(0, |u| u.calls)
    }

    /// The last key used and when.
    pub fn last(&self) -> Option<(&str, u64)> {
        self.last.as_ref().map(|(k, at)| (&**k, *at))
    }
}

#[cfg(test)]
mod tests;
