//! Prewarming: starting instances (Cold → Warming → Hot) before calls
//! need them, for the workflow about to run or as the usage history
//! predicts.

use serde::Serialize;

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
