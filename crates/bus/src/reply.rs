//! Replies to in-process requests: one table per bus, not a subscription
//! per request.
//!
//! Where the time went (a loop of cross-thread requests took 6.1 µs each;
//! the issue measured p50 53–56 µs on a busy machine): each request
//! subscribed its own inbox —
//! a formatted subject, a queue, a route, the route table's write lock
//! taken to add it and again to remove it — and the requester then slept
//! on that queue's condvar after 20 µs of polling, so on a busy two-core
//! machine a reply waited tens of microseconds for the kernel to run it.
//!
//! Now a request takes a number and registers a waiter under it; a message
//! routed to an inbox this bus handed out finds its waiter with one lookup
//! and wakes exactly that thread (`Thread::unpark`, a futex) or task (a
//! oneshot), after the adaptive polling of [`Spin`]. The route table is
//! still consulted, so a subscription on `_inbox.>` sees replies as
//! before.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::Thread;
use std::time::{Duration, Instant};

use rustc_hash::FxHashMap;
use symphony_protocol::{Envelope, SmolStr};
use tokio::sync::oneshot;

use crate::spin::Spin;

/// Every reply subject starts with this.
pub(crate) use symphony_protocol::INBOX;

/// The requests of one bus waiting for their replies.
#[derive(Default)]
pub(crate) struct Replies {
    waiting: Mutex<FxHashMap<u64, Waiter>>,
    next: AtomicU64,
    spin: Spin,
}

/// Who waits under a number, and which endpoint asked (the inbox's middle
/// token, checked so a number alone never matches another's inbox).
struct Waiter {
    endpoint: Arc<str>,
    wake: Wake,
}

enum Wake {
    Thread(Arc<Slot>),
    Task(oneshot::Sender<Envelope>),
}

/// Where a blocking requester's reply lands.
struct Slot {
    reply: Mutex<Option<Envelope>>,
    ready: AtomicBool,
    thread: Thread,
}

/// A reply that came for a waiter, to be handed over by [`Claim::give`].
pub(crate) struct Claim(Wake);

/// A registered request; dropping it forgets the request (a reply that
/// comes later is not delivered).
pub(crate) struct Ticket<'a> {
    replies: &'a Replies,
    number: u64,
    inbox: SmolStr,
    answered: bool,
}

/// A request whose reply the registering thread waits for.
pub(crate) struct Blocking<'a> {
    ticket: Ticket<'a>,
    slot: Arc<Slot>,
}

/// A request whose reply a task awaits.
pub(crate) struct Awaiting<'a> {
    ticket: Ticket<'a>,
    reply: oneshot::Receiver<Envelope>,
}

impl Replies {
    fn lock(&self) -> MutexGuard<'_, FxHashMap<u64, Waiter>> {
        self.waiting.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers a request from `endpoint` whose reply this thread will
    /// wait for.
    pub(crate) fn expect(&self, endpoint: &Arc<str>) -> Blocking<'_> {
        let slot = Arc::new(Slot {
            reply: Mutex::new(None),
            ready: AtomicBool::new(false),
            thread: std::thread::current(),
        });
        Blocking {
            ticket: self.register(endpoint, Wake::Thread(slot.clone())),
            slot,
        }
    }

    /// Registers a request from `endpoint` whose reply a task will await.
    pub(crate) fn expect_async(&self, endpoint: &Arc<str>) -> Awaiting<'_> {
        let (sender, reply) = oneshot::channel();
        Awaiting {
            ticket: self.register(endpoint, Wake::Task(sender)),
            reply,
        }
    }

    fn register(&self, endpoint: &Arc<str>, wake: Wake) -> Ticket<'_> {
        let number = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let inbox = symphony_protocol::inbox(endpoint, number);
        let waiter = Waiter {
            endpoint: endpoint.clone(),
            wake,
        };
        self.lock().insert(number, waiter);
        Ticket {
            replies: self,
            number,
            inbox,
            answered: false,
        }
    }

    /// Takes the waiter for `subject`, if it is an inbox this table handed
    /// out and its request still waits. Only the first reply finds it.
    pub(crate) fn claim(&self, subject: &str) -> Option<Claim> {
        let (endpoint, number) = parse(subject)?;
        let mut waiting = self.lock();
        let found = waiting.get(&number)?;
        if *found.endpoint != *endpoint {
            return None;
        }
        waiting.remove(&number).map(|waiter| Claim(waiter.wake))
    }

    /// Whether a request waits on `subject`.
    pub(crate) fn is_waiting(&self, subject: &str) -> bool {
        parse(subject).is_some_and(|(endpoint, number)| {
            self.lock()
                .get(&number)
                .is_some_and(|w| *w.endpoint == *endpoint)
        })
    }
}

/// An inbox subject's endpoint and number.
fn parse(subject: &str) -> Option<(&str, u64)> {
    let (endpoint, number) = subject.strip_prefix(INBOX)?.rsplit_once('.')?;
    Some((endpoint, number.parse().ok()?))
}

impl Claim {
    /// Hands `reply` to the waiter; false if it stopped waiting meanwhile.
    pub(crate) fn give(self, reply: Envelope) -> bool {
        match self.0 {
            Wake::Thread(slot) => {
                *slot.reply.lock().unwrap_or_else(|e| e.into_inner()) = Some(reply);
                slot.ready.store(true, Ordering::Release);
                slot.thread.unpark();
                true
            }
            Wake::Task(sender) => sender.send(reply).is_ok(),
        }
    }
}

impl Ticket<'_> {
    /// The reply subject to send with the request (taken once).
    fn take_inbox(&mut self) -> SmolStr {
        std::mem::take(&mut self.inbox)
    }
}

impl Blocking<'_> {
    /// The reply subject to send with the request.
    pub(crate) fn inbox(&mut self) -> SmolStr {
        self.ticket.take_inbox()
    }

    /// Waits up to `timeout` for the reply.
    pub(crate) fn wait(mut self, timeout: Duration) -> Option<Envelope> {
        let replies = self.ticket.replies;
        let ready = || self.slot.ready.load(Ordering::Acquire);
        let start = Instant::now();
        let until = start.checked_add(timeout);
        let spin_until = until.unwrap_or(start + crate::spin::MAX);
        if !replies.spin.poll(start, spin_until, ready) {
            // Parking is token based: a reply given before the thread parks
            // leaves the token, so the park returns at once.
            while !ready() {
                match until {
                    None => std::thread::park(),
                    Some(until) => {
                        let now = Instant::now();
                        if now >= until {
                            replies.spin.learn(None);
                            return None;
                        }
                        std::thread::park_timeout(until - now);
                    }
                }
            }
            replies.spin.learn(Some(start.elapsed()));
        }
        self.ticket.answered = true;
        self.slot
            .reply
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
    }
}

impl Awaiting<'_> {
    /// The reply subject to send with the request.
    pub(crate) fn inbox(&mut self) -> SmolStr {
        self.ticket.take_inbox()
    }

    /// Awaits the reply up to `timeout`. Must be polled inside a tokio
    /// runtime.
    pub(crate) async fn wait(mut self, timeout: Duration) -> Option<Envelope> {
        let reply = tokio::time::timeout(timeout, &mut self.reply)
            .await
            .ok()?
            .ok()?;
        self.ticket.answered = true;
        Some(reply)
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        // An answered request was taken out of the table by its reply.
        if !self.answered {
            self.replies.lock().remove(&self.number);
        }
    }
}

#[cfg(test)]
mod tests;
