//! The host's side of the Pool Manager: prewarming, health checks,
//! draining, stats and the builder's pool settings, over the extensions the
//! host has loaded.

use std::sync::{Arc, Weak, mpsc};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use symphony_runtime::extension::prewarm;
use symphony_runtime::pool::{
    DrainReport, HealthReport, Listeners, PER_HOUR, PoolSettings, PoolStats, PrewarmReport,
    UsageHistory,
};
use symphony_workflow::{Control, Node, Workflow};

use super::HostInner;
use crate::{Error, Host, HostBuilder};

impl HostBuilder {
    /// Sets every Pool Manager setting at once.
    pub fn pool(mut self, settings: PoolSettings) -> Self {
        self.pool = settings;
        self
    }

    /// Keeps at most `max_instances` Hot Instrument and Operator
    /// instances holding at most `max_bytes` of linear memory in all;
    /// beyond either, instances are evicted and cooled (their
    /// `on-deactivate` and `on-unload` hooks run) in the Arbitration
    /// Engine's memory order: by default the least recently used among
    /// those last used at the new instance's priority or lower (a new
    /// instance that only higher-priority ones could make room for serves
    /// its call and cools), with `[memory] strategy = "fifo"` the least
    /// recently used of all. Each eviction is in the decision log. An instance
    /// evicted while in a call finishes the call first and then cools, so
    /// live memory can exceed the budget by the instances still finishing
    /// their calls. Defaults: 128 instances, 2 GiB; zero is refused.
    /// Addon instances hold UI state and are never evicted.
    pub fn pool_budget(mut self, max_instances: usize, max_bytes: usize) -> Self {
        self.pool.max_instances = max_instances;
        self.pool.max_bytes = max_bytes;
        self
    }

    /// Health-checks idle Instrument instances every `interval` on a
    /// background thread, replacing unhealthy ones. Default: off.
    pub fn health_interval(mut self, interval: Duration) -> Self {
        self.pool.health_interval = Some(interval);
        self
    }

    /// Whether the extensions likely to follow the one just used are
    /// started in the background (at most two starts at once). Default:
    /// off.
    pub fn predictive_prewarm(mut self, on: bool) -> Self {
        self.pool.predict = on;
        self
    }

    /// Starts the extensions the usage history expects at this hour every
    /// `interval` on the background thread (time-of-day prewarming).
    /// Default: off.
    pub fn prewarm_interval(mut self, interval: Duration) -> Self {
        self.pool.prewarm_interval = Some(interval);
        self
    }
}

impl Host {
    /// Drains the extension `name`: it stops taking calls (it becomes
    /// inactive, so new calls fail with [`CallError::Unavailable`](crate::extension::CallError::Unavailable) saying
    /// it was drained), its idle instances cool now, and this waits up to
    /// `timeout` for the calls in flight to finish. Bring it back with
    /// [`Host::activate`].
    pub fn drain(&self, name: &str, timeout: Duration) -> Result<DrainReport, Error> {
        Ok(self.inner.find(name)?.drain(timeout)?)
    }

    /// Like [`Host::shutdown`], draining each active extension (dependants
    /// first) so that calls in flight can finish, all within `timeout`;
    /// stops the background health checks.
    pub fn shutdown_within(&self, timeout: Duration) -> Vec<DrainReport> {
        let until = symphony_protocol::clock::deadline(timeout);
        self.inner.pool.stop_health_checks();
        self.inner
            .active_dependants_first()
            .into_iter()
            .filter_map(|slot| {
                let left = until.saturating_duration_since(Instant::now());
                self.drain(&slot.name, left)
                    .inspect_err(|e| tracing::debug!("{e}"))
                    .ok()
            })
            .collect()
    }

    /// Calls `health-check` on every idle instance of every active
    /// Instrument, one instance at a time; an instance that answers
    /// `unhealthy` or traps is discarded (Failed → Cold) and the next call
    /// starts a fresh one. Instances in a call are left alone.
    pub fn check_health(&self) -> HealthReport {
        self.inner.check_health()
    }

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

    /// The Pool Manager's listeners: subscribe to be told about every
    /// pooled instance's transition (also published on the bus as
    /// `pool.<extension>.transition`).
    ///
    /// Listeners run on the thread making the transition, so they should
    /// be quick.
    pub fn pool_listeners(&self) -> &Listeners {
        &self.inner.pool.listeners
    }

    /// The Pool Manager's occupancy and counters, host-wide and for each
    /// loaded extension: hits, misses, hit rate, evictions, failures,
    /// prewarms, health checks, load times, Hot count and bytes.
    pub fn pool_stats(&self) -> PoolStats {
        self.inner.pool.stats(&self.inner.loaded())
    }

    /// A copy of the usage history the Pool Manager predicts from.
    pub fn usage_history(&self) -> UsageHistory {
        self.inner.pool.usage()
    }
}

impl HostInner {
    fn check_health(&self) -> HealthReport {
        let mut report = HealthReport::default();
        for slot in self.loaded() {
            slot.check_health(&mut report);
        }
        report
    }

    /// Starts one instance of each of `names` with none idle, in parallel.
    fn prewarm_names(&self, names: &[String]) -> PrewarmReport {
        let extensions: Vec<_> = names
            .iter()
            .map(|name| (name.clone(), self.find(name).ok()))
            .collect();
        prewarm(&extensions)
    }

    fn prewarm_predicted(&self, at: SystemTime) -> PrewarmReport {
        let secs = at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let names = self
            .pool
            .usage()
            .predict(secs, self.pool.settings.min_probability, PER_HOUR);
        self.prewarm_names(&names)
    }

    /// Starts one instance of each Instrument and Operator `workflow`
    /// calls that has none idle, on background threads, and returns at
    /// once: what the DAG Tracker asks for as a run starts, so nodes deep
    /// in the graph find their extensions warm.
    pub(crate) fn prewarm_in_background_for(&self, workflow: &Workflow) {
        let mut names = Vec::new();
        extensions_of(&workflow.nodes, &mut names);
        prewarm_in_background(&self.me, names);
    }
}

/// The Pool Manager's background thread: health-checks idle instances
/// every `health` and prewarms what the usage history expects at this
/// time of day every `prewarm`, until the host is dropped or shut down.
pub(crate) fn start_health_thread(
    inner: &Arc<HostInner>,
    health: Option<Duration>,
    prewarm: Option<Duration>,
) -> Result<(), Error> {
    let stopped = inner.pool.health_check_stop();
    let host = Arc::downgrade(inner);
    let now = std::time::Instant::now();
    let mut next_health = health.map(|i| now + i);
    let mut next_prewarm = prewarm.map(|i| now + i);
    std::thread::Builder::new()
        .name("symphony-pool".into())
        .spawn(move || {
            loop {
                let due = match (next_health, next_prewarm) {
                    (Some(a), Some(b)) => a.min(b),
                    (Some(a), None) | (None, Some(a)) => a,
                    (None, None) => break,
                };
                let wait = due.saturating_duration_since(std::time::Instant::now());
                // Nothing is ever sent: the stop (host dropped or shut
                // down) ends the wait early with `Disconnected`.
                if let Err(mpsc::RecvTimeoutError::Disconnected) = stopped.recv_timeout(wait) {
                    break;
                }
                let Some(inner) = host.upgrade() else { break };
                let now = std::time::Instant::now();
                if let (Some(at), Some(every)) = (next_health, health)
                    && at <= now
                {
                    next_health = Some(now + every);
                    let report = inner.check_health();
                    if report.replaced > 0 {
                        tracing::info!(
                            replaced = report.replaced,
                            "health checks replaced instances: {}",
                            report.problems.join("; ")
                        );
                    }
                }
                if let (Some(at), Some(every)) = (next_prewarm, prewarm)
                    && at <= now
                {
                    next_prewarm = Some(now + every);
                    let report = inner.prewarm_predicted(SystemTime::now());
                    tracing::debug!("time-of-day prewarm: {report:?}");
                }
            }
        })
        .map(drop)
        .map_err(|e| Error::Setup(format!("cannot start the pool's background thread: {e}")))
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

/// Checks an instance of the extension `name` out of its pool and back in,
/// exactly as a call does around the guest's work: the pool-hit path the
/// `pool_hit` bench measures. Not part of the API.
pub fn checkout_checkin(host: &crate::Host, name: &str) -> Result<(), crate::Error> {
    Ok(host.inner.find(name)?.checkout_checkin()?)
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
