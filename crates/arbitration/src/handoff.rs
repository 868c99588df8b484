//! A line for things another part owns and hands over one at a time (an
//! extension's instances, owned by its pool): the owner calls
//! [`Handoff::offer`] when one comes free, and the strategy picks who
//! gets it. Nothing of the owner's fast path passes through here: only
//! requests that would otherwise wait.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use symphony_bus::Interrupt;
use tokio::sync::oneshot;

use crate::explain::{Conflict, Explanation};
use crate::line::{Line, Resource, announce_wait, gave_up};
use crate::queue::Queue;
use crate::shared::{HoldTime, Shared};
use crate::strategy::Strategy;
use crate::{Requester, WaitError};

#[cfg(test)]
mod tests;

/// A line of requests for items of type `T` that an owner hands over.
pub struct Handoff<T> {
    name: Arc<str>,
    index: usize,
    shared: Arc<Shared>,
    state: Mutex<Line<Offer<T>>>,
    /// Requests in line, readable without the lock (the owner's check on
    /// every return).
    waiting: AtomicUsize,
    /// How many items exist at most (the pool's instance limit), for
    /// estimates and fair-share normalisation.
    capacity: u64,
    /// How long an item is held, for wait estimates.
    hold: HoldTime,
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
            state: Mutex::new(Line::new(Queue::new(strategy, Instant::now()))),
            waiting: AtomicUsize::new(0),
            capacity: capacity.max(1),
            hold: HoldTime::default(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Line<Offer<T>>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Who it is, for its line.
    fn resource(&self) -> Resource<'_> {
        Resource {
            name: &self.name,
            index: self.index,
            capacity: self.capacity,
            shared: &self.shared,
        }
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

    /// Records that an item was held for `held` (a call's length), for
    /// wait estimates. Lock-free: the owner calls it on every use.
    #[inline]
    pub fn observe_hold(&self, held: Duration) {
        self.hold.record(held);
    }

    /// Puts `requester` in line. Call it under the owner's own lock, in the
    /// same step that found nothing free, so an item offered just after is
    /// not missed; then await [`Ticket::wait`] outside it.
    pub fn enqueue(self: &Arc<Self>, requester: &Requester) -> Ticket<T> {
        let now = Instant::now();
        let (tx, rx) = oneshot::channel();
        let at = self.resource();
        let estimate = |position| self.hold.estimate_ms(position, at.capacity);
        let offer = Offer {
            tx,
            requester: requester.clone(),
        };
        let (seq, explanation) = self.lock().join(&at, requester, 1, now, estimate, offer);
        self.waiting.fetch_add(1, Ordering::AcqRel);
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
        let at = self.resource();
        let mut line = self.lock();
        let mut item = item;
        loop {
            let Some(waiter) = line.next(&at, now, |_| true) else {
                return Err(item);
            };
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            let entry = waiter.entry;
            let Offer { tx, requester } = waiter.payload;
            match tx.send(item) {
                Ok(()) => {
                    line.granted(&at, &requester, &entry, now);
                    line.served(&at);
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
        let mut line = self.lock();
        let drained = line.queue.drain();
        self.waiting.fetch_sub(drained.len(), Ordering::AcqRel);
        drained.into_iter().map(|w| w.payload.tx).collect()
    }

    /// Grants by tenant since the last call, for the log.
    pub(crate) fn take_usage(&self) -> Vec<(u32, u64, u64)> {
        self.lock().track.take_usage()
    }

    /// A snapshot for the stats.
    pub(crate) fn snapshot(&self) -> crate::stats::ResourceView {
        let mut line = self.lock();
        line.track.trim(Instant::now(), self.shared.window);
        crate::stats::ResourceView::of(
            &self.name,
            line.queue.strategy().kind(),
            self.capacity,
            0,
            line.queue.len(),
            &line.track,
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
        let handoff = &self.handoff;
        announce_wait(
            &handoff.shared,
            &handoff.name,
            Conflict::Contention,
            &self.requester,
            &self.explanation,
        );
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
        let mut line = handoff.lock();
        let position = line.position(&handoff.resource(), tenant, self.seq);
        if line.queue.remove(tenant, self.seq).is_none() {
            // Served as it gave up: the item is in the channel already
            // (offers send under the lock).
            drop(line);
            return rx.try_recv().map_err(|_| WaitError::Closed {
                resource: Arc::clone(&handoff.name),
                label: Arc::clone(&self.requester.label),
            });
        }
        handoff.waiting.fetch_sub(1, Ordering::AcqRel);
        drop(line);
        Err(gave_up(
            &handoff.shared,
            &handoff.name,
            &self.requester,
            interrupted,
            self.began.elapsed(),
            position,
        ))
    }
}

impl<T: Send> Drop for Ticket<T> {
    fn drop(&mut self) {
        // Waited on to the end, `rx` was taken and the line is settled; a
        // wait dropped midway leaves `rx` gone too, so leave the line here
        // whenever it is still in it.
        let mut line = self.handoff.lock();
        if line
            .queue
            .remove(self.requester.tenant.id, self.seq)
            .is_some()
        {
            self.handoff.waiting.fetch_sub(1, Ordering::AcqRel);
        }
    }
}
