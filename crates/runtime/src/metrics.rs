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
use crate::histogram::{CallLatency, Histogram, raise};

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
    pub(crate) fn record_call(&self, elapsed: Duration, fuel_used: u64, error: Option<&CallError>) {
        self.fuel_used.fetch_add(fuel_used, Ordering::Relaxed);
        if let Some(error) = error {
            self.errors[ErrorKind::of(error) as usize].fetch_add(1, Ordering::Relaxed);
        }
        self.latency.record(elapsed);
    }

    /// Records a host import refused for lack of a capability.
    pub(crate) fn record_denial(&self) {
        self.denials.fetch_add(1, Ordering::Relaxed);
    }

    /// Records that an instance's linear memory reached `bytes`.
    pub(crate) fn record_memory(&self, bytes: usize) {
        let bytes = u64::try_from(bytes).unwrap_or(u64::MAX);
        raise(&self.memory_high_water, bytes);
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

#[cfg(test)]
mod tests;
