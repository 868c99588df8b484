//! Per-extension counters: calls, errors by kind, refused imports, fuel,
//! memory high-water mark and a call-latency histogram.
//!
//! Every counter is an atomic updated with `Relaxed` ordering: calls on
//! many threads record without taking a lock, and a snapshot reads each
//! counter once, so its fields may be a call apart from each other.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::CallError;

/// Buckets of the latency histogram with an upper bound: bucket `i` holds
/// calls of at most `2^i` µs, from 1 µs up to `2^26` µs (about 67 s).
const BOUNDED_BUCKETS: usize = 27;
/// Plus one bucket for anything slower.
const BUCKETS: usize = BOUNDED_BUCKETS + 1;

/// The live counters of one extension, shared by its call path, its host
/// imports and the memory limiters of its instances.
#[derive(Debug)]
pub struct ExtensionMetrics {
    /// Failed calls, one counter per [`ErrorKind`].
    errors: [AtomicU64; ErrorKind::COUNT],
    /// Host imports refused for lack of a capability.
    denials: AtomicU64,
    /// Fuel consumed by calls, summed.
    fuel_used: AtomicU64,
    /// The largest linear memory any instance asked for and got, in bytes.
    memory_high_water: AtomicU64,
    /// Call durations.
    latency: Histogram,
    /// The Pool Manager's counters for this extension's instances.
    pub(crate) pool: crate::pool::PoolCounters,
}

impl Default for ExtensionMetrics {
    fn default() -> Self {
        ExtensionMetrics {
            errors: std::array::from_fn(|_| AtomicU64::new(0)),
            denials: AtomicU64::new(0),
            fuel_used: AtomicU64::new(0),
            memory_high_water: AtomicU64::new(0),
            latency: Histogram::default(),
            pool: Default::default(),
        }
    }
}

impl ExtensionMetrics {
    /// Records one finished call: how long it took, how much fuel it used
    /// and, if it failed, why.
    pub fn record_call(&self, elapsed: Duration, fuel_used: u64, error: Option<&CallError>) {
        self.fuel_used.fetch_add(fuel_used, Ordering::Relaxed);
        if let Some(error) = error {
            self.errors[ErrorKind::of(error) as usize].fetch_add(1, Ordering::Relaxed);
        }
        self.latency.record(elapsed);
    }

    /// Records a host import refused for lack of a capability.
    pub fn record_denial(&self) {
        self.denials.fetch_add(1, Ordering::Relaxed);
    }

    /// Records that an instance's linear memory reached `bytes`.
    pub fn record_memory(&self, bytes: usize) {
        let bytes = u64::try_from(bytes).unwrap_or(u64::MAX);
        self.memory_high_water.fetch_max(bytes, Ordering::Relaxed);
    }

    /// The counters as plain values.
    pub fn snapshot(&self) -> MetricsSnapshot {
        let error = |kind: ErrorKind| self.errors[kind as usize].load(Ordering::Relaxed);
        let latency = self.latency.snapshot();
        MetricsSnapshot {
            // Every finished call is timed, so the histogram counts them.
            calls: latency.count,
            errors: ErrorCounts {
                guest: error(ErrorKind::Guest),
                trap: error(ErrorKind::Trap),
                out_of_fuel: error(ErrorKind::OutOfFuel),
                deadline: error(ErrorKind::Deadline),
                memory: error(ErrorKind::Memory),
                busy: error(ErrorKind::Busy),
                instantiate: error(ErrorKind::Instantiate),
                unavailable: error(ErrorKind::Unavailable),
                interrupted: error(ErrorKind::Interrupted),
            },
            denials: self.denials.load(Ordering::Relaxed),
            fuel_used: self.fuel_used.load(Ordering::Relaxed),
            memory_high_water: self.memory_high_water.load(Ordering::Relaxed),
            latency,
        }
    }
}

/// The index of each error counter.
#[derive(Debug, Clone, Copy)]
enum ErrorKind {
    Guest,
    Trap,
    OutOfFuel,
    Deadline,
    Memory,
    Busy,
    Instantiate,
    Unavailable,
    Interrupted,
}

impl ErrorKind {
    const COUNT: usize = ErrorKind::Interrupted as usize + 1;

    fn of(error: &CallError) -> ErrorKind {
        // Exhaustive on purpose: a new `CallError` must pick a counter.
        match error {
            CallError::Guest { .. } => ErrorKind::Guest,
            CallError::Trap { .. } => ErrorKind::Trap,
            CallError::OutOfFuel { .. } => ErrorKind::OutOfFuel,
            CallError::Deadline { .. } => ErrorKind::Deadline,
            CallError::MemoryLimit { .. } => ErrorKind::Memory,
            CallError::Busy { .. } => ErrorKind::Busy,
            CallError::Instantiate { .. } => ErrorKind::Instantiate,
            CallError::Unavailable { .. } => ErrorKind::Unavailable,
            CallError::Interrupted { .. } => ErrorKind::Interrupted,
        }
    }
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

impl Histogram {
    pub fn record(&self, elapsed: Duration) {
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.buckets[bucket_of(micros)].fetch_add(1, Ordering::Relaxed);
        self.sum_ns.fetch_add(nanos, Ordering::Relaxed);
        self.max_us.fetch_max(micros, Ordering::Relaxed);
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

/// An extension's metrics at one moment, from `Host::metrics` or
/// `Host::all_metrics`.
///
/// Counted since the extension was loaded. Calls are those made through
/// its handles or by workflows; the load hooks an instance runs when it is
/// created are not calls of their own (a failing hook fails the call that
/// needed the instance).
///
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MetricsSnapshot {
    /// Calls that finished, successfully or not.
    pub calls: u64,
    /// Calls that failed, by why.
    pub errors: ErrorCounts,
    /// Host imports refused for lack of a capability (each is also in the
    /// audit log). A refused import is answered `denied`, which the guest
    /// may handle, so a denial need not fail the call.
    pub denials: u64,
    /// Fuel the calls consumed, summed: for each call, the fuel it was
    /// given minus the fuel left when it returned (all of it when it ran
    /// out).
    pub fuel_used: u64,
    /// The largest linear memory any instance reached, in bytes.
    pub memory_high_water: u64,
    /// How long calls took, from the caller asking to the result,
    /// including any wait for a free instance.
    pub latency: CallLatency,
}

/// Failed calls, one count per kind of [`CallError`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ErrorCounts {
    /// The extension returned an error of its own ([`CallError::Guest`]).
    pub guest: u64,
    /// The guest trapped ([`CallError::Trap`]).
    pub trap: u64,
    /// The call used up its fuel ([`CallError::OutOfFuel`]).
    pub out_of_fuel: u64,
    /// The call ran past its deadline ([`CallError::Deadline`]).
    pub deadline: u64,
    /// The guest grew its memory past its limit ([`CallError::MemoryLimit`]).
    pub memory: u64,
    /// Every instance stayed busy ([`CallError::Busy`]).
    pub busy: u64,
    /// No instance could be created ([`CallError::Instantiate`]).
    pub instantiate: u64,
    /// The extension was not active ([`CallError::Unavailable`]).
    pub unavailable: u64,
    /// The caller stopped the call ([`CallError::Interrupted`]).
    pub interrupted: u64,
}

impl ErrorCounts {
    /// Every failed call, whatever the kind.
    pub fn total(&self) -> u64 {
        self.by_kind().iter().map(|&(_, n)| n).sum()
    }

    /// Each kind's count with its name in words (`out of fuel`).
    pub fn by_kind(&self) -> [(&'static str, u64); 9] {
        [
            ("guest", self.guest),
            ("trap", self.trap),
            ("out of fuel", self.out_of_fuel),
            ("deadline", self.deadline),
            ("memory", self.memory),
            ("busy", self.busy),
            ("instantiate", self.instantiate),
            ("unavailable", self.unavailable),
            ("interrupted", self.interrupted),
        ]
    }
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

#[cfg(test)]
mod tests;
