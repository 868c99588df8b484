//! The Arbitration Engine, the fifth part of the Pit: fair, explainable
//! allocation of what runs contend for — instances of each extension, the
//! pool's memory, the host's parallel node slots and cost budgets.
//!
//! Requests carry a [`Requester`]: a tenant, a priority and a deadline.
//! When a resource is free, a request takes it at once (a compare-and-swap,
//! no lock or allocation). When it is not, the request joins the resource's line and
//! the resource's [`Strategy`] decides who is served as units come back:
//! first come first served, priority with aging, round-robin between
//! tenants, weighted fair share across resources (DRF) or earliest
//! deadline first. A waiting request is told where it stands
//! ([`Explanation`]: place in line and expected wait), a wait past its
//! deadline ends with a typed [`WaitError`], each decision can be kept in an
//! audit log ([`DecisionSink`]; [`SqliteLog`] with the `sqlite` feature),
//! conflicts are announced on the bus, and [`Arbiter::stats`] reports
//! waits, shares, Jain's index and the Gini coefficient over a sliding
//! window. Below a configured fairness floor the starved tenant is served
//! first until fairness recovers.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use symphony_arbitration::{ArbitrationConfig, Arbiter, StrategyKind};
//!
//! let config = ArbitrationConfig::parse("[slots]\ncapacity = 1\n", "example")?;
//! let arbiter = Arbiter::new(config, None, None);
//! let slots = arbiter.slots();
//!
//! // Free: taken at once.
//! let alice = arbiter.requester("alice").label("node a");
//! let held = slots.try_acquire(&alice, 1).expect("free");
//!
//! // Taken: a second request waits, and is told where it stands.
//! let bob = arbiter.requester("bob").priority(5).label("node b");
//! let waiter = {
//!     let slots = slots.clone();
//!     std::thread::spawn(move || {
//!         let until = Some(Instant::now() + Duration::from_secs(5));
//!         slots.acquire_blocking(&bob, 1, until, None).map(|p| p.count())
//!     })
//! };
//! while slots.usage().2 == 0 {
//!     std::thread::yield_now();
//! }
//! drop(held); // bob is served
//! assert_eq!(waiter.join().unwrap()?, 1);
//! assert_eq!(arbiter.stats().resources[0].waited, 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod arbiter;
mod budget;
mod config;
mod error;
mod explain;
pub mod fairness;
mod handoff;
mod ledger;
mod line;
#[cfg(feature = "sqlite")]
mod log;
mod queue;
mod requester;
mod shared;
mod stats;
mod strategy;
mod units;

#[cfg(test)]
mod proptests;

use std::future::Future;
use std::time::Instant;

use symphony_bus::Interrupt;

pub use arbiter::{Arbiter, MAX_TENANTS, OTHER_TENANTS};
pub use budget::{Budgets, Shortfall, Spent};
pub use config::{
    ArbitrationConfig, ConfigError, LogConfig, MAX_BUDGET, ResourceConfig, SlotsConfig,
    TenantConfig,
};
pub use error::{BudgetExhausted, WaitError};
pub use explain::{
    Conflict, Decision, DecisionSink, Explanation, Usage, Verdict, human_ms, ordinal,
};
pub use handoff::{Handoff, Ticket};
pub use ledger::{Book, Ledger};
#[cfg(feature = "sqlite")]
pub use log::{LogError, LogQuery, SqliteLog};
pub use queue::{Ask, Queue, Waiter};
pub use requester::{Requester, Tenant, WaitObserver};
pub use stats::{ResourceStats, Stats, TenantStats};
pub use strategy::{
    Context, EarliestDeadline, Entry, FairShare, Fifo, PriorityAging, RoundRobin, Strategy,
    StrategyKind,
};
pub use units::{Permit, Units};

/// Resolves when `until` passes (`false`) or `interrupt` is set (`true`);
/// never without either.
pub(crate) async fn stopped(until: Option<Instant>, interrupt: Option<&Interrupt>) -> bool {
    let deadline = async {
        match until {
            Some(at) => tokio::time::sleep_until(at.into()).await,
            None => std::future::pending().await,
        }
    };
    match interrupt {
        None => {
            deadline.await;
            false
        }
        Some(interrupt) => tokio::select! {
            () = deadline => false,
            () = interrupt.wait() => true,
        },
    }
}

/// Runs `future` to completion on this thread, with a timer: the blocking
/// forms of waits. Outside any runtime it uses this thread's own; inside
/// one (which must not be blocked by a nested runtime) on a helper thread.
/// `None` if no timer could be started.
pub(crate) fn block_on<F>(future: F) -> Option<F::Output>
where
    F: Future + Send,
    F::Output: Send,
{
    use tokio::runtime::{Builder, Handle, Runtime};
    thread_local! {
        static RUNTIME: Option<Runtime> = Builder::new_current_thread().enable_time().build().ok();
    }
    let own = |future: F| RUNTIME.with(|runtime| runtime.as_ref().map(|r| r.block_on(future)));
    match Handle::try_current() {
        Err(_) => own(future),
        Ok(_) => std::thread::scope(|scope| {
            std::thread::Builder::new()
                .name("symphony-arbitration-wait".into())
                .spawn_scoped(scope, || own(future))
                .ok()?
                .join()
                .ok()
                .flatten()
        }),
    }
}
