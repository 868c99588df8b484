//! Extensions: their kinds, limits, grants, instance pools and call handles.

mod handles;
mod instances;
pub(crate) mod slot;
mod upkeep;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use crate::histogram::{CallLatency, LatencyBucket};
pub use crate::metrics::{ErrorCounts, ExtensionMetrics, MetricsSnapshot};
pub use crate::node_config::NodeConfig;
pub use handles::{Addon, Health, Instrument, Operator, UiEvent, VNode, render_text};
pub use instances::Pooled;
pub(crate) use instances::{Demand, InstancePool, PoolSetup, Wait};
pub use slot::{ExtensionInfo, Slot, Source};
use symphony_manifest::{ConfigSchema, Dependency, ExtensionKind, Grants, Limits};
pub use upkeep::prewarm;

use crate::CallError;
use crate::pool::PoolManager;
use crate::{ExtensionContext, Instance, WorldPre, block_on, block_on_call, wit};

/// Options for loading one extension. Defaults: named after the file, no
/// grants, the host's default limits.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// The name workflows use; default: the file stem with `_` as `-`.
    pub name: Option<String>,
    /// What the extension may do.
    pub grants: Grants,
    /// Limits; default: the host's.
    pub limits: Option<Limits>,
    /// The version its manifest declares, for the audit log and metrics.
    pub version: Option<semver::Version>,
    /// The kind its manifest declares; a component exporting another
    /// world is refused.
    pub kind: Option<ExtensionKind>,
    /// The configuration keys its manifest declares: node configs are
    /// checked against them and get their defaults. `None` takes any
    /// config as it is.
    pub config: Option<ConfigSchema>,
}

/// A guest-level failure: which export returned which `ext-error`.
pub(crate) type GuestResult<T> = Result<T, (&'static str, wit::ExtError)>;

/// A loaded extension: its linked component and its pool of instances.
pub struct Extension {
    /// The name workflows use.
    pub name: Arc<str>,
    /// Its kind (the world its component exports).
    pub kind: ExtensionKind,
    /// The component file.
    pub path: PathBuf,
    /// SHA-256 of the component bytes.
    pub hash: String,
    /// The version its manifest declares.
    pub version: Option<semver::Version>,
    /// The WASI version and tools its component was built with.
    pub built_with: Arc<crate::BuiltWith>,
    /// The node configs it takes, from its manifest.
    pub config: Option<Arc<ConfigSchema>>,
    /// Limits on each call.
    pub limits: Limits,
    /// The deadline in epoch ticks.
    pub(crate) deadline_ticks: u64,
    epoch_tick: Duration,
    engine: wasmtime::Engine,
    pre: WorldPre,
    /// What all its instances share: grants, bus endpoint, audit log, metrics.
    pub ctx: Arc<ExtensionContext>,
    /// Its instances, as the host's Pool Manager keeps them.
    pub(crate) pool: Arc<InstancePool>,
}

impl Extension {
    /// An extension of `kind` from a linked component (`pre`, from
    /// [`Runtime::prepare`](crate::Runtime::prepare)), its instances kept by
    /// `manager`.
    #[allow(
        clippy::too_many_arguments,
        reason = "one constructor, called by the host's loader with what it read and prepared"
    )]
    pub fn new(
        ctx: Arc<ExtensionContext>,
        kind: ExtensionKind,
        path: PathBuf,
        hash: String,
        built_with: crate::BuiltWith,
        version: Option<semver::Version>,
        config: Option<ConfigSchema>,
        limits: Limits,
        epoch_tick: Duration,
        engine: wasmtime::Engine,
        pre: WorldPre,
        manager: Arc<PoolManager>,
    ) -> Self {
        let deadline_ticks = ticks(limits.deadline, epoch_tick);
        let pool = InstancePool::new(PoolSetup {
            name: ctx.name.clone(),
            managed: kind != ExtensionKind::Addon,
            max: limits.max_instances,
            manager,
            metrics: ctx.metrics.clone(),
            limits,
            deadline_ticks,
        });
        Extension {
            name: ctx.name.clone(),
            kind,
            path,
            hash,
            built_with: Arc::new(built_with),
            version,
            config: config.map(Arc::new),
            limits,
            deadline_ticks,
            epoch_tick,
            engine,
            pre,
            pool,
            ctx,
        }
    }

    /// Runs `f` on an instance from the pool with fresh fuel and deadline,
    /// turns a guest `ext-error` into [`CallError::Guest`] and records the
    /// call in the extension's metrics. The deadline (the extension's, or
    /// the config's tighter one) and the config's interrupt bound the whole
    /// call, waits for an instance and in host calls included. An instance
    /// whose call trapped or was stopped is dropped, never reused. Hands
    /// `f` back, uncalled, when this version has stopped serving (a reload
    /// replaced it or it was deactivated).
    pub(crate) async fn call<R, F>(
        &self,
        function: &'static str,
        config: &NodeConfig,
        f: F,
    ) -> Result<Result<R, CallError>, F>
    where
        F: AsyncFnOnce(&mut Instance) -> wasmtime::Result<GuestResult<R>>,
    {
        let started = Instant::now();
        // A node's own, tighter deadline interrupts the guest as the
        // extension's would.
        let (deadline_ticks, limits) = match config.deadline() {
            Some(deadline) if deadline < self.limits.deadline => (
                ticks(deadline, self.epoch_tick),
                &Limits {
                    deadline,
                    ..self.limits
                },
            ),
            _ => (self.deadline_ticks, &self.limits),
        };
        let until = started + limits.deadline;
        let checkout = self.pool.checkout(
            Demand::Call,
            Wait {
                function,
                until,
                interrupt: config.interrupt(),
                requester: config.requester(),
            },
            async || self.new_instance().await,
        );
        let mut pooled = match checkout.await {
            None => return Err(f),
            Some(Ok(pooled)) => pooled,
            Some(Err(error)) => {
                self.ctx
                    .metrics
                    .record_call(started.elapsed(), 0, Some(&error));
                return Ok(Err(error));
            }
        };
        if let Some(next) = self
            .pool
            .manager()
            .record_use(self.pool.id(), &self.name, started)
            && let Some(host) = self.ctx.host.upgrade()
        {
            host.prewarm_in_background(next);
        }
        // Dropped mid-call (the caller's own call was stopped, or a host
        // import panicked), the guard discards the instance: the pool must
        // not wait for it forever, nor reuse it.
        let waited = std::mem::take(&mut pooled.waited);
        let mut guard = InUse::new(&self.pool, pooled);
        let instance = guard.instance();
        instance.begin_call(config, self.limits.fuel, until, deadline_ticks);
        let result = instance.finish(function, limits, f).await;
        // One clock read for the call's metrics and the line's estimates
        // (which want the call alone, not its wait for an instance).
        let elapsed = started.elapsed();
        self.pool.observe_call(elapsed.saturating_sub(waited));
        let fuel_used = instance.fuel_used(self.limits.fuel);
        let memory_refused = instance.memory_refused();
        self.ctx.log.flush();
        let pooled = guard.take();
        let result = match result {
            Ok(Ok(value)) => {
                self.release(pooled);
                Ok(value)
            }
            Ok(Err((function, _))) if let Some((limit, requested)) = memory_refused => {
                // A guest with its own allocator (CPython, SpiderMonkey)
                // turns a refused memory.grow into an error of its own
                // ("MemoryError"): the cause is the limit, and it is named
                // as for a guest that traps on it. Its heap is suspect, so
                // the instance goes.
                let error = CallError::MemoryLimit {
                    extension: self.name.to_string(),
                    function,
                    limit,
                    requested,
                };
                self.pool.discard(pooled, error.to_string());
                Err(error)
            }
            Ok(Err((function, error))) => {
                // The guest reported an error rather than trapping: an
                // Instrument may have broken its own state, so ask it
                // before it serves again.
                if self.kind == ExtensionKind::Instrument {
                    // A trap or an unhealthy answer discards the instance;
                    // the call's own error is what the caller needs.
                    let _ = self.vet(pooled, "after a guest error").await;
                } else {
                    self.release(pooled);
                }
                Err(CallError::Guest {
                    extension: self.name.to_string(),
                    function,
                    error: error.into(),
                })
            }
            Err(error) => {
                self.pool.discard(pooled, error.to_string());
                Err(error)
            }
        };
        self.ctx
            .metrics
            .record_call(elapsed, fuel_used, result.as_ref().err());
        Ok(result)
    }

    /// Gives an instance (from a call or [`Extension::hold_idle`]) back to
    /// the pool, or shuts it down when this version has stopped serving.
    pub fn release(&self, pooled: Pooled) {
        self.pool.checkin(pooled);
    }

    /// Starts one instance ahead of demand, unless one is idle already.
    pub fn prewarm(&self) -> crate::pool::PrewarmOutcome {
        let prewarm = self.pool.prewarm(async || self.new_instance().await);
        block_on(prewarm).unwrap_or_else(|error| crate::pool::PrewarmOutcome::Failed { error })
    }

    /// Creates an instance outside the pool (running its load hooks) and
    /// drops it.
    pub fn start_and_drop(&self) -> Result<(), CallError> {
        block_on_call(&self.name, self.new_instance()).map(drop)
    }

    /// Starts serving: creates the first instance (running its `on-load`
    /// and `on-activate` hooks) and keeps it warm in the pool. With
    /// `state`, the instance first gets a previous version's snapshot.
    pub fn activate(&self, state: Option<&[u8]>) -> Result<(), String> {
        self.pool.reopen();
        let activated = block_on(self.activate_async(state));
        activated.unwrap_or_else(Err)
    }

    async fn activate_async(&self, state: Option<&[u8]>) -> Result<(), String> {
        let wait = Wait {
            function: "on-activate",
            until: symphony_protocol::clock::deadline(self.limits.deadline),
            interrupt: None,
            requester: None,
        };
        let checkout = self
            .pool
            .checkout(Demand::Activation, wait, async || self.new_instance().await);
        let mut pooled = match checkout.await {
            Some(Ok(pooled)) => pooled,
            Some(Err(error)) => return Err(error.to_string()),
            None => return Err("it was closed while starting".into()),
        };
        if let Some(state) = state {
            let instance = &mut pooled.instance;
            self.begin_own_call(instance);
            let restored = match instance.restore(state, &self.limits).await {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => Err(format!("restore returned an error: {e}")),
                Err(e) => Err(e.to_string()),
            };
            if let Err(reason) = restored {
                self.pool
                    .discard(pooled, format!("restoring its state failed: {reason}"));
                self.retire();
                return Err(reason);
            }
        }
        self.release(pooled);
        Ok(())
    }

    /// This version's most recently used instance, taken out of the pool
    /// so no call changes its state until it is given back with
    /// [`Extension::release`]; waits up to the deadline for one to finish
    /// its call when all are busy. `Ok(None)` when there is no instance.
    pub fn hold_idle(&self) -> Result<Option<Pooled>, String> {
        self.pool.take_idle(self.limits.deadline).map_err(|()| {
            format!(
                "every instance stayed busy for {:?}, so its state could not be taken",
                self.limits.deadline
            )
        })
    }

    /// The guest's `snapshot` of `instance`'s state; `None` when it keeps
    /// none. A trap drops the instance.
    pub fn snapshot(&self, mut pooled: Pooled) -> Result<(Option<Vec<u8>>, Pooled), String> {
        let instance = &mut pooled.instance;
        self.begin_own_call(instance);
        match block_on_call(&self.name, instance.snapshot(&self.limits)) {
            Ok(state) => Ok((state, pooled)),
            Err(error) => {
                let error = error.to_string();
                self.pool
                    .discard(pooled, format!("snapshot failed: {error}"));
                Err(error)
            }
        }
    }

    /// Starts a call the host makes on its own (a hook, a health check, a
    /// state snapshot or restore): the default config under the
    /// extension's own fuel and deadline.
    pub(crate) fn begin_own_call(&self, instance: &mut Instance) {
        instance.begin_call(
            &NodeConfig::default(),
            self.limits.fuel,
            symphony_protocol::clock::deadline(self.limits.deadline),
            self.deadline_ticks,
        );
    }

    async fn new_instance(&self) -> Result<Instance, CallError> {
        Instance::new(
            &self.engine,
            &self.pre,
            &self.ctx,
            &self.limits,
            self.deadline_ticks,
        )
        .await
    }

    /// Stops serving: runs the shutdown hooks (`on-deactivate`,
    /// `on-unload`) of every idle instance and drops them; instances still
    /// in a call get theirs when the call returns.
    pub fn retire(&self) {
        self.shut_down(self.close());
    }

    /// The first half of [`Extension::retire`]: stops serving and returns
    /// the idle instances, so a caller can close under a lock and run the
    /// guests' hooks after releasing it.
    pub(crate) fn close(&self) -> Vec<Pooled> {
        self.pool.close()
    }

    /// The second half of [`Extension::retire`]: runs the shutdown hooks.
    pub(crate) fn shut_down(&self, instances: Vec<Pooled>) {
        self.pool.shut_down(instances);
    }
}

/// An instance in a call: discarded if the call never gives it back.
struct InUse<'p> {
    pool: &'p InstancePool,
    pooled: Option<Pooled>,
}

impl<'p> InUse<'p> {
    fn new(pool: &'p InstancePool, pooled: Pooled) -> Self {
        InUse {
            pool,
            pooled: Some(pooled),
        }
    }

    fn instance(&mut self) -> &mut Instance {
        // Present until `take`, which consumes the guard.
        &mut self.pooled.as_mut().expect("taken only once").instance
    }

    fn take(mut self) -> Pooled {
        self.pooled.take().expect("taken only once")
    }
}

impl Drop for InUse<'_> {
    fn drop(&mut self) {
        if let Some(pooled) = self.pooled.take() {
            let reason = if std::thread::panicking() {
                "a host function panicked during a call"
            } else {
                "its call was dropped by its caller while it ran"
            };
            self.pool.discard(pooled, reason.into());
        }
    }
}

/// The name an extension gets from its file: the stem with `_` as `-`.
pub fn name_from_path(path: &std::path::Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().replace('_', "-"))
        .unwrap_or_default()
}

/// How many epoch ticks of `tick` cover `deadline` (at least one).
fn ticks(deadline: Duration, tick: Duration) -> u64 {
    u64::try_from(deadline.as_nanos().div_ceil(tick.as_nanos().max(1)))
        .unwrap_or(u64::MAX)
        .max(1)
}
