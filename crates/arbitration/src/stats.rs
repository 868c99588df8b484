//! What the engine reports: per resource its use, line and fairness; per
//! tenant its waits (p50/p99) and share of each resource, over the sliding
//! window.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::StrategyKind;
use crate::fairness::{gini, jain};
use crate::ledger::Book;
use crate::shared::{Sample, Track};

/// The engine's figures: what it decided over its window, and the grants
/// made at once (with nothing to decide), counted.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// The window, in seconds.
    pub window_secs: f64,
    /// Each resource.
    pub resources: Vec<ResourceStats>,
    /// Each tenant seen.
    pub tenants: Vec<TenantStats>,
}

/// One resource.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ResourceStats {
    /// Its name (`slots`, `instances:mock-llm`).
    pub name: String,
    /// Its strategy.
    pub strategy: Option<StrategyKind>,
    /// Units it has.
    pub capacity: u64,
    /// Units held now (for instances: not tracked here, 0).
    pub in_use: u64,
    /// Requests waiting now.
    pub waiting: usize,
    /// Grants to requests that waited, in the window.
    pub waited: u64,
    /// Grants made at once (in a host: since it started; from the log: in
    /// the window).
    pub free_grants: u64,
    /// Jain's index over the weighted service of the tenants that waited.
    pub jain: f64,
    /// The Gini coefficient of the same.
    pub gini: f64,
    /// The tenant served first by a fairness boost, if any.
    pub boosted: Option<String>,
}

/// One tenant.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TenantStats {
    /// Its name.
    pub tenant: String,
    /// Its weight.
    pub weight: f64,
    /// Its grants after a wait, in the window, over all resources.
    pub waited: u64,
    /// Its grants made at once, over all resources.
    pub free_grants: u64,
    /// The median wait of its grants after a wait, in milliseconds.
    pub wait_p50_ms: f64,
    /// The 99th-percentile wait of the same, in milliseconds.
    pub wait_p99_ms: f64,
    /// Its share of each resource's grants after a wait, in the window
    /// (0–1).
    pub shares: BTreeMap<String, f64>,
}

/// A resource's state, copied out of its lock.
pub(crate) struct ResourceView {
    pub(crate) name: String,
    pub(crate) strategy: Option<StrategyKind>,
    pub(crate) capacity: u64,
    pub(crate) in_use: u64,
    pub(crate) waiting: usize,
    /// Grants after a wait, in the window.
    pub(crate) samples: Vec<Sample>,
    /// Grants made at once, by tenant.
    pub(crate) free: BTreeMap<u32, u64>,
    pub(crate) boosted: Option<u32>,
}

impl ResourceView {
    pub(crate) fn of(
        name: &Arc<str>,
        strategy: StrategyKind,
        capacity: u64,
        in_use: u64,
        waiting: usize,
        track: &Track,
    ) -> Self {
        let free = (track.free_by_tenant.iter().enumerate())
            .filter(|(_, n)| **n > 0)
            .map(|(tenant, n)| (tenant as u32, *n))
            .collect();
        ResourceView {
            name: name.to_string(),
            strategy: Some(strategy),
            capacity,
            in_use,
            waiting,
            samples: track.samples.iter().copied().collect(),
            free,
            boosted: track.boosted,
        }
    }

    /// Adds grants made at once, by tenant.
    pub(crate) fn add_free(&mut self, free: &[(u32, u64)]) {
        for (tenant, n) in free {
            *self.free.entry(*tenant).or_default() += n;
        }
    }

    /// A view of a resource known only by name (from the log).
    #[cfg_attr(
        not(feature = "sqlite"),
        allow(dead_code, reason = "only the SQLite log reads views back")
    )]
    pub(crate) fn empty(name: String) -> Self {
        ResourceView {
            name,
            strategy: None,
            capacity: 0,
            in_use: 0,
            waiting: 0,
            samples: Vec::new(),
            free: BTreeMap::new(),
            boosted: None,
        }
    }
}

/// The `q`-quantile (0–1) of `sorted`, in milliseconds.
fn quantile_ms(sorted: &[Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[rank.min(sorted.len() - 1)].as_secs_f64() * 1e3
}

/// Builds the stats from resources' views.
pub(crate) fn compute(
    views: Vec<ResourceView>,
    book: &Book,
    name_of: impl Fn(u32) -> String,
    window: Duration,
) -> Stats {
    let mut resources = Vec::new();
    let mut waits: BTreeMap<u32, Vec<Duration>> = BTreeMap::new();
    let mut free: BTreeMap<u32, u64> = BTreeMap::new();
    let mut shares: BTreeMap<u32, BTreeMap<String, f64>> = BTreeMap::new();
    for view in &views {
        let total: u64 = view.samples.iter().map(|s| s.units).sum();
        let mut by_tenant: BTreeMap<u32, u64> = BTreeMap::new();
        for sample in &view.samples {
            *by_tenant.entry(sample.tenant).or_default() += sample.units;
            waits.entry(sample.tenant).or_default().push(sample.waited);
        }
        for (tenant, n) in &view.free {
            *free.entry(*tenant).or_default() += n;
        }
        for (tenant, units) in &by_tenant {
            shares
                .entry(*tenant)
                .or_default()
                .insert(view.name.clone(), *units as f64 / total.max(1) as f64);
        }
        let competing: Vec<f64> = by_tenant
            .iter()
            .map(|(t, units)| *units as f64 / book.weight(*t))
            .collect();
        resources.push(ResourceStats {
            name: view.name.clone(),
            strategy: view.strategy,
            capacity: view.capacity,
            in_use: view.in_use,
            waiting: view.waiting,
            waited: view.samples.len() as u64,
            free_grants: view.free.values().sum(),
            jain: jain(&competing),
            gini: gini(&competing),
            boosted: view.boosted.map(&name_of),
        });
    }
    let mut seen: Vec<u32> = waits.keys().chain(free.keys()).copied().collect();
    seen.sort_unstable();
    seen.dedup();
    let tenants = seen
        .into_iter()
        .map(|tenant| {
            let mut waited = waits.remove(&tenant).unwrap_or_default();
            waited.sort_unstable();
            TenantStats {
                tenant: name_of(tenant),
                weight: book.weight(tenant),
                waited: waited.len() as u64,
                free_grants: free.get(&tenant).copied().unwrap_or(0),
                wait_p50_ms: quantile_ms(&waited, 0.5),
                wait_p99_ms: quantile_ms(&waited, 0.99),
                shares: shares.remove(&tenant).unwrap_or_default(),
            }
        })
        .collect();
    Stats {
        window_secs: window.as_secs_f64(),
        resources,
        tenants,
    }
}
