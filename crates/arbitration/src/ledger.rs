//! What each tenant was given: its weight and, for every resource, the
//! units it was granted divided by the resource's capacity. Fair share
//! ranks by the largest of these (the dominant share, as in DRF).

use std::sync::{Mutex, MutexGuard};

use crate::strategy::Context;

/// Tenants' weights and service so far, shared by every resource of an
/// arbiter.
#[derive(Debug, Default)]
pub struct Ledger {
    inner: Mutex<Book>,
}

/// The ledger's contents, locked.
#[derive(Debug, Default)]
pub struct Book {
    weights: Vec<f64>,
    /// `[tenant][resource]`: units granted ÷ capacity.
    service: Vec<Vec<f64>>,
    /// Each tenant's largest share.
    dominant: Vec<f64>,
}

impl Ledger {
    /// Locks the ledger for one decision.
    pub fn lock(&self) -> MutexGuard<'_, Book> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Book {
    /// Gives `tenant` `weight` (at least a small positive number).
    pub fn set_weight(&mut self, tenant: u32, weight: f64) {
        let tenant = tenant as usize;
        if self.weights.len() <= tenant {
            self.weights.resize(tenant + 1, 1.0);
        }
        self.weights[tenant] = weight.max(1e-6);
    }

    /// `tenant`'s weight (1 unless set).
    pub fn weight(&self, tenant: u32) -> f64 {
        self.weights.get(tenant as usize).copied().unwrap_or(1.0)
    }

    /// `tenant`'s dominant share of service so far.
    pub fn dominant(&self, tenant: u32) -> f64 {
        self.dominant.get(tenant as usize).copied().unwrap_or(0.0)
    }

    /// `tenant`'s share of `resource` so far.
    pub fn share(&self, tenant: u32, resource: usize) -> f64 {
        self.service
            .get(tenant as usize)
            .and_then(|row| row.get(resource))
            .copied()
            .unwrap_or(0.0)
    }

    fn row(&mut self, tenant: u32, resource: usize) -> &mut f64 {
        let tenant = tenant as usize;
        if self.service.len() <= tenant {
            self.service.resize_with(tenant + 1, Vec::new);
            self.dominant.resize(tenant + 1, 0.0);
        }
        let row = &mut self.service[tenant];
        if row.len() <= resource {
            row.resize(resource + 1, 0.0);
        }
        &mut row[resource]
    }

    /// Records `units` of a resource of `capacity` granted to `tenant`.
    pub fn charge(&mut self, tenant: u32, resource: usize, units: u64, capacity: u64) {
        let share = self.row(tenant, resource);
        *share += units as f64 / capacity.max(1) as f64;
        let share = *share;
        let dominant = &mut self.dominant[tenant as usize];
        *dominant = dominant.max(share);
    }

    /// The least share of `resource` divided by weight among `tenants`:
    /// where the tenants already waiting stand (their virtual time).
    pub fn floor(&self, resource: usize, tenants: impl Iterator<Item = u32>) -> Option<f64> {
        tenants
            .map(|t| self.share(t, resource) / self.weight(t))
            .min_by(f64::total_cmp)
    }

    /// A tenant that starts waiting after a pause is not owed the service
    /// it did not ask for while others were served: its share of
    /// `resource` divided by its weight is raised to `floor` (see
    /// [`floor`](Self::floor)), so it competes from where the others are
    /// rather than starving them while it catches up. What it holds of
    /// other resources still counts.
    pub fn catch_up(&mut self, tenant: u32, resource: usize, floor: f64) {
        let floor = floor * self.weight(tenant);
        if self.share(tenant, resource) >= floor {
            return;
        }
        let share = self.row(tenant, resource);
        *share = share.max(floor);
        let share = *share;
        let dominant = &mut self.dominant[tenant as usize];
        *dominant = dominant.max(share);
    }

    /// Runs `f` with a strategy context over this book.
    pub fn with_context<R>(
        &self,
        now: std::time::Instant,
        epoch: std::time::Instant,
        tenants: u32,
        capacity: u64,
        f: impl FnOnce(&Context<'_>) -> R,
    ) -> R {
        let weight = |t: u32| self.weight(t);
        let service = |t: u32| self.dominant(t);
        let ctx = Context {
            now,
            epoch,
            tenants: tenants.max(self.weights.len() as u32),
            capacity,
            weight: &weight,
            service: &service,
        };
        f(&ctx)
    }
}
