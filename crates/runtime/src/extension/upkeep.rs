//! The Pool Manager's work on extensions: draining one, health-checking
//! its idle instances, prewarming, and its share of the pool stats. Here,
//! above the `pool` module, so the Pool Manager never reaches up into the
//! extensions it keeps.

use std::sync::Arc;
use std::time::{Duration, Instant};

use symphony_manifest::{ExtensionKind, LifecycleState, TransitionError};

use super::{Extension, Health, Pooled, Slot};
use crate::pool::{
    DrainReport, ExtensionPoolStats, HealthReport, PoolEvent, PoolManager, PoolStats, PrewarmEntry,
    PrewarmOutcome, PrewarmReport,
};
use crate::{CallError, Instance, block_on_call};

impl Slot {
    /// Drains this extension: it stops taking calls (it becomes inactive,
    /// so new calls fail with `CallError::Unavailable` saying it was
    /// drained), its idle instances cool now, and this waits up to
    /// `timeout` for the calls in flight to finish.
    pub fn drain(&self, timeout: Duration) -> Result<DrainReport, TransitionError> {
        let started = Instant::now();
        // Held through the wait, so no activation reopens the pool meanwhile.
        let _ops = self.ops();
        let extension = self.current();
        let (idle, live) = extension.pool.counts();
        if self.state() == LifecycleState::Active {
            self.leave(LifecycleState::Inactive, "drained")?;
        } else {
            extension.retire();
        }
        let still_busy = extension.pool.wait_drained(
            started
                .checked_add(timeout)
                .unwrap_or_else(|| symphony_protocol::clock::deadline(timeout)),
        );
        let busy = live - idle;
        Ok(DrainReport {
            extension: self.name.to_string(),
            cooled: idle,
            finished: busy.saturating_sub(still_busy),
            still_busy,
            waited_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        })
    }
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
        self.begin_own_call(instance);
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

impl Slot {
    /// Health-checks this extension's idle instances into `report`, if it
    /// is an active Instrument (the only kind with a health check).
    pub fn check_health(&self, report: &mut HealthReport) {
        if self.kind == ExtensionKind::Instrument && self.state() == LifecycleState::Active {
            self.current().check_idle(report);
        }
    }

    /// Checks an instance out of the pool and back in, exactly as a call
    /// does around the guest's work: the pool-hit path the `pool_hit` bench
    /// measures. Not part of the API.
    #[doc(hidden)]
    pub fn checkout_checkin(&self) -> Result<(), CallError> {
        use crate::extension::{Demand, Wait};
        use std::task::{Context, Poll, Waker};
        let extension = self.current();
        let name = &*self.name;
        let wait = Wait {
            function: "invoke",
            until: symphony_protocol::clock::deadline(extension.limits.deadline),
            interrupt: None,
            requester: None,
        };
        let checkout = extension.pool.checkout(Demand::Call, wait, async || {
            Err(CallError::Instantiate {
                extension: name.to_string(),
                message: "no idle instance: this measures hits only".into(),
            })
        });
        // A hit (or a failed start) completes on the first poll, as inside
        // a call; only a wait for a busy instance would need a runtime.
        let mut checkout = std::pin::pin!(checkout);
        let Poll::Ready(checkout) = checkout
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()))
        else {
            return Err(CallError::Busy {
                extension: name.to_string(),
                max_instances: extension.limits.max_instances,
                waited: Duration::ZERO,
                position: None,
            });
        };
        match checkout {
            Some(Ok(pooled)) => {
                extension.release(pooled);
                Ok(())
            }
            Some(Err(error)) => Err(error),
            None => Err(CallError::Unavailable {
                extension: name.to_string(),
                state: self.state(),
                reason: Some("it is not serving".into()),
            }),
        }
    }
}

impl PoolManager {
    /// The occupancy and counters, host-wide and for each of `slots`: hits,
    /// misses, hit rate, evictions, failures, prewarms, health checks, load
    /// times, Hot count and bytes.
    pub fn stats(&self, slots: &[Arc<Slot>]) -> PoolStats {
        let by_pool = self.hot_by_pool();
        let mut totals = self.totals.snapshot();
        (totals.hot_count, totals.hot_bytes) = self.occupancy();
        let extensions = slots
            .iter()
            .map(|slot| {
                let extension = slot.current();
                let (idle, live) = extension.pool.counts();
                let mut counts = slot.metrics.pool.snapshot();
                (counts.hot_count, counts.hot_bytes) = by_pool
                    .get(&extension.pool.id())
                    .copied()
                    .unwrap_or_default();
                ExtensionPoolStats {
                    name: slot.name.to_string(),
                    kind: slot.kind,
                    idle,
                    busy: live - idle,
                    counts,
                }
            })
            .collect();
        PoolStats {
            max_instances: self.settings.max_instances.max(1),
            max_bytes: self.settings.max_bytes,
            totals,
            extensions,
        }
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
