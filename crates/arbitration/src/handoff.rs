//! A line for things another part owns and hands over one at a time (an
//! extension's instances, owned by its pool): the owner calls
//! [`Handoff::offer`] when one comes free, and the strategy picks who
//! gets it. Nothing of the owner's fast path passes through here: only
//! requests that would otherwise wait.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
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

/// A line of requests for items of type `T` that an owner hands over.
pub struct Handoff<T> {
    name: Arc<str>,
    index: usize,
    shared: Arc<Shared>,
    state: Mutex<State<T>>,
    /// Requests in line, readable without the lock (the owner's check on
    /// every return).
    waiting: AtomicUsize,
    /// How many items exist at most (the pool's instance limit), for
    /// estimates and fair-share normalisation.
    capacity: AtomicU64,
    /// The mean time an item is held (an EWMA of `f64` seconds' bits),
    /// updated without the lock on every use.
    mean_hold: AtomicU64,
}

struct State<T> {
    queue: Queue<Offer<T>>,
    track: Track,
}

struct Offer<T> {
    tx: oneshot::Sender<T>,
    requester: Requester,
}

impl<T: Send> Handoff<T> {
    pub(crate) fn new(
        name: &str,
        capacity: u64,
        strategy: Box<dyn Strategy>,
        shared: Arc<Shared>,
    ) -> Arc<Self> {
        let index = shared.resource_index();
        Arc::new(Handoff {
            name: name.into(),
            index,
            shared,
            state: Mutex::new(State {
                queue: Queue::new(strategy, Instant::now()),
                track: Track::default(),
            }),
            waiting: AtomicUsize::new(0),
            capacity: AtomicU64::new(capacity.max(1)),
            mean_hold: AtomicU64::new(0),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Requests in line now.
    #[inline]
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Acquire)
    }

    /// Sets how many items exist at most.
    pub fn set_capacity(&self, capacity: u64) {
        self.capacity.store(capacity.max(1), Ordering::Relaxed);
    }

    /// Records that an item was held for `held` (a call's length), for
    /// wait estimates. Lock-free: the owner calls it on every use.
    #[inline]
    pub fn observe_hold(&self, held: Duration) {
        let held = held.as_secs_f64();
        let mean = f64::from_bits(self.mean_hold.load(Ordering::Relaxed));
        // Racing updates may lose one sample; an estimate does not mind.
        let mean = if mean == 0.0 {
            held
        } else {
            0.8 * mean + 0.2 * held
        };
        self.mean_hold.store(mean.to_bits(), Ordering::Relaxed);
    }

    /// The expected wait of the request `position` (from 0) in line.
    fn estimate_ms(&self, position: usize, capacity: u64) -> Option<f64> {
        let mean = f64::from_bits(self.mean_hold.load(Ordering::Relaxed));
        (mean > 0.0).then(|| (position as f64 + 1.0) * mean * 1e3 / capacity.max(1) as f64)
    }

    /// Puts `requester` in line. Call it under the owner's own lock, in the
    /// same step that found nothing free, so an item offered just after is
    /// not missed; then await [`Ticket::wait`] outside it.
    pub fn enqueue(self: &Arc<Self>, requester: &Requester) -> Ticket<T> {
        let now = Instant::now();
        let (tx, rx) = oneshot::channel();
        let tenant = requester.tenant.id;
        let capacity = self.capacity.load(Ordering::Relaxed);
        let mut state = self.lock();
        let state = &mut *state;
        let mut book = self.shared.ledger.lock();
        if state.queue.waiting_of(tenant) == 0
            && let Some(floor) = book.floor(self.index, state.queue.backlogged())
        {
            book.catch_up(tenant, self.index, floor);
        }
        let ask = Ask {
            tenant,
            priority: requester.priority,
            deadline: requester.deadline,
            units: 1,
        };
        let offer = Offer {
            tx,
            requester: requester.clone(),
        };
        let seq = state.queue.push(ask, now, offer);
        self.waiting.fetch_add(1, Ordering::AcqRel);
        let tenants = self.shared.tenant_count().max(state.queue.tenants());
        let epoch = state.queue.epoch();
        let position = book
            .with_context(now, epoch, tenants, capacity, |ctx| {
                state.queue.position(tenant, seq, ctx)
            })
            .unwrap_or(0);
        drop(book);
        let explanation = Explanation {
            resource: Arc::clone(&self.name),
            label: Arc::clone(&requester.label),
            tenant: Arc::clone(&requester.tenant.name),
            position: position + 1,
            waiting: state.queue.len(),
            estimate_ms: self.estimate_ms(position, capacity),
            strategy: state.queue.strategy().kind(),
        };
        Ticket {
            handoff: Arc::clone(self),
            requester: requester.clone(),
            seq,
            rx: Some(rx),
            explanation,
            began: now,
        }
    }

    /// Hands `item` to the request the strategy serves next (or to a
    /// boosted tenant's); gives it back when nobody waits.
    pub fn offer(&self, item: T) -> Result<(), T> {
        if self.waiting() == 0 {
            return Err(item);
        }
        let now = Instant::now();
        let capacity = self.capacity.load(Ordering::Relaxed);
        let mut state = self.lock();
        let state = &mut *state;
        let mut item = item;
        loop {
            let tenants = self.shared.tenant_count().max(state.queue.tenants());
            let epoch = state.queue.epoch();
            let boosted = state.track.boosted;
            let mut book = self.shared.ledger.lock();
            let waiter = book.with_context(now, epoch, tenants, capacity, |ctx| {
                state.queue.pop_favouring(boosted, ctx)
            });
            let Some(waiter) = waiter else {
                return Err(item);
            };
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            let entry = waiter.entry;
            book.charge(entry.tenant, self.index, 1, capacity);
            drop(book);
            let Offer { tx, requester } = waiter.payload;
            match tx.send(item) {
                Ok(()) => {
                    let waited = now.saturating_duration_since(entry.since);
                    state.track.grant(
                        Sample {
                            at: now,
                            tenant: entry.tenant,
                            units: 1,
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
                    let waiting: Vec<u32> = state.queue.backlogged().collect();
                    state
                        .track
                        .check_fairness(&self.shared, &self.name, &waiting);
                    return Ok(());
                }
                // It gave up as it was served: the next one.
                Err(back) => item = back,
            }
        }
    }

    /// Empties the line; the owner tells each request why (e.g. closed)
    /// through the senders.
    pub fn drain(&self) -> Vec<oneshot::Sender<T>> {
        let mut state = self.lock();
        let drained = state.queue.drain();
        self.waiting.fetch_sub(drained.len(), Ordering::AcqRel);
        drained.into_iter().map(|w| w.payload.tx).collect()
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
            state.queue.strategy().kind(),
            self.capacity.load(Ordering::Relaxed),
            0,
            state.queue.len(),
            &state.track,
        )
    }
}

/// A request's place in a [`Handoff`] line. Dropped unserved, it leaves the
/// line; an item handed to it as it went is dropped with it, so the
/// owner's item type should give itself back on drop.
pub struct Ticket<T: Send> {
    handoff: Arc<Handoff<T>>,
    requester: Requester,
    seq: u64,
    rx: Option<oneshot::Receiver<T>>,
    explanation: Explanation,
    began: Instant,
}

impl<T: Send> Ticket<T> {
    /// Where the request stood when it joined the line.
    pub fn explanation(&self) -> &Explanation {
        &self.explanation
    }

    /// Tells the requester's observer, the log and the bus that it waits;
    /// call it outside the owner's lock.
    pub fn announce(&self) {
        let explanation = &self.explanation;
        tracing::debug!("{explanation}");
        let handoff = &self.handoff;
        handoff.shared.decide(
            &handoff.name,
            &self.requester,
            Verdict::Queued,
            || explanation.standing(),
            Duration::ZERO,
        );
        handoff.shared.announce(Conflict::Contention, || {
            json!({"resource": &*handoff.name, "waiting": explanation.waiting, "explanation": explanation})
        });
        if let Some(observer) = &self.requester.on_wait {
            observer(explanation);
        }
    }

    /// Waits for an item until `until` or `interrupt`.
    pub async fn wait(
        mut self,
        until: Option<Instant>,
        interrupt: Option<&Interrupt>,
    ) -> Result<T, WaitError> {
        let mut rx = self.rx.take().expect("a ticket is waited on once");
        let stop = crate::stopped(until, interrupt);
        let interrupted = tokio::select! {
            item = &mut rx => {
                return item.map_err(|_| WaitError::Closed {
                    resource: Arc::clone(&self.handoff.name),
                    label: Arc::clone(&self.requester.label),
                });
            }
            why = stop => why,
        };
        let handoff = Arc::clone(&self.handoff);
        let tenant = self.requester.tenant.id;
        let mut state = handoff.lock();
        let position = {
            let tenants = handoff.shared.tenant_count().max(state.queue.tenants());
            let epoch = state.queue.epoch();
            let capacity = handoff.capacity.load(Ordering::Relaxed);
            let book = handoff.shared.ledger.lock();
            book.with_context(Instant::now(), epoch, tenants, capacity, |ctx| {
                state.queue.position(tenant, self.seq, ctx)
            })
        };
        if state.queue.remove(tenant, self.seq).is_none() {
            // Served as it gave up: the item is in the channel already
            // (offers send under the lock).
            drop(state);
            return rx.try_recv().map_err(|_| WaitError::Closed {
                resource: Arc::clone(&handoff.name),
                label: Arc::clone(&self.requester.label),
            });
        }
        handoff.waiting.fetch_sub(1, Ordering::AcqRel);
        drop(state);
        let waited = self.began.elapsed();
        let (verdict, error) = if interrupted {
            (
                Verdict::Cancelled,
                WaitError::Interrupted {
                    resource: Arc::clone(&handoff.name),
                    label: Arc::clone(&self.requester.label),
                },
            )
        } else {
            (
                Verdict::TimedOut,
                WaitError::Deadline {
                    resource: Arc::clone(&handoff.name),
                    label: Arc::clone(&self.requester.label),
                    waited,
                    position: position.unwrap_or(0) + 1,
                },
            )
        };
        handoff.shared.decide(
            &handoff.name,
            &self.requester,
            verdict,
            || error.to_string(),
            waited,
        );
        Err(error)
    }
}

impl<T: Send> Drop for Ticket<T> {
    fn drop(&mut self) {
        // Waited on to the end, `rx` was taken and the line is settled; a
        // wait dropped midway leaves `rx` gone too, so leave the line here
        // whenever it is still in it.
        let mut state = self.handoff.lock();
        if state
            .queue
            .remove(self.requester.tenant.id, self.seq)
            .is_some()
        {
            self.handoff.waiting.fetch_sub(1, Ordering::AcqRel);
        }
    }
}
