//! A latency histogram with fixed logarithmic buckets: recording is two
//! atomic adds, so calls and pool loads can be timed on their hot paths.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Buckets of the latency histogram with an upper bound: bucket `i` holds
/// calls of at most `2^i` µs, from 1 µs up to `2^26` µs (about 67 s).
const BOUNDED_BUCKETS: usize = 27;

/// Plus one bucket for anything slower.
const BUCKETS: usize = BOUNDED_BUCKETS + 1;

/// The bucket of a duration of `micros`: the smallest `i` with
/// `micros <= 2^i`, or the overflow bucket.
fn bucket_of(micros: u64) -> usize {
    if micros <= 1 {
        return 0;
    }
    let i = (64 - (micros - 1).leading_zeros()) as usize;
    i.min(BOUNDED_BUCKETS)
}

/// The inclusive upper bound of bucket `i` in microseconds; `None` for the
/// overflow bucket.
fn upper_bound(i: usize) -> Option<u64> {
    (i < BOUNDED_BUCKETS).then(|| 1u64 << i)
}

/// An estimate of the `q` quantile: the bucket holding the call of rank
/// `ceil(q * count)`, interpolated linearly between its bounds and never
/// above the slowest call seen.
fn quantile(counts: &[u64; BUCKETS], count: u64, max_us: u64, q: f64) -> u64 {
    if count == 0 {
        return 0;
    }
    let rank = ((count as f64) * q).ceil().clamp(1.0, count as f64) as u64;
    let mut seen = 0;
    for (i, &n) in counts.iter().enumerate() {
        if n == 0 || seen + n < rank {
            seen += n;
            continue;
        }
        let lower = if i == 0 { 0 } else { 1u64 << (i - 1) };
        let upper = upper_bound(i).unwrap_or(max_us).max(lower);
        let within = (rank - seen) as f64 / n as f64;
        let estimate = lower + ((upper - lower) as f64 * within).round() as u64;
        return estimate.min(max_us);
    }
    max_us
}

/// A histogram of call durations in power-of-two microsecond buckets, with
/// estimates read from it.
///
/// Percentiles are estimates: the bucket holding the percentile,
/// interpolated linearly between its bounds, so they are within a factor
/// of two of the true value and never above [`max_us`](Self::max_us).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CallLatency {
    /// Calls measured.
    pub count: u64,
    /// The mean duration, in microseconds (exact, from the summed time).
    pub mean_us: u64,
    /// The median, in microseconds (estimated).
    pub p50_us: u64,
    /// The 90th percentile, in microseconds (estimated).
    pub p90_us: u64,
    /// The 99th percentile, in microseconds (estimated).
    pub p99_us: u64,
    /// The slowest call, in microseconds.
    pub max_us: u64,
    /// Every bucket, fastest first: 1 µs, 2 µs, 4 µs ... 2^26 µs (about
    /// 67 s), then one for anything slower.
    pub buckets: Vec<LatencyBucket>,
}

/// One bucket of a [`CallLatency`] histogram.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LatencyBucket {
    /// The bucket holds calls of at most this many microseconds (and more
    /// than the previous bucket's bound); `None` for the last bucket,
    /// which holds every slower call.
    pub le_us: Option<u64>,
    /// Calls in the bucket.
    pub count: u64,
}

/// A histogram of durations in power-of-two microsecond buckets, with the
/// sum and maximum for the mean and to bound the estimates.
#[derive(Debug)]
pub struct Histogram {
    buckets: [AtomicU64; BUCKETS],
    /// Total of all durations, in nanoseconds.
    sum_ns: AtomicU64,
    /// The longest duration, in microseconds.
    max_us: AtomicU64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            sum_ns: AtomicU64::new(0),
            max_us: AtomicU64::new(0),
        }
    }
}

/// Raises `max` to `value` if that is higher. Read first: a maximum
/// rarely moves, and a load costs less than the read-modify-write (these
/// are on every call's path).
pub(crate) fn raise(max: &AtomicU64, value: u64) {
    if max.load(Ordering::Relaxed) < value {
        max.fetch_max(value, Ordering::Relaxed);
    }
}

impl Histogram {
    pub fn record(&self, elapsed: Duration) {
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.buckets[bucket_of(micros)].fetch_add(1, Ordering::Relaxed);
        self.sum_ns.fetch_add(nanos, Ordering::Relaxed);
        raise(&self.max_us, micros);
    }

    /// Every recorded duration, summed.
    pub fn total(&self) -> Duration {
        Duration::from_nanos(self.sum_ns.load(Ordering::Relaxed))
    }

    pub fn snapshot(&self) -> CallLatency {
        let counts: [u64; BUCKETS] =
            std::array::from_fn(|i| self.buckets[i].load(Ordering::Relaxed));
        let count: u64 = counts.iter().sum();
        let max_us = self.max_us.load(Ordering::Relaxed);
        let sum_ns = self.sum_ns.load(Ordering::Relaxed);
        CallLatency {
            count,
            mean_us: sum_ns.checked_div(count).unwrap_or(0) / 1000,
            p50_us: quantile(&counts, count, max_us, 0.50),
            p90_us: quantile(&counts, count, max_us, 0.90),
            p99_us: quantile(&counts, count, max_us, 0.99),
            max_us,
            buckets: counts
                .iter()
                .enumerate()
                .map(|(i, &count)| LatencyBucket {
                    le_us: upper_bound(i),
                    count,
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests;
