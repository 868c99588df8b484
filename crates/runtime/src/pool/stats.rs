//! The Pool Manager's counters and the snapshot `Host::pool_stats`
//! reports.
//!
//! `Host::pool_stats`: crate::Host::pool_stats

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;

use crate::ExtensionKind;
use crate::histogram::Histogram;

/// Live pool counters: one set per extension (shared by its versions, kept
/// in its metrics) and one for the whole host. Atomics updated `Relaxed`,
/// like the call metrics, so the hit path takes no lock for them.
#[derive(Debug, Default)]
pub(crate) struct PoolCounters {
    /// Calls served by an idle instance.
    hits: AtomicU64,
    /// Calls that had to start an instance.
    misses: AtomicU64,
    /// Instances cooled to keep the host within its hot budget.
    evictions: AtomicU64,
    /// Instances that went Failed → Cold: trapped, unhealthy or failed to start.
    failures: AtomicU64,
    /// Instances started ahead of demand.
    prewarmed: AtomicU64,
    /// `health-check` calls made on pooled instances.
    health_checks: AtomicU64,
    /// Of those, the ones that found the instance unhealthy or trapped.
    unhealthy: AtomicU64,
    /// How long instances took from Cold to Hot.
    load: Histogram,
}

/// One kind of pool event, counted per extension and host-wide.
#[derive(Debug, Clone, Copy)]
pub(crate) enum PoolEvent {
    Hit,
    Miss,
    Eviction,
    Failure,
    Prewarm,
    HealthCheck,
    Unhealthy,
}

impl PoolCounters {
    fn counter(&self, event: PoolEvent) -> &AtomicU64 {
        match event {
            PoolEvent::Hit => &self.hits,
            PoolEvent::Miss => &self.misses,
            PoolEvent::Eviction => &self.evictions,
            PoolEvent::Failure => &self.failures,
            PoolEvent::Prewarm => &self.prewarmed,
            PoolEvent::HealthCheck => &self.health_checks,
            PoolEvent::Unhealthy => &self.unhealthy,
        }
    }

    /// Counts one `event`.
    pub(crate) fn count(&self, event: PoolEvent) {
        self.counter(event).fetch_add(1, Ordering::Relaxed);
    }

    /// Records how long an instance took to start.
    pub(crate) fn record_load(&self, elapsed: Duration) {
        self.load.record(elapsed);
    }

    fn read(&self, event: PoolEvent) -> u64 {
        self.counter(event).load(Ordering::Relaxed)
    }

    /// The counters as plain values, with the occupancy filled in by the
    /// caller.
    pub(crate) fn snapshot(&self) -> PoolCounts {
        let latency = self.load.snapshot();
        let total_us = u64::try_from(self.load.total().as_micros()).unwrap_or(u64::MAX);
        let (hits, misses) = (self.read(PoolEvent::Hit), self.read(PoolEvent::Miss));
        PoolCounts {
            hot_count: 0,
            hot_bytes: 0,
            hits,
            misses,
            hit_rate: match hits + misses {
                0 => 0.0,
                lookups => hits as f64 / lookups as f64,
            },
            evictions: self.read(PoolEvent::Eviction),
            failures: self.read(PoolEvent::Failure),
            prewarmed: self.read(PoolEvent::Prewarm),
            health_checks: self.read(PoolEvent::HealthCheck),
            unhealthy: self.read(PoolEvent::Unhealthy),
            load: LoadTime {
                count: latency.count,
                total_us,
                mean_us: latency.mean_us,
                p50_us: latency.p50_us,
                p99_us: latency.p99_us,
                max_us: latency.max_us,
            },
        }
    }
}

/// How long instances took to start (Cold → Warming → Hot: instantiation
/// plus the `on-load` and `on-activate` hooks).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct LoadTime {
    /// Instances started.
    pub count: u64,
    /// Their start times summed, in microseconds.
    pub total_us: u64,
    /// The mean start time, in microseconds.
    pub mean_us: u64,
    /// The median, in microseconds (estimated from power-of-two buckets).
    pub p50_us: u64,
    /// The 99th percentile, in microseconds (estimated likewise).
    pub p99_us: u64,
    /// The slowest start, in microseconds.
    pub max_us: u64,
}

/// Occupancy and counters of pooled instances, for one extension or the
/// whole host.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct PoolCounts {
    /// Hot instances (idle or in a call) within the host's budget.
    pub hot_count: usize,
    /// Their linear memory, in bytes.
    pub hot_bytes: usize,
    /// Calls served by an idle, already started instance.
    pub hits: u64,
    /// Calls that had to start an instance first (a cold start).
    pub misses: u64,
    /// Hits per call, 0 to 1; 0 before the first call.
    pub hit_rate: f64,
    /// Instances cooled (Hot → Cooling → Cold) to stay within the budget.
    pub evictions: u64,
    /// Instances that failed (trapped, reported unhealthy, failed to
    /// start) and were discarded.
    pub failures: u64,
    /// Instances started ahead of demand by prewarming.
    pub prewarmed: u64,
    /// Health checks made on pooled instances.
    pub health_checks: u64,
    /// Health checks that found the instance unhealthy or trapped.
    pub unhealthy: u64,
    /// How long instances took to start.
    pub load: LoadTime,
}

/// One extension's share of the pool, in [`PoolStats::extensions`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ExtensionPoolStats {
    /// The extension's name.
    pub name: String,
    /// Its kind. Addon instances hold UI state, so they are pooled but
    /// never evicted and count against no budget.
    pub kind: ExtensionKind,
    /// Idle instances of its serving version.
    pub idle: usize,
    /// Instances of its serving version in a call (or starting).
    pub busy: usize,
    /// Its counters, since it was loaded.
    #[serde(flatten)]
    pub counts: PoolCounts,
}

/// The Pool Manager's state, from `Host::pool_stats`.
///
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct PoolStats {
    /// The most Hot instances the host keeps.
    pub max_instances: usize,
    /// The most linear memory, in bytes, its Hot instances may hold.
    pub max_bytes: usize,
    /// Host-wide counters, since the host was built (extensions since
    /// unloaded included).
    #[serde(flatten)]
    pub totals: PoolCounts,
    /// Each loaded extension, by name.
    pub extensions: Vec<ExtensionPoolStats>,
}
