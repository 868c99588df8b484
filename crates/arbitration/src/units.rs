//! A counted resource (the host's parallel node slots): up to `capacity`
//! units held at once, handed to waiting requests by the strategy. An
//! uncontended acquire takes one short lock and no allocation.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::json;
use symphony_bus::Interrupt;
use tokio::sync::oneshot;

use crate::explain::{Conflict, Explanation, Verdict};
use crate::queue::{Ask, Queue};
use crate::shared::{Sample, Shared, Track};
use crate::strategy::Strategy;
use crate::{Requester, WaitError};

#[cfg(test)]
mod tests;

/// A resource of interchangeable units with a strategy for its line.
pub struct Units {
    name: Arc<str>,
    /// Its index in the ledger.
    index: usize,
    /// What is announced when a request has to wait.
    conflict: Conflict,
    shared: Arc<Shared>,
    state: Mutex<State>,
}

struct State {
    capacity: u64,
    in_use: u64,
    queue: Queue<Grant>,
    track: Track,
}

/// What a waiting request is sent when served.
struct Grant {
    tx: oneshot::Sender<()>,
    requester: Requester,
}

/// Units held; dropping it gives them back (and hands them to the next in
/// line).
#[must_use = "the units are given back when the permit is dropped"]
pub struct Permit {
    units: Arc<Units>,
    tenant: u32,
    count: u64,
    acquired: Instant,
}

impl Permit {
    /// How many units it holds.
    pub fn count(&self) -> u64 {
        self.count
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.units
            .release(self.tenant, self.count, Some(self.acquired));
    }
}

impl std::fmt::Debug for Permit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Permit({} of {})", self.count, self.units.name)
    }
}

/// Where a request stands after its first try.
enum Tried {
    Granted(Permit),
    Queued {
        rx: oneshot::Receiver<()>,
        seq: u64,
        explanation: Explanation,
    },
}

impl Units {
    pub(crate) fn new(
        name: &str,
        capacity: u64,
        strategy: Box<dyn Strategy>,
        conflict: Conflict,
        shared: Arc<Shared>,
    ) -> Arc<Self> {
        let index = shared.resource_index();
        Arc::new(Units {
            name: name.into(),
            index,
            conflict,
            shared,
            state: Mutex::new(State {
                capacity: capacity.max(1),
                in_use: 0,
                queue: Queue::new(strategy, Instant::now()),
                track: Track::default(),
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every update leaves the state whole.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// (units held, capacity, requests waiting).
    pub fn usage(&self) -> (u64, u64, usize) {
        let state = self.lock();
        (state.in_use, state.capacity, state.queue.len())
    }

    /// Changes the capacity; a larger one serves waiting requests at once.
    pub fn set_capacity(&self, capacity: u64) {
        let mut state = self.lock();
        state.capacity = capacity.max(1);
        self.serve(&mut state, Instant::now());
    }

    /// Takes `count` units for `requester` if they are free and nobody
    /// waits; `None` otherwise.
    pub fn try_acquire(self: &Arc<Self>, requester: &Requester, count: u64) -> Option<Permit> {
        let mut state = self.lock();
        if !state.queue.is_empty() || state.in_use + count > state.capacity {
            return None;
        }
        Some(self.take(&mut state, requester, count))
    }

    fn take(self: &Arc<Self>, state: &mut State, requester: &Requester, count: u64) -> Permit {
        let now = Instant::now();
        state.in_use += count;
        let window = self.shared.window;
        state.track.grant(
            Sample {
                at: now,
                tenant: requester.tenant.id,
                units: count,
                waited: Duration::ZERO,
                contended: false,
            },
            window,
        );
        Permit {
            units: Arc::clone(self),
            tenant: requester.tenant.id,
            count,
            acquired: now,
        }
    }

    fn try_or_queue(
        self: &Arc<Self>,
        requester: &Requester,
        count: u64,
    ) -> Result<Tried, WaitError> {
        let now = Instant::now();
        let mut state = self.lock();
        if count > state.capacity {
            let capacity = state.capacity;
            drop(state);
            self.shared.decide(
                &self.name,
                requester,
                Verdict::Refused,
                || format!("asks for {count} units of {capacity}"),
                Duration::ZERO,
            );
            return Err(WaitError::TooLarge {
                resource: Arc::clone(&self.name),
                label: Arc::clone(&requester.label),
                units: count,
                capacity,
            });
        }
        if state.queue.is_empty() && state.in_use + count <= state.capacity {
            return Ok(Tried::Granted(self.take(&mut state, requester, count)));
        }
        let tenant = requester.tenant.id;
        let (tx, rx) = oneshot::channel();
        let ask = Ask {
            tenant,
            priority: requester.priority,
            deadline: requester.deadline,
            units: count,
        };
        let state = &mut *state;
        let mut book = self.shared.ledger.lock();
        if state.queue.waiting_of(tenant) == 0
            && let Some(floor) = book.floor(self.index, state.queue.backlogged())
        {
            book.catch_up(tenant, self.index, floor);
        }
        let grant = Grant {
            tx,
            requester: requester.clone(),
        };
        let seq = state.queue.push(ask, now, grant);
        let tenants = self.shared.tenant_count().max(state.queue.tenants());
        let epoch = state.queue.epoch();
        let position = book.with_context(now, epoch, tenants, state.capacity, |ctx| {
            state.queue.position(tenant, seq, ctx)
        });
        drop(book);
        let position = position.unwrap_or(0);
        let explanation = Explanation {
            resource: Arc::clone(&self.name),
            label: Arc::clone(&requester.label),
            tenant: Arc::clone(&requester.tenant.name),
            position: position + 1,
            waiting: state.queue.len(),
            estimate_ms: state.track.estimate_ms(position, state.capacity),
            strategy: state.queue.strategy().kind(),
        };
        Ok(Tried::Queued {
            rx,
            seq,
            explanation,
        })
    }

    /// Takes `count` units for `requester`, waiting in line by the
    /// resource's strategy until `until` or `interrupt`. Dropping the
    /// future gives up its place (or the units, if they were just granted).
    pub async fn acquire(
        self: &Arc<Self>,
        requester: &Requester,
        count: u64,
        until: Option<Instant>,
        interrupt: Option<&Interrupt>,
    ) -> Result<Permit, WaitError> {
        let (rx, seq, explanation) = match self.try_or_queue(requester, count)? {
            Tried::Granted(permit) => return Ok(permit),
            Tried::Queued {
                rx,
                seq,
                explanation,
            } => (rx, seq, explanation),
        };
        let began = Instant::now();
        self.queued(requester, &explanation);
        let mut pending = Pending {
            units: self,
            tenant: requester.tenant.id,
            count,
            seq,
            armed: true,
        };
        let stop = crate::stopped(until, interrupt);
        let interrupted = tokio::select! {
            granted = rx => {
                pending.armed = false;
                return match granted {
                    Ok(()) => Ok(self.permit(requester, count)),
                    // The sender is only dropped with the queue's waiters,
                    // when the resource goes away.
                    Err(_) => Err(WaitError::Closed {
                        resource: Arc::clone(&self.name),
                        label: Arc::clone(&requester.label),
                    }),
                };
            }
            why = stop => why,
        };
        pending.armed = false;
        let mut state = self.lock();
        let position = {
            let tenants = self.shared.tenant_count().max(state.queue.tenants());
            let epoch = state.queue.epoch();
            let capacity = state.capacity;
            let book = self.shared.ledger.lock();
            book.with_context(Instant::now(), epoch, tenants, capacity, |ctx| {
                state.queue.position(requester.tenant.id, seq, ctx)
            })
        };
        if state.queue.remove(requester.tenant.id, seq).is_none() {
            // Served as it gave up: take what it was given.
            drop(state);
            return Ok(self.permit(requester, count));
        }
        drop(state);
        let waited = began.elapsed();
        let (verdict, error) = if interrupted {
            (
                Verdict::Cancelled,
                WaitError::Interrupted {
                    resource: Arc::clone(&self.name),
                    label: Arc::clone(&requester.label),
                },
            )
        } else {
            (
                Verdict::TimedOut,
                WaitError::Deadline {
                    resource: Arc::clone(&self.name),
                    label: Arc::clone(&requester.label),
                    waited,
                    position: position.unwrap_or(0) + 1,
                },
            )
        };
        self.shared
            .decide(&self.name, requester, verdict, || error.to_string(), waited);
        Err(error)
    }

    /// [`acquire`](Self::acquire) for a thread outside any async runtime.
    pub fn acquire_blocking(
        self: &Arc<Self>,
        requester: &Requester,
        count: u64,
        until: Option<Instant>,
        interrupt: Option<&Interrupt>,
    ) -> Result<Permit, WaitError> {
        if let Some(permit) = self.try_acquire(requester, count) {
            return Ok(permit);
        }
        crate::block_on(self.acquire(requester, count, until, interrupt)).unwrap_or_else(|| {
            Err(WaitError::NoTimer {
                resource: Arc::clone(&self.name),
                label: Arc::clone(&requester.label),
            })
        })
    }

    /// The permit for units already counted as held by `requester`.
    fn permit(self: &Arc<Self>, requester: &Requester, count: u64) -> Permit {
        Permit {
            units: Arc::clone(self),
            tenant: requester.tenant.id,
            count,
            acquired: Instant::now(),
        }
    }

    /// Tells everyone that `requester` waits.
    fn queued(&self, requester: &Requester, explanation: &Explanation) {
        tracing::debug!("{explanation}");
        self.shared.decide(
            &self.name,
            requester,
            Verdict::Queued,
            || explanation.standing(),
            Duration::ZERO,
        );
        self.shared.announce(self.conflict, || {
            json!({"resource": &*self.name, "waiting": explanation.waiting, "explanation": explanation})
        });
        if let Some(observer) = &requester.on_wait {
            observer(explanation);
        }
    }

    /// Gives back `count` units of `tenant` and serves the line.
    fn release(&self, tenant: u32, count: u64, acquired: Option<Instant>) {
        let now = Instant::now();
        let mut state = self.lock();
        state.in_use = state.in_use.saturating_sub(count);
        if let Some(acquired) = acquired {
            state.track.held(now.saturating_duration_since(acquired));
        }
        let _ = tenant;
        if !state.queue.is_empty() {
            self.serve(&mut state, now);
        }
    }

    /// Hands free units to waiting requests, by the strategy (or to a
    /// boosted tenant first). The request served next must fit: a large
    /// request is not passed over by smaller ones behind it.
    fn serve(&self, state: &mut State, now: Instant) {
        let mut served = false;
        loop {
            let tenants = self.shared.tenant_count().max(state.queue.tenants());
            let epoch = state.queue.epoch();
            let capacity = state.capacity;
            let free = capacity - state.in_use.min(capacity);
            let boosted = state.track.boosted;
            let mut book = self.shared.ledger.lock();
            let waiter = book.with_context(now, epoch, tenants, capacity, |ctx| {
                let next = state.queue.peek_favouring(boosted, ctx)?;
                (next.entry.units <= free)
                    .then(|| state.queue.pop_favouring(boosted, ctx))
                    .flatten()
            });
            let Some(waiter) = waiter else {
                drop(book);
                break;
            };
            let entry = waiter.entry;
            book.charge(entry.tenant, self.index, entry.units, capacity);
            drop(book);
            state.in_use += entry.units;
            let Grant { tx, requester } = waiter.payload;
            if tx.send(()).is_err() {
                // It gave up as it was served.
                state.in_use -= entry.units;
                continue;
            }
            served = true;
            let waited = now.saturating_duration_since(entry.since);
            state.track.grant(
                Sample {
                    at: now,
                    tenant: entry.tenant,
                    units: entry.units,
                    waited,
                    contended: true,
                },
                self.shared.window,
            );
            let strategy = state.queue.strategy().kind();
            let left = state.queue.len();
            self.shared.decide(
                &self.name,
                &requester,
                Verdict::Granted,
                || match boosted {
                    Some(t) if t == entry.tenant => {
                        format!("served first by a fairness boost; {left} still waiting")
                    }
                    _ => format!("next by {strategy}; {left} still waiting"),
                },
                waited,
            );
        }
        if served {
            let waiting: Vec<u32> = state.queue.backlogged().collect();
            state
                .track
                .check_fairness(&self.shared, &self.name, &waiting);
        }
    }

    /// Grants by tenant since the last call, for the log.
    pub(crate) fn take_usage(&self) -> Vec<(u32, u64, u64)> {
        self.lock().track.take_usage()
    }

    /// A snapshot for the stats.
    pub(crate) fn snapshot(&self) -> crate::stats::ResourceView {
        let mut state = self.lock();
        state.track.trim(Instant::now(), self.shared.window);
        crate::stats::ResourceView::of(
            &self.name,
            self.index,
            state.queue.strategy().kind(),
            state.capacity,
            state.in_use,
            state.queue.len(),
            &state.track,
        )
    }
}

/// A request in line; dropped while armed (its future was dropped), it
/// leaves the line, or gives back what it was just granted.
struct Pending<'a> {
    units: &'a Units,
    tenant: u32,
    count: u64,
    seq: u64,
    armed: bool,
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let mut state = self.units.lock();
        if state.queue.remove(self.tenant, self.seq).is_none() {
            drop(state);
            self.units.release(self.tenant, self.count, None);
        }
    }
}
