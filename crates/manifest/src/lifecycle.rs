//! The lifecycle of a loaded extension: its states, the transitions
//! allowed between them, and the record of the ones it went through.

use std::fmt;
use std::time::Duration;

use serde::Serialize;

/// Where an extension is in its life.
///
/// ```text
/// Discovered → Resolved → Loaded → Active ⇄ Inactive → Unloaded
///      └──────────┴──────────┴───────┴─────────┴──→ Failed → Active | Unloaded
/// ```
///
/// Active is the only state that serves calls. Failed is entered when
/// loading or activation fails or when repeated crashes quarantine the
/// extension; reactivating it (or reloading it) is the way back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LifecycleState {
    /// Its manifest (or component) was found.
    Discovered,
    /// Its dependencies are met.
    Resolved,
    /// Its component is compiled and linked; no instance has started.
    Loaded,
    /// Its `on-load` and `on-activate` hooks ran; it serves calls.
    Active,
    /// Deactivated: `on-deactivate` and `on-unload` ran on every instance
    /// and calls are refused until it is activated again.
    Inactive,
    /// Removed from the host. Final.
    Unloaded,
    /// Its activation failed or it was quarantined after repeated crashes.
    Failed,
}

impl LifecycleState {
    /// The state's name, as `symphony ext list` prints it.
    pub fn as_str(self) -> &'static str {
        match self {
            LifecycleState::Discovered => "discovered",
            LifecycleState::Resolved => "resolved",
            LifecycleState::Loaded => "loaded",
            LifecycleState::Active => "active",
            LifecycleState::Inactive => "inactive",
            LifecycleState::Unloaded => "unloaded",
            LifecycleState::Failed => "failed",
        }
    }

    /// Whether the state machine allows going from `self` to `to`.
    pub fn can_become(self, to: LifecycleState) -> bool {
        use LifecycleState::*;
        matches!(
            (self, to),
            (Discovered, Resolved)
                | (Resolved, Loaded)
                | (Loaded, Active)
                | (Active, Inactive)
                | (Inactive, Active)
                | (Loaded | Inactive | Failed, Unloaded)
                | (Failed, Active)
                | (Discovered | Resolved | Loaded | Active | Inactive, Failed)
        )
    }

    /// The state as one byte, for keeping it in an atomic.
    pub fn to_u8(self) -> u8 {
        self as u8
    }

    /// The state [`LifecycleState::to_u8`] gave; an unknown byte reads as
    /// `Failed`.
    pub fn from_u8(value: u8) -> LifecycleState {
        use LifecycleState::*;
        [
            Discovered, Resolved, Loaded, Active, Inactive, Unloaded, Failed,
        ]
        .get(usize::from(value))
        .copied()
        .unwrap_or(Failed)
    }
}

impl fmt::Display for LifecycleState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One step an extension took through its lifecycle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Transition {
    /// The state it left.
    pub from: LifecycleState,
    /// The state it entered.
    pub to: LifecycleState,
    /// Why, in words.
    pub reason: String,
    /// When, in milliseconds since the Unix epoch.
    pub at_ms: u64,
}

/// The state machine refused a step.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("extension '{extension}' cannot go from {from} to {to}{}", hint(*.from, *.to))]
pub struct TransitionError {
    /// The extension.
    pub extension: String,
    /// Its state.
    pub from: LifecycleState,
    /// The state asked for.
    pub to: LifecycleState,
}

fn hint(from: LifecycleState, to: LifecycleState) -> &'static str {
    match (from, to) {
        (LifecycleState::Active, LifecycleState::Unloaded) => ": deactivate it first",
        (LifecycleState::Unloaded, _) => ": it was unloaded; load it again",
        (_, LifecycleState::Active) if from == to => ": it is already active",
        _ => "",
    }
}

/// When repeated crashes quarantine an extension: `max_failures` crashes
/// (traps, fuel or deadline or memory exhaustion, failed instantiation)
/// within `window`. Defaults: 5 within 60 s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CrashPolicy {
    /// Crashes that quarantine the extension; 0 never quarantines.
    pub max_failures: u32,
    /// How far back crashes count.
    pub window: Duration,
}

impl Default for CrashPolicy {
    fn default() -> Self {
        CrashPolicy {
            max_failures: 5,
            window: Duration::from_secs(60),
        }
    }
}

/// An extension's lifecycle: its state, the steps it took and its crashes.
#[derive(Debug)]
pub struct Lifecycle {
    /// Where it is now.
    pub state: LifecycleState,
    /// The steps it took, oldest first (the most recent 64).
    pub history: Vec<Transition>,
    /// Crashes since it was loaded.
    pub failures: u64,
    /// When the recent crashes happened, oldest first, within the window.
    recent: Vec<std::time::Instant>,
    /// The last crash or failed activation or reload, in words.
    pub last_error: Option<String>,
}

/// Steps beyond this many are dropped from the front of the history, so a
/// long-lived extension that flaps cannot grow it without bound.
const HISTORY_LIMIT: usize = 64;

impl Default for Lifecycle {
    fn default() -> Self {
        Lifecycle::new()
    }
}

impl Lifecycle {
    /// A lifecycle that starts `Discovered`, with no history.
    pub fn new() -> Self {
        Lifecycle {
            state: LifecycleState::Discovered,
            history: Vec::new(),
            failures: 0,
            recent: Vec::new(),
            last_error: None,
        }
    }

    /// Moves to `to`, recording why; refuses a step the machine forbids.
    pub fn step(
        &mut self,
        extension: &str,
        to: LifecycleState,
        reason: impl Into<String>,
    ) -> Result<Transition, TransitionError> {
        if !self.state.can_become(to) {
            return Err(TransitionError {
                extension: extension.to_string(),
                from: self.state,
                to,
            });
        }
        let transition = Transition {
            from: self.state,
            to,
            reason: reason.into(),
            at_ms: symphony_protocol::now_us() / 1000,
        };
        self.state = to;
        if to == LifecycleState::Active {
            self.recent.clear();
        }
        if self.history.len() == HISTORY_LIMIT {
            self.history.remove(0);
        }
        self.history.push(transition.clone());
        Ok(transition)
    }

    /// Records a crash; true when it is the one that crosses `policy`'s
    /// threshold.
    pub fn crashed(&mut self, policy: &CrashPolicy, error: String) -> bool {
        let now = std::time::Instant::now();
        self.failures += 1;
        self.last_error = Some(error);
        self.recent
            .retain(|at| now.saturating_duration_since(*at) <= policy.window);
        self.recent.push(now);
        policy.max_failures > 0 && self.recent.len() >= policy.max_failures as usize
    }

    /// Crashes within the window, as last counted.
    pub fn recent_failures(&self) -> usize {
        self.recent.len()
    }
}

#[cfg(test)]
mod tests;
