//! A subscription's bounded queue and what happens when it is full.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use symphony_protocol::Envelope;

use symphony_protocol::clock::deadline;

use crate::Signal;

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
}

/// How long a receiver polls before sleeping: a message handed to a
/// sleeping thread waits several microseconds for it to wake, to a polling
/// one well under one.
const SPIN: Duration = Duration::from_micros(20);

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
        matches!(self.policy, SlowPolicy::Block { .. })
    }
}

impl Queue {
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
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Offers a message, applying the slow-subscriber policy when full.
    pub(crate) fn offer(&self, item: Item) -> Offer {
        let mut state = self.lock();
        if state.closed.is_some() {
            return Offer::Closed;
        }
        let mut outcome = Offer::Queued;
        let size = item.1.payload.len();
        if self.is_full(&state, size) {
            match self.policy {
                SlowPolicy::DropOldest => {
                    while self.is_full(&state, size) {
                        let Some((_, oldest)) = state.items.pop_front() else {
                            break;
                        };
                        state.bytes -= oldest.payload.len();
                        self.dropped.fetch_add(1, Ordering::Relaxed);
                    }
                    outcome = Offer::Displaced;
                }
                SlowPolicy::Disconnect => {
                    state.closed = Some("the subscriber fell behind and its queue filled up");
                    drop(state);
                    self.not_empty.notify_all();
                    return Offer::Closed;
                }
                SlowPolicy::Block { max_wait } => {
                    let until = deadline(max_wait);
                    while self.is_full(&state, size) && state.closed.is_none() {
                        let Some(woken) = self.not_full.wait_until(state, until) else {
                            self.dropped.fetch_add(1, Ordering::Relaxed);
                            return Offer::Dropped;
                        };
                        state = woken;
                    }
                    if state.closed.is_some() {
                        return Offer::Closed;
                    }
                }
            }
        }
        state.bytes += size;
        state.items.push_back(item);
        self.queued.store(state.items.len(), Ordering::Release);
        drop(state);
        self.not_empty.notify_one();
        outcome
    }

    /// The next message, waiting up to `timeout`. `Err` carries why the
    /// queue closed once it is closed and empty.
    pub(crate) fn take(&self, timeout: Duration) -> Result<Option<Item>, &'static str> {
        if !timeout.is_zero() && self.queued.load(Ordering::Acquire) == 0 {
            self.poll_until(Instant::now() + SPIN.min(timeout));
        }
        let Some(mut state) = self.wait_ready(self.lock(), timeout, false)? else {
            return Ok(None);
        };
        let item = state.items.pop_front();
        if let Some((_, envelope)) = &item {
            state.bytes -= envelope.payload.len();
        }
        self.queued.store(state.items.len(), Ordering::Release);
        drop(state);
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

    /// Polls until a message is queued or `until`.
    fn poll_until(&self, until: Instant) {
        while self.queued.load(Ordering::Acquire) == 0 {
            for _ in 0..64 {
                std::hint::spin_loop();
            }
            if Instant::now() >= until {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(n: u8) -> Item {
        (0, Envelope::new("msg", "s", vec![n]))
    }

    fn payload(item: Option<Item>) -> u8 {
        item.unwrap().1.payload[0]
    }

    #[test]
    fn drop_oldest_keeps_the_newest_messages() {
        let q = Queue::new(2, SlowPolicy::DropOldest);
        assert_eq!(q.offer(msg(1)), Offer::Queued);
        q.offer(msg(2));
        assert_eq!(q.offer(msg(3)), Offer::Displaced);
        let got: Vec<u8> = (0..2)
            .map(|_| payload(q.take(Duration::ZERO).unwrap()))
            .collect();
        assert_eq!(got, [2, 3]);
        assert_eq!(q.dropped.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn disconnect_closes_the_queue_but_keeps_what_was_queued() {
        let q = Queue::new(1, SlowPolicy::Disconnect);
        q.offer(msg(1));
        assert_eq!(q.offer(msg(2)), Offer::Closed);
        assert_eq!(payload(q.take(Duration::ZERO).unwrap()), 1);
        assert!(q.take(Duration::ZERO).unwrap_err().contains("fell behind"));
    }

    #[test]
    fn block_gives_up_after_max_wait() {
        let q = Queue::new(
            1,
            SlowPolicy::Block {
                max_wait: Duration::from_millis(20),
            },
        );
        q.offer(msg(1));
        assert_eq!(q.offer(msg(2)), Offer::Dropped);
        assert_eq!(q.dropped.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn a_byte_limit_bounds_the_queue_whatever_the_message_count() {
        let q = Queue::with_byte_limit(1000, 100, SlowPolicy::DropOldest);
        for n in 0..10 {
            q.offer((0, Envelope::new("msg", "s", vec![n; 40])));
        }
        assert_eq!(q.len(), 2, "two 40-byte payloads fit in 100 bytes");
        assert_eq!(q.dropped.load(Ordering::Relaxed), 8);
        // One message always fits, however large.
        q.offer((0, Envelope::new("msg", "s", vec![0; 500])));
        assert_eq!(q.len(), 1);
        let mut out = Vec::new();
        q.drain_into(&mut out, 10, 1);
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn a_kick_wakes_a_waiter_with_nothing_queued() {
        let q = std::sync::Arc::new(Queue::new(4, SlowPolicy::DropOldest));
        let started = Instant::now();
        let waiter = {
            let q = q.clone();
            std::thread::spawn(move || q.wait_nonempty(Duration::from_secs(600)))
        };
        // Kick only once the waiter sleeps, so the wake-up is what ends
        // its wait (its timeout is ten minutes away).
        while q.not_empty.waiters() == 0 {
            assert!(!waiter.is_finished(), "the waiter returned without a kick");
            std::thread::yield_now();
        }
        q.kick();
        assert_eq!(waiter.join().unwrap(), Ok(()));
        assert!(started.elapsed() < Duration::from_secs(300));
        assert_eq!(q.len(), 0);
    }

    #[test]
    fn drain_into_takes_up_to_max_in_order() {
        let q = Queue::new(10, SlowPolicy::DropOldest);
        for n in 0..5 {
            q.offer(msg(n));
        }
        let mut out = Vec::new();
        q.drain_into(&mut out, 3, usize::MAX);
        assert_eq!(q.len(), 2);
        q.drain_into(&mut out, 3, usize::MAX);
        let got: Vec<u8> = out.into_iter().map(|(_, e)| e.payload[0]).collect();
        assert_eq!(got, [0, 1, 2, 3, 4]);
        q.close("done");
        assert_eq!(q.wait_nonempty(Duration::ZERO), Err("done"));
    }

    #[test]
    fn block_waits_until_the_reader_makes_room() {
        let q = std::sync::Arc::new(Queue::new(
            1,
            SlowPolicy::Block {
                max_wait: Duration::from_secs(10),
            },
        ));
        q.offer(msg(1));
        let reader = {
            let q = q.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(10));
                q.take(Duration::from_secs(10)).unwrap()
            })
        };
        assert_eq!(q.offer(msg(2)), Offer::Queued);
        assert_eq!(payload(reader.join().unwrap()), 1);
    }
}
