//! The Arbitration Engine: one per host. It owns the parallel node slots,
//! makes the lines for extensions' instances, interns tenants, keeps
//! budgets, and reports stats.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use serde_json::json;
use symphony_bus::{Bus, Interrupt};

use crate::budget::{Budgets, Shortfall};
use crate::explain::{Conflict, Decision, DecisionSink, Usage, Verdict};
use crate::shared::Shared;
use crate::stats::{ResourceView, Stats};
use crate::{ArbitrationConfig, BudgetExhausted, Handoff, Requester, StrategyKind, Tenant, Units};

#[cfg(test)]
mod tests;

/// The most tenants an arbiter tells apart.
pub const MAX_TENANTS: usize = 10_000;

/// Where tenants past [`MAX_TENANTS`] are counted.
pub const OTHER_TENANTS: &str = "(other tenants)";

/// How often a call waiting for a budget to refill looks at its interrupt.
const BUDGET_POLL: Duration = Duration::from_millis(20);

/// What the arbiter can take a stats snapshot of.
trait Snapshot: Send + Sync {
    fn name(&self) -> &str;
    fn snapshot(&self) -> ResourceView;
    fn take_usage(&self) -> Vec<(u32, u64, u64)>;
}

impl Snapshot for Units {
    fn name(&self) -> &str {
        Units::name(self)
    }
    fn snapshot(&self) -> ResourceView {
        Units::snapshot(self)
    }
    fn take_usage(&self) -> Vec<(u32, u64, u64)> {
        Units::take_usage(self)
    }
}

impl<T: Send> Snapshot for Handoff<T> {
    fn name(&self) -> &str {
        Handoff::name(self)
    }
    fn snapshot(&self) -> ResourceView {
        Handoff::snapshot(self)
    }
    fn take_usage(&self) -> Vec<(u32, u64, u64)> {
        Handoff::take_usage(self)
    }
}

/// The host's Arbitration Engine. Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct Arbiter {
    inner: Arc<Inner>,
}

struct Inner {
    shared: Arc<Shared>,
    config: ArbitrationConfig,
    slots: Arc<Units>,
    tenants: Mutex<HashMap<Arc<str>, Tenant>>,
    resources: Mutex<Vec<Weak<dyn Snapshot>>>,
    budgets: Budgets,
}

impl Default for Arbiter {
    fn default() -> Self {
        Arbiter::new(ArbitrationConfig::default(), None, None)
    }
}

impl std::fmt::Debug for Arbiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Arbiter")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl Arbiter {
    /// An engine with `config`, announcing conflicts on `bus` and keeping
    /// decisions in `log`.
    pub fn new(
        config: ArbitrationConfig,
        bus: Option<Bus>,
        log: Option<Arc<dyn DecisionSink>>,
    ) -> Self {
        let shared = Arc::new(Shared::new(
            bus,
            log,
            config.fairness_floor,
            config.window(),
        ));
        let slots = Units::new(
            "slots",
            config.slot_capacity(),
            config
                .slots
                .strategy
                .unwrap_or(StrategyKind::Priority)
                .build(config.aging()),
            Conflict::SlotsSaturated,
            Arc::clone(&shared),
        );
        let arbiter = Arbiter {
            inner: Arc::new(Inner {
                shared,
                slots: Arc::clone(&slots),
                resources: Mutex::new(vec![Arc::downgrade(&slots) as Weak<dyn Snapshot>]),
                tenants: Mutex::default(),
                budgets: Budgets::default(),
                config,
            }),
        };
        for name in arbiter.inner.config.tenants.keys() {
            arbiter.tenant(name);
        }
        arbiter
    }

    /// Its settings.
    pub fn config(&self) -> &ArbitrationConfig {
        &self.inner.config
    }

    /// The tenant named `name`, registered on first use with its weight
    /// and budget from the settings. Past [`MAX_TENANTS`] names, new ones
    /// share the tenant [`OTHER_TENANTS`], so the table stays bounded
    /// whatever names runs bring.
    pub fn tenant(&self, name: &str) -> Tenant {
        let mut tenants = self.inner.tenants.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(tenant) = tenants.get(name) {
            return tenant.clone();
        }
        let name = if tenants.len() >= MAX_TENANTS {
            tracing::warn!(
                tenant = name,
                "more than {MAX_TENANTS} tenants: counted as {OTHER_TENANTS}"
            );
            match tenants.get(OTHER_TENANTS) {
                Some(other) => return other.clone(),
                None => OTHER_TENANTS,
            }
        } else {
            name
        };
        let name: Arc<str> = name.into();
        let id = {
            let mut names = self
                .inner
                .shared
                .tenants
                .write()
                .unwrap_or_else(|e| e.into_inner());
            names.push(Arc::clone(&name));
            names.len() as u32 - 1
        };
        let settings = self.inner.config.tenants.get(&*name);
        if let Some(weight) = settings.and_then(|t| t.weight) {
            self.inner.shared.ledger.lock().set_weight(id, weight);
        }
        if let Some(budget) = settings.and_then(|t| t.budget) {
            let window = settings
                .and_then(|t| t.budget_window_secs)
                .map(Duration::from_secs);
            self.inner
                .budgets
                .set(&format!("tenant:{name}"), budget, window);
        }
        let tenant = Tenant::new(id, Arc::clone(&name));
        tenants.insert(name, tenant.clone());
        tenant
    }

    /// A request of tenant `name` at priority 0.
    pub fn requester(&self, name: &str) -> Requester {
        Requester::new(self.tenant(name))
    }

    /// Sets `tenant`'s weight under fair share.
    pub fn set_weight(&self, tenant: &Tenant, weight: f64) {
        self.inner
            .shared
            .ledger
            .lock()
            .set_weight(tenant.id, weight);
    }

    /// The host's parallel node slots.
    pub fn slots(&self) -> &Arc<Units> {
        &self.inner.slots
    }

    /// A new counted resource named `name`, served by `strategy`.
    pub fn units(&self, name: &str, capacity: u64, strategy: StrategyKind) -> Arc<Units> {
        let units = Units::new(
            name,
            capacity,
            strategy.build(self.inner.config.aging()),
            Conflict::Contention,
            Arc::clone(&self.inner.shared),
        );
        self.register(Arc::downgrade(&units) as Weak<dyn Snapshot>);
        units
    }

    /// The line for instances of `extension` (of which there are at most
    /// `capacity`), served by the strategy its settings name.
    pub fn instances<T: Send + 'static>(&self, extension: &str, capacity: u64) -> Arc<Handoff<T>> {
        let strategy = self.inner.config.instance_strategy(extension);
        let handoff = Handoff::new(
            &format!("instances:{extension}"),
            capacity,
            strategy.build(self.inner.config.aging()),
            Arc::clone(&self.inner.shared),
        );
        self.register(Arc::downgrade(&handoff) as Weak<dyn Snapshot>);
        handoff
    }

    fn register(&self, resource: Weak<dyn Snapshot>) {
        let mut resources = self
            .inner
            .resources
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        resources.retain(|r| r.strong_count() > 0);
        resources.push(resource);
    }

    /// The eviction order for the pool's memory and instance budget.
    pub fn memory_strategy(&self) -> StrategyKind {
        self.inner
            .config
            .memory
            .strategy
            .unwrap_or(StrategyKind::Priority)
    }

    /// Records that `victim` (last used at `victim_priority`) was evicted
    /// to make room for `requester`'s instance of `extension`.
    pub fn evicted_for(
        &self,
        victim: &str,
        victim_priority: Option<i32>,
        requester: &Requester,
        extension: &str,
        bytes: usize,
    ) {
        let shared = &self.inner.shared;
        let resource: Arc<str> = "memory".into();
        shared.decide(
            &resource,
            requester,
            Verdict::EvictedFor,
            || {
                format!(
                    "{victim} ({bytes} bytes{}) evicted to make room for an instance of {extension} (it cools now if idle, else when its call ends)",
                    victim_priority.map(|p| format!(", last used at priority {p}")).unwrap_or_default()
                )
            },
            Duration::ZERO,
        );
        shared.announce(Conflict::MemoryPressure, || {
            json!({"evicted": victim, "for": &*requester.label, "extension": extension, "bytes": bytes})
        });
    }

    /// Records that `requester`'s new instance of `extension` was not kept
    /// warm: the budget is held by instances of higher priority.
    pub fn not_admitted(&self, requester: &Requester, extension: &str, bytes: usize) {
        let shared = &self.inner.shared;
        let resource: Arc<str> = "memory".into();
        shared.decide(
            &resource,
            requester,
            Verdict::Refused,
            || {
                format!(
                    "its instance of {extension} ({bytes} bytes) runs but is not kept warm: the pool's budget is held by higher-priority work"
                )
            },
            Duration::ZERO,
        );
        shared.announce(
            Conflict::MemoryPressure,
            || json!({"refused": &*requester.label, "extension": extension, "bytes": bytes}),
        );
    }

    /// The budgets.
    pub fn budgets(&self) -> &Budgets {
        &self.inner.budgets
    }

    /// Charges `cost` for `requester`'s call to its tenant's budget and to
    /// `run_budget` (if set), all or nothing. A budget that refills before
    /// `until` is waited for on this thread (ended early by `interrupt`);
    /// otherwise [`BudgetExhausted`] names the budget.
    pub fn charge(
        &self,
        requester: &Requester,
        run_budget: Option<&str>,
        cost: f64,
        until: Option<Instant>,
        interrupt: Option<&Interrupt>,
    ) -> Result<(), BudgetExhausted> {
        if cost <= 0.0 {
            return Ok(());
        }
        let tenant = format!("tenant:{}", requester.tenant.name);
        let names: Vec<&str> = std::iter::once(tenant.as_str()).chain(run_budget).collect();
        let shared = &self.inner.shared;
        let resource: Arc<str> = "budget".into();
        let mut told = false;
        loop {
            let now = Instant::now();
            match self
                .inner
                .budgets
                .charge(&names, cost, &requester.label, now)
            {
                Ok(spent) => {
                    for spent in spent.iter().filter(|s| s.near_end) {
                        shared.announce(Conflict::BudgetNearEnd, || {
                            json!({"budget": spent.budget, "spent": spent.spent, "limit": spent.limit})
                        });
                    }
                    return Ok(());
                }
                Err(Shortfall::RefillsAt(at, exhausted))
                    if until.is_none_or(|until| at <= until)
                        && !interrupt.is_some_and(Interrupt::is_set) =>
                {
                    if !told {
                        told = true;
                        shared.decide(
                            &resource,
                            requester,
                            Verdict::Queued,
                            || format!("{exhausted}; waiting for it to refill"),
                            Duration::ZERO,
                        );
                    }
                    // In short steps, so an interrupt is seen soon.
                    let step = at.saturating_duration_since(now).min(BUDGET_POLL);
                    std::thread::sleep(step.max(Duration::from_millis(1)));
                }
                Err(Shortfall::RefillsAt(_, exhausted) | Shortfall::Exhausted(exhausted)) => {
                    shared.decide(
                        &resource,
                        requester,
                        Verdict::Refused,
                        || exhausted.to_string(),
                        Duration::ZERO,
                    );
                    shared.announce(Conflict::BudgetNearEnd, || {
                        json!({"budget": exhausted.budget, "refused": &*requester.label, "cost": cost, "left": exhausted.left})
                    });
                    return Err(exhausted);
                }
            }
        }
    }

    /// The figures over the window.
    pub fn stats(&self) -> Stats {
        let resources: Vec<Arc<dyn Snapshot>> = {
            let resources = self
                .inner
                .resources
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            resources.iter().filter_map(Weak::upgrade).collect()
        };
        let views = resources.iter().map(|r| r.snapshot()).collect();
        let shared = &self.inner.shared;
        let book = shared.ledger.lock();
        crate::stats::compute(
            views,
            &book,
            |t| shared.tenant_name(t).to_string(),
            shared.window,
        )
    }

    /// Hands the log every resource's grants by tenant since the last
    /// call (uncontended grants are counted, not logged one by one): the
    /// host calls it as each run ends.
    pub fn flush_usage(&self) {
        let Some(sink) = &self.inner.shared.sink else {
            return;
        };
        let resources: Vec<Arc<dyn Snapshot>> = {
            let resources = self
                .inner
                .resources
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            resources.iter().filter_map(Weak::upgrade).collect()
        };
        let at_ms = crate::explain::unix_ms();
        let mut rows = Vec::new();
        for resource in &resources {
            for (tenant, grants, free) in resource.take_usage() {
                rows.push(Usage {
                    at_ms,
                    resource: resource.name().into(),
                    tenant: self.inner.shared.tenant_name(tenant),
                    grants,
                    free,
                });
            }
        }
        if !rows.is_empty() {
            sink.usage(rows);
        }
    }

    /// Hands the log the usage counts ([`flush_usage`](Self::flush_usage))
    /// and returns once everything decided so far is kept.
    pub fn flush(&self) {
        self.flush_usage();
        if let Some(sink) = &self.inner.shared.sink {
            sink.flush();
        }
    }

    /// Keeps `decision` in the log (for decisions made elsewhere).
    pub fn record(&self, decision: Decision) {
        self.inner.shared.record(|| decision);
    }
}
