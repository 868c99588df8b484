//! Extensions: their kinds, limits, grants, instance pools and call handles.

mod audit;
mod grants;
mod handles;
mod lifecycle;
mod loader;
mod manifest;
mod metrics;
mod node_config;
mod permissions;
mod policy;
mod pool;
mod reload;
mod resolve;
pub(crate) mod slot;
mod watch;

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use audit::{AuditError, AuditLog, AuditQuery, AuditRecord, DecidedBy, Decision};
pub use grants::{ArtifactAccess, DirGrant, FsAccess, Grants};
pub use handles::{Addon, Health, Instrument, Operator, UiEvent, VNode, render_text};
pub use lifecycle::{CrashPolicy, LifecycleState, Transition, TransitionError};
pub use loader::{ExtensionSetup, LoadReport, LoadedExtension, MANIFEST_FILE, discover};
pub use manifest::{
    Capabilities, Capability, ConfigKey, ConfigSchema, Dependency, FsCapability, Manifest,
    ManifestError, ManifestKind, ManifestLimits, ManifestProblem, ParseCapabilityError,
    http_allows, net_allows,
};
pub use metrics::{CallLatency, ErrorCounts, LatencyBucket, MetricsSnapshot};
pub(crate) use metrics::{ExtensionMetrics, Histogram};
pub use permissions::{
    Denial, PermissionError, PermissionOutcome, PermissionRequest, Permissions, Prompt,
};
pub use policy::{GrantStore, Policy, PolicyError, Recorded, Rule, VersionGrants};
pub(crate) use pool::{Demand, InstancePool, PoolSetup, Pooled};
pub use reload::ReloadReport;
pub use resolve::{
    Candidate, Chain, DEFAULT_RESOLVE_STEPS, NameVersion, Requirement, Resolution, ResolveError,
    ResolveNote, ResolveProblem, Roots, resolve, resolve_within,
};
pub(crate) use slot::{Slot, Source};
pub use watch::{ReloadEvent, SETTLE, Watcher};

use crate::CallError;
use crate::pit::pool::PoolManager;
use crate::runtime::{ExtensionContext, Instance, WorldPre, wit};

/// The three kinds of extension, one WIT world each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExtensionKind {
    /// An AI model adapter (`instrument-extension`).
    Instrument,
    /// A workflow data transform (`operator-extension`).
    Operator,
    /// A UI contribution (`addon-extension`).
    Addon,
}

impl ExtensionKind {
    /// Every kind.
    pub const ALL: [ExtensionKind; 3] = [
        ExtensionKind::Instrument,
        ExtensionKind::Operator,
        ExtensionKind::Addon,
    ];

    /// `instrument`, `operator` or `addon`.
    pub fn as_str(self) -> &'static str {
        match self {
            ExtensionKind::Instrument => "instrument",
            ExtensionKind::Operator => "operator",
            ExtensionKind::Addon => "addon",
        }
    }

    /// The WIT interface the kind exports.
    pub fn interface(self) -> &'static str {
        match self {
            ExtensionKind::Instrument => "symphony:extension/instrument@0.1.0",
            ExtensionKind::Operator => "symphony:extension/operator@0.1.0",
            ExtensionKind::Addon => "symphony:extension/addon@0.1.0",
        }
    }
}

impl fmt::Display for ExtensionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Resource limits for each call into an extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Fuel per call (about one unit per WebAssembly instruction).
    /// Default: 2 billion.
    pub fuel: u64,
    /// Wall-clock time per call, enforced with epochs. Default: 10 s.
    pub deadline: Duration,
    /// Linear memory per instance, in bytes. Default: 256 MiB.
    pub memory: usize,
    /// Instances kept at once; callers beyond it wait up to the deadline.
    /// Default: 8 (Addons: 1, so their UI state stays in one place).
    pub max_instances: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            fuel: 2_000_000_000,
            deadline: Duration::from_secs(10),
            memory: 256 << 20,
            max_instances: 8,
        }
    }
}

/// Why a guest call returned no result, as the guest reported it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(tag = "kind", content = "message", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum ExtError {
    /// The input does not have the shape or values the extension accepts.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The configuration is not usable.
    #[error("invalid config: {0}")]
    InvalidConfig(String),
    /// A resource the extension needs is not available.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// The host refused a call for lack of a capability.
    #[error("denied: {0}")]
    Denied(String),
    /// Anything else.
    #[error("failed: {0}")]
    Failed(String),
}

/// The configuration of one call: a workflow node's `config` object.
///
/// Cheap to clone. Extensions read it through the `host.config` import;
/// Instruments also receive it whole through `configure`. The text forms are
/// computed once here, not on every call.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    text: Arc<ConfigText>,
    /// A deadline tighter than the extension's own, e.g. a workflow node's
    /// timeout: the call is interrupted when it passes.
    deadline: Option<Duration>,
    /// Stops calls while they run when set (a cancelled workflow run).
    interrupt: Option<Interrupt>,
}

/// A flag that stops the calls made with it while they run: set it and
/// each such call ends within a few epoch ticks with
/// [`CallError::Interrupted`]. Cheap to clone; every clone is the same
/// flag.
///
/// ```
/// use symphony_host::{Interrupt, NodeConfig};
///
/// let stop = Interrupt::new();
/// let config = NodeConfig::default().with_interrupt(stop.clone());
/// // ... calls made with `config` on other threads ...
/// stop.set();
/// assert!(stop.is_set());
/// # drop(config);
/// ```
#[derive(Debug, Clone, Default)]
pub struct Interrupt(Arc<std::sync::atomic::AtomicBool>);

impl Interrupt {
    /// A flag not yet set.
    pub fn new() -> Self {
        Interrupt::default()
    }

    /// Stops every call made with this flag.
    pub fn set(&self) {
        self.0.store(true, std::sync::atomic::Ordering::Release);
    }

    /// Whether it was set.
    pub fn is_set(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::Acquire)
    }
}

#[derive(Debug)]
struct ConfigText {
    map: Map<String, Value>,
    /// Each value as `host.config` returns it.
    values: HashMap<String, String>,
    /// The whole object as JSON text.
    json: String,
}

impl NodeConfig {
    /// A configuration from a JSON object.
    pub fn new(map: Map<String, Value>) -> Self {
        let values = map
            .iter()
            .map(|(k, v)| {
                let text = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (k.clone(), text)
            })
            .collect();
        let json = Value::Object(map.clone()).to_string();
        NodeConfig {
            text: Arc::new(ConfigText { map, values, json }),
            deadline: None,
            interrupt: None,
        }
    }

    /// The same configuration for calls that stop (with
    /// [`CallError::Interrupted`]) when `interrupt` is set while they run.
    pub fn with_interrupt(mut self, interrupt: Interrupt) -> Self {
        self.interrupt = Some(interrupt);
        self
    }

    /// The flag set by [`with_interrupt`](Self::with_interrupt).
    pub fn interrupt(&self) -> Option<&Interrupt> {
        self.interrupt.as_ref()
    }

    /// The same configuration for calls that must end within `deadline`
    /// (or the extension's own deadline, if that is sooner). The guest is
    /// interrupted when it passes, and the call fails with
    /// [`CallError::Deadline`].
    pub fn with_deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// The deadline set by [`with_deadline`](Self::with_deadline).
    pub fn deadline(&self) -> Option<Duration> {
        self.deadline
    }

    /// The value at `key`: strings as they are, anything else as JSON text.
    pub fn get(&self, key: &str) -> Option<String> {
        self.text.values.get(key).cloned()
    }

    /// The whole configuration as JSON text (`{}` when empty).
    pub fn to_json(&self) -> &str {
        &self.text.json
    }

    /// Whether both are the same allocation (cheaper than comparing).
    pub(crate) fn same_as(&self, other: &NodeConfig) -> bool {
        Arc::ptr_eq(&self.text, &other.text)
    }
}

/// The empty configuration. One shared allocation, so calls without a
/// config (health checks, addon renders) neither allocate nor count as a
/// config change.
impl Default for NodeConfig {
    fn default() -> Self {
        static EMPTY: std::sync::OnceLock<NodeConfig> = std::sync::OnceLock::new();
        EMPTY.get_or_init(|| NodeConfig::new(Map::new())).clone()
    }
}

impl PartialEq for NodeConfig {
    fn eq(&self, other: &Self) -> bool {
        self.same_as(other) || self.text.map == other.text.map
    }
}

impl TryFrom<Value> for NodeConfig {
    type Error = String;

    fn try_from(value: Value) -> Result<Self, String> {
        match value {
            Value::Object(map) => Ok(NodeConfig::new(map)),
            Value::Null => Ok(NodeConfig::default()),
            other => Err(format!("config must be a JSON object, got {other}")),
        }
    }
}

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
pub(crate) struct Extension {
    pub(crate) name: Arc<str>,
    pub(crate) kind: ExtensionKind,
    pub(crate) path: PathBuf,
    pub(crate) hash: String,
    pub(crate) version: Option<semver::Version>,
    /// The node configs it takes, from its manifest.
    pub(crate) config: Option<Arc<ConfigSchema>>,
    pub(crate) limits: Limits,
    /// The deadline in epoch ticks.
    pub(crate) deadline_ticks: u64,
    epoch_tick: Duration,
    engine: wasmtime::Engine,
    pre: WorldPre,
    pub(crate) ctx: Arc<ExtensionContext>,
    /// Its instances, as the host's Pool Manager keeps them.
    pub(crate) pool: Arc<InstancePool>,
}

impl Extension {
    #[allow(
        clippy::too_many_arguments,
        reason = "a private constructor fed by Host::load"
    )]
    pub(crate) fn new(
        ctx: Arc<ExtensionContext>,
        kind: ExtensionKind,
        path: PathBuf,
        hash: String,
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
            fuel: limits.fuel,
            deadline_ticks,
        });
        Extension {
            name: ctx.name.clone(),
            kind,
            path,
            hash,
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
    /// call in the extension's metrics. An instance whose call trapped is
    /// dropped, never reused. Hands `f` back, uncalled, when this version
    /// has stopped serving (a reload replaced it or it was deactivated).
    pub(crate) fn call<R, F>(
        &self,
        function: &'static str,
        config: &NodeConfig,
        f: F,
    ) -> Result<Result<R, CallError>, F>
    where
        F: FnOnce(&mut Instance) -> wasmtime::Result<GuestResult<R>>,
    {
        let started = Instant::now();
        let mut pooled = match self
            .pool
            .checkout(Demand::Call, self.limits.deadline, || self.new_instance())
        {
            None => return Err(f),
            Some(Ok(pooled)) => pooled,
            Some(Err(error)) => {
                self.ctx
                    .metrics
                    .record_call(started.elapsed(), 0, Some(&error));
                return Ok(Err(error));
            }
        };
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
        if let Some(next) = self.pool.manager().record_use(&self.name) {
            crate::pit::pool::prewarm_in_background(&self.ctx.host, next);
        }
        let instance = &mut pooled.instance;
        instance.begin_call(config, self.limits.fuel, deadline_ticks);
        if config.interrupt().is_some() {
            instance.interruptible_until(crate::sync::deadline(limits.deadline));
        }
        // A panic in a host import unwinds through the guest: the instance
        // is dropped (and counted as gone) before the panic goes on, or the
        // pool would wait for it forever.
        let result = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(instance))) {
            Ok(result) => result,
            Err(panic) => {
                self.pool
                    .discard(pooled, "a host function panicked during a call".into());
                std::panic::resume_unwind(panic);
            }
        };
        let fuel_used = instance.fuel_used(self.limits.fuel);
        let result = match result {
            Ok(Ok(value)) => {
                self.release(pooled);
                Ok(value)
            }
            Ok(Err((function, error))) => {
                // The guest reported an error rather than trapping: an
                // Instrument may have broken its own state, so ask it
                // before it serves again.
                if self.kind == ExtensionKind::Instrument {
                    // A trap or an unhealthy answer discards the instance;
                    // the call's own error is what the caller needs.
                    let _ = self.vet(pooled, "after a guest error");
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
                let error = instance.classify(error, &self.name, function, limits);
                self.pool.discard(pooled, error.to_string());
                Err(error)
            }
        };
        self.ctx
            .metrics
            .record_call(started.elapsed(), fuel_used, result.as_ref().err());
        Ok(result)
    }

    /// Gives an instance (from a call or [`Extension::hold_idle`]) back to
    /// the pool, or shuts it down when this version has stopped serving.
    pub(crate) fn release(&self, pooled: Pooled) {
        self.pool.checkin(pooled);
    }

    /// Starts one instance ahead of demand, unless one is idle already.
    pub(crate) fn prewarm(&self) -> crate::PrewarmOutcome {
        self.pool.prewarm(|| self.new_instance())
    }

    /// Creates an instance outside the pool (running its load hooks) and
    /// drops it.
    pub(crate) fn start_and_drop(&self) -> Result<(), CallError> {
        self.new_instance().map(drop)
    }

    /// Starts serving: creates the first instance (running its `on-load`
    /// and `on-activate` hooks) and keeps it warm in the pool. With
    /// `state`, the instance first gets a previous version's snapshot.
    pub(crate) fn activate(&self, state: Option<&[u8]>) -> Result<(), String> {
        self.pool.reopen();
        let mut pooled = match self
            .pool
            .checkout(Demand::Activation, self.limits.deadline, || {
                self.new_instance()
            }) {
            Some(Ok(pooled)) => pooled,
            Some(Err(error)) => return Err(error.to_string()),
            None => return Err("it was closed while starting".into()),
        };
        if let Some(state) = state {
            let instance = &mut pooled.instance;
            instance.begin_call(
                &NodeConfig::default(),
                self.limits.fuel,
                self.deadline_ticks,
            );
            let restored = match instance.restore(state) {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => Err(format!("restore returned an error: {e}")),
                Err(e) => Err(instance
                    .classify(e, &self.name, "restore", &self.limits)
                    .to_string()),
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
    pub(crate) fn hold_idle(&self) -> Result<Option<Pooled>, String> {
        self.pool.take_idle(self.limits.deadline).map_err(|()| {
            format!(
                "every instance stayed busy for {:?}, so its state could not be taken",
                self.limits.deadline
            )
        })
    }

    /// The guest's `snapshot` of `instance`'s state; `None` when it keeps
    /// none. A trap drops the instance.
    pub(crate) fn snapshot(&self, mut pooled: Pooled) -> Result<(Option<Vec<u8>>, Pooled), String> {
        let instance = &mut pooled.instance;
        instance.begin_call(
            &NodeConfig::default(),
            self.limits.fuel,
            self.deadline_ticks,
        );
        match instance.snapshot() {
            Ok(state) => Ok((state, pooled)),
            Err(e) => {
                let error = instance
                    .classify(e, &self.name, "snapshot", &self.limits)
                    .to_string();
                self.pool
                    .discard(pooled, format!("snapshot failed: {error}"));
                Err(error)
            }
        }
    }

    fn new_instance(&self) -> Result<Instance, CallError> {
        Instance::new(
            &self.engine,
            &self.pre,
            &self.ctx,
            &self.limits,
            self.deadline_ticks,
        )
    }

    /// Stops serving: runs the shutdown hooks (`on-deactivate`,
    /// `on-unload`) of every idle instance and drops them; instances still
    /// in a call get theirs when the call returns.
    pub(crate) fn retire(&self) {
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

/// How many epoch ticks of `tick` cover `deadline` (at least one).
fn ticks(deadline: Duration, tick: Duration) -> u64 {
    u64::try_from(deadline.as_nanos().div_ceil(tick.as_nanos().max(1)))
        .unwrap_or(u64::MAX)
        .max(1)
}
