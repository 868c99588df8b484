//! Prewarming: starting instances (Cold → Warming → Hot) before calls
//! need them, for the workflow about to run or as the usage history
//! predicts.

use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;
use symphony_manifest::{ExtensionKind, LifecycleState};

use crate::extension::Slot;

/// How many of an hour's busiest extensions a time-of-day prewarm starts.
pub const PER_HOUR: usize = 2;

/// What prewarming did for one extension.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum PrewarmOutcome {
    /// An instance was started and is idle, Hot.
    Started {
        /// How long it took to start, in microseconds.
        load_us: u64,
    },
    /// An idle instance was there already.
    AlreadyHot,
    /// Every instance it may have is in a call.
    AtCapacity,
    /// It is not active (deactivated, failed, draining).
    NotServing,
    /// No Instrument or Operator of that name is loaded.
    Unknown,
    /// Its instance failed to start.
    Failed {
        /// Why.
        error: String,
    },
}

/// One extension in a [`PrewarmReport`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PrewarmEntry {
    /// The extension.
    pub extension: String,
    /// What happened.
    #[serde(flatten)]
    pub outcome: PrewarmOutcome,
}

/// What a prewarm did.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[non_exhaustive]
pub struct PrewarmReport {
    /// Each extension considered, in the order first named.
    pub entries: Vec<PrewarmEntry>,
    /// How long prewarming took in all (the starts run in parallel), in
    /// microseconds.
    pub elapsed_us: u64,
}

impl PrewarmReport {
    /// How many instances were started.
    pub fn started(&self) -> usize {
        self.entries
            .iter()
            .filter(|e| matches!(e.outcome, PrewarmOutcome::Started { .. }))
            .count()
    }
}

/// Starts one instance of each extension with none idle, in parallel:
/// `extensions` pairs each name asked for with its slot, `None` when no
/// extension of that name is loaded.
pub fn prewarm(extensions: &[(String, Option<Arc<Slot>>)]) -> PrewarmReport {
    let started = Instant::now();
    let entries = std::thread::scope(|scope| {
        let handles: Vec<_> = extensions
            .iter()
            .map(|(name, slot)| {
                scope.spawn(move || PrewarmEntry {
                    extension: name.clone(),
                    outcome: prewarm_one(slot.as_deref()),
                })
            })
            .collect();
        handles
            .into_iter()
            .zip(extensions)
            .map(|(handle, (name, _))| {
                handle.join().unwrap_or_else(|_| PrewarmEntry {
                    extension: name.clone(),
                    outcome: PrewarmOutcome::Failed {
                        error: "the prewarm thread panicked".into(),
                    },
                })
            })
            .collect()
    });
    PrewarmReport {
        entries,
        elapsed_us: u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
    }
}

fn prewarm_one(slot: Option<&Slot>) -> PrewarmOutcome {
    let Some(slot) = slot else {
        return PrewarmOutcome::Unknown;
    };
    if slot.kind == ExtensionKind::Addon {
        return PrewarmOutcome::Unknown;
    }
    if slot.state() != LifecycleState::Active {
        return PrewarmOutcome::NotServing;
    }
    slot.current().prewarm()
}
