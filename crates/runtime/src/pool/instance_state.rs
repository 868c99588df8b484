//! The lifecycle of one pooled instance: its state machine, its recorded
//! transitions and the listeners told about them.

use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use serde::{Deserialize, Serialize, Serializer};

/// Where a pooled instance is in its lifecycle.
///
/// The allowed moves are Cold → Warming → Hot → Cooling → Cold; Warming,
/// Hot and Cooling may fail, and a Failed instance recovers to Cold. Every
/// other move is rejected by [`InstanceLifecycle::transition`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PoolState {
    /// Not instantiated; holds no memory.
    Cold,
    /// Being instantiated and initialised.
    Warming,
    /// Ready to serve calls.
    Hot,
    /// Draining in-flight calls before release.
    Cooling,
    /// Broken (failed to load, unhealthy, trapped); must recover to Cold.
    Failed,
}

impl PoolState {
    /// Every state, in lifecycle order.
    pub const ALL: [PoolState; 5] = [
        PoolState::Cold,
        PoolState::Warming,
        PoolState::Hot,
        PoolState::Cooling,
        PoolState::Failed,
    ];

    /// Whether moving from `self` to `to` is an allowed transition.
    ///
    /// ```
    /// use symphony_runtime::pool::PoolState;
    /// assert!(PoolState::Cold.can_become(PoolState::Warming));
    /// assert!(!PoolState::Cold.can_become(PoolState::Hot));
    /// ```
    pub const fn can_become(self, to: PoolState) -> bool {
        use PoolState::*;
        matches!(
            (self, to),
            (Cold, Warming)
                | (Warming, Hot)
                | (Warming, Failed)
                | (Hot, Cooling)
                | (Hot, Failed)
                | (Cooling, Cold)
                | (Cooling, Failed)
                | (Failed, Cold)
        )
    }

    /// The state's lower-case name, as displayed and serialised.
    pub const fn as_str(self) -> &'static str {
        match self {
            PoolState::Cold => "cold",
            PoolState::Warming => "warming",
            PoolState::Hot => "hot",
            PoolState::Cooling => "cooling",
            PoolState::Failed => "failed",
        }
    }
}

impl fmt::Display for PoolState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A rejected lifecycle transition.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("instance '{instance}': invalid transition from {from} to {to}")]
pub struct InvalidTransition {
    /// The instance that was asked to move.
    pub instance: Arc<str>,
    /// Its state, which it keeps.
    pub from: PoolState,
    /// The state it was asked to enter.
    pub to: PoolState,
}

/// One recorded state change of a pooled instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PoolTransition {
    /// The instance that moved.
    #[serde(serialize_with = "serialize_str")]
    pub instance: Arc<str>,
    /// The state it left.
    pub from: PoolState,
    /// The state it entered.
    pub to: PoolState,
    /// Why it moved, for people reading logs and metrics.
    pub reason: String,
    /// When, in milliseconds since the Unix epoch.
    pub at_ms: u64,
}

fn serialize_str<S: Serializer>(value: &Arc<str>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(value)
}

/// Identifies a subscription to [`Listeners`], for unsubscribing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ListenerId(u64);

/// A callback told about every transition.
pub type Listener = Box<dyn Fn(&PoolTransition) + Send + Sync>;

type Entry = (ListenerId, Arc<dyn Fn(&PoolTransition) + Send + Sync>);

/// A thread-safe registry of transition listeners.
///
/// Cloning is cheap and shares the registry, so one `Listeners` can serve
/// every instance of a pool. Notifying takes a snapshot of the list and
/// calls the listeners without holding a lock, so a listener may itself
/// subscribe or unsubscribe.
#[derive(Clone, Default)]
pub struct Listeners {
    inner: Arc<ListenersInner>,
}

#[derive(Default)]
struct ListenersInner {
    next_id: AtomicU64,
    entries: RwLock<Arc<[Entry]>>,
}

impl Listeners {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `listener`; returns the id that removes it again.
    pub fn subscribe(&self, listener: Listener) -> ListenerId {
        let id = ListenerId(self.inner.next_id.fetch_add(1, Ordering::Relaxed));
        let mut entries = self
            .inner
            .entries
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let mut next: Vec<Entry> = entries.to_vec();
        next.push((id, Arc::from(listener)));
        *entries = next.into();
        id
    }

    /// Removes the listener `id`; returns whether it was subscribed.
    pub fn unsubscribe(&self, id: ListenerId) -> bool {
        let mut entries = self
            .inner
            .entries
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if !entries.iter().any(|(each, _)| *each == id) {
            return false;
        }
        let next: Vec<Entry> = entries
            .iter()
            .filter(|(each, _)| *each != id)
            .cloned()
            .collect();
        *entries = next.into();
        true
    }

    /// Calls every listener with `transition`, in subscription order.
    pub fn notify(&self, transition: &PoolTransition) {
        let snapshot = Arc::clone(
            &self
                .inner
                .entries
                .read()
                .unwrap_or_else(PoisonError::into_inner),
        );
        for (_, listener) in snapshot.iter() {
            listener(transition);
        }
    }

    /// How many listeners are subscribed.
    pub fn len(&self) -> usize {
        self.inner
            .entries
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Whether no listener is subscribed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl fmt::Debug for Listeners {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Listeners")
            .field("len", &self.len())
            .finish()
    }
}

/// The lifecycle of one pooled instance: its current [`PoolState`], its
/// most recent transitions (oldest dropped first) and the [`Listeners`]
/// told about each one.
#[derive(Debug)]
pub struct InstanceLifecycle {
    instance: Arc<str>,
    state: PoolState,
    history: VecDeque<PoolTransition>,
    history_limit: usize,
    transitions: u64,
    listeners: Listeners,
}

impl InstanceLifecycle {
    /// How many transitions an instance keeps unless told otherwise.
    pub const DEFAULT_HISTORY: usize = 64;

    /// A Cold instance named `instance` that notifies `listeners`.
    pub fn new(instance: impl Into<Arc<str>>, listeners: Listeners) -> Self {
        Self::with_history(instance, listeners, Self::DEFAULT_HISTORY)
    }

    /// Like [`new`](Self::new), keeping the last `limit` transitions (at
    /// least one).
    pub fn with_history(instance: impl Into<Arc<str>>, listeners: Listeners, limit: usize) -> Self {
        let history_limit = limit.max(1);
        Self {
            instance: instance.into(),
            state: PoolState::Cold,
            history: VecDeque::with_capacity(history_limit.min(Self::DEFAULT_HISTORY)),
            history_limit,
            transitions: 0,
            listeners,
        }
    }

    /// The instance's name.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// Its current state.
    pub fn state(&self) -> PoolState {
        self.state
    }

    /// Moves to `to` now, recording `reason` and notifying the listeners.
    /// An invalid move leaves the state and history as they were.
    pub fn transition(
        &mut self,
        to: PoolState,
        reason: impl Into<String>,
    ) -> Result<&PoolTransition, InvalidTransition> {
        self.transition_at(to, reason, symphony_protocol::now_us() / 1000)
    }

    /// Like [`transition`](Self::transition), stamped `at_ms` (milliseconds
    /// since the Unix epoch) rather than now.
    pub fn transition_at(
        &mut self,
        to: PoolState,
        reason: impl Into<String>,
        at_ms: u64,
    ) -> Result<&PoolTransition, InvalidTransition> {
        let from = self.state;
        if !from.can_become(to) {
            return Err(InvalidTransition {
                instance: Arc::clone(&self.instance),
                from,
                to,
            });
        }
        self.state = to;
        self.transitions += 1;
        if self.history.len() == self.history_limit {
            self.history.pop_front();
        }
        self.history.push_back(PoolTransition {
            instance: Arc::clone(&self.instance),
            from,
            to,
            reason: reason.into(),
            at_ms,
        });
        let recorded = self.history.back().expect("just pushed");
        self.listeners.notify(recorded);
        Ok(recorded)
    }

    /// The kept transitions, oldest first.
    pub fn history(&self) -> impl DoubleEndedIterator<Item = &PoolTransition> + ExactSizeIterator {
        self.history.iter()
    }

    /// The most recent transition, if there was one.
    pub fn last_transition(&self) -> Option<&PoolTransition> {
        self.history.back()
    }

    /// How many transitions happened in all, including those no longer
    /// kept in the history.
    pub fn transition_count(&self) -> u64 {
        self.transitions
    }

    /// The listeners this instance notifies.
    pub fn listeners(&self) -> &Listeners {
        &self.listeners
    }
}
