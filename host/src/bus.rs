//! The in-process message bus extensions publish to.
//!
//! Subjects are dot-separated tokens; subscription patterns use `*` for one
//! token and `>` for one or more trailing tokens, as NATS does. Every
//! subscriber has a bounded queue; when it is full, new messages for that
//! subscriber are dropped and counted, so a slow subscriber never blocks a
//! publisher or other subscribers.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};

pub use symphony_protocol::subject_matches;

/// A message delivered to a subscriber.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The subject it was published on.
    pub subject: String,
    /// The payload bytes.
    pub payload: Vec<u8>,
}

/// A subscription: receive with [`Subscription::try_recv`] or
/// [`Subscription::recv_timeout`]. Dropping it unsubscribes.
pub struct Subscription {
    receiver: Receiver<Message>,
}

impl Subscription {
    /// The next message, if one is waiting.
    pub fn try_recv(&self) -> Option<Message> {
        self.receiver.try_recv().ok()
    }

    /// The next message, waiting up to `timeout`.
    pub fn recv_timeout(&self, timeout: std::time::Duration) -> Option<Message> {
        self.receiver.recv_timeout(timeout).ok()
    }
}

struct Subscriber {
    pattern: String,
    sender: SyncSender<Message>,
}

/// The host's in-process bus.
#[derive(Default)]
pub struct LocalBus {
    subscribers: Mutex<Vec<Subscriber>>,
    dropped: AtomicU64,
}

/// Messages a subscriber may have waiting before new ones are dropped.
const QUEUE: usize = 1024;

impl LocalBus {
    /// Subscribes to subjects matching `pattern`.
    pub fn subscribe(&self, pattern: &str) -> Subscription {
        let (sender, receiver) = mpsc::sync_channel(QUEUE);
        self.lock().push(Subscriber {
            pattern: pattern.to_string(),
            sender,
        });
        Subscription { receiver }
    }

    /// Delivers a message to every matching subscriber; returns how many
    /// received it.
    pub fn publish(&self, subject: &str, payload: Vec<u8>) -> usize {
        let mut delivered = 0;
        self.lock().retain(|sub| {
            if !subject_matches(&sub.pattern, subject) {
                return true;
            }
            let message = Message {
                subject: subject.to_string(),
                payload: payload.clone(),
            };
            match sub.sender.try_send(message) {
                Ok(()) => {
                    delivered += 1;
                    true
                }
                Err(TrySendError::Full(_)) => {
                    self.dropped.fetch_add(1, Ordering::Relaxed);
                    true
                }
                Err(TrySendError::Disconnected(_)) => false,
            }
        });
        delivered
    }

    /// Messages dropped because a subscriber's queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Subscriber>> {
        self.subscribers.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_queues_drop_and_closed_subscribers_are_removed() {
        let bus = LocalBus::default();
        let slow = bus.subscribe("x");
        for _ in 0..QUEUE + 5 {
            bus.publish("x", vec![1]);
        }
        assert_eq!(bus.dropped(), 5);
        assert!(slow.try_recv().is_some());
        drop(slow);
        assert_eq!(bus.publish("x", vec![]), 0);
        assert!(bus.lock().is_empty());
    }
}
