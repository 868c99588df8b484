//! What a counted resource ([`Units`](crate::Units)) and a handed-over one
//! ([`Handoff`](crate::Handoff)) share: a [`Line`] of requests with the
//! resource's [`Track`], joined, ranked and served the same way, and the
//! same words for a request that waits or gives up.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::explain::{Conflict, Explanation, Verdict};
use crate::queue::{Ask, Queue, Waiter};
use crate::shared::{Sample, Shared, Track};
use crate::strategy::Entry;
use crate::{Requester, WaitError};

/// Who a resource is, for its line's decisions and words.
pub(crate) struct Resource<'a> {
    pub(crate) name: &'a Arc<str>,
    /// Its index in the ledger.
    pub(crate) index: usize,
    pub(crate) capacity: u64,
    pub(crate) shared: &'a Shared,
}

/// A resource's line and what it keeps about its service, under its lock.
pub(crate) struct Line<S> {
    pub(crate) queue: Queue<S>,
    pub(crate) track: Track,
}

impl<S> Line<S> {
    pub(crate) fn new(queue: Queue<S>) -> Self {
        Line {
            queue,
            track: Track::default(),
        }
    }

    /// Puts `requester`'s ask for `units` in line (a tenant that starts
    /// waiting catches up with those already waiting), and says where it
    /// stands, with `estimate` of the wait at a place (from 0).
    pub(crate) fn join(
        &mut self,
        at: &Resource<'_>,
        requester: &Requester,
        units: u64,
        now: Instant,
        estimate: impl FnOnce(usize) -> Option<f64>,
        payload: S,
    ) -> (u64, Explanation) {
        let tenant = requester.tenant.id;
        let mut book = at.shared.ledger.lock();
        if self.queue.waiting_of(tenant) == 0
            && let Some(floor) = book.floor(at.index, self.queue.backlogged())
        {
            book.catch_up(tenant, at.index, floor);
        }
        let ask = Ask {
            tenant,
            priority: requester.priority,
            deadline: requester.deadline,
            units,
        };
        let seq = self.queue.push(ask, now, payload);
        let tenants = at.shared.tenant_count().max(self.queue.tenants());
        let position = book
            .with_context(now, self.queue.epoch(), tenants, at.capacity, |ctx| {
                self.queue.position(tenant, seq, ctx)
            })
            .unwrap_or(0);
        drop(book);
        let explanation = Explanation {
            resource: Arc::clone(at.name),
            label: Arc::clone(&requester.label),
            tenant: Arc::clone(&requester.tenant.name),
            position: position + 1,
            waiting: self.queue.len(),
            estimate_ms: estimate(position),
            strategy: self.queue.strategy().kind(),
        };
        (seq, explanation)
    }

    /// Where request `seq` of `tenant` stands now (from 0).
    pub(crate) fn position(&self, at: &Resource<'_>, tenant: u32, seq: u64) -> Option<usize> {
        let tenants = at.shared.tenant_count().max(self.queue.tenants());
        let book = at.shared.ledger.lock();
        book.with_context(
            Instant::now(),
            self.queue.epoch(),
            tenants,
            at.capacity,
            |ctx| self.queue.position(tenant, seq, ctx),
        )
    }

    /// Takes the request served next — a boosted tenant's first, else the
    /// strategy's pick — if `fits` it (a large request is not passed over
    /// by smaller ones behind it), and charges its tenant in the ledger.
    pub(crate) fn next(
        &mut self,
        at: &Resource<'_>,
        now: Instant,
        fits: impl FnOnce(&Entry) -> bool,
    ) -> Option<Waiter<S>> {
        let tenants = at.shared.tenant_count().max(self.queue.tenants());
        let boosted = self.track.boosted;
        let mut book = at.shared.ledger.lock();
        let queue = &mut self.queue;
        let waiter = book.with_context(now, queue.epoch(), tenants, at.capacity, |ctx| {
            queue.take_next(boosted, ctx, fits)
        })?;
        let entry = waiter.entry;
        book.charge(entry.tenant, at.index, entry.units, at.capacity);
        Some(waiter)
    }

    /// Records that `entry`, `requester`'s request, was served at `now`:
    /// a sample for the stats and a decision for the log.
    pub(crate) fn granted(
        &mut self,
        at: &Resource<'_>,
        requester: &Requester,
        entry: &Entry,
        now: Instant,
    ) {
        let waited = now.saturating_duration_since(entry.since);
        self.track.grant(
            Sample {
                at: now,
                tenant: entry.tenant,
                units: entry.units,
                waited,
            },
            at.shared.window,
        );
        let strategy = self.queue.strategy().kind();
        let left = self.queue.len();
        let boosted = self.track.boosted == Some(entry.tenant);
        at.shared.decide(
            at.name,
            requester,
            Verdict::Granted,
            || match boosted {
                true => format!("served first by a fairness boost; {left} still waiting"),
                false => format!("next by {strategy}; {left} still waiting"),
            },
            waited,
        );
    }

    /// After serving: checks fairness over the tenants still waiting.
    pub(crate) fn served(&mut self, at: &Resource<'_>) {
        let waiting: Vec<u32> = self.queue.backlogged().collect();
        self.track.check_fairness(at.shared, at.name, &waiting);
    }
}

/// Tells the log, the bus (as `conflict`) and the requester's observer
/// that a request waits.
pub(crate) fn announce_wait(
    shared: &Shared,
    resource: &Arc<str>,
    conflict: Conflict,
    requester: &Requester,
    explanation: &Explanation,
) {
    tracing::debug!("{explanation}");
    shared.decide(
        resource,
        requester,
        Verdict::Queued,
        || explanation.standing(),
        Duration::ZERO,
    );
    shared.announce(conflict, || {
        json!({"resource": &**resource, "waiting": explanation.waiting, "explanation": explanation})
    });
    if let Some(observer) = &requester.on_wait {
        observer(explanation);
    }
}

/// The error of a request that stopped waiting after `waited` (its run was
/// stopped when `interrupted`, else its deadline passed at `position`),
/// recorded in the log.
pub(crate) fn gave_up(
    shared: &Shared,
    resource: &Arc<str>,
    requester: &Requester,
    interrupted: bool,
    waited: Duration,
    position: Option<usize>,
) -> WaitError {
    let (verdict, error) = if interrupted {
        (
            Verdict::Cancelled,
            WaitError::Interrupted {
                resource: Arc::clone(resource),
                label: Arc::clone(&requester.label),
            },
        )
    } else {
        (
            Verdict::TimedOut,
            WaitError::Deadline {
                resource: Arc::clone(resource),
                label: Arc::clone(&requester.label),
                waited,
                position: position.unwrap_or(0) + 1,
            },
        )
    };
    shared.decide(resource, requester, verdict, || error.to_string(), waited);
    error
}
