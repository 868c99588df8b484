//! The client's write side: frames from any thread, batched into as few
//! writes as the link allows.
//!
//! The first sender to find the link idle writes; senders that arrive while
//! it writes append their frames and return, and the writer picks them all
//! up in its next write. Appending waits once a few megabytes are pending,
//! so a server that stops reading slows its publishers instead of growing
//! memory.

use std::io::Write;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

use super::ClientError;
use crate::clock::Stamp;
use crate::{Envelope, encode_frame};

const MAX_PENDING: usize = 4 << 20;

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
}

#[derive(Default)]
pub(super) struct Outbox {
    state: Mutex<State>,
    room: Condvar,
    last_write: Stamp,
}

impl Outbox {
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
        drop(state);
        self.room.notify_all();
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

    pub(super) fn send(&self, envelope: &Envelope) -> Result<(), ClientError> {
        let mut state = self.lock();
        loop {
            if state.link.is_none() && !state.flushing {
                return Err(ClientError::Disconnected);
            }
            if state.pending.len() < MAX_PENDING {
                break;
            }
            state = self
                .room
                .wait_timeout(state, Duration::from_millis(100))
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        encode_frame(envelope, &mut state.pending)?;
        if state.flushing {
            return Ok(());
        }
        self.flush(state)
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
                    drop(state);
                    self.room.notify_all();
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
                    drop(state);
                    self.room.notify_all();
                    return Ok(());
                }
            }
            if state.pending.is_empty() {
                drop(state);
                self.room.notify_all();
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests;
