//! Where one request's reply lands. The thread that reads it off the link
//! (the requester itself on shared memory, the reader thread on a socket)
//! puts it here and wakes the requester, which polls the flag first and
//! parks only if it must. One allocation a request: the `sync_channel`
//! this replaces allocated a cache-padded channel and was a twentieth of a
//! shared-memory round trip.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::RecvTimeoutError;
use std::sync::{Arc, Mutex};
use std::thread::Thread;
use std::time::{Duration, Instant};

use crate::Envelope;
use crate::clock::deadline;

/// One request's reply, once it comes.
pub(super) struct ReplySlot {
    state: Mutex<State>,
    /// Set once `state` is no longer `Waiting`: polled without the lock.
    settled: AtomicBool,
    /// The requester, woken when the slot settles.
    waiter: Thread,
}

enum State {
    Waiting,
    Reply(Envelope),
    /// The client closed: no reply will come.
    Closed,
    /// The reply was taken.
    Taken,
}

impl ReplySlot {
    /// A slot the calling thread will wait on.
    pub(super) fn new() -> Arc<ReplySlot> {
        Arc::new(ReplySlot {
            state: Mutex::new(State::Waiting),
            settled: AtomicBool::new(false),
            waiter: std::thread::current(),
        })
    }

    fn settle(&self, to: State) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if matches!(*state, State::Waiting) {
            *state = to;
            self.settled.store(true, Ordering::Release);
            drop(state);
            self.waiter.unpark();
        }
    }

    /// Hands over the reply (only the first one counts).
    pub(super) fn give(&self, reply: Envelope) {
        self.settle(State::Reply(reply));
    }

    /// Tells the requester no reply will come.
    pub(super) fn close(&self) {
        self.settle(State::Closed);
    }

    /// The reply if it is there (`Some(Ok)`), `Some(Err)` if it never will
    /// be, `None` if it is still to come.
    pub(super) fn try_take(&self) -> Option<Result<Envelope, RecvTimeoutError>> {
        if !self.settled.load(Ordering::Acquire) {
            return None;
        }
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        match std::mem::replace(&mut *state, State::Taken) {
            State::Reply(reply) => Some(Ok(reply)),
            State::Closed | State::Taken => Some(Err(RecvTimeoutError::Disconnected)),
            State::Waiting => {
                *state = State::Waiting;
                None
            }
        }
    }

    /// Waits up to `timeout` for the reply, asleep. Call from the thread
    /// that made the slot.
    pub(super) fn wait(&self, timeout: Duration) -> Result<Envelope, RecvTimeoutError> {
        let until = deadline(timeout);
        loop {
            if let Some(outcome) = self.try_take() {
                return outcome;
            }
            let now = Instant::now();
            if now >= until {
                return Err(RecvTimeoutError::Timeout);
            }
            // Parking is token based: an unpark that came before this park
            // makes it return at once, so no wake-up is lost.
            std::thread::park_timeout(until - now);
        }
    }
}

#[cfg(test)]
mod tests;
