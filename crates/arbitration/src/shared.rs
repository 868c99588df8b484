//! What every resource of one arbiter shares: the ledger, the tenant
//! names, the bus, the decision log and the fairness settings; and what
//! each resource keeps about its own service (`Track`).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use serde_json::json;
use symphony_bus::Bus;

use crate::explain::{Conflict, Decision, DecisionSink, Verdict};
use crate::fairness::jain;
use crate::ledger::Book;
use crate::{Ledger, Requester};

/// An arbiter's common parts.
pub(crate) struct Shared {
    pub(crate) ledger: Ledger,
    /// Tenant names by index.
    pub(crate) tenants: RwLock<Vec<Arc<str>>>,
    pub(crate) bus: Option<Bus>,
    pub(crate) sink: Option<Arc<dyn DecisionSink>>,
    /// Jain's index below which the starved tenant is boosted.
    pub(crate) floor: Option<f64>,
    /// The sliding window of stats and fairness.
    pub(crate) window: Duration,
    /// Ledger indexes handed out to resources.
    next_resource: AtomicUsize,
}

impl Shared {
    pub(crate) fn new(
        bus: Option<Bus>,
        sink: Option<Arc<dyn DecisionSink>>,
        floor: Option<f64>,
        window: Duration,
    ) -> Self {
        Shared {
            ledger: Ledger::default(),
            tenants: RwLock::default(),
            bus,
            sink,
            floor,
            window,
            next_resource: AtomicUsize::new(0),
        }
    }

    /// A new resource's index in the ledger.
    pub(crate) fn resource_index(&self) -> usize {
        self.next_resource.fetch_add(1, Ordering::Relaxed)
    }

    /// One past the highest tenant index.
    pub(crate) fn tenant_count(&self) -> u32 {
        self.tenants.read().unwrap_or_else(|e| e.into_inner()).len() as u32
    }

    /// Tenant `id`'s name.
    pub(crate) fn tenant_name(&self, id: u32) -> Arc<str> {
        let tenants = self.tenants.read().unwrap_or_else(|e| e.into_inner());
        tenants
            .get(id as usize)
            .cloned()
            .unwrap_or_else(|| format!("tenant #{id}").into())
    }

    /// Keeps `decision` in the log, if there is one.
    pub(crate) fn record(&self, decision: impl FnOnce() -> Decision) {
        if let Some(sink) = &self.sink {
            sink.record(decision());
        }
    }

    /// Records a decision about `requester`'s request.
    pub(crate) fn decide(
        &self,
        resource: &Arc<str>,
        requester: &Requester,
        verdict: Verdict,
        reason: impl FnOnce() -> String,
        waited: Duration,
    ) {
        self.record(|| {
            Decision::now(
                resource,
                &requester.tenant.name,
                &requester.label,
                verdict,
                reason(),
                waited,
            )
        });
    }

    /// Announces `conflict` on the bus as `arbitration.conflict.<kind>`,
    /// if anyone listens.
    pub(crate) fn announce(&self, conflict: Conflict, body: impl FnOnce() -> serde_json::Value) {
        let Some(bus) = &self.bus else { return };
        let subject = format!("arbitration.conflict.{}", conflict.name());
        if !bus.has_subscribers(&subject) {
            return;
        }
        if let Err(e) = bus.publish(&subject, body().to_string()) {
            tracing::debug!("cannot announce {subject}: {e}");
        }
    }
}

/// How long a resource's units are held, on average (an EWMA of seconds,
/// as `f64` bits): updated without a lock on every timed hold, read for
/// the wait estimates.
#[derive(Debug, Default)]
pub(crate) struct HoldTime(AtomicU64);

impl HoldTime {
    /// Records a hold of `held`. Racing updates may lose one sample; an
    /// estimate does not mind.
    #[inline]
    pub(crate) fn record(&self, held: Duration) {
        let held = held.as_secs_f64();
        let mean = f64::from_bits(self.0.load(Ordering::Relaxed));
        let mean = if mean == 0.0 {
            held
        } else {
            0.8 * mean + 0.2 * held
        };
        self.0.store(mean.to_bits(), Ordering::Relaxed);
    }

    /// Whether any hold was recorded.
    #[inline]
    pub(crate) fn is_known(&self) -> bool {
        self.0.load(Ordering::Relaxed) != 0
    }

    /// The expected wait of the request `position` (from 0) in a line
    /// served `capacity` at a time; `None` before any hold was recorded.
    pub(crate) fn estimate_ms(&self, position: usize, capacity: u64) -> Option<f64> {
        let mean = f64::from_bits(self.0.load(Ordering::Relaxed));
        (mean > 0.0).then(|| (position as f64 + 1.0) * mean * 1e3 / capacity.max(1) as f64)
    }
}

/// One grant after a wait, in a resource's window.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sample {
    pub(crate) at: Instant,
    pub(crate) tenant: u32,
    pub(crate) units: u64,
    pub(crate) waited: Duration,
}

/// The most grants a window keeps per resource, however short they are.
const MAX_SAMPLES: usize = 16_384;

/// How often (in contended decisions) fairness is checked.
const CHECK_EVERY: u32 = 8;

/// What a resource keeps about its service: recent grants, counters and
/// a fairness boost.
#[derive(Debug, Default)]
pub(crate) struct Track {
    pub(crate) samples: VecDeque<Sample>,
    /// Grants made at once under the lock, by tenant, since the start
    /// (see [`Track::count_free`]).
    pub(crate) free_by_tenant: Vec<u64>,
    since_check: u32,
    /// The tenant served first while fairness is below the floor.
    pub(crate) boosted: Option<u32>,
    /// Grants by tenant since the usage was last taken for the log:
    /// (all, of which without a wait).
    pub(crate) unlogged: Vec<(u64, u64)>,
}

impl Track {
    /// Records a grant after a wait.
    pub(crate) fn grant(&mut self, sample: Sample, window: Duration) {
        let tenant = sample.tenant as usize;
        if self.unlogged.len() <= tenant {
            self.unlogged.resize(tenant + 1, (0, 0));
        }
        self.unlogged[tenant].0 += 1;
        self.trim(sample.at, window);
        if self.samples.len() == MAX_SAMPLES {
            self.samples.pop_front();
        }
        self.samples.push_back(sample);
    }

    /// Drops samples older than the window.
    pub(crate) fn trim(&mut self, now: Instant, window: Duration) {
        while self
            .samples
            .front()
            .is_some_and(|s| now.saturating_duration_since(s.at) > window)
        {
            self.samples.pop_front();
        }
    }

    /// Counts a grant made at once, found under the lock (the lock-free
    /// path keeps its own counters).
    pub(crate) fn count_free(&mut self, tenant: u32) {
        let tenant = tenant as usize;
        if self.unlogged.len() <= tenant {
            self.unlogged.resize(tenant + 1, (0, 0));
        }
        self.unlogged[tenant].0 += 1;
        self.unlogged[tenant].1 += 1;
        if self.free_by_tenant.len() <= tenant {
            self.free_by_tenant.resize(tenant + 1, 0);
        }
        self.free_by_tenant[tenant] += 1;
    }

    /// Grants by tenant since the last call: (tenant, all, without a wait).
    pub(crate) fn take_usage(&mut self) -> Vec<(u32, u64, u64)> {
        let usage = self
            .unlogged
            .iter()
            .enumerate()
            .filter(|(_, (all, _))| *all > 0)
            .map(|(t, (all, free))| (t as u32, *all, *free))
            .collect();
        self.unlogged.clear();
        usage
    }

    /// Each tenant's units in the window divided by its weight, for those
    /// that waited in the window or wait now.
    pub(crate) fn weighted_service(
        &self,
        book: &Book,
        waiting: impl Iterator<Item = u32>,
    ) -> Vec<(u32, f64)> {
        // Every sample is a grant after a wait: its tenant competed.
        let mut totals: std::collections::BTreeMap<u32, u64> = waiting.map(|t| (t, 0)).collect();
        for sample in &self.samples {
            *totals.entry(sample.tenant).or_default() += sample.units;
        }
        totals
            .into_iter()
            .map(|(t, units)| (t, units as f64 / book.weight(t)))
            .collect()
    }

    /// After a contended decision: every few, checks Jain's index over the
    /// tenants that competed in the window; below the floor, boosts the
    /// one served least (among those waiting); at or above it, ends a
    /// boost. Says so on the bus and in the log.
    pub(crate) fn check_fairness(&mut self, shared: &Shared, resource: &Arc<str>, waiting: &[u32]) {
        let Some(floor) = shared.floor else { return };
        self.since_check += 1;
        if self.since_check < CHECK_EVERY {
            return;
        }
        self.since_check = 0;
        let book = shared.ledger.lock();
        let service = self.weighted_service(&book, waiting.iter().copied());
        drop(book);
        if service.len() < 2 {
            return;
        }
        let values: Vec<f64> = service.iter().map(|(_, x)| *x).collect();
        let index = jain(&values);
        if index < floor && self.boosted.is_none() {
            let starved = service
                .iter()
                .filter(|(t, _)| waiting.contains(t))
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .map(|(t, _)| *t);
            let Some(starved) = starved else { return };
            self.boosted = Some(starved);
            let name = shared.tenant_name(starved);
            tracing::info!(%resource, jain = index, tenant = %name, "fairness below the floor: boosting");
            shared.announce(Conflict::Fairness, || {
                json!({"resource": &**resource, "jain": index, "floor": floor, "boosted": &*name})
            });
            shared.record(|| {
                Decision::now(
                    resource,
                    &name,
                    &name,
                    Verdict::Boosted,
                    format!("Jain's index {index:.3} fell below the floor {floor}: {name} is served first until it recovers"),
                    Duration::ZERO,
                )
            });
        } else if index >= floor
            && let Some(was) = self.boosted.take()
        {
            let name = shared.tenant_name(was);
            shared.announce(Conflict::Fairness, || {
                json!({"resource": &**resource, "jain": index, "floor": floor, "recovered": &*name})
            });
        }
    }
}
