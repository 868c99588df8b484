//! The instances of one extension version: the idle ones kept for reuse,
//! and each instance's walk through the Pool Manager's lifecycle (Cold →
//! Warming → Hot → Cooling → Cold, or Failed → Cold).

use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use symphony_arbitration::{Handoff, Requester, Ticket, WaitError};
use symphony_bus::Interrupt;

use super::{ExtensionMetrics, Limits};
use crate::CallError;
use crate::pool::{
    Evict, InstanceKey, InstanceLifecycle, Keep, PoolEvent, PoolManager, PoolState, PrewarmOutcome,
};
use crate::{Instance, block_on};
use symphony_bus::Signal;

/// Transitions each instance keeps (its life is short and regular).
const HISTORY: usize = 16;

/// A live instance with its place in the Pool Manager, checked out of its
/// pool: give it back with `Extension::release`.
pub struct Pooled {
    /// Boxed: a pooled instance changes hands several times a call (out of
    /// the pool, into the call, back), and its exports take hundreds of
    /// bytes to copy each time.
    pub(crate) instance: Box<Instance>,
    key: InstanceKey,
    life: InstanceLifecycle,
    /// How long the checkout that handed it out waited in line (zero when
    /// it was free), so a call's own time is known without another clock
    /// read.
    pub(crate) waited: Duration,
    /// The size the hot set holds for it, as of its admission or its last
    /// check-in: a check-in at the same size, with the hot set unchanged
    /// since, is kept without taking the hot set's lock.
    hot_bytes: usize,
}

impl Pooled {
    /// Takes a lifecycle step; an invalid one is a bug here, logged rather
    /// than failing a call over it.
    fn step(&mut self, to: PoolState, reason: impl Into<String>) {
        step(&mut self.life, to, reason);
    }
}

fn step(life: &mut InstanceLifecycle, to: PoolState, reason: impl Into<String>) {
    if let Err(e) = life.transition(to, reason) {
        tracing::warn!("{e}");
    }
}

/// Why an instance is checked out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Demand {
    /// For a call: counted as a hit or a miss.
    Call,
    /// To activate the extension: its first instance, not a call.
    Activation,
}

/// How long a checkout may wait for a busy instance to come back, and for
/// which call (named in the error if none does).
pub(crate) struct Wait<'a> {
    /// The export the instance is for.
    pub(crate) function: &'static str,
    /// When the call must end.
    pub(crate) until: Instant,
    /// Ends the wait early when set.
    pub(crate) interrupt: Option<&'a Interrupt>,
    /// Who asks: its place in line when every instance is busy (the
    /// manager's default requester when `None`).
    pub(crate) requester: Option<&'a Requester>,
}

/// Idle instances, reused most-recently-returned first so a warm instance
/// (and an Addon's UI state) keeps serving sequential calls.
pub(crate) struct InstancePool {
    state: Mutex<Shelf>,
    /// Wakes threads waiting for an instance (snapshots, drains).
    returned: Signal,
    /// Calls waiting for an instance while every one is busy, in the
    /// Arbitration Engine's line for this extension: a returning instance
    /// (or room to start one) goes to the request its strategy picks.
    line: Arc<Handoff<Handed>>,
    /// This pool, for what it hands to waiting calls to come back to.
    me: Weak<InstancePool>,
    max: usize,
    /// This pool's id in the Pool Manager.
    id: u64,
    /// The extension's name, for instance names and errors.
    name: Arc<str>,
    /// Whether its instances count against the host's hot budget:
    /// Instruments and Operators do; an Addon's one instance holds its UI
    /// state, so it is never evicted.
    managed: bool,
    manager: Arc<PoolManager>,
    /// The extension's metrics, whose pool counters this pool updates.
    metrics: Arc<ExtensionMetrics>,
    /// The limits and epoch ticks the shutdown hooks run with.
    limits: Limits,
    deadline_ticks: u64,
}

struct Shelf {
    idle: Vec<Pooled>,
    /// Instances that exist: idle plus checked out plus being created.
    live: usize,
    /// Set when the extension version stops serving (deactivated, replaced
    /// by a reload, quarantined): no new instances, and instances coming
    /// back are shut down instead of kept.
    closed: bool,
}

/// What to build an [`InstancePool`] with.
pub(crate) struct PoolSetup {
    pub(crate) name: Arc<str>,
    pub(crate) managed: bool,
    pub(crate) max: usize,
    pub(crate) manager: Arc<PoolManager>,
    pub(crate) metrics: Arc<ExtensionMetrics>,
    pub(crate) limits: Limits,
    pub(crate) deadline_ticks: u64,
}

impl InstancePool {
    pub(crate) fn new(setup: PoolSetup) -> Arc<Self> {
        let id = setup.manager.pool_id();
        let max = setup.max.max(1);
        let line = setup
            .manager
            .arbiter()
            .instances::<Handed>(&setup.name, max as u64);
        let pool = Arc::new_cyclic(|me| InstancePool {
            state: Mutex::new(Shelf {
                idle: Vec::new(),
                live: 0,
                closed: false,
            }),
            returned: Signal::default(),
            line,
            me: me.clone(),
            max,
            id,
            name: setup.name,
            managed: setup.managed,
            manager: setup.manager,
            metrics: setup.metrics,
            limits: setup.limits,
            deadline_ticks: setup.deadline_ticks,
        });
        pool.manager
            .register(id, Arc::downgrade(&pool) as Weak<InstancePool>);
        pool
    }

    fn lock(&self) -> MutexGuard<'_, Shelf> {
        // A panic while holding the lock leaves the state consistent (every
        // update is a single push, pop or counter change), so keep going.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// This pool's id in the Pool Manager.
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// The host's Pool Manager.
    pub(crate) fn manager(&self) -> &PoolManager {
        &self.manager
    }

    /// An idle instance (a hit), or a new one from `create` while under
    /// the maximum (a miss); otherwise waits in the Arbitration Engine's
    /// line, as `wait` allows, for one to be handed over. `None` once the
    /// pool is closed. Hits and misses are counted for calls, not for an
    /// activation.
    pub(crate) async fn checkout(
        &self,
        demand: Demand,
        wait: Wait<'_>,
        create: impl AsyncFnOnce() -> Result<Instance, CallError>,
    ) -> Option<Result<Pooled, CallError>> {
        let requester = wait.requester.unwrap_or(self.manager.default_requester());
        // The slow paths are boxed: inline, their large futures would make
        // every call's future larger, and moving it dearer.
        match self.take_or_reserve(demand, requester)? {
            Take::Idle(pooled) => Some(Ok(pooled)),
            Take::Reserved(reason) => Some(Box::pin(self.start(create, reason, requester)).await),
            Take::Wait(ticket) => {
                Box::pin(self.wait_for_one(demand, wait, create, ticket, requester)).await
            }
        }
    }

    /// [`InstancePool::checkout`] once every instance is busy: waits in
    /// line for an instance (or room to start one) until the wait's
    /// deadline or interrupt.
    async fn wait_for_one(
        &self,
        demand: Demand,
        wait: Wait<'_>,
        create: impl AsyncFnOnce() -> Result<Instance, CallError>,
        ticket: Ticket<Handed>,
        requester: &Requester,
    ) -> Option<Result<Pooled, CallError>> {
        let began = Instant::now();
        ticket.announce();
        let handed = match ticket.wait(Some(wait.until), wait.interrupt).await {
            Ok(handed) => handed,
            Err(WaitError::Closed { .. }) => return None,
            Err(WaitError::Interrupted { .. }) => {
                return Some(Err(CallError::Interrupted {
                    extension: self.name.to_string(),
                    function: wait.function,
                    waiting: Some(format!(
                        "for one of its {} instances to finish another call",
                        self.max
                    )),
                }));
            }
            Err(WaitError::Deadline { position, .. }) => {
                return Some(Err(CallError::Busy {
                    extension: self.name.to_string(),
                    max_instances: self.max,
                    waited: began.elapsed(),
                    position: Some(position),
                }));
            }
            Err(other) => {
                // No timer on this thread, or a request for more than one
                // instance: neither happens for a call; report it as busy.
                tracing::warn!(extension = %self.name, "waiting for an instance: {other}");
                return Some(Err(CallError::Busy {
                    extension: self.name.to_string(),
                    max_instances: self.max,
                    waited: began.elapsed(),
                    position: None,
                }));
            }
        };
        match handed.into_inner()? {
            Handing::Instance(pooled) => {
                if demand == Demand::Call {
                    self.manager.count(&self.metrics.pool, PoolEvent::Hit);
                }
                if self.managed {
                    self.manager.touch(pooled.key, requester.priority);
                }
                Some(Ok(pooled))
            }
            Handing::Room => {
                if demand == Demand::Call {
                    self.manager.count(&self.metrics.pool, PoolEvent::Miss);
                }
                Some(
                    self.start(create, "a waiting call was given room for one", requester)
                        .await,
                )
            }
        }
    }

    /// The step of [`InstancePool::checkout`] taken under the lock: an
    /// idle instance, a place to start one in, or a place in line (taken
    /// under the lock, so an instance returned just after is handed to
    /// it). `None` when the pool is closed.
    fn take_or_reserve(&self, demand: Demand, requester: &Requester) -> Option<Take> {
        let mut state = self.lock();
        if state.closed {
            return None;
        }
        if let Some(pooled) = state.idle.pop() {
            drop(state);
            if demand == Demand::Call {
                self.manager.count(&self.metrics.pool, PoolEvent::Hit);
            }
            if self.managed {
                self.manager.touch(pooled.key, requester.priority);
            }
            return Some(Take::Idle(pooled));
        }
        if state.live < self.max {
            state.live += 1;
            drop(state);
            let reason = match demand {
                Demand::Call => {
                    self.manager.count(&self.metrics.pool, PoolEvent::Miss);
                    "a call needed an instance"
                }
                Demand::Activation => "activated",
            };
            return Some(Take::Reserved(reason));
        }
        Some(Take::Wait(self.line.enqueue(requester)))
    }

    /// Records how long a call held an instance, for the wait estimates
    /// of calls in line.
    #[inline]
    pub(crate) fn observe_call(&self, held: Duration) {
        self.line.observe_hold(held);
    }

    /// Hands room to start an instance to the call first in line, if one
    /// waits and there is room; under the pool's lock.
    fn offer_room(&self, state: &mut Shelf) {
        if state.closed || state.live >= self.max || self.line.waiting() == 0 {
            return;
        }
        state.live += 1;
        if let Err(back) = self.line.offer(Handed::new(&self.me, Handing::Room)) {
            back.defuse();
            state.live -= 1;
        }
    }

    /// Wakes the threads waiting for an instance (snapshots, drains).
    fn wake_all(&self) {
        self.returned.notify_all();
    }

    /// Starts an instance already counted as live: Cold → Warming → Hot,
    /// timed, admitted to the hot set (evicting others if need be); or
    /// Warming → Failed → Cold when it cannot start.
    async fn start(
        &self,
        create: impl AsyncFnOnce() -> Result<Instance, CallError>,
        reason: &str,
        requester: &Requester,
    ) -> Result<Pooled, CallError> {
        let number = self.manager.instance_id();
        let key = InstanceKey {
            pool: self.id,
            instance: number,
        };
        let mut life = InstanceLifecycle::with_history(
            format!("{}#{number}", self.name),
            self.manager.listeners.clone(),
            HISTORY,
        );
        step(&mut life, PoolState::Warming, reason);
        let started = Instant::now();
        // Dropped while starting (its caller was stopped), the instance
        // that never was stops counting as live.
        let mut starting = Starting(Some(self));
        let created = create().await;
        starting.0 = None;
        match created {
            Ok(instance) => {
                let elapsed = started.elapsed();
                self.manager.record_load(&self.metrics.pool, elapsed);
                let bytes = instance.memory_bytes();
                let mut pooled = Pooled {
                    instance: Box::new(instance),
                    key,
                    life,
                    waited: Duration::ZERO,
                    hot_bytes: bytes,
                };
                pooled.step(
                    PoolState::Hot,
                    format!("started in {} µs with {bytes} bytes", elapsed.as_micros()),
                );
                if self.managed {
                    let evicted = self.manager.admit(key, bytes, requester, &self.name);
                    self.manager.settle(evicted);
                }
                Ok(pooled)
            }
            Err(error) => {
                step(&mut life, PoolState::Failed, error.to_string());
                step(&mut life, PoolState::Cold, "discarded");
                self.manager.count(&self.metrics.pool, PoolEvent::Failure);
                self.forget_one();
                Err(error)
            }
        }
    }

    /// Returns a healthy instance for reuse. It cools instead (its
    /// shutdown hooks run) when the pool is closed or the instance left
    /// the hot set during its call; others evicted to make room for its
    /// growth cool too.
    pub(crate) fn checkin(&self, mut pooled: Pooled) {
        let bytes = if self.managed {
            pooled.instance.memory_bytes()
        } else {
            0
        };
        let mut state = self.lock();
        let verdict = if state.closed {
            Err("its extension version stopped serving")
        } else if self.managed {
            match self.manager.keep(pooled.key, bytes, pooled.hot_bytes) {
                Keep::Kept(evicted) => {
                    pooled.hot_bytes = bytes;
                    Ok(evicted)
                }
                Keep::Evicted => Err("evicted from the hot set while in a call"),
                Keep::TooLarge => Err("its memory outgrew the host's whole hot budget"),
                Keep::Outranked => {
                    Err("its memory grew and only higher-priority instances could make room")
                }
            }
        } else {
            Ok(Vec::new())
        };
        match verdict {
            Ok(evicted) => {
                // A call waiting in line gets it straight away.
                let kept = if self.line.waiting() > 0 {
                    match self
                        .line
                        .offer(Handed::new(&self.me, Handing::Instance(pooled)))
                    {
                        Ok(()) => None,
                        Err(back) => back.into_pooled(),
                    }
                } else {
                    Some(pooled)
                };
                if let Some(pooled) = kept {
                    state.idle.push(pooled);
                }
                drop(state);
                self.returned.notify_one();
                if !evicted.is_empty() {
                    self.manager.settle(evicted);
                }
            }
            Err(reason) => {
                state.live -= 1;
                self.offer_room(&mut state);
                drop(state);
                self.wake_all();
                self.cool(pooled, reason);
            }
        }
    }

    /// Hot → Cooling → Cold: out of the hot set, shutdown hooks run.
    fn cool(&self, mut pooled: Pooled, reason: &str) {
        if self.managed {
            self.manager.forget(pooled.key);
        }
        pooled.step(PoolState::Cooling, reason);
        let Pooled {
            instance, mut life, ..
        } = pooled;
        let shut_down = instance.shut_down(&self.limits, self.deadline_ticks);
        if let Err(e) = block_on(shut_down) {
            tracing::warn!(extension = %self.name, "shutdown hooks did not run: {e}");
        }
        step(&mut life, PoolState::Cold, "shut down");
    }

    /// The most recently returned idle instance, waiting up to `wait` for
    /// one to come back while every live instance is busy: `Ok(None)` when
    /// there is none (or the pool is closed), `Err` when none came back in
    /// time. The instance stays counted as live: give it back with
    /// [`InstancePool::checkin`].
    pub(crate) fn take_idle(&self, wait: Duration) -> Result<Option<Pooled>, ()> {
        let until = symphony_protocol::clock::deadline(wait);
        let mut state = self.lock();
        loop {
            if let Some(pooled) = state.idle.pop() {
                return Ok(Some(pooled));
            }
            if state.live == 0 || state.closed {
                return Ok(None);
            }
            state = self.returned.wait_until(state, until).ok_or(())?;
        }
    }

    /// The numbers of the idle instances now.
    pub(crate) fn idle_numbers(&self) -> Vec<u64> {
        self.lock().idle.iter().map(|p| p.key.instance).collect()
    }

    /// The idle instance `number`, if it is still idle; it stays counted
    /// as live: give it back with [`InstancePool::checkin`].
    pub(crate) fn take(&self, number: u64) -> Option<Pooled> {
        let mut state = self.lock();
        let at = state.idle.iter().position(|p| p.key.instance == number)?;
        Some(state.idle.remove(at))
    }

    /// Idle and live instances now.
    pub(crate) fn counts(&self) -> (usize, usize) {
        let state = self.lock();
        (state.idle.len(), state.live)
    }

    /// Stops the pool: takes every idle instance out (for
    /// [`InstancePool::shut_down`]) and makes later check-ins cool theirs.
    pub(crate) fn close(&self) -> Vec<Pooled> {
        let mut state = self.lock();
        state.closed = true;
        let idle = std::mem::take(&mut state.idle);
        state.live -= idle.len();
        // Calls in line learn it closed (their senders dropped), and go
        // to the version that replaces it.
        let waiting = self.line.drain();
        drop(state);
        drop(waiting);
        self.wake_all();
        idle
    }

    /// Cools instances taken by [`InstancePool::close`].
    pub(crate) fn shut_down(&self, instances: Vec<Pooled>) {
        for pooled in instances {
            self.cool(pooled, "its extension version stopped serving");
        }
    }

    /// Serves again after [`InstancePool::close`].
    pub(crate) fn reopen(&self) {
        self.lock().closed = false;
    }

    /// Drops an instance that must not be reused (Hot → Failed → Cold).
    pub(crate) fn discard(&self, mut pooled: Pooled, reason: String) {
        if self.managed {
            self.manager.forget(pooled.key);
        }
        pooled.step(PoolState::Failed, reason);
        let Pooled {
            instance, mut life, ..
        } = pooled;
        drop(instance);
        step(&mut life, PoolState::Cold, "discarded");
        self.manager.count(&self.metrics.pool, PoolEvent::Failure);
        self.forget_one();
    }

    /// Counts an eviction of instance `number` from the hot set and cools
    /// it if it is idle; one in a call cools when it comes back.
    fn evict_instance(&self, number: u64) {
        self.manager.count(&self.metrics.pool, PoolEvent::Eviction);
        let mut state = self.lock();
        let Some(at) = state.idle.iter().position(|p| p.key.instance == number) else {
            return;
        };
        let pooled = state.idle.remove(at);
        state.live -= 1;
        self.offer_room(&mut state);
        drop(state);
        self.wake_all();
        self.cool(
            pooled,
            "evicted: least recently used beyond the host's hot budget",
        );
    }

    /// Starts one instance ahead of demand unless one is idle already, the
    /// pool is full or closed.
    pub(crate) async fn prewarm(
        &self,
        create: impl AsyncFnOnce() -> Result<Instance, CallError>,
    ) -> PrewarmOutcome {
        if let Err(outcome) = self.reserve_for_prewarm() {
            return outcome;
        }
        let started = Instant::now();
        let requester = self.manager.default_requester();
        match self.start(create, "prewarmed", requester).await {
            Ok(pooled) => {
                self.manager.count(&self.metrics.pool, PoolEvent::Prewarm);
                self.checkin(pooled);
                PrewarmOutcome::Started {
                    load_us: u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
                }
            }
            Err(error) => PrewarmOutcome::Failed {
                error: error.to_string(),
            },
        }
    }

    /// Counts one more instance as live for [`InstancePool::prewarm`], or
    /// says why none is started.
    fn reserve_for_prewarm(&self) -> Result<(), PrewarmOutcome> {
        let mut state = self.lock();
        if state.closed {
            return Err(PrewarmOutcome::NotServing);
        }
        if !state.idle.is_empty() {
            return Err(PrewarmOutcome::AlreadyHot);
        }
        if state.live >= self.max {
            return Err(PrewarmOutcome::AtCapacity);
        }
        state.live += 1;
        Ok(())
    }

    /// Waits until no instance is live (all came back from their calls and
    /// were cooled) or `until` passes; returns how many are still live.
    pub(crate) fn wait_drained(&self, until: Instant) -> usize {
        let mut state = self.lock();
        loop {
            if state.live == 0 {
                return 0;
            }
            match self.returned.wait_until(state, until) {
                Some(next) => state = next,
                None => return self.lock().live,
            }
        }
    }

    fn forget_one(&self) {
        let mut state = self.lock();
        state.live -= 1;
        self.offer_room(&mut state);
        drop(state);
        // All: a snapshot waiting in `take_idle` must not swallow the wake-up
        // a caller that may now create an instance needs.
        self.wake_all();
    }
}

/// What [`InstancePool::take_or_reserve`] found.
#[allow(
    clippy::large_enum_variant,
    reason = "returned once per checkout and matched at once; boxing the instance would \
              allocate on the hot path"
)]
enum Take {
    Idle(Pooled),
    /// A live place was reserved to start an instance in, for this reason.
    Reserved(&'static str),
    /// A place in the Arbitration Engine's line.
    Wait(Ticket<Handed>),
}

/// What a call waiting in line is handed.
pub(crate) enum Handing {
    /// An instance, back from another call.
    Instance(Pooled),
    /// Room to start one (counted as live for it already).
    Room,
}

/// What a waiting call is handed, bound to its pool: dropped unused (the
/// call gave up just as it was served), it goes back — the instance
/// checked in, the room given up — so nothing is lost.
pub(crate) struct Handed {
    pool: Weak<InstancePool>,
    what: Option<Handing>,
}

impl Handed {
    fn new(pool: &Weak<InstancePool>, what: Handing) -> Self {
        Handed {
            pool: pool.clone(),
            what: Some(what),
        }
    }

    /// What it holds, now the caller's.
    fn into_inner(mut self) -> Option<Handing> {
        self.what.take()
    }

    /// The instance it holds, if it holds one, without giving anything back.
    fn into_pooled(mut self) -> Option<Pooled> {
        match self.what.take()? {
            Handing::Instance(pooled) => Some(pooled),
            Handing::Room => None,
        }
    }

    /// Forgets what it holds (the caller keeps accounting for it).
    fn defuse(mut self) {
        self.what = None;
    }
}

impl Drop for Handed {
    fn drop(&mut self) {
        let Some(what) = self.what.take() else { return };
        let Some(pool) = self.pool.upgrade() else {
            return;
        };
        match what {
            Handing::Instance(pooled) => pool.checkin(pooled),
            Handing::Room => pool.forget_one(),
        }
    }
}

/// An instance being started: if the start is dropped half way, it stops
/// counting as live.
struct Starting<'p>(Option<&'p InstancePool>);

impl Drop for Starting<'_> {
    fn drop(&mut self) {
        if let Some(pool) = self.0 {
            pool.forget_one();
        }
    }
}

impl Drop for InstancePool {
    fn drop(&mut self) {
        self.manager.unregister(self.id);
        let idle =
            std::mem::take(&mut self.state.get_mut().unwrap_or_else(|e| e.into_inner()).idle);
        for pooled in idle {
            if self.managed {
                self.manager.forget(pooled.key);
            }
        }
    }
}

impl Evict for InstancePool {
    fn evict(&self, number: u64) {
        self.evict_instance(number);
    }

    fn name(&self) -> &str {
        &self.name
    }
}
