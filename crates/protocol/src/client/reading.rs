//! The client's read side: the reader thread, requesters that read their
//! own replies, dispatching, liveness and reconnecting.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::RecvTimeoutError;
use std::time::{Duration, Instant};

use super::connection::Connection;
use super::reply_slot::ReplySlot;
use super::{INBOX_SID, SID_HEADER, Shared, Status, Transport, lock};
use crate::clock::deadline;
use crate::link::LinkError;
use crate::messages::{ErrorReply, Heartbeat};
use crate::{Envelope, Message};

/// How long a requester on a socket polls for its reply before sleeping:
/// the reader thread, woken by the socket, hands the reply over; a polling
/// requester takes it at once, a sleeping one takes microseconds to wake.
const REPLY_SPIN: Duration = Duration::from_micros(50);

/// Waits up to `timeout` for what another thread hands over: polls
/// `try_take` for `spin` first (a poller takes it at once, a sleeper takes
/// microseconds to wake and costs the giver a wake-up call), then sleeps
/// in `wait` for the rest.
pub(super) fn poll_then_wait<T>(
    spin: Duration,
    timeout: Duration,
    try_take: impl FnMut() -> Option<Result<T, RecvTimeoutError>>,
    wait: impl FnOnce(Duration) -> Result<T, RecvTimeoutError>,
) -> Result<T, RecvTimeoutError> {
    let start = Instant::now();
    if let Some(outcome) = crate::clock::spin_until(start + spin.min(timeout), try_take) {
        return outcome;
    }
    wait(timeout.saturating_sub(start.elapsed()))
}

/// How long after a request the reader thread still leaves reading to
/// requesters.
const REQUEST_GRACE: Duration = Duration::from_millis(1);

impl Shared {
    pub(super) fn read_loop(self: Arc<Self>) {
        let mut seq = 0;
        loop {
            if self.closing.load(Ordering::Relaxed) {
                return;
            }
            let failure = if let Some(wait) = self.requesters_active() {
                // Requesters read for themselves meanwhile; liveness and
                // heartbeats are looked after between these short naps.
                std::thread::sleep(wait);
                lock(&self.failure).take()
            } else {
                lock(&self.failure)
                    .take()
                    .or_else(|| self.read_once(true).err())
            };
            let failure = failure.or_else(|| self.check_liveness(&mut seq));
            if let Some(reason) = failure
                && (self.closing.load(Ordering::Relaxed) || !self.reconnect(&reason))
            {
                return;
            }
        }
    }

    /// How long the reader thread should leave the read side to
    /// requesters: while any wait, and for a moment after the last one, so
    /// a thread sending request after request keeps reading its own
    /// replies instead of racing the reader thread for each.
    fn requesters_active(&self) -> Option<Duration> {
        if self.requesters.load(Ordering::SeqCst) > 0 {
            // Short waits, so the thread is back soon after the last
            // requester leaves (nothing wakes it; a wake-up per request
            // would cost the requesters more). Never the reader lock here:
            // a requester holds it while it waits for data.
            return Some(REQUEST_GRACE);
        }
        let since = self.last_request.elapsed();
        (since < REQUEST_GRACE).then(|| REQUEST_GRACE - since)
    }

    /// Reads and dispatches one frame if there is a read side, waiting for
    /// it when `wait`, else only if it is free. `Ok(false)`: another thread
    /// holds it; `Err` says why the link failed.
    fn read_once(&self, wait: bool) -> Result<bool, String> {
        let mut guard = if wait {
            lock(&self.reader)
        } else {
            match self.reader.try_lock() {
                Ok(guard) => guard,
                Err(_) => return Ok(false),
            }
        };
        let Some(reader) = guard.as_mut() else {
            // Reconnecting: nothing to read yet.
            return Ok(false);
        };
        match reader.frames.next_envelope() {
            Ok(envelope) => {
                // Dispatched before the read side is let go, so frames read
                // by different threads are still dispatched in order.
                self.dispatch(envelope);
                // And every frame the same read brought: a burst costs one
                // clock read and one pass of the reader loop's checks, not
                // one per frame.
                let mut failed = None;
                while failed.is_none() && reader.frames.frame_ready() {
                    match reader.frames.next_envelope() {
                        Ok(envelope) => self.dispatch(envelope),
                        Err(e) => failed = Some(e.to_string()),
                    }
                }
                self.last_read.mark();
                drop(guard);
                failed.map_or(Ok(true), Err)
            }
            Err(LinkError::TimedOut) => Ok(true),
            Err(e) => Err(e.to_string()),
        }
    }

    /// Declares the server gone after its timeout of silence, and sends a
    /// heartbeat when this client has been quiet.
    fn check_liveness(&self, seq: &mut u64) -> Option<String> {
        // Not from the reader: a requester holds it while it waits for data.
        let (heartbeat, timeout) = *lock(&self.liveness);
        if self.last_read.elapsed() > timeout {
            return Some(format!(
                "the server sent nothing for {} ms",
                timeout.as_millis()
            ));
        }
        if self.outbox.idle_for() >= heartbeat / 2 {
            *seq += 1;
            // The drops go with it, so the server's statistics show what
            // this side lost too.
            let dropped = self.dropped.load(Ordering::Relaxed);
            if let Ok(beat) = (Heartbeat { seq: *seq, dropped }).to_envelope("bus") {
                self.outbox.try_send(&beat);
            }
        }
        None
    }

    /// Waits for a request's reply. On shared memory the requester reads
    /// the ring itself when it is free, polling it, so the reply needs no
    /// second thread (two pollers on two cores, not three). On a socket the
    /// reader thread passes replies on (measured faster there: see the
    /// `bus_transport` bench).
    pub(super) fn wait_for_reply(
        &self,
        slot: &ReplySlot,
        timeout: Duration,
    ) -> Result<Envelope, RecvTimeoutError> {
        if self.options.transport == Transport::Socket {
            return poll_then_wait(REPLY_SPIN, timeout, || slot.try_take(), |t| slot.wait(t));
        }
        let deadline = deadline(timeout);
        self.requesters.fetch_add(1, Ordering::SeqCst);
        let outcome = loop {
            if let Some(outcome) = slot.try_take() {
                break outcome;
            }
            let now = Instant::now();
            if now >= deadline {
                break Err(RecvTimeoutError::Timeout);
            }
            match self.read_once(false) {
                Ok(true) => {}
                Ok(false) => {
                    // Another thread is reading and will pass the reply on.
                    match slot.wait((deadline - now).min(Duration::from_millis(1))) {
                        Err(RecvTimeoutError::Timeout) => {}
                        other => break other,
                    }
                }
                Err(reason) => {
                    // Leave the reconnecting to the reader thread.
                    *lock(&self.failure) = Some(reason);
                    break slot.wait(deadline - now);
                }
            }
        };
        self.last_request.mark();
        self.requesters.fetch_sub(1, Ordering::SeqCst);
        outcome
    }

    fn dispatch(&self, envelope: Envelope) {
        let sid = envelope
            .header(SID_HEADER)
            .and_then(|s| s.parse::<u64>().ok());
        match sid {
            Some(INBOX_SID) => {
                let id = envelope
                    .subject
                    .rsplit('.')
                    .next()
                    .and_then(|s| s.parse::<u64>().ok());
                if let Some(slot) = id.and_then(|id| lock(&self.pending).remove(&id)) {
                    slot.give(envelope);
                }
            }
            Some(sid) => {
                let subs = lock(&self.subs);
                if let Some(entry) = subs.get(&sid) {
                    let capacity = self.options.subscription_capacity.max(1);
                    if entry.queued.load(Ordering::Relaxed) >= capacity {
                        // A slow consumer: its newest messages go.
                        self.dropped.fetch_add(1, Ordering::Relaxed);
                    } else if entry.tx.send(envelope).is_ok() {
                        entry.queued.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            None if envelope.kind == ErrorReply::KIND => {
                let message = ErrorReply::from_envelope(&envelope)
                    .map(|e| e.message)
                    .unwrap_or_else(|e| e.to_string());
                tracing::warn!(client = %self.name, "the bus server reported: {message}");
            }
            None => {}
        }
    }

    /// Reconnects with exponential backoff; `false` once it gives up (the
    /// client is then closed) or the client is closing.
    fn reconnect(&self, reason: &str) -> bool {
        tracing::warn!(client = %self.name, "bus connection lost ({reason}); reconnecting");
        self.drop_link();
        lock(&self.reader).take();
        *lock(&self.status) = Status::Reconnecting;
        self.status_changed.notify_all();
        let mut delay = self.options.reconnect_delay;
        let mut last_error = reason.to_string();
        let started = std::time::Instant::now();
        let mut attempts = 0;
        for attempt in 1..=self.options.reconnect_attempts {
            let left = self.options.reconnect_for.saturating_sub(started.elapsed());
            if left.is_zero() {
                break;
            }
            if self.pause(delay.min(left)) {
                return false;
            }
            attempts = attempt;
            match Connection::establish(&self.path, &self.name, &self.options)
                .and_then(|c| self.install(c))
            {
                Ok(()) => {
                    self.reconnects.fetch_add(1, Ordering::Relaxed);
                    *lock(&self.status) = Status::Connected;
                    self.status_changed.notify_all();
                    tracing::info!(client = %self.name, attempt, "reconnected to the bus");
                    return true;
                }
                Err(e) => {
                    self.outbox.set_link(None);
                    // Said once; a server down for minutes is retried quietly.
                    if attempt == 1 {
                        tracing::warn!(client = %self.name, "reconnecting failed: {e}; retrying");
                    } else {
                        tracing::debug!(client = %self.name, attempt, "reconnecting failed: {e}");
                    }
                    last_error = e.to_string();
                }
            }
            delay = (delay * 2).min(self.options.max_reconnect_delay);
        }
        self.close(&format!(
            "gave up after {attempts} reconnection attempts in {:.1} s; last error: {last_error}",
            started.elapsed().as_secs_f64()
        ));
        false
    }

    /// Sleeps `delay` unless the client closes first; returns whether it
    /// is closing.
    fn pause(&self, delay: Duration) -> bool {
        self.wait_status(delay, |_| {
            self.closing.load(Ordering::Relaxed).then_some(())
        })
        .is_some()
    }
}
