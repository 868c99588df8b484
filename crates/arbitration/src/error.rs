//! Why a request was not granted.

use std::sync::Arc;
use std::time::Duration;

use crate::explain::ordinal;

/// A wait for a resource that ended without it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WaitError {
    /// Its deadline passed while it waited.
    #[error(
        "{label} waited {waited:?} for {resource} and its deadline passed while {} in line",
        ordinal(*position)
    )]
    Deadline {
        /// The resource.
        resource: Arc<str>,
        /// What waited.
        label: Arc<str>,
        /// How long.
        waited: Duration,
        /// Its place in line when it gave up, from 1.
        position: usize,
    },
    /// Its run was cancelled (or failed) while it waited.
    #[error("{label} stopped waiting for {resource}: its run was stopped")]
    Interrupted {
        /// The resource.
        resource: Arc<str>,
        /// What waited.
        label: Arc<str>,
    },
    /// It asks for more than the resource has.
    #[error("{label} asks for {units} units of {resource}, which has {capacity}")]
    TooLarge {
        /// The resource.
        resource: Arc<str>,
        /// What asked.
        label: Arc<str>,
        /// Units asked for.
        units: u64,
        /// Units there are.
        capacity: u64,
    },
    /// This thread could not start a timer to wait with.
    #[error("{label} cannot wait for {resource}: no timer could be started on this thread")]
    NoTimer {
        /// The resource.
        resource: Arc<str>,
        /// What asked.
        label: Arc<str>,
    },
    /// The resource stopped serving while it waited.
    #[error("{resource} closed while {label} waited for it")]
    Closed {
        /// The resource.
        resource: Arc<str>,
        /// What waited.
        label: Arc<str>,
    },
}

/// A call refused because it would spend past a budget.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error(
    "budget '{budget}' is exhausted: {label} costs {cost} but only {left} of {limit} is left{}",
    refill.map(|d| format!(" (it refills as spending ages out of its {}-second window)", d.as_secs())).unwrap_or_default()
)]
pub struct BudgetExhausted {
    /// The budget, e.g. `tenant:alice` or `run:1f3a…`.
    pub budget: String,
    /// What asked.
    pub label: String,
    /// What the call costs.
    pub cost: f64,
    /// What is left.
    pub left: f64,
    /// The budget's limit.
    pub limit: f64,
    /// Its window, if spending ages out.
    pub refill: Option<Duration>,
}
