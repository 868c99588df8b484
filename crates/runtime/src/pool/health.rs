//! Health checks of pooled Instrument instances: on demand, periodically on
//! a background thread, and after a call that returned a guest error. An
//! unhealthy or trapping instance goes Failed → Cold and is replaced on
//! the next call.

use serde::Serialize;

use super::stats::PoolEvent;
use crate::extension::{Extension, Health, NodeConfig, Pooled};
use crate::{CallError, Instance, block_on_call};

/// What a health check of the idle instances found.
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
    pub fn check_idle(&self, report: &mut HealthReport) {
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
