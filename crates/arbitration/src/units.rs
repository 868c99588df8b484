//! A counted resource (the host's parallel node slots): up to `capacity`
//! units held at once, handed to waiting requests by the strategy.
//!
//! While nobody waits, acquiring and releasing are one compare-and-swap
//! each on a word holding the units in use and the requests waiting, and
//! a counter per tenant: no lock, no clock, no allocation (for the first
//! 64 tenants; later ones take the lock). Once a request waits, every change goes through the lock, so
//! freed units reach the line in the strategy's order and nobody overtakes
//! it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use symphony_bus::Interrupt;
use tokio::sync::oneshot;

use crate::explain::{Conflict, Explanation, Verdict};
use crate::line::{Line, Resource, announce_wait, gave_up};
use crate::queue::Queue;
use crate::shared::{HoldTime, Shared};
use crate::strategy::Strategy;
use crate::{Requester, WaitError};

#[cfg(test)]
mod tests;

/// Tenants whose grants made at once are counted without the lock; others
/// (beyond this many tenants) take the locked path.
const COUNTED_TENANTS: usize = 64;

/// The state word: units in use in the low half, requests waiting in the
/// high half.
const WAITER: u64 = 1 << 32;

fn in_use(word: u64) -> u64 {
    word & (WAITER - 1)
}

fn waiting(word: u64) -> u64 {
    word >> 32
}

/// A resource of interchangeable units with a strategy for its line.
pub struct Units {
    name: Arc<str>,
    /// Its index in the ledger.
    index: usize,
    /// What is announced when a request has to wait.
    conflict: Conflict,
    shared: Arc<Shared>,
    /// Units in use and requests waiting (see [`WAITER`]).
    word: AtomicU64,
    capacity: u64,
    /// Grants made at once without the lock, by tenant, since the start.
    free: [AtomicU64; COUNTED_TENANTS],
    /// How long units are held, for wait estimates. Until a hold has been
    /// timed, grants made at once read the clock so the first waiter gets
    /// an estimate; after that only grants from the line are timed.
    hold: HoldTime,
    state: Mutex<State>,
}

struct State {
    line: Line<Grant>,
    /// `free` as it was when the usage was last taken.
    flushed: [u64; COUNTED_TENANTS],
}

/// What a waiting request is sent when served.
struct Grant {
    tx: oneshot::Sender<()>,
    requester: Requester,
}

/// Units held; dropping it gives them back (and hands them to the next in
/// line).
#[must_use = "the units are given back when the permit is dropped"]
pub struct Permit<'a> {
    units: &'a Units,
    count: u64,
    /// When they were granted, when the hold is timed.
    acquired: Option<Instant>,
}

impl Permit<'_> {
    /// How many units it holds.
    pub fn count(&self) -> u64 {
        self.count
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        self.units.release(self.count, self.acquired);
    }
}

impl std::fmt::Debug for Permit<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Permit({} of {})", self.count, self.units.name)
    }
}

/// Where a request stands after its first try.
enum Tried<'a> {
    Granted(Permit<'a>),
    Queued {
        rx: oneshot::Receiver<()>,
        seq: u64,
        explanation: Explanation,
    },
}

impl Units {
    pub(crate) fn new(
        name: &str,
        capacity: u64,
        strategy: Box<dyn Strategy>,
        conflict: Conflict,
        shared: Arc<Shared>,
    ) -> Arc<Self> {
        let index = shared.resource_index();
        Arc::new(Units {
            name: name.into(),
            index,
            conflict,
            shared,
            word: AtomicU64::new(0),
            capacity: capacity.clamp(1, WAITER - 1),
            free: std::array::from_fn(|_| AtomicU64::new(0)),
            hold: HoldTime::default(),
            state: Mutex::new(State {
                line: Line::new(Queue::new(strategy, Instant::now())),
                flushed: [0; COUNTED_TENANTS],
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every update leaves the state whole.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Who it is, for its line.
    fn resource(&self, capacity: u64) -> Resource<'_> {
        Resource {
            name: &self.name,
            index: self.index,
            capacity,
            shared: &self.shared,
        }
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// (units held, capacity, requests waiting).
    pub fn usage(&self) -> (u64, u64, usize) {
        let word = self.word.load(Ordering::Acquire);
        let capacity = self.capacity;
        (in_use(word), capacity, waiting(word) as usize)
    }

    /// Takes `count` units for `requester` if they are free and nobody
    /// waits; `None` otherwise.
    #[inline]
    pub fn try_acquire(&self, requester: &Requester, count: u64) -> Option<Permit<'_>> {
        let capacity = self.capacity;
        let counter = self.free.get(requester.tenant.id as usize)?;
        let mut word = self.word.load(Ordering::Acquire);
        loop {
            if waiting(word) > 0 || count > capacity.saturating_sub(in_use(word)) {
                return None;
            }
            match self.word.compare_exchange_weak(
                word,
                word + count,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => break,
                Err(now) => word = now,
            }
        }
        counter.fetch_add(1, Ordering::Relaxed);
        Some(Permit {
            units: self,
            count,
            acquired: self.untimed().then(Instant::now),
        })
    }

    /// Whether no hold has been timed yet.
    #[inline]
    fn untimed(&self) -> bool {
        !self.hold.is_known()
    }

    /// Under the lock: takes `count` units if they are free and nobody
    /// waits, or counts one more request waiting. `true` when taken.
    fn take_or_wait(&self, count: u64, capacity: u64) -> bool {
        let mut word = self.word.load(Ordering::Acquire);
        loop {
            let take = waiting(word) == 0 && count <= capacity.saturating_sub(in_use(word));
            let next = if take { word + count } else { word + WAITER };
            match self
                .word
                .compare_exchange(word, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return take,
                Err(now) => word = now,
            }
        }
    }

    fn try_or_queue(&self, requester: &Requester, count: u64) -> Result<Tried<'_>, WaitError> {
        if let Some(permit) = self.try_acquire(requester, count) {
            return Ok(Tried::Granted(permit));
        }
        let now = Instant::now();
        let mut state = self.lock();
        let capacity = self.capacity;
        if count > capacity {
            drop(state);
            self.shared.decide(
                &self.name,
                requester,
                Verdict::Refused,
                || format!("asks for {count} units of {capacity}"),
                Duration::ZERO,
            );
            return Err(WaitError::TooLarge {
                resource: Arc::clone(&self.name),
                label: Arc::clone(&requester.label),
                units: count,
                capacity,
            });
        }
        let tenant = requester.tenant.id;
        if self.take_or_wait(count, capacity) {
            // Free after all (or a tenant counted under the lock).
            state.line.track.count_free(tenant);
            return Ok(Tried::Granted(Permit {
                units: self,
                count,
                acquired: Some(now),
            }));
        }
        let (tx, rx) = oneshot::channel();
        let grant = Grant {
            tx,
            requester: requester.clone(),
        };
        let estimate = |position| self.hold.estimate_ms(position, capacity);
        let (seq, explanation) = state.line.join(
            &self.resource(capacity),
            requester,
            count,
            now,
            estimate,
            grant,
        );
        Ok(Tried::Queued {
            rx,
            seq,
            explanation,
        })
    }

    /// Takes `count` units for `requester`, waiting in line by the
    /// resource's strategy until `until` or `interrupt`. Dropping the
    /// future gives up its place (or the units, if they were just granted).
    pub async fn acquire(
        &self,
        requester: &Requester,
        count: u64,
        until: Option<Instant>,
        interrupt: Option<&Interrupt>,
    ) -> Result<Permit<'_>, WaitError> {
        let (rx, seq, explanation) = match self.try_or_queue(requester, count)? {
            Tried::Granted(permit) => return Ok(permit),
            Tried::Queued {
                rx,
                seq,
                explanation,
            } => (rx, seq, explanation),
        };
        let began = Instant::now();
        self.queued(requester, &explanation);
        // `rx` outlives `pending` and the select: a grant sent as the wait
        // gives up (the lock orders the two) is still there to be taken,
        // never bounced back into the count.
        let mut rx = rx;
        let mut pending = Pending {
            units: self,
            tenant: requester.tenant.id,
            count,
            seq,
            armed: true,
        };
        let stop = crate::stopped(until, interrupt);
        let interrupted = tokio::select! {
            granted = &mut rx => {
                pending.armed = false;
                return match granted {
                    Ok(()) => Ok(self.granted(count)),
                    // Senders are only dropped after sending; kept for
                    // completeness, as the resource closing.
                    Err(_) => Err(WaitError::Closed {
                        resource: Arc::clone(&self.name),
                        label: Arc::clone(&requester.label),
                    }),
                };
            }
            why = stop => why,
        };
        pending.armed = false;
        let mut state = self.lock();
        let capacity = self.capacity;
        let position = state
            .line
            .position(&self.resource(capacity), requester.tenant.id, seq);
        if !self.leave(&mut state, requester.tenant.id, seq) {
            // Served as it gave up: take what it was given.
            drop(state);
            return Ok(self.granted(count));
        }
        drop(state);
        Err(gave_up(
            &self.shared,
            &self.name,
            requester,
            interrupted,
            began.elapsed(),
            position,
        ))
    }

    /// [`acquire`](Self::acquire) for a thread outside any async runtime.
    pub fn acquire_blocking(
        &self,
        requester: &Requester,
        count: u64,
        until: Option<Instant>,
        interrupt: Option<&Interrupt>,
    ) -> Result<Permit<'_>, WaitError> {
        if let Some(permit) = self.try_acquire(requester, count) {
            return Ok(permit);
        }
        crate::block_on(self.acquire(requester, count, until, interrupt)).unwrap_or_else(|| {
            Err(WaitError::NoTimer {
                resource: Arc::clone(&self.name),
                label: Arc::clone(&requester.label),
            })
        })
    }

    /// The permit for units granted from the line (already counted as in
    /// use); its hold is timed, for the estimates.
    fn granted(&self, count: u64) -> Permit<'_> {
        Permit {
            units: self,
            count,
            acquired: Some(Instant::now()),
        }
    }

    /// Under the lock: takes request `seq` of `tenant` out of the line,
    /// and serves the line (it may have held back smaller requests behind
    /// it). `false` if it was not in line (it was served).
    fn leave(&self, state: &mut State, tenant: u32, seq: u64) -> bool {
        if state.line.queue.remove(tenant, seq).is_none() {
            return false;
        }
        self.word.fetch_sub(WAITER, Ordering::AcqRel);
        self.serve(state, Instant::now());
        true
    }

    /// Tells everyone that `requester` waits.
    fn queued(&self, requester: &Requester, explanation: &Explanation) {
        announce_wait(
            &self.shared,
            &self.name,
            self.conflict,
            requester,
            explanation,
        );
    }

    /// Gives back `count` units (held since `acquired`, when timed) and,
    /// if requests wait, serves the line.
    #[inline]
    fn release(&self, count: u64, acquired: Option<Instant>) {
        if let Some(acquired) = acquired {
            self.hold.record(acquired.elapsed());
        }
        let mut word = self.word.load(Ordering::Acquire);
        while waiting(word) == 0 {
            match self.word.compare_exchange_weak(
                word,
                word - count,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return,
                Err(now) => word = now,
            }
        }
        // Someone waits: under the lock, so the units go to the line.
        let mut state = self.lock();
        self.word.fetch_sub(count, Ordering::AcqRel);
        self.serve(&mut state, Instant::now());
    }

    /// Hands free units to waiting requests, by the strategy (or to a
    /// boosted tenant first). The request served next must fit: a large
    /// request is not passed over by smaller ones behind it. Under the
    /// lock.
    fn serve(&self, state: &mut State, now: Instant) {
        let capacity = self.capacity;
        let at = self.resource(capacity);
        let mut served = false;
        while !state.line.queue.is_empty() {
            let free = capacity.saturating_sub(in_use(self.word.load(Ordering::Acquire)));
            let Some(waiter) = state.line.next(&at, now, |entry| entry.units <= free) else {
                break;
            };
            let entry = waiter.entry;
            // One fewer waiting, its units in use: one step, so the fast
            // path never sees the line empty with the units still free.
            self.word
                .fetch_add(entry.units.wrapping_sub(WAITER), Ordering::AcqRel);
            let Grant { tx, requester } = waiter.payload;
            if tx.send(()).is_err() {
                // It gave up as it was served.
                self.word.fetch_sub(entry.units, Ordering::AcqRel);
                continue;
            }
            served = true;
            state.line.granted(&at, &requester, &entry, now);
        }
        if served {
            state.line.served(&at);
        }
    }

    /// Grants by tenant since the last call, for the log: (tenant, all,
    /// made at once).
    pub(crate) fn take_usage(&self) -> Vec<(u32, u64, u64)> {
        let mut state = self.lock();
        let mut usage = state.line.track.take_usage();
        for (tenant, counter) in self.free.iter().enumerate() {
            let total = counter.load(Ordering::Relaxed);
            let free = total - state.flushed[tenant];
            state.flushed[tenant] = total;
            if free == 0 {
                continue;
            }
            match usage.iter_mut().find(|(t, _, _)| *t as usize == tenant) {
                Some(row) => {
                    row.1 += free;
                    row.2 += free;
                }
                None => usage.push((tenant as u32, free, free)),
            }
        }
        usage
    }

    /// A snapshot for the stats.
    pub(crate) fn snapshot(&self) -> crate::stats::ResourceView {
        let mut state = self.lock();
        state.line.track.trim(Instant::now(), self.shared.window);
        let free: Vec<(u32, u64)> = self
            .free
            .iter()
            .enumerate()
            .map(|(t, c)| (t as u32, c.load(Ordering::Relaxed)))
            .filter(|(_, n)| *n > 0)
            .collect();
        let (in_use, capacity, _) = self.usage();
        let mut view = crate::stats::ResourceView::of(
            &self.name,
            state.line.queue.strategy().kind(),
            capacity,
            in_use,
            state.line.queue.len(),
            &state.line.track,
        );
        view.add_free(&free);
        view
    }
}

/// A request in line; dropped while armed (its future was dropped), it
/// leaves the line, or gives back what it was just granted.
struct Pending<'a> {
    units: &'a Units,
    tenant: u32,
    count: u64,
    seq: u64,
    armed: bool,
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let mut state = self.units.lock();
        if !self.units.leave(&mut state, self.tenant, self.seq) {
            drop(state);
            self.units.release(self.count, None);
        }
    }
}
