//! The instances of one extension version: the idle ones kept for reuse,
//! and each instance's walk through the Pool Manager's lifecycle (Cold →
//! Warming → Hot → Cooling → Cold, or Failed → Cold).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use std::pin::Pin;

use tokio::sync::Notify;
use tokio::sync::futures::Notified;

use symphony_bus::Interrupt;

use super::{ExtensionMetrics, Limits};
use crate::CallError;
use crate::pool::{
    Evict, InstanceKey, InstanceLifecycle, Keep, PoolEvent, PoolManager, PoolState, PrewarmOutcome,
};
use crate::{Instance, Stop, block_on, stopped};
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
}

/// Idle instances, reused most-recently-returned first so a warm instance
/// (and an Addon's UI state) keeps serving sequential calls.
pub(crate) struct InstancePool {
    state: Mutex<Shelf>,
    /// Wakes threads waiting for an instance (snapshots, drains).
    returned: Signal,
    /// Wakes calls waiting for an instance, as futures a deadline or an
    /// interrupt can end.
    returned_async: Notify,
    /// How many calls wait on `returned_async`, so a check-in with none
    /// waiting skips notifying.
    waiting_async: AtomicUsize,
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
        let pool = Arc::new(InstancePool {
            state: Mutex::new(Shelf {
                idle: Vec::new(),
                live: 0,
                closed: false,
            }),
            returned: Signal::default(),
            returned_async: Notify::new(),
            waiting_async: AtomicUsize::new(0),
            max: setup.max.max(1),
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
    /// the maximum (a miss); otherwise waits as `wait` allows for one to
    /// come back. `None` once the pool is closed. Hits and misses are
    /// counted for calls, not for an activation.
    pub(crate) async fn checkout(
        &self,
        demand: Demand,
        wait: Wait<'_>,
        create: impl AsyncFnOnce() -> Result<Instance, CallError>,
    ) -> Option<Result<Pooled, CallError>> {
        // The slow paths are boxed: inline, their large futures would make
        // every call's future larger, and moving it dearer.
        match self.take_or_reserve(demand)? {
            Take::Idle(pooled) => Some(Ok(pooled)),
            Take::Reserved(reason) => Some(Box::pin(self.start(create, reason)).await),
            Take::Wait(listening) => {
                Box::pin(self.wait_for_one(demand, wait, create, listening)).await
            }
        }
    }

    /// [`InstancePool::checkout`] once every instance is busy: waits for one
    /// to come back (or a place to start one in) until the wait's deadline
    /// or interrupt.
    async fn wait_for_one(
        &self,
        demand: Demand,
        wait: Wait<'_>,
        create: impl AsyncFnOnce() -> Result<Instance, CallError>,
        mut listening: Listening<'_>,
    ) -> Option<Result<Pooled, CallError>> {
        let began = Instant::now();
        loop {
            let woken = tokio::select! {
                () = &mut listening.returned => None,
                why = stopped(wait.until, wait.interrupt.cloned()) => Some(why),
            };
            drop(listening);
            match woken {
                None => {}
                Some(Stop::Deadline) => {
                    return Some(Err(CallError::Busy {
                        extension: self.name.to_string(),
                        max_instances: self.max,
                        waited: began.elapsed(),
                    }));
                }
                Some(Stop::Interrupted) => {
                    return Some(Err(CallError::Interrupted {
                        extension: self.name.to_string(),
                        function: wait.function,
                        waiting: Some(format!(
                            "for one of its {} instances to finish another call",
                            self.max
                        )),
                    }));
                }
            }
            listening = match self.take_or_reserve(demand)? {
                Take::Idle(pooled) => return Some(Ok(pooled)),
                Take::Reserved(reason) => return Some(self.start(create, reason).await),
                Take::Wait(listening) => listening,
            };
        }
    }

    /// The step of [`InstancePool::checkout`] taken under the lock: an
    /// idle instance, a place to start one in, or a wake-up to wait for
    /// (listening already, so a check-in after the lock is released still
    /// wakes it; counted in `waiting_async` until it is done with). `None`
    /// when the pool is closed.
    fn take_or_reserve(&self, demand: Demand) -> Option<Take<'_>> {
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
                self.manager.touch(pooled.key);
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
        let mut returned = Box::pin(self.returned_async.notified());
        returned.as_mut().enable();
        self.waiting_async.fetch_add(1, Ordering::Relaxed);
        Some(Take::Wait(Listening {
            returned,
            waiting: &self.waiting_async,
        }))
    }

    /// Wakes everyone waiting for an instance: threads and calls.
    fn wake_all(&self) {
        self.returned.notify_all();
        self.wake_calls();
    }

    /// Wakes the calls waiting for an instance, if there are any.
    fn wake_calls(&self) {
        if self.waiting_async.load(Ordering::Relaxed) > 0 {
            self.returned_async.notify_waiters();
        }
    }

    /// Starts an instance already counted as live: Cold → Warming → Hot,
    /// timed, admitted to the hot set (evicting others if need be); or
    /// Warming → Failed → Cold when it cannot start.
    async fn start(
        &self,
        create: impl AsyncFnOnce() -> Result<Instance, CallError>,
        reason: &str,
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
                };
                pooled.step(
                    PoolState::Hot,
                    format!("started in {} µs with {bytes} bytes", elapsed.as_micros()),
                );
                if self.managed {
                    let evicted = self.manager.admit(key, bytes);
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
    pub(crate) fn checkin(&self, pooled: Pooled) {
        let bytes = if self.managed {
            pooled.instance.memory_bytes()
        } else {
            0
        };
        let mut state = self.lock();
        let verdict = if state.closed {
            Err("its extension version stopped serving")
        } else if self.managed {
            match self.manager.keep(pooled.key, bytes) {
                Keep::Kept(evicted) => Ok(evicted),
                Keep::Evicted => Err("evicted from the hot set while in a call"),
                Keep::TooLarge => Err("its memory outgrew the host's whole hot budget"),
            }
        } else {
            Ok(Vec::new())
        };
        match verdict {
            Ok(evicted) => {
                state.idle.push(pooled);
                drop(state);
                self.returned.notify_one();
                self.wake_calls();
                if !evicted.is_empty() {
                    self.manager.settle(evicted);
                }
            }
            Err(reason) => {
                state.live -= 1;
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
        drop(state);
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
        match self.start(create, "prewarmed").await {
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
        self.lock().live -= 1;
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
enum Take<'p> {
    Idle(Pooled),
    /// A live place was reserved to start an instance in, for this reason.
    Reserved(&'static str),
    Wait(Listening<'p>),
}

/// A call listening for an instance to come back, counted in the pool's
/// `waiting_async` for as long as it listens (until dropped, which a call
/// stopped mid-wait does too).
struct Listening<'p> {
    returned: Pin<Box<Notified<'p>>>,
    waiting: &'p AtomicUsize,
}

impl Drop for Listening<'_> {
    fn drop(&mut self) {
        self.waiting.fetch_sub(1, Ordering::Relaxed);
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
}
