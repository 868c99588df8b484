//! A subscription's bounded queue and what happens when it is full.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use symphony_protocol::Envelope;

use symphony_protocol::clock::{Stamp, deadline};

use crate::Signal;
use crate::spin::{self, Spin};

/// What a full subscription queue does with the next message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SlowPolicy {
    /// The publisher waits up to `max_wait` for room; if none appears the
    /// message is dropped for this subscriber and counted.
    Block {
        /// The longest a publisher waits on this subscriber.
        max_wait: Duration,
    },
    /// The oldest queued message is dropped to make room (counted). The
    /// default.
    #[default]
    DropOldest,
    /// The subscription is closed; its receiver sees
    /// [`RecvError::Disconnected`](super::RecvError::Disconnected).
    Disconnect,
    /// The publisher waits for room while the subscriber is taking
    /// messages, so a fast publisher runs at the pace of a subscriber that
    /// keeps up and nothing is lost. A subscriber that has taken nothing
    /// for `max_wait` is stuck: then, and when a wait for room passes
    /// `max_wait`, the oldest queued message is dropped instead (counted),
    /// so a stuck subscriber slows its publishers by one `max_wait`, not by
    /// one per message. The default for a bus server's peers.
    Pace {
        /// How long a publisher waits for room, and how long a subscriber
        /// may take nothing before it counts as stuck.
        max_wait: Duration,
    },
}

/// The outcome of offering a message to a queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Offer {
    Queued,
    /// Queued after dropping the oldest message.
    Displaced,
    /// Not queued: the queue stayed full.
    Dropped,
    /// Not queued: the queue is (now) closed.
    Closed,
}

/// A queued message and the tag of the route that queued it (the peer's
/// subscription id, when several routes share one queue).
pub(crate) type Item = (u64, Envelope);

struct State {
    items: VecDeque<Item>,
    /// Payload bytes queued.
    bytes: usize,
    /// A wake-up for `wait_nonempty` with nothing queued (work elsewhere).
    kicked: bool,
    closed: Option<&'static str>,
}

/// A bounded multi-producer, single-consumer queue.
pub(crate) struct Queue {
    state: Mutex<State>,
    not_empty: Signal,
    not_full: Signal,
    capacity: usize,
    max_bytes: usize,
    policy: SlowPolicy,
    pub(crate) dropped: AtomicU64,
    /// The number of queued messages, mirrored outside the lock so a
    /// waiting receiver can poll it without contending with publishers.
    queued: AtomicUsize,
    /// How long a receiver polls before sleeping (see [`Spin`]).
    spin: Spin,
    /// When the receiver last took something (kept for [`SlowPolicy::Pace`]).
    last_take: Stamp,
}

/// Where a route delivers: a subscription's queue, a peer's connection, or
/// a handler run in place.
pub(crate) trait Target: Send + Sync {
    /// Delivers one message, applying the target's slow policy.
    fn offer(&self, item: Item) -> Offer;
    /// Whether the target takes no more messages (its route can go).
    fn is_closed(&self) -> bool;
    /// Messages waiting in it.
    fn pending(&self) -> usize;
    /// Whether an offer may make the publisher wait (a full queue that
    /// blocks, a handler that runs in place), so async publishers deliver
    /// to it off their own thread.
    fn may_block(&self) -> bool;
}

impl Target for Queue {
    fn offer(&self, item: Item) -> Offer {
        Queue::offer(self, item)
    }

    fn is_closed(&self) -> bool {
        Queue::is_closed(self)
    }

    fn pending(&self) -> usize {
        self.len()
    }

    fn may_block(&self) -> bool {
        match self.policy {
            SlowPolicy::Block { .. } => true,
            // Only a full queue makes a paced publisher wait.
            SlowPolicy::Pace { .. } => self.len() >= self.capacity,
            SlowPolicy::DropOldest | SlowPolicy::Disconnect => false,
        }
    }
}

impl Queue {
    /// A queue bounded by message count alone.
    #[cfg(test)]
    pub(crate) fn new(capacity: usize, policy: SlowPolicy) -> Self {
        Queue::with_byte_limit(capacity, usize::MAX, policy)
    }

    /// A queue that is also full once its payloads pass `max_bytes` (it
    /// always takes one message, however large).
    pub(crate) fn with_byte_limit(capacity: usize, max_bytes: usize, policy: SlowPolicy) -> Self {
        Queue {
            state: Mutex::new(State {
                items: VecDeque::with_capacity(capacity.min(1024)),
                bytes: 0,
                kicked: false,
                closed: None,
            }),
            not_empty: Signal::default(),
            not_full: Signal::default(),
            capacity: capacity.max(1),
            max_bytes,
            policy,
            dropped: AtomicU64::new(0),
            queued: AtomicUsize::new(0),
            spin: Spin::default(),
            last_take: Stamp::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Offers a message, applying the slow-subscriber policy when full.
    pub(crate) fn offer(&self, item: Item) -> Offer {
        self.offer_waking_at(item, 1)
    }

    /// Waits up to `max_wait` for room for `size` more payload bytes (or
    /// the queue's closing); `None` when the time ran out.
    fn wait_for_room<'q>(
        &'q self,
        mut state: MutexGuard<'q, State>,
        size: usize,
        max_wait: Duration,
    ) -> Option<MutexGuard<'q, State>> {
        let until = deadline(max_wait);
        while self.is_full(&state, size) && state.closed.is_none() {
            state = self.not_full.wait_until(state, until)?;
        }
        Some(state)
    }

    /// Offers a message without waking the receiver unless `wake_at`
    /// messages are queued (or the queue is full): for a publisher that
    /// will hand over everything it queued at once, soon.
    pub(crate) fn offer_waking_at(&self, item: Item, wake_at: usize) -> Offer {
        if self.len() >= self.capacity
            && matches!(
                self.policy,
                SlowPolicy::Block { .. } | SlowPolicy::Pace { .. }
            )
        {
            // About to wait for room: write out what this thread held
            // first (not under the lock: that may drain this very queue).
            crate::server::hold::release();
        }
        let mut state = self.lock();
        if state.closed.is_some() {
            return Offer::Closed;
        }
        let mut outcome = Offer::Queued;
        let size = item.1.payload.len();
        if self.is_full(&state, size) {
            match self.policy {
                SlowPolicy::DropOldest => {
                    self.drop_oldest(&mut state, size);
                    outcome = Offer::Displaced;
                }
                SlowPolicy::Pace { max_wait } => {
                    // Waiting on a stuck receiver would only slow every
                    // publisher down to one message per `max_wait`.
                    if self.last_take.elapsed() < max_wait {
                        // A receiver not yet woken for what is queued must
                        // be, or the wait is for nothing.
                        self.not_empty.notify_one();
                        state = self
                            .wait_for_room(state, size, max_wait)
                            .unwrap_or_else(|| self.lock());
                        if state.closed.is_some() {
                            return Offer::Closed;
                        }
                    }
                    if self.is_full(&state, size) {
                        self.drop_oldest(&mut state, size);
                        outcome = Offer::Displaced;
                    }
                }
                SlowPolicy::Disconnect => {
                    state.closed = Some("the subscriber fell behind and its queue filled up");
                    drop(state);
                    self.not_empty.notify_all();
                    return Offer::Closed;
                }
                SlowPolicy::Block { max_wait } => {
                    let Some(woken) = self.wait_for_room(state, size, max_wait) else {
                        self.dropped.fetch_add(1, Ordering::Relaxed);
                        return Offer::Dropped;
                    };
                    state = woken;
                    if state.closed.is_some() {
                        return Offer::Closed;
                    }
                }
            }
        }
        state.bytes += size;
        state.items.push_back(item);
        let queued = state.items.len();
        self.queued.store(queued, Ordering::Release);
        drop(state);
        if queued >= wake_at.min(self.capacity) {
            self.not_empty.notify_one();
        }
        outcome
    }

    /// The next message, waiting up to `timeout`. `Err` carries why the
    /// queue closed once it is closed and empty.
    pub(crate) fn take(&self, timeout: Duration) -> Result<Option<Item>, &'static str> {
        let mut start = None;
        if !timeout.is_zero() && self.queued.load(Ordering::Acquire) == 0 {
            let now = Instant::now();
            let until = now.checked_add(timeout).unwrap_or(now + spin::MAX);
            if !(self.spin).poll(now, until, || self.queued.load(Ordering::Acquire) > 0) {
                start = Some(now);
            }
        }
        let ready = self.wait_ready(self.lock(), timeout, false);
        if let Some(start) = start {
            // What the receiver waited teaches how long to poll next time.
            let got = matches!(ready, Ok(Some(_)));
            self.spin.learn(got.then(|| start.elapsed()));
        }
        let Some(mut state) = ready? else {
            return Ok(None);
        };
        let item = state.items.pop_front();
        if let Some((_, envelope)) = &item {
            state.bytes -= envelope.payload.len();
        }
        self.queued.store(state.items.len(), Ordering::Release);
        drop(state);
        if self.paced() && item.is_some() {
            self.last_take.mark();
        }
        self.not_full.notify_one();
        Ok(item)
    }

    /// Moves waiting messages into `out` without waiting: up to `max` of
    /// them, stopping once `max_bytes` of payload are taken (at least one).
    pub(crate) fn drain_into(&self, out: &mut Vec<Item>, max: usize, max_bytes: usize) {
        let mut state = self.lock();
        let (mut n, mut taken) = (0, 0);
        while n < max && (n == 0 || taken < max_bytes) {
            let Some(item) = state.items.pop_front() else {
                break;
            };
            taken += item.1.payload.len();
            out.push(item);
            n += 1;
        }
        state.bytes -= taken;
        self.queued.store(state.items.len(), Ordering::Release);
        drop(state);
        if n > 0 {
            if self.paced() {
                self.last_take.mark();
            }
            self.not_full.notify_all();
        }
    }

    /// Waits up to `timeout` until a message is waiting, without taking it.
    /// `Err` carries why the queue closed once it is closed and empty.
    /// Returns early after [`Queue::kick`].
    pub(crate) fn wait_nonempty(&self, timeout: Duration) -> Result<(), &'static str> {
        self.wait_ready(self.lock(), timeout, true).map(drop)
    }

    /// Wakes a `wait_nonempty` caller although nothing is queued: its
    /// owner has other work for it.
    pub(crate) fn kick(&self) {
        self.lock().kicked = true;
        self.not_empty.notify_all();
    }

    /// Drops the oldest messages until `incoming` more bytes fit (counted).
    fn drop_oldest(&self, state: &mut State, incoming: usize) {
        while self.is_full(state, incoming) {
            let Some((_, oldest)) = state.items.pop_front() else {
                break;
            };
            state.bytes -= oldest.payload.len();
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Whether the receiver's takes are timed (for [`SlowPolicy::Pace`]).
    fn paced(&self) -> bool {
        matches!(self.policy, SlowPolicy::Pace { .. })
    }

    /// Whether `incoming` more payload bytes do not fit.
    fn is_full(&self, state: &State, incoming: usize) -> bool {
        state.items.len() >= self.capacity
            || (!state.items.is_empty() && state.bytes.saturating_add(incoming) > self.max_bytes)
    }

    /// Waits under the lock until a message is queued (`Some`; also after a
    /// kick when `kickable`), the queue is closed and empty (`Err`, why), or
    /// `timeout` passes (`None`). The clock is read only if it must wait.
    fn wait_ready<'a>(
        &'a self,
        mut state: MutexGuard<'a, State>,
        timeout: Duration,
        kickable: bool,
    ) -> Result<Option<MutexGuard<'a, State>>, &'static str> {
        let mut until = None;
        loop {
            if kickable && std::mem::take(&mut state.kicked) {
                return Ok(Some(state));
            }
            if !state.items.is_empty() {
                return Ok(Some(state));
            }
            if let Some(reason) = state.closed {
                return Err(reason);
            }
            let until = *until.get_or_insert_with(|| deadline(timeout));
            match self.not_empty.wait_until(state, until) {
                Some(woken) => state = woken,
                None => return Ok(None),
            }
        }
    }

    /// Closes the queue; queued messages can still be taken.
    pub(crate) fn close(&self, reason: &'static str) {
        let mut state = self.lock();
        if state.closed.is_none() {
            state.closed = Some(reason);
        }
        drop(state);
        self.not_empty.notify_all();
        self.not_full.notify_all();
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.lock().closed.is_some()
    }

    pub(crate) fn len(&self) -> usize {
        self.queued.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests;
