//! The client's read side: the reader thread, requesters and subscribers
//! that read for themselves, dispatching, liveness and reconnecting.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError};
use std::time::{Duration, Instant};

use super::connection::{Connection, Reader};
use super::reply_slot::ReplySlot;
use super::{INBOX_SID, Shared, Status, Transport, lock, try_lock};
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

/// How long a subscriber polls for a message another thread reads and
/// hands over before sleeping: a stream's next message is usually
/// microseconds away, and a sleeping subscriber costs the giver a system
/// call to wake it.
const SUBSCRIPTION_SPIN: Duration = Duration::from_micros(20);

/// How long after a requester or subscriber stops waiting the reader
/// thread still leaves reading to it, and the longest a thread waiting for
/// another's hand-over sleeps before it tries to read for itself.
const OWN_READ_GRACE: Duration = Duration::from_millis(1);

impl Shared {
    pub(super) fn read_loop(self: Arc<Self>) {
        let mut seq = 0;
        loop {
            if self.closing.load(Ordering::Relaxed) {
                return;
            }
            let failure = if let Some(wait) = self.own_readers_active() {
                // Requesters read for themselves meanwhile; liveness and
                // heartbeats are looked after between these short naps.
                std::thread::sleep(wait);
                lock(&self.failure).take()
            } else {
                lock(&self.failure)
                    .take()
                    .or_else(|| self.read_once().err())
            };
            let failure = failure.or_else(|| self.check_liveness(&mut seq));
            if let Some(reason) = failure
                && (self.closing.load(Ordering::Relaxed) || !self.reconnect(&reason))
            {
                return;
            }
        }
    }

    /// How long the reader thread should leave the read side to the
    /// requesters and subscribers that read for themselves: while any
    /// wait, and for a moment after the last one, so a thread sending
    /// request after request, or taking a stream's messages one after
    /// another, keeps reading for itself instead of racing the reader
    /// thread for each.
    fn own_readers_active(&self) -> Option<Duration> {
        if self.own_readers.load(Ordering::SeqCst) > 0 {
            // Short waits, so the thread is back soon after the last
            // of them leaves (nothing wakes it; a wake-up per message
            // would cost them more). Never the reader lock here: one of
            // them holds it while it waits for data.
            return Some(OWN_READ_GRACE);
        }
        let since = self.last_own_read.elapsed();
        (since < OWN_READ_GRACE).then(|| OWN_READ_GRACE - since)
    }

    /// Reads and dispatches a burst of frames, waiting for them (nothing
    /// while reconnecting, a short nap while another thread holds the read
    /// side); `Err` says why the link failed.
    fn read_once(&self) -> Result<(), String> {
        // Not `lock`: a thread reading for itself may take the read side
        // again and again (a mutex is not fair), and this thread must get
        // back to its liveness checks and heartbeats meanwhile.
        let Some(mut guard) = try_lock(&self.reader) else {
            std::thread::sleep(OWN_READ_GRACE);
            return Ok(());
        };
        guard
            .as_mut()
            .map_or(Ok(()), |reader| self.read_burst(reader))
    }

    /// For a thread waiting on its own: if no other thread holds the read
    /// side, waits at most `timeout` for the link and reads and dispatches
    /// what came. `Ok(false)`: another thread holds it (or there is none
    /// while reconnecting) and will pass messages on; `Ok(true)`: this
    /// thread read, or waited `timeout` in vain.
    fn read_within(&self, timeout: Duration) -> Result<bool, String> {
        let Some(mut guard) = try_lock(&self.reader) else {
            return Ok(false);
        };
        let Some(reader) = guard.as_mut() else {
            return Ok(false);
        };
        match reader.frames.wait_readable(timeout) {
            Ok(true) => self.read_burst(reader).map(|()| true),
            Ok(false) => Ok(true),
            Err(e) => Err(format!("connection error: {e}")),
        }
    }

    /// Reads one frame, waiting up to the link's read timeout, and
    /// dispatches it with every frame the same read brought. Called with
    /// the read side held, so frames read by different threads are still
    /// dispatched in order.
    fn read_burst(&self, reader: &mut Reader) -> Result<(), String> {
        match reader.frames.next_delivery() {
            Ok((envelope, sid)) => {
                self.dispatch(envelope, sid);
                // A burst costs one clock read and one pass of the reader
                // loop's checks, not one per frame.
                let mut failed = None;
                while failed.is_none() && reader.frames.frame_ready() {
                    match reader.frames.next_delivery() {
                        Ok((envelope, sid)) => self.dispatch(envelope, sid),
                        Err(e) => failed = Some(e.to_string()),
                    }
                }
                self.last_read.mark();
                failed.map_or(Ok(()), Err)
            }
            Err(LinkError::TimedOut) => Ok(()),
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
        self.wait_reading(timeout, || slot.try_take(), |t| slot.wait(t))
    }

    /// Waits up to `timeout` for a subscription's next message (from
    /// `rx`), reading the link itself whenever no other thread is: the
    /// messages of a stream then reach their subscriber without a hand-over
    /// between threads, which measured 18–28% more messages a second
    /// through the bus server (issue 22). While another thread reads, it
    /// takes what that one passes on.
    pub(super) fn wait_for_message(
        &self,
        rx: &Receiver<Envelope>,
        timeout: Duration,
    ) -> Result<Envelope, RecvTimeoutError> {
        let try_take = || match rx.try_recv() {
            Ok(envelope) => Some(Ok(envelope)),
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => Some(Err(RecvTimeoutError::Disconnected)),
        };
        let wait_handed =
            |t| poll_then_wait(SUBSCRIPTION_SPIN, t, try_take, |t| rx.recv_timeout(t));
        if !cfg!(target_os = "linux") {
            // Only Linux links say in time whether a read would wait.
            return wait_handed(timeout);
        }
        self.wait_reading(timeout, try_take, wait_handed)
    }

    /// Waits up to `timeout` for what `try_take` finds, reading the link
    /// (and dispatching what it brings) whenever no other thread is; while
    /// another thread reads, waits in `wait_handed` for what it passes on.
    /// Reads at least once, however short `timeout` is, so a caller polling
    /// with no timeout still moves the link along. Once the link fails it
    /// stops reading for itself, so the reader thread, which reconnects,
    /// reads the new link.
    fn wait_reading<T>(
        &self,
        timeout: Duration,
        mut try_take: impl FnMut() -> Option<Result<T, RecvTimeoutError>>,
        mut wait_handed: impl FnMut(Duration) -> Result<T, RecvTimeoutError>,
    ) -> Result<T, RecvTimeoutError> {
        let deadline = deadline(timeout);
        self.own_readers.fetch_add(1, Ordering::SeqCst);
        let (mut tried, mut held) = (false, false);
        let outcome = loop {
            if let Some(outcome) = try_take() {
                break outcome;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() && tried {
                break Err(RecvTimeoutError::Timeout);
            }
            tried = true;
            match self.read_within(left) {
                Ok(true) => held = true,
                // Another thread reads and passes things on; back to
                // reading soon, in case it stops.
                Ok(false) => match wait_handed(left.min(OWN_READ_GRACE)) {
                    Err(RecvTimeoutError::Timeout) => {}
                    other => break other,
                },
                Err(reason) => {
                    *lock(&self.failure) = Some(reason);
                    self.own_readers.fetch_sub(1, Ordering::SeqCst);
                    return wait_handed(left);
                }
            }
        };
        if held {
            self.last_own_read.mark();
        }
        self.own_readers.fetch_sub(1, Ordering::SeqCst);
        outcome
    }

    /// Hands a delivery to whoever waits for it: the subscription `sid`
    /// names, the requester of a reply in the inbox.
    fn dispatch(&self, envelope: Envelope, sid: Option<u64>) {
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
