//! The client's write side: frames from any thread, batched into as few
//! writes as the link allows.
//!
//! The first sender to find the link idle writes; senders that arrive while
//! it writes append their frames and return, and the writer picks them all
//! up in its next write. Appending waits once a few megabytes are pending,
//! so a server that stops reading slows its publishers instead of growing
//! memory.
//!
//! A lone sender streaming publishes would still make one write per
//! message (issue 22: a write per frame caps a socket at 0.22–0.25 M
//! frames/s where 64 per write reach 6–8 M/s). So a publish that comes
//! while publishing is
//! hot — the last write ended less than [`HOT`] ago — is left pending for
//! the flusher thread, which writes whatever has gathered meanwhile in one
//! go. A publish after a quiet spell, a request, a reply and every control
//! message are written at once, so latency is not traded for throughput.

use std::io::Write;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use super::ClientError;
use crate::clock::Stamp;
use crate::{Envelope, MSG, encode_frame};

const MAX_PENDING: usize = 4 << 20;

/// A publish within this long of the last write finishing is part of a
/// stream, and left to the flusher.
const HOT: Duration = Duration::from_micros(50);

#[derive(Default)]
struct State {
    link: Option<Box<dyn Write + Send>>,
    /// Bumped whenever the link is attached or detached, so a writer that
    /// was busy with an old link knows not to put it back.
    generation: u64,
    /// A sender is writing (to the link it took out of `link`).
    flushing: bool,
    pending: Vec<u8>,
    spare: Vec<u8>,
    /// Pending frames wait for the flusher thread.
    deferred: bool,
    /// The flusher thread runs.
    flusher: bool,
    /// The outbox is gone; the flusher thread ends.
    shut: bool,
    /// Senders waiting for room. A condvar's notify is a system call even
    /// with nobody waiting (std keeps no count), one per request on a
    /// shared-memory link: it is made only when someone waits.
    waiting_for_room: usize,
}

/// The frames waiting to be written and the link they go to.
#[derive(Default)]
pub(super) struct Outbox {
    inner: Arc<Inner>,
}

/// What the outbox and its flusher thread share.
#[derive(Default)]
pub(super) struct Inner {
    state: Mutex<State>,
    room: Condvar,
    /// Wakes the flusher thread.
    work: Condvar,
    last_write: Stamp,
}

impl std::ops::Deref for Outbox {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.inner
    }
}

impl Drop for Outbox {
    fn drop(&mut self) {
        self.lock().shut = true;
        self.work.notify_all();
    }
}

impl Outbox {
    pub(super) fn send(&self, envelope: &Envelope) -> Result<(), ClientError> {
        // Requests and replies wait on the other side; control frames are
        // few. Only plain publishes are worth gathering.
        let streamable =
            envelope.kind == MSG && envelope.reply_to.is_none() && envelope.correlation.is_none();
        let mut state = self.append(envelope)?;
        if state.flushing {
            return Ok(());
        }
        if streamable && (state.deferred || self.last_write.elapsed() < HOT) {
            if !state.deferred {
                state.deferred = true;
                if !std::mem::replace(&mut state.flusher, true) {
                    self.start_flusher();
                }
                drop(state);
                self.work.notify_one();
            }
            return Ok(());
        }
        state.deferred = false;
        self.flush(state)
    }

    /// Starts the thread that writes deferred frames. If it cannot start,
    /// frames are written in place as before.
    fn start_flusher(&self) {
        let inner = Arc::downgrade(&self.inner);
        let started = std::thread::Builder::new()
            .name("bus-client-flush".into())
            .spawn(move || {
                while let Some(inner) = inner.upgrade() {
                    let mut state = inner.lock();
                    // Asleep until told to stop or given frames nobody is
                    // writing.
                    let ready = |s: &State| s.shut || (s.deferred && !s.flushing);
                    while !ready(&state) {
                        state = inner.work.wait(state).unwrap_or_else(|e| e.into_inner());
                    }
                    if state.shut {
                        return;
                    }
                    state.deferred = false;
                    // A failed write detaches nothing here: the reader
                    // thread notices the broken link and reconnects.
                    let _ = inner.flush(state);
                }
            });
        if started.is_err() {
            self.lock().flusher = false;
        }
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        super::lock(&self.state)
    }

    /// Makes `link` the link frames are written to; with `None`, sends fail
    /// with `Disconnected` until the next link. What was pending for the
    /// old link is dropped.
    pub(super) fn set_link(&self, link: Option<Box<dyn Write + Send>>) {
        let mut state = self.lock();
        state.link = link;
        state.generation += 1;
        state.pending.clear();
        state.deferred = false;
        self.make_room(state);
    }

    /// Whether nothing is pending or being written.
    #[cfg(test)]
    pub(super) fn settled(&self) -> bool {
        let state = self.lock();
        state.pending.is_empty() && !state.flushing
    }

    /// How long since the last write finished.
    pub(super) fn idle_for(&self) -> Duration {
        self.last_write.elapsed()
    }

    /// Sends `envelope` only if that cannot wait: nothing pending and no
    /// write in progress (for heartbeats, which must not block the reader
    /// thread that also watches the server's liveness). Returns whether it
    /// was sent.
    pub(super) fn try_send(&self, envelope: &Envelope) -> bool {
        let mut state = self.lock();
        if state.link.is_none() || state.flushing || !state.pending.is_empty() {
            return false;
        }
        if encode_frame(envelope, &mut state.pending).is_err() {
            return false;
        }
        self.flush(state).is_ok()
    }

    /// Appends `envelope`'s frame to what is pending, waiting while too
    /// much is; returns the state still locked.
    fn append(&self, envelope: &Envelope) -> Result<MutexGuard<'_, State>, ClientError> {
        let mut state = self.lock();
        loop {
            if state.link.is_none() && !state.flushing {
                return Err(ClientError::Disconnected);
            }
            if state.pending.len() < MAX_PENDING {
                break;
            }
            state.waiting_for_room += 1;
            state = self
                .room
                .wait_timeout(state, Duration::from_millis(100))
                .unwrap_or_else(|e| e.into_inner())
                .0;
            state.waiting_for_room -= 1;
        }
        encode_frame(envelope, &mut state.pending)?;
        Ok(state)
    }

    /// Lets go of `state` and wakes the senders waiting for room, if any.
    fn make_room(&self, state: MutexGuard<'_, State>) {
        let waiting = state.waiting_for_room > 0;
        drop(state);
        if waiting {
            self.room.notify_all();
        }
    }

    /// Writes pending frames until none are left, without holding the lock
    /// while writing.
    fn flush<'a>(&'a self, mut state: MutexGuard<'a, State>) -> Result<(), ClientError> {
        loop {
            let Some(mut link) = state.link.take() else {
                state.pending.clear();
                return Err(ClientError::Disconnected);
            };
            let generation = state.generation;
            state.flushing = true;
            loop {
                let spare = std::mem::take(&mut state.spare);
                let mut batch = std::mem::replace(&mut state.pending, spare);
                drop(state);
                let written = link.write_all(&batch);
                batch.clear();
                self.last_write.mark();
                state = self.lock();
                state.spare = batch;
                if let Err(e) = written {
                    state.flushing = false;
                    if state.generation == generation {
                        state.pending.clear();
                    }
                    self.make_room(state);
                    return Err(ClientError::Io(e));
                }
                if state.generation != generation {
                    // A new link was attached meanwhile; the old one is
                    // dropped here and what is pending goes to the new one.
                    state.flushing = false;
                    break;
                }
                if state.pending.is_empty() {
                    state.link = Some(link);
                    state.flushing = false;
                    self.make_room(state);
                    return Ok(());
                }
            }
            if state.pending.is_empty() {
                self.make_room(state);
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests;
