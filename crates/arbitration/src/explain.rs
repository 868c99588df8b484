//! What the engine says about its decisions: where a waiting request
//! stands ([`Explanation`]), what was decided and why ([`Decision`]), and
//! the conflicts it announces on the bus.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::StrategyKind;

/// Where a waiting request stands: "node summarise of run 1f3a waits for
/// instances:mock-llm: 2nd in line, ~40 ms".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    /// The resource it waits for.
    pub resource: Arc<str>,
    /// What waits.
    pub label: Arc<str>,
    /// Whose request it is.
    pub tenant: Arc<str>,
    /// Its place in line, from 1.
    pub position: usize,
    /// Requests waiting in all.
    pub waiting: usize,
    /// The expected wait from observed service times; `None` before any
    /// was observed.
    pub estimate_ms: Option<f64>,
    /// The strategy ordering the line.
    pub strategy: StrategyKind,
}

/// "1st", "2nd", "3rd", "11th", "22nd".
pub fn ordinal(n: usize) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

impl Explanation {
    /// Where it stands, without what waits or for what: "2nd in line,
    /// ~40 ms (priority, tenant alice)".
    pub fn standing(&self) -> String {
        let estimate = match self.estimate_ms {
            Some(ms) => format!("~{}", human_ms(ms)),
            None => "no wait estimate yet".into(),
        };
        format!(
            "{} in line, {estimate} ({}, tenant {})",
            ordinal(self.position),
            self.strategy,
            self.tenant
        )
    }
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} waits for {}: {}",
            self.label,
            self.resource,
            self.standing()
        )
    }
}

/// A duration in milliseconds as people read it: "40 ms", "1.2 s".
pub fn human_ms(ms: f64) -> String {
    if ms < 1.0 {
        format!("{:.2} ms", ms)
    } else if ms < 1000.0 {
        format!("{:.0} ms", ms)
    } else {
        format!("{:.1} s", ms / 1000.0)
    }
}

/// What was decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Given to a waiting request.
    Granted,
    /// Put in line: the resource was taken.
    Queued,
    /// An idle instance was cooled to make room for this request.
    EvictedFor,
    /// Refused: a budget would be exceeded, or the request can never fit.
    Refused,
    /// It waited past its deadline.
    TimedOut,
    /// It stopped waiting (its run was cancelled).
    Cancelled,
    /// Fairness fell below the floor; this tenant is served first until it
    /// recovers.
    Boosted,
    /// Not a decision: decisions the log could not keep up with, counted.
    Unlogged,
}

impl Verdict {
    /// Its name in the log.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Granted => "granted",
            Verdict::Queued => "queued",
            Verdict::EvictedFor => "evicted-for",
            Verdict::Refused => "refused",
            Verdict::TimedOut => "timed-out",
            Verdict::Cancelled => "cancelled",
            Verdict::Boosted => "boosted",
            Verdict::Unlogged => "unlogged",
        }
    }

    /// The verdict named `name`.
    pub fn parse(name: &str) -> Option<Verdict> {
        [
            Verdict::Granted,
            Verdict::Queued,
            Verdict::EvictedFor,
            Verdict::Refused,
            Verdict::TimedOut,
            Verdict::Cancelled,
            Verdict::Boosted,
            Verdict::Unlogged,
        ]
        .into_iter()
        .find(|v| v.name() == name)
    }
}

/// One decision, as the audit log keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// When, in milliseconds since the Unix epoch.
    pub at_ms: u64,
    /// The resource.
    pub resource: Arc<str>,
    /// Whose request.
    pub tenant: Arc<str>,
    /// What asked.
    pub label: Arc<str>,
    /// What was decided.
    pub verdict: Verdict,
    /// Why, in words.
    pub reason: String,
    /// How long the request had waited, in microseconds.
    pub waited_us: u64,
}

impl Decision {
    /// A decision made now.
    pub fn now(
        resource: &Arc<str>,
        tenant: &Arc<str>,
        label: &Arc<str>,
        verdict: Verdict,
        reason: String,
        waited: Duration,
    ) -> Self {
        Decision {
            at_ms: unix_ms(),
            resource: Arc::clone(resource),
            tenant: Arc::clone(tenant),
            label: Arc::clone(label),
            verdict,
            reason,
            waited_us: waited.as_micros().min(u128::from(u64::MAX)) as u64,
        }
    }
}

/// Milliseconds since the Unix epoch.
pub fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Where decisions go: the SQLite log ([`SqliteLog`](crate::SqliteLog)
/// with the `sqlite` feature), or anything else that keeps them.
/// [`record`](DecisionSink::record) is called under the deciding
/// resource's lock, so it must not block: queue and write elsewhere.
pub trait DecisionSink: Send + Sync {
    /// Keeps `decision`.
    fn record(&self, decision: Decision);

    /// Keeps grant counts (see [`Arbiter::flush_usage`](crate::Arbiter::flush_usage)).
    fn usage(&self, rows: Vec<Usage>) {
        let _ = rows;
    }

    /// Returns once everything given so far is kept.
    fn flush(&self) {}
}

/// Grants of one resource to one tenant since the last flush.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    /// When counted, in milliseconds since the Unix epoch.
    pub at_ms: u64,
    /// The resource.
    pub resource: Arc<str>,
    /// The tenant.
    pub tenant: Arc<str>,
    /// Grants in all.
    pub grants: u64,
    /// Of those, grants made at once (the resource was free).
    pub free: u64,
}

/// A conflict the engine announces on the bus as
/// `arbitration.conflict.<kind>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Conflict {
    /// Requests wait for an instance of an extension.
    Contention,
    /// An instance was evicted (or not kept) for lack of memory.
    MemoryPressure,
    /// Every parallel node slot of the host is taken.
    SlotsSaturated,
    /// A budget is spent past 90%, or refused a call.
    BudgetNearEnd,
    /// Fairness fell below the configured floor (or recovered).
    Fairness,
}

impl Conflict {
    /// Its subject's last part.
    pub fn name(self) -> &'static str {
        match self {
            Conflict::Contention => "contention",
            Conflict::MemoryPressure => "memory-pressure",
            Conflict::SlotsSaturated => "slots-saturated",
            Conflict::BudgetNearEnd => "budget-near-end",
            Conflict::Fairness => "fairness",
        }
    }
}
