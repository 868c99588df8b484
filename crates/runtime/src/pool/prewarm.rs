//! Prewarming: starting instances (Cold → Warming → Hot) before calls
//! need them, for the workflow about to run or as the usage history
//! predicts.

use std::sync::{Arc, Weak};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::extension::LifecycleState;
use crate::host::HostInner;
use crate::workflow::{Control, Node, Workflow};
use crate::{ExtensionKind, Host};

/// How many of an hour's busiest extensions [`Host::prewarm_predicted`]
/// starts.
pub(crate) const PER_HOUR: usize = 2;

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

/// What [`Host::prewarm`] or [`Host::prewarm_predicted`] did.
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

/// The Instrument and Operator extensions `nodes` call, map bodies
/// included, each once in the order first named.
fn extensions_of(nodes: &[Node], names: &mut Vec<String>) {
    for node in nodes {
        if node.kind.extension_kind().is_some() && !names.contains(&node.extension) {
            names.push(node.extension.clone());
        }
        if let Some(Control::Map(body)) = &node.control {
            extensions_of(&body.nodes, names);
        }
    }
}

impl HostInner {
    /// Starts one instance of each of `names` with none idle, in parallel.
    pub(crate) fn prewarm_names(&self, names: &[String]) -> PrewarmReport {
        let started = Instant::now();
        let entries = std::thread::scope(|scope| {
            let handles: Vec<_> = names
                .iter()
                .map(|name| {
                    let name = name.as_str();
                    scope.spawn(move || PrewarmEntry {
                        extension: name.to_string(),
                        outcome: self.prewarm_one(name),
                    })
                })
                .collect();
            handles
                .into_iter()
                .zip(names)
                .map(|(handle, name)| {
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

    fn prewarm_one(&self, name: &str) -> PrewarmOutcome {
        let Ok(slot) = self.find(name) else {
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
}

/// Starts `names` on a background thread, if a background slot is free;
/// the thread holds the host only while it starts them.
pub(crate) fn prewarm_in_background(host: &Weak<HostInner>, names: Vec<String>) {
    let Some(inner) = host.upgrade() else { return };
    if !inner.pool.begin_background() {
        return;
    }
    let host = host.clone();
    let spawned = std::thread::Builder::new()
        .name("symphony-prewarm".into())
        .spawn(move || {
            if let Some(inner) = host.upgrade() {
                let report = inner.prewarm_names(&names);
                tracing::debug!(started = report.started(), "prewarmed likely successors");
                inner.pool.end_background();
            }
        });
    if let Err(e) = spawned {
        tracing::debug!("cannot start a prewarm thread: {e}");
        inner.pool.end_background();
    }
}

impl Host {
    /// Starts (Cold → Warming → Hot) one instance of each Instrument and
    /// Operator `workflow` calls that has none idle, in parallel, so its
    /// first nodes find them warm. Extensions it names that are not loaded
    /// or not active are reported, not refused.
    pub fn prewarm(&self, workflow: &Workflow) -> PrewarmReport {
        let mut names = Vec::new();
        extensions_of(&workflow.nodes, &mut names);
        self.inner.prewarm_names(&names)
    }

    /// Starts what the usage history predicts for `at`: the likely
    /// successors of the extension used last (within the follow window)
    /// and the two busiest extensions of that hour of the day (UTC), by
    /// [`Host::usage_history`].
    pub fn prewarm_predicted(&self, at: SystemTime) -> PrewarmReport {
        self.inner.prewarm_predicted(at)
    }

    /// Starts one instance of each Instrument and Operator `workflow`
    /// calls that has none idle, on background threads, and returns at
    /// once: what the DAG Tracker does as a run starts, so nodes deep in
    /// the graph find their extensions warm.
    pub(crate) fn prewarm_in_background_for(inner: &Arc<HostInner>, workflow: &Workflow) {
        let mut names = Vec::new();
        extensions_of(&workflow.nodes, &mut names);
        prewarm_in_background(&Arc::downgrade(inner), names);
    }
}

impl HostInner {
    pub(crate) fn prewarm_predicted(&self, at: SystemTime) -> PrewarmReport {
        let secs = at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let names = self
            .pool
            .usage()
            .predict(secs, self.pool.settings.min_probability, PER_HOUR);
        self.prewarm_names(&names)
    }

    pub(crate) fn prewarm_predicted_now(&self) -> PrewarmReport {
        self.prewarm_predicted(SystemTime::now())
    }
}
