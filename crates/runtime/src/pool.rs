//! The Pool Manager: every Instrument and Operator instance walks the
//! lifecycle Cold → Warming → Hot → Cooling → Cold (or Failed → Cold); Hot
//! instances live in a host-wide LRU within a count and memory budget;
//! instances are prewarmed for a workflow or as the usage history
//! predicts, health-checked, and drained gracefully.
//!
//! The building blocks, usable on their own:
//!
//! ```
//! use std::num::NonZeroUsize;
//! use std::sync::{Arc, Mutex};
//! use symphony_runtime::pool::{HotSet, InstanceLifecycle, Listeners, PoolState};
//!
//! // Every transition is recorded and told to the listeners.
//! let listeners = Listeners::new();
//! let seen = Arc::new(Mutex::new(Vec::new()));
//! let sink = Arc::clone(&seen);
//! listeners.subscribe(Box::new(move |t| sink.lock().unwrap().push((t.from, t.to))));
//!
//! let mut llm = InstanceLifecycle::new("mock-llm#0", listeners.clone());
//! llm.transition(PoolState::Warming, "workflow needs it").unwrap();
//! llm.transition(PoolState::Hot, "loaded").unwrap();
//! let err = llm.transition(PoolState::Warming, "again").unwrap_err();
//! assert_eq!(err.to_string(), "instance 'mock-llm#0': invalid transition from hot to warming");
//! assert_eq!(llm.history().len(), 2);
//! assert_eq!(seen.lock().unwrap()[1], (PoolState::Warming, PoolState::Hot));
//!
//! // Hot instances live in an LRU bounded by count and by bytes.
//! let mut hot = HotSet::new(NonZeroUsize::new(8).unwrap(), 100);
//! assert!(hot.insert("a", 60).unwrap().is_empty());
//! assert!(hot.insert("b", 30).unwrap().is_empty());
//! assert!(hot.touch("a")); // a hit: "b" is now the least recently used
//! assert_eq!(hot.insert("c", 20).unwrap(), vec![("b", 30)]); // cool "b"
//! assert!(hot.insert("huge", 101).is_err());
//! assert_eq!((hot.used_bytes(), hot.stats().hits), (80, 1));
//! ```

mod drain;
mod health;
mod hot;
mod instance_state;
mod manager;
mod predict;
mod prewarm;
#[cfg(test)]
mod replay;
mod stats;
#[cfg(test)]
mod tests;
mod usage;

pub use drain::DrainReport;
pub use health::HealthReport;
pub use hot::{HotSet, HotSetError, HotSetStats};
pub use instance_state::{
    InstanceLifecycle, InvalidTransition, Listener, ListenerId, Listeners, PoolState,
    PoolTransition,
};
pub use manager::PoolManager;
pub use manager::PoolSettings;
pub(crate) use manager::{Evict, InstanceKey, Keep};
pub use predict::UsageHistory;
pub use prewarm::{PER_HOUR, PrewarmEntry, PrewarmOutcome, PrewarmReport};
pub use stats::{ExtensionPoolStats, LoadTime, PoolCounts, PoolStats};
pub(crate) use stats::{PoolCounters, PoolEvent};
