//! Health checks of pooled Instrument instances: on demand, periodically on
//! a background thread, and after a call that returned a guest error. An
//! unhealthy or trapping instance goes Failed → Cold and is replaced on
//! the next call.

use std::sync::{Arc, mpsc};
use std::time::Duration;

use serde::Serialize;

use super::stats::PoolEvent;
use crate::extension::{Extension, LifecycleState, NodeConfig, Pooled};
use crate::host::HostInner;
use crate::runtime::{Instance, block_on_call};
use crate::{CallError, Error, ExtensionKind, Health, Host};

/// What [`Host::check_health`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct HealthReport {
    /// Idle Instrument instances checked.
    pub checked: usize,
    /// Of those, the ones that answered `healthy`.
    pub healthy: usize,
    /// The ones that answered `degraded`; they keep serving.
    pub degraded: usize,
    /// The ones that answered `unhealthy` or trapped: discarded, to be
    /// replaced by a fresh instance on the next call.
    pub replaced: usize,
    /// Why each replaced instance was replaced (`<extension>: <reason>`).
    pub problems: Vec<String>,
}

impl Extension {
    /// Calls `health-check` on an Instrument instance taken out of the
    /// pool, then gives it back, or discards it (Failed → Cold) when it
    /// answers `unhealthy` or traps. `when` says why it was checked.
    pub(crate) async fn vet(&self, mut pooled: Pooled, when: &str) -> Result<Health, CallError> {
        let manager = self.pool.manager();
        let counters = &self.ctx.metrics.pool;
        manager.count(counters, PoolEvent::HealthCheck);
        let instance = &mut pooled.instance;
        instance.begin_call(
            &NodeConfig::default(),
            self.limits.fuel,
            symphony_protocol::clock::deadline(self.limits.deadline),
            self.deadline_ticks,
        );
        let answer = instance
            .finish(
                "health-check",
                &self.limits,
                async |instance: &mut Instance| {
                    let (api, store, _) = instance.instrument()?;
                    api.call_health_check(store).await
                },
            )
            .await;
        match answer {
            Ok(health) => {
                let health = Health::from(health);
                if health.status == "unhealthy" {
                    manager.count(counters, PoolEvent::Unhealthy);
                    let detail = health.detail.as_deref().unwrap_or("no detail");
                    self.pool
                        .discard(pooled, format!("unhealthy {when}: {detail}"));
                } else {
                    self.release(pooled);
                }
                Ok(health)
            }
            Err(error) => {
                manager.count(counters, PoolEvent::Unhealthy);
                self.pool
                    .discard(pooled, format!("health check {when} failed: {error}"));
                Err(error)
            }
        }
    }

    /// Checks each instance idle now, one at a time so calls keep the rest.
    fn check_idle(&self, report: &mut HealthReport) {
        for number in self.pool.idle_numbers() {
            let Some(pooled) = self.pool.take(number) else {
                continue;
            };
            report.checked += 1;
            let vetted = block_on_call(&self.name, self.vet(pooled, "on a health check"));
            match vetted {
                Ok(health) => match health.status.as_str() {
                    "healthy" => report.healthy += 1,
                    "degraded" => report.degraded += 1,
                    _ => {
                        report.replaced += 1;
                        let detail = health.detail.unwrap_or_default();
                        report
                            .problems
                            .push(format!("{}#{number}: unhealthy: {detail}", self.name));
                    }
                },
                Err(error) => {
                    report.replaced += 1;
                    report
                        .problems
                        .push(format!("{}#{number}: {error}", self.name));
                }
            }
        }
    }
}

impl HostInner {
    fn check_health(&self) -> HealthReport {
        let mut report = HealthReport::default();
        for slot in self.loaded() {
            if slot.kind == ExtensionKind::Instrument && slot.state() == LifecycleState::Active {
                slot.current().check_idle(&mut report);
            }
        }
        report
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
    let (stop, stopped) = mpsc::channel::<()>();
    *inner
        .pool
        .health_stop
        .lock()
        .unwrap_or_else(|e| e.into_inner()) = Some(stop);
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
                // Nothing is ever sent: the sender's drop (host dropped or
                // shut down) ends the wait early with `Disconnected`.
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
                    let report = inner.prewarm_predicted_now();
                    tracing::debug!("time-of-day prewarm: {report:?}");
                }
            }
        })
        .map(drop)
        .map_err(|e| Error::Setup(format!("cannot start the pool's background thread: {e}")))
}

impl Host {
    /// Calls `health-check` on every idle instance of every active
    /// Instrument, one instance at a time; an instance that answers
    /// `unhealthy` or traps is discarded (Failed → Cold) and the next call
    /// starts a fresh one. Instances in a call are left alone.
    pub fn check_health(&self) -> HealthReport {
        self.inner.check_health()
    }
}
