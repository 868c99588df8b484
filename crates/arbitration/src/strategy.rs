//! Strategies: which waiting request a freed resource goes to.
//!
//! A strategy gives each waiter a key; the waiter with the lowest key is
//! served, ties going to the earlier arrival. Keys are computed at decision
//! time, so a key may grow with the wait (aging) or with what a tenant was
//! given before (fair share). Five strategies implement [`Strategy`]:
//!
//! | strategy | key | guarantee |
//! | --- | --- | --- |
//! | [`Fifo`] | arrival | served in order of arrival |
//! | [`PriorityAging`] | −(priority + wait ÷ aging step) | higher first; a waiter's priority rises one level per step, so nothing starves: it goes before every request that arrives more than (Δpriority) steps after it; running work is never preempted |
//! | [`RoundRobin`] | turns between tenants | each waiting tenant served once per round |
//! | [`FairShare`] | weighted dominant share | weighted DRF: tenants' dominant shares, divided by their weights, stay within one request of each other |
//! | [`EarliestDeadline`] | deadline | requests released together on one unit miss no deadline while they fit (utilisation ≤ 1): non-preemptive EDF is optimal then |

use std::fmt;
use std::time::{Duration, Instant};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[cfg(test)]
mod tests;

/// A waiting request as strategies see it.
#[derive(Debug, Clone, Copy)]
pub struct Entry {
    /// The tenant's index.
    pub tenant: u32,
    /// Its priority (higher first).
    pub priority: i32,
    /// When its work is due.
    pub deadline: Option<Instant>,
    /// How many units it asks for.
    pub units: u64,
    /// When it started waiting.
    pub since: Instant,
    /// Its arrival number in the queue (the tie-break).
    pub seq: u64,
}

/// What a strategy may consult when it ranks waiters.
pub struct Context<'a> {
    /// The decision's time.
    pub now: Instant,
    /// A fixed time before every deadline the queue has seen, so deadlines
    /// become comparable numbers.
    pub epoch: Instant,
    /// Tenant indexes are below this.
    pub tenants: u32,
    /// The resource's capacity in units.
    pub capacity: u64,
    /// A tenant's weight (default 1).
    pub weight: &'a dyn Fn(u32) -> f64,
    /// A tenant's dominant share of service so far: the largest, over the
    /// arbiter's resources, of the units it was granted divided by that
    /// resource's capacity (see [`Ledger`](crate::Ledger)).
    pub service: &'a dyn Fn(u32) -> f64,
}

/// Chooses among waiters: the one with the lowest [`key`](Strategy::key)
/// is served (ties by arrival).
///
/// A decision ranks only what can win, so it stays fast with a long line:
/// a strategy whose order does not change while requests wait gives each a
/// fixed [`rank`](Strategy::rank) when it arrives (priority with aging,
/// deadlines), and the line keeps them sorted; any other must serve each
/// tenant's requests in arrival order (its key must not fall with `nth`),
/// so only each tenant's first request is ranked at a decision.
pub trait Strategy: Send + Sync + fmt::Debug {
    /// Which strategy this is.
    fn kind(&self) -> StrategyKind;

    /// The rank of `entry`, the `nth` (from 0) waiter of its tenant in
    /// arrival order: lower is served first.
    fn key(&self, entry: &Entry, nth: usize, ctx: &Context<'_>) -> f64;

    /// A rank fixed when `entry` arrives, ordering waiters as
    /// [`key`](Strategy::key) does at any time, if this strategy has one;
    /// `epoch` precedes every entry's times.
    fn rank(&self, entry: &Entry, epoch: Instant) -> Option<f64> {
        let _ = (entry, epoch);
        None
    }

    /// Told that `entry` was served, for strategies with memory.
    fn served(&mut self, entry: &Entry, ctx: &Context<'_>) {
        let _ = (entry, ctx);
    }
}

/// First come, first served.
#[derive(Debug, Default, Clone, Copy)]
pub struct Fifo;

impl Strategy for Fifo {
    fn kind(&self) -> StrategyKind {
        StrategyKind::Fifo
    }

    fn key(&self, _: &Entry, _: usize, _: &Context<'_>) -> f64 {
        0.0
    }
}

/// Higher priority first, with aging: a waiter's effective priority is
/// its priority plus one for every `step` it has waited, so a request of
/// priority p facing a stream of priority q > p goes before every request
/// of that stream arriving more than (q − p) steps after it: it waits at
/// most for those that arrived before then. Nothing running is preempted.
#[derive(Debug, Clone, Copy)]
pub struct PriorityAging {
    /// How long a waiter waits to gain one level.
    pub step: Duration,
}

impl PriorityAging {
    /// The effective priority of `entry` at `now`.
    pub fn effective(&self, entry: &Entry, now: Instant) -> f64 {
        let waited = now.saturating_duration_since(entry.since).as_secs_f64();
        f64::from(entry.priority) + waited / self.step.as_secs_f64().max(1e-9)
    }
}

impl Strategy for PriorityAging {
    fn kind(&self) -> StrategyKind {
        StrategyKind::Priority
    }

    fn key(&self, entry: &Entry, _: usize, ctx: &Context<'_>) -> f64 {
        -self.effective(entry, ctx.now)
    }

    /// −(priority + (now − since) ÷ step) orders waiters as
    /// since ÷ step − priority does, whatever `now` is.
    fn rank(&self, entry: &Entry, epoch: Instant) -> Option<f64> {
        let since = entry.since.saturating_duration_since(epoch).as_secs_f64();
        Some(since / self.step.as_secs_f64().max(1e-9) - f64::from(entry.priority))
    }
}

/// Turns between tenants: after tenant t is served, the next waiting
/// tenant after t (by index, wrapping) goes next; within a tenant, by
/// arrival.
#[derive(Debug, Default, Clone, Copy)]
pub struct RoundRobin {
    /// The tenant served last.
    last: Option<u32>,
}

impl Strategy for RoundRobin {
    fn kind(&self) -> StrategyKind {
        StrategyKind::RoundRobin
    }

    fn key(&self, entry: &Entry, nth: usize, ctx: &Context<'_>) -> f64 {
        let tenants = u64::from(ctx.tenants.max(entry.tenant.saturating_add(1)));
        let start = self.last.map_or(0, |last| u64::from(last) + 1);
        let turn = (u64::from(entry.tenant) + tenants - start % tenants) % tenants;
        (nth as u64 * tenants + turn) as f64
    }

    fn served(&mut self, entry: &Entry, _: &Context<'_>) {
        self.last = Some(entry.tenant);
    }
}

/// Weighted fair share across resources (Dominant Resource Fairness): the
/// waiter whose tenant's dominant share, after this request, divided by
/// its weight is smallest goes first. On one resource this is weighted
/// fair queueing: each tenant's service stays within one request of its
/// weighted share.
#[derive(Debug, Default, Clone, Copy)]
pub struct FairShare;

impl Strategy for FairShare {
    fn kind(&self) -> StrategyKind {
        StrategyKind::FairShare
    }

    fn key(&self, entry: &Entry, nth: usize, ctx: &Context<'_>) -> f64 {
        let asked = (nth as u64 + 1) * entry.units;
        let after = (ctx.service)(entry.tenant) + asked as f64 / ctx.capacity.max(1) as f64;
        after / (ctx.weight)(entry.tenant).max(f64::MIN_POSITIVE)
    }
}

/// Earliest deadline first; requests without a deadline after all that
/// have one, by arrival.
#[derive(Debug, Default, Clone, Copy)]
pub struct EarliestDeadline;

impl Strategy for EarliestDeadline {
    fn kind(&self) -> StrategyKind {
        StrategyKind::Deadline
    }

    fn key(&self, entry: &Entry, _: usize, ctx: &Context<'_>) -> f64 {
        self.rank(entry, ctx.epoch).unwrap_or(f64::INFINITY)
    }

    fn rank(&self, entry: &Entry, epoch: Instant) -> Option<f64> {
        Some(entry.deadline.map_or(f64::INFINITY, |due| {
            due.saturating_duration_since(epoch).as_secs_f64()
        }))
    }
}

/// The strategies by name, as `arbitration.toml` spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum StrategyKind {
    /// [`Fifo`].
    Fifo,
    /// [`PriorityAging`].
    Priority,
    /// [`RoundRobin`].
    RoundRobin,
    /// [`FairShare`].
    FairShare,
    /// [`EarliestDeadline`].
    Deadline,
}

impl StrategyKind {
    /// Every strategy.
    pub const ALL: [StrategyKind; 5] = [
        StrategyKind::Fifo,
        StrategyKind::Priority,
        StrategyKind::RoundRobin,
        StrategyKind::FairShare,
        StrategyKind::Deadline,
    ];

    /// A new strategy of this kind; `aging` is the priority strategy's step.
    pub fn build(self, aging: Duration) -> Box<dyn Strategy> {
        match self {
            StrategyKind::Fifo => Box::new(Fifo),
            StrategyKind::Priority => Box::new(PriorityAging { step: aging }),
            StrategyKind::RoundRobin => Box::new(RoundRobin::default()),
            StrategyKind::FairShare => Box::new(FairShare),
            StrategyKind::Deadline => Box::new(EarliestDeadline),
        }
    }

    /// Its name in `arbitration.toml`.
    pub fn name(self) -> &'static str {
        match self {
            StrategyKind::Fifo => "fifo",
            StrategyKind::Priority => "priority",
            StrategyKind::RoundRobin => "round-robin",
            StrategyKind::FairShare => "fair-share",
            StrategyKind::Deadline => "deadline",
        }
    }
}

impl fmt::Display for StrategyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
