//! The Pool Manager: the host-wide set of Hot instances within a count and
//! memory budget, the registry of every extension version's pool, the
//! transition listeners, the counters and the usage history.
//!
//! Lock order: an extension's instance pool lock may be held while the
//! hot set's is taken, never the other way round; evicted instances are
//! cooled after both are released.

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, Weak, mpsc};
use std::time::{Duration, Instant};

use super::stats::{PoolCounters, PoolEvent};
use super::{HotSet, HotSetError, Listeners, PoolTransition, UsageHistory};
use symphony_arbitration::{Arbiter, Requester, StrategyKind};
use symphony_bus::Bus;

/// What the Pool Manager asks of an instance pool it keeps instances of:
/// to cool one it evicted from the hot set. The extension module's pools
/// implement it, so the manager holds them without depending on them.
pub(crate) trait Evict: Send + Sync {
    /// Counts an eviction of instance `number` and cools it if it is idle;
    /// one in a call cools when it comes back.
    fn evict(&self, number: u64);

    /// The extension's name, for the arbitration log.
    fn name(&self) -> &str;
}

/// How the Pool Manager keeps instances. A host sets them through its
/// builder (`HostBuilder::pool`, `pool_budget`, `health_interval`,
/// `predictive_prewarm`).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct PoolSettings {
    /// The most Hot Instrument and Operator instances kept, across all
    /// extensions. Default: 128.
    pub max_instances: usize,
    /// The most linear memory, in bytes, those instances may hold in all.
    /// Default: 2 GiB.
    pub max_bytes: usize,
    /// How often idle Instruments are health-checked in the background;
    /// `None` (the default) checks only on demand and after guest errors.
    pub health_interval: Option<Duration>,
    /// Whether, when an extension is used after another, the extensions
    /// likely to follow it (by the usage history) are started in the
    /// background. Default: off, as the starts run guest hooks nobody
    /// asked for; every call is recorded in the usage history either way,
    /// for `Host::prewarm_predicted`.
    pub predict: bool,
    /// The probability of following above which a successor is started
    /// ahead. Default: 0.5.
    pub min_probability: f64,
    /// How often the extensions the usage history expects at this time of
    /// day are started in the background
    /// (`Host::prewarm_predicted`);
    /// `None` (the default) only on demand.
    pub prewarm_interval: Option<Duration>,
}

/// The shortest background interval taken: anything shorter would keep
/// taking instances away from calls.
pub const MIN_BACKGROUND_INTERVAL: Duration = Duration::from_millis(10);

impl PoolSettings {
    /// Refuses settings that cannot work, naming the setting.
    pub fn check(&self) -> Result<(), crate::SetupError> {
        let bad = |what: String| Err(crate::SetupError(format!("pool settings: {what}")));
        if self.max_instances == 0 || self.max_bytes == 0 {
            return bad(format!(
                "the budget must allow at least one instance and one byte, not {} instances and {} bytes",
                self.max_instances, self.max_bytes
            ));
        }
        if !(0.0..=1.0).contains(&self.min_probability) {
            return bad(format!(
                "min_probability must be between 0 and 1, not {}",
                self.min_probability
            ));
        }
        for (name, interval) in [
            ("health_interval", self.health_interval),
            ("prewarm_interval", self.prewarm_interval),
        ] {
            if interval.is_some_and(|i| i < MIN_BACKGROUND_INTERVAL) {
                return bad(format!(
                    "{name} must be at least {MIN_BACKGROUND_INTERVAL:?}, not {interval:?}"
                ));
            }
        }
        Ok(())
    }
}

impl Default for PoolSettings {
    fn default() -> Self {
        PoolSettings {
            max_instances: 128,
            max_bytes: 2 << 30,
            health_interval: None,
            predict: false,
            min_probability: 0.5,
            prewarm_interval: None,
        }
    }
}

/// A Hot instance's name in the hot set: its extension version's pool and
/// its number. Two integers, so a lookup hashes no string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct InstanceKey {
    /// The instance pools (one per extension version).
    pub pool: u64,
    /// The instance, unique in the host.
    pub instance: u64,
}

/// Whether an instance coming back from a call stays Hot.
pub enum Keep {
    /// It stays; these others were evicted to make room for its growth.
    Kept(Vec<(InstanceKey, usize)>),
    /// It was evicted (or never admitted) while in its call: cool it.
    Evicted,
    /// Its memory grew past the whole budget: cool it.
    TooLarge,
    /// Its memory grew and only instances of higher priority could make
    /// room: cool it.
    Outranked,
}

/// `PoolManager::most_recent` when no touch is known to be a no-op.
const NONE_RECENT: u64 = u64::MAX;

/// Background starts of likely successors under way at most at once.
const MAX_BACKGROUND_STARTS: usize = 2;

/// The Hot instances, and the priority each was last used at (absent: 0),
/// which the Arbitration Engine's memory order evicts by.
struct Hot {
    set: HotSet<InstanceKey>,
    priority: HashMap<InstanceKey, i32>,
}

/// The host's Pool Manager.
pub struct PoolManager {
    hot: Mutex<Hot>,
    /// The instance the last touch left most recently used at priority 0
    /// (`NONE_RECENT` once anything else changed the hot set): touching it
    /// again would change nothing, and it is still in the set, so a warm
    /// call reusing one instance takes the lock neither to touch it nor to
    /// keep it. Written under `hot`'s lock.
    most_recent: AtomicU64,
    /// Every live extension version's pool, by id, for eviction to reach.
    pools: Mutex<HashMap<u64, Weak<dyn Evict>>>,
    next_pool: AtomicU64,
    next_instance: AtomicU64,
    /// Told about every instance's transitions.
    pub listeners: Listeners,
    /// Host-wide counters.
    pub(crate) totals: PoolCounters,
    /// Which extensions were used when, after which.
    usage: super::usage::UsageRecorder,
    /// The settings it was started with.
    pub settings: PoolSettings,
    /// Background starts under way.
    background: AtomicUsize,
    /// Dropping it stops the health-check thread.
    health_stop: Mutex<Option<mpsc::Sender<()>>>,
    /// Decides who waits for busy instances and which idle one makes room.
    arbiter: Arbiter,
    /// Who a call without a requester of its own is made for.
    requester: Requester,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every update leaves these structures whole; a panic elsewhere while
    // one was held does not make it unusable.
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl PoolManager {
    /// A manager within `settings`' budget that publishes each transition
    /// on `bus` as `pool.<extension>.transition`.
    pub fn new(settings: PoolSettings, bus: Bus) -> Self {
        let listeners = Listeners::new();
        listeners.subscribe(Box::new(move |t: &PoolTransition| publish(&bus, t)));
        let count = NonZeroUsize::new(settings.max_instances).unwrap_or(NonZeroUsize::MIN);
        let arbiter = Arbiter::default();
        let requester = arbiter.requester("local");
        PoolManager {
            hot: Mutex::new(Hot {
                set: HotSet::new(count, settings.max_bytes),
                priority: HashMap::new(),
            }),
            most_recent: AtomicU64::new(NONE_RECENT),
            pools: Mutex::default(),
            next_pool: AtomicU64::new(0),
            next_instance: AtomicU64::new(0),
            listeners,
            totals: PoolCounters::default(),
            usage: super::usage::UsageRecorder::default(),
            settings,
            background: AtomicUsize::new(0),
            health_stop: Mutex::new(None),
            arbiter,
            requester,
        }
    }

    /// The same manager arbitrated by `arbiter`, calls without a requester
    /// of their own made for `requester`.
    pub fn with_arbiter(mut self, arbiter: Arbiter, requester: Requester) -> Self {
        self.arbiter = arbiter;
        self.requester = requester;
        self
    }

    /// The Arbitration Engine it asks.
    pub fn arbiter(&self) -> &Arbiter {
        &self.arbiter
    }

    /// Who a call without a requester of its own is made for.
    pub fn default_requester(&self) -> &Requester {
        &self.requester
    }

    /// A new pool's id.
    pub fn pool_id(&self) -> u64 {
        self.next_pool.fetch_add(1, Ordering::Relaxed)
    }

    /// A new instance's number.
    pub(crate) fn instance_id(&self) -> u64 {
        self.next_instance.fetch_add(1, Ordering::Relaxed)
    }

    /// Makes `pool` reachable for eviction.
    pub(crate) fn register(&self, id: u64, pool: Weak<dyn Evict>) {
        lock(&self.pools).insert(id, pool);
    }

    /// Forgets the pool `id` (it is being dropped).
    pub(crate) fn unregister(&self, id: u64) {
        lock(&self.pools).remove(&id);
    }

    /// Counts `event` for an extension and for the host.
    pub(crate) fn count(&self, counters: &PoolCounters, event: PoolEvent) {
        counters.count(event);
        self.totals.count(event);
    }

    /// Records a start that took `elapsed`.
    pub(crate) fn record_load(&self, counters: &PoolCounters, elapsed: Duration) {
        counters.record_load(elapsed);
        self.totals.record_load(elapsed);
    }

    /// Marks a Hot instance taken for a call as the most recently used,
    /// by a call at `priority`.
    pub fn touch(&self, key: InstanceKey, priority: i32) {
        // Instance numbers are unique across pools, so the number alone
        // names the instance.
        if priority == 0 && self.most_recent.load(Ordering::Acquire) == key.instance {
            return;
        }
        let mut hot = lock(&self.hot);
        let present = hot.set.touch(&key);
        if priority != 0 {
            hot.priority.insert(key, priority);
        } else if !hot.priority.is_empty() {
            hot.priority.remove(&key);
        }
        let recent = if present && priority == 0 {
            key.instance
        } else {
            NONE_RECENT
        };
        self.most_recent.store(recent, Ordering::Release);
    }

    /// Forgets the no-op touch: the hot set's order or priorities changed
    /// some other way. Call under `hot`'s lock.
    fn changed(&self) {
        self.most_recent.store(NONE_RECENT, Ordering::Release);
    }

    /// Adds a newly Hot instance of `bytes` started for `requester`;
    /// returns the instances evicted to make room (for
    /// [`PoolManager::settle`]: idle ones cool at once, one in a call when
    /// it comes back). By the arbiter's memory order (`priority`), only
    /// instances last used at the requester's priority or lower are
    /// evicted for it, least recently used first, and when those cannot
    /// make room it is not kept Hot (it serves its call, then cools); by
    /// `fifo`, the least recently used go. One larger than the whole
    /// budget is not admitted either. Each eviction is recorded with its
    /// reason.
    pub(crate) fn admit(
        &self,
        key: InstanceKey,
        bytes: usize,
        requester: &Requester,
        extension: &str,
    ) -> Vec<(InstanceKey, usize)> {
        let priority = requester.priority;
        let mut hot = lock(&self.hot);
        self.changed();
        match self.insert_by_memory_order(&mut hot, key, bytes, priority) {
            Ok(evicted) => {
                if priority != 0 {
                    hot.priority.insert(key, priority);
                }
                let victims: Vec<(InstanceKey, usize, i32)> = evicted
                    .iter()
                    .map(|(k, b)| (*k, *b, hot.priority.remove(k).unwrap_or(0)))
                    .collect();
                drop(hot);
                for (victim, size, was) in victims {
                    let name = self.instance_name(victim);
                    self.arbiter
                        .evicted_for(&name, Some(was), requester, extension, size);
                }
                evicted
            }
            Err(HotSetError::Spared { .. }) => {
                drop(hot);
                self.arbiter.not_admitted(requester, extension, bytes);
                Vec::new()
            }
            Err(HotSetError::TooLarge { .. }) => Vec::new(),
        }
    }

    /// Puts `key` of `bytes` in the hot set by the arbiter's memory order,
    /// for work at `priority` (see [`PoolManager::admit`]).
    fn insert_by_memory_order(
        &self,
        hot: &mut Hot,
        key: InstanceKey,
        bytes: usize,
        priority: i32,
    ) -> Result<Vec<(InstanceKey, usize)>, HotSetError> {
        let Hot {
            set,
            priority: priorities,
        } = hot;
        match self.arbiter.memory_strategy() {
            StrategyKind::Fifo => set.insert(key, bytes),
            _ => set.insert_sparing(key, bytes, |k| {
                priorities.get(k).copied().unwrap_or(0) > priority
            }),
        }
    }

    /// "mock-llm#3".
    fn instance_name(&self, key: InstanceKey) -> String {
        let pool = lock(&self.pools).get(&key.pool).and_then(Weak::upgrade);
        match pool {
            Some(pool) => format!("{}#{}", pool.name(), key.instance),
            None => format!("instance #{}", key.instance),
        }
    }

    /// Whether an instance back from a call stays Hot, updating its size.
    /// Allocates nothing unless it grew and others are evicted.
    /// `held` is the size the hot set held for it when it was last
    /// admitted or kept: when it has not changed and nothing changed the
    /// hot set since its touch (see `most_recent`), it is still there at
    /// that size, and the lock is not needed to say so.
    pub fn keep(&self, key: InstanceKey, bytes: usize, held: usize) -> Keep {
        if bytes == held && self.most_recent.load(Ordering::Acquire) == key.instance {
            return Keep::Kept(Vec::new());
        }
        let mut hot = lock(&self.hot);
        match hot.set.size_of(&key) {
            None => Keep::Evicted,
            Some(size) if size == bytes => Keep::Kept(Vec::new()),
            Some(_) => {
                // It grew: room is made by the same order as for a new one,
                // at the priority it was last used at. `insert_sparing`
                // updates an entry already present, so take it out first.
                let own = hot.priority.get(&key).copied().unwrap_or(0);
                self.changed();
                hot.set.remove(&key);
                match self.insert_by_memory_order(&mut hot, key, bytes, own) {
                    Ok(evicted) => {
                        for (k, _) in &evicted {
                            hot.priority.remove(k);
                        }
                        Keep::Kept(evicted)
                    }
                    Err(error) => {
                        hot.priority.remove(&key);
                        match error {
                            HotSetError::TooLarge { .. } => Keep::TooLarge,
                            HotSetError::Spared { .. } => Keep::Outranked,
                        }
                    }
                }
            }
        }
    }

    /// Removes an instance that is cooling or failed.
    pub(crate) fn forget(&self, key: InstanceKey) {
        let mut hot = lock(&self.hot);
        self.changed();
        hot.set.remove(&key);
        hot.priority.remove(&key);
    }

    /// Cools evicted instances that are idle and counts every eviction;
    /// one in a call cools when it comes back (`Keep::Evicted`). Call
    /// with no pool lock held: the guests' shutdown hooks run here.
    pub fn settle(&self, evicted: Vec<(InstanceKey, usize)>) {
        for (key, _) in evicted {
            let pool = lock(&self.pools).get(&key.pool).and_then(Weak::upgrade);
            match pool {
                Some(pool) => pool.evict(key.instance),
                None => self.totals.count(PoolEvent::Eviction),
            }
        }
    }

    /// Hot instances and their bytes, by pool id.
    pub(crate) fn hot_by_pool(&self) -> HashMap<u64, (usize, usize)> {
        let hot = lock(&self.hot);
        let mut by_pool: HashMap<u64, (usize, usize)> = HashMap::new();
        for (key, bytes) in hot.set.iter() {
            let entry = by_pool.entry(key.pool).or_default();
            entry.0 += 1;
            entry.1 += bytes;
        }
        by_pool
    }

    /// The hot set's occupancy: (instances, bytes).
    pub fn occupancy(&self) -> (usize, usize) {
        let hot = lock(&self.hot);
        (hot.set.len(), hot.set.used_bytes())
    }

    /// Records a use of `extension` (of pool `pool`) by a call that
    /// started at `at`. When it starts a run after another extension and
    /// prediction is on, returns the extensions likely to follow it, for a
    /// background start, if fewer than the most background starts are
    /// under way; `None` otherwise (the common case, which allocates
    /// nothing and takes no lock: see [`super::usage`]).
    pub(crate) fn record_use(
        &self,
        pool: u64,
        extension: &str,
        at: Instant,
    ) -> Option<Vec<String>> {
        self.usage.record(pool, extension, at, |history| {
            if !self.settings.predict
                || self.background.load(Ordering::Relaxed) >= MAX_BACKGROUND_STARTS
            {
                return None;
            }
            let next = history.likely_successors(extension, self.settings.min_probability);
            (!next.is_empty()).then_some(next)
        })
    }

    /// A copy of the usage history.
    pub fn usage(&self) -> UsageHistory {
        self.usage.snapshot()
    }

    /// Claims a background start slot; `false` when all are taken.
    pub fn begin_background(&self) -> bool {
        self.background
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < MAX_BACKGROUND_STARTS).then_some(n + 1)
            })
            .is_ok()
    }

    /// Gives a background start slot back.
    pub fn end_background(&self) {
        self.background.fetch_sub(1, Ordering::AcqRel);
    }

    /// The stop signal of a background health-check thread about to start:
    /// nothing is ever sent on it, and it disconnects when
    /// [`PoolManager::stop_health_checks`] is called or the manager is
    /// dropped.
    pub fn health_check_stop(&self) -> mpsc::Receiver<()> {
        let (stop, stopped) = mpsc::channel();
        *lock(&self.health_stop) = Some(stop);
        stopped
    }

    /// Stops the background health checks, if they run.
    pub fn stop_health_checks(&self) {
        lock(&self.health_stop).take();
    }
}

/// Publishes `transition` on `pool.<extension>.transition`; an extension
/// name that is no valid subject token just goes unannounced.
fn publish(bus: &Bus, transition: &PoolTransition) {
    let extension = transition
        .instance
        .rsplit_once('#')
        .map_or(&*transition.instance, |(name, _)| name);
    let subject = format!("pool.{extension}.transition");
    match serde_json::to_string(transition) {
        Ok(payload) => {
            if let Err(e) = bus.publish(&subject, payload) {
                tracing::debug!(extension, "cannot announce a pool transition: {e}");
            }
        }
        Err(e) => tracing::debug!(extension, "cannot encode a pool transition: {e}"),
    }
}
