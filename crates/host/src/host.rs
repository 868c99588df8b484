//! The host: the engine, the loaded extensions and the services they use.

pub(crate) mod discovery;
pub(crate) mod loader;
mod pool;
pub(crate) mod reload;
mod runs;
pub(crate) mod watch;

#[doc(hidden)]
pub use pool::checkout_checkin;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use symphony_arbitration::{Arbiter, ArbitrationConfig, DecisionSink, SqliteLog};
use symphony_artifacts::stale::{RetentionPolicy, StaleManager};
use symphony_artifacts::{ArtifactStore, StoreOptions};
use symphony_bus::Bus;
use symphony_dag::Tracker;
use symphony_manifest::{
    AuditLog, AuditRecord, CrashPolicy, DecidedBy, Decision, Dependency, ExtensionKind, Grants,
    LifecycleState, Limits,
};
use symphony_runtime::extension::{
    Addon, Extension, ExtensionInfo, ExtensionMetrics, Instrument, LoadOptions, MetricsSnapshot,
    Operator, Slot, Source,
};
use symphony_runtime::pool::{PoolManager, PoolSettings};
use symphony_runtime::{
    CacheStats, ComponentInfo, EngineSettings, ExtensionContext, HostDelegate, LoadError,
    LogLimiter, ModelCall, Runtime,
};
use symphony_workflow::{Plan, Workflow, WorkflowError};

use crate::Error;
use discovery::LoadFailure;
use loader::ExtensionSetup;
use pool::start_health_thread;

/// Configures and builds a [`Host`].
///
/// Defaults: the data directory from `$SYMPHONY_HOME`, else the platform's
/// data directory (`~/.local/share/symphony` on Linux); the compile cache in
/// `$SYMPHONY_COMPILE_CACHE`, else `<home>/cache/components`;
/// [`EngineSettings`], [`Limits`] and
/// [`PoolSettings`] defaults.
#[derive(Debug, Clone, Default)]
pub struct HostBuilder {
    home: Option<PathBuf>,
    cache: Option<PathBuf>,
    engine: EngineSettings,
    limits: Limits,
    crash: CrashPolicy,
    /// The Pool Manager's budget, health checks and prediction.
    pub(crate) pool: PoolSettings,
    /// A retention policy to run on the artifact store on its schedule.
    retention: Option<RetentionPolicy>,
    /// The Arbitration Engine's settings; `None`: `<home>/arbitration.toml`.
    arbitration: Option<ArbitrationConfig>,
    /// The tenant of runs that name none; `None`: the local user.
    tenant: Option<String>,
}

/// The tenant of runs that name none: the local user (`$USER`), else
/// `local`.
pub fn default_tenant() -> String {
    ["USER", "USERNAME"]
        .iter()
        .filter_map(std::env::var_os)
        .filter_map(|v| v.into_string().ok())
        .find(|v| !v.is_empty())
        .unwrap_or_else(|| "local".into())
}

/// The data directory used when none is given: `$SYMPHONY_HOME`, else
/// `symphony` in the platform's data directory.
pub fn default_home() -> Result<PathBuf, Error> {
    match std::env::var_os("SYMPHONY_HOME") {
        Some(home) => Ok(PathBuf::from(home)),
        None => dirs::data_dir().map(|d| d.join("symphony")).ok_or_else(|| {
            Error::Setup("no data directory: set SYMPHONY_HOME or pass --home".into())
        }),
    }
}

impl HostBuilder {
    /// Keeps everything the host persists (compile cache, artifacts) under `dir`.
    pub fn home(mut self, dir: impl Into<PathBuf>) -> Self {
        self.home = Some(dir.into());
        self
    }

    /// Keeps compiled components under `dir` instead of
    /// `$SYMPHONY_COMPILE_CACHE` or `<home>/cache/components`, e.g. to share
    /// one compile cache between several homes.
    pub fn compile_cache(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cache = Some(dir.into());
        self
    }

    /// Sizes the engine.
    pub fn engine(mut self, settings: EngineSettings) -> Self {
        self.engine = settings;
        self
    }

    /// Limits for extensions loaded without their own.
    pub fn default_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// When repeated crashes quarantine an extension.
    pub fn crash_policy(mut self, policy: CrashPolicy) -> Self {
        self.crash = policy;
        self
    }

    /// Runs `policy` on the host's artifact store in the background on the
    /// policy's `[schedule]` (an interval, optionally only inside an
    /// off-peak window) for as long as the host lives. Default: no
    /// background retention (`symphony artifacts gc` runs it by hand).
    pub fn retention(mut self, policy: RetentionPolicy) -> Self {
        self.retention = Some(policy);
        self
    }

    /// Arbitrates contended instances, memory, slots and budgets by
    /// `config` instead of `<home>/arbitration.toml`.
    pub fn arbitration(mut self, config: ArbitrationConfig) -> Self {
        self.arbitration = Some(config);
        self
    }

    /// Runs that name no tenant are `tenant`'s (default: the local user).
    pub fn tenant(mut self, tenant: impl Into<String>) -> Self {
        self.tenant = Some(tenant.into());
        self
    }

    /// Creates the engine and the data directory, and opens the artifact
    /// store at `<home>/artifacts`, encrypted at rest when
    /// `SYMPHONY_ARTIFACT_KEY` holds a key (64 hex digits).
    pub fn build(self) -> Result<Host, Error> {
        // With two crypto providers compiled in (ring for wasmtime-wasi-http,
        // aws-lc for the S3 client), rustls has no default and outgoing
        // HTTPS from extensions would panic; ring keeps what it uses without
        // the feature. Failing means one is installed already: fine.
        #[cfg(feature = "s3")]
        let _ = rustls::crypto::ring::default_provider().install_default();
        let home = match self.home {
            Some(home) => home,
            None => default_home()?,
        };
        std::fs::create_dir_all(&home).map_err(|e| {
            Error::Setup(format!(
                "cannot create the data directory {}: {e}",
                home.display()
            ))
        })?;
        let artifacts = StoreOptions::from_env()
            .and_then(|options| ArtifactStore::open(home.join("artifacts"), options))
            .map(Arc::new)
            .map_err(|e| Error::Setup(format!("cannot open the artifact store: {e}")))?;
        // A cache shared between homes (CI, many test homes) saves compiling
        // a large component (a Python guest: tens of seconds) once per home.
        let cache = self
            .cache
            .or_else(|| std::env::var_os("SYMPHONY_COMPILE_CACHE").map(PathBuf::from))
            .unwrap_or_else(|| home.join("cache").join("components"));
        let runtime = Runtime::new(self.engine, cache)?;
        let bus = Bus::new();
        self.pool.check()?;
        let arbitration = match self.arbitration {
            Some(config) => {
                config.check("the host's arbitration settings")?;
                config
            }
            None => ArbitrationConfig::load(&home.join("arbitration.toml"))?,
        };
        let log = SqliteLog::new(&home.join("arbitration.db"), arbitration.max_rows());
        let arbiter = Arbiter::new(
            arbitration,
            Some(bus.endpoint("arbitration")),
            Some(log as Arc<dyn DecisionSink>),
        );
        let tenant = self.tenant.unwrap_or_else(default_tenant);
        let background = (self.pool.health_interval, self.pool.prewarm_interval);
        let pool = PoolManager::new(self.pool, bus.endpoint("host"))
            .with_arbiter(arbiter.clone(), arbiter.requester(&tenant));
        let host = Host {
            retention: None,
            inner: Arc::new_cyclic(|me| HostInner {
                runtime,
                extensions: RwLock::default(),
                failures: RwLock::default(),
                pool: Arc::new(pool),
                tracker: Tracker::new(bus.clone(), artifacts.clone(), home.join("runs.db"))
                    .with_arbiter(arbiter.clone(), &tenant),
                arbiter,
                bus,
                artifacts,
                audit: Arc::new(AuditLog::new(home.join("audit.log"))),
                limits: self.limits,
                crash: self.crash,
                next_order: AtomicU64::new(0),
                home,
                me: me.clone(),
            }),
        };
        if background != (None, None) {
            start_health_thread(&host.inner, background.0, background.1)?;
        }
        let mut host = host;
        if let Some(policy) = self.retention {
            let manager = host
                .inner
                .artifacts
                .start_retention(policy)
                .map_err(|e| Error::Setup(format!("cannot start retention: {e}")))?;
            host.retention = Some(Arc::new(manager));
        }
        Ok(host)
    }
}

/// The Symphony host: loads WebAssembly component extensions, calls them
/// under limits and grants, and runs workflows of them.
///
/// Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct Host {
    pub(crate) inner: Arc<HostInner>,
    /// The background Stale Manager, stopped when the last clone goes.
    retention: Option<Arc<StaleManager>>,
}

pub(crate) struct HostInner {
    pub(crate) runtime: Runtime,
    extensions: RwLock<BTreeMap<String, Arc<Slot>>>,
    /// Extensions that could not be loaded, by name, until one of that
    /// name loads.
    failures: RwLock<BTreeMap<String, LoadFailure>>,
    /// Keeps every extension's instances within the host's hot budget.
    pub(crate) pool: Arc<PoolManager>,
    pub(crate) bus: Bus,
    pub(crate) artifacts: Arc<ArtifactStore>,
    limits: Limits,
    crash: CrashPolicy,
    /// The next load-order number.
    next_order: AtomicU64,
    pub(crate) home: PathBuf,
    /// Every permission decision and refused import.
    pub(crate) audit: Arc<AuditLog>,
    /// Runs workflows, records them in `<home>/runs.db` and publishes
    /// their events.
    pub(crate) tracker: Tracker,
    /// The Arbitration Engine: slots, instance lines, budgets, the
    /// decision log at `<home>/arbitration.db`.
    pub(crate) arbiter: Arbiter,
    /// The host itself, for work it hands to background threads that must
    /// not keep it alive (prewarming).
    pub(crate) me: std::sync::Weak<HostInner>,
}

impl HostInner {
    /// The limits an extension of `kind` gets when nothing asks for others:
    /// the host's, with one instance for Addons so their UI state stays in
    /// one place.
    pub(crate) fn default_limits(&self, kind: ExtensionKind) -> Limits {
        match kind {
            ExtensionKind::Addon => Limits {
                max_instances: 1,
                ..self.limits
            },
            _ => self.limits,
        }
    }

    /// The active extensions, dependants before their dependencies (the
    /// order to stop them in).
    pub(crate) fn active_dependants_first(&self) -> Vec<Arc<Slot>> {
        let mut slots = self.loaded();
        slots.retain(|slot| slot.state() == LifecycleState::Active);
        slots.sort_by_key(|slot| std::cmp::Reverse(slot.order));
        slots
    }

    /// The loaded extensions, by name; the lock is held only to copy them.
    pub(crate) fn loaded(&self) -> Vec<Arc<Slot>> {
        let extensions = self.extensions.read().unwrap_or_else(|e| e.into_inner());
        extensions.values().cloned().collect()
    }

    pub(crate) fn find(&self, name: &str) -> Result<Arc<Slot>, Error> {
        let extensions = self.extensions.read().unwrap_or_else(|e| e.into_inner());
        if let Some(slot) = extensions.get(name) {
            return Ok(slot.clone());
        }
        if let Some(failure) = self.failures().get(name) {
            return Err(Error::NotLoaded {
                name: name.to_string(),
                reason: failure.reason.clone(),
            });
        }
        Err(Error::UnknownExtension {
            name: name.to_string(),
            loaded: extensions.keys().cloned().collect(),
        })
    }

    fn failures(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, LoadFailure>> {
        self.failures.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Records that an extension could not be loaded, in the list and in
    /// the audit log.
    pub(crate) fn record_load_failure(&self, failure: LoadFailure) {
        let record = AuditRecord::now(
            &failure.name,
            failure.version.as_ref().map(ToString::to_string),
            "load",
            Decision::Denied,
            DecidedBy::Loader,
            format!("{}: {}", failure.path.display(), failure.reason),
        );
        if let Err(e) = self.audit.record(&record) {
            tracing::error!(extension = %failure.name, "{e}");
        }
        let mut failures = self.failures.write().unwrap_or_else(|e| e.into_inner());
        failures.insert(failure.name.clone(), failure);
    }

    fn get(&self, name: &str, expected: ExtensionKind) -> Result<Arc<Slot>, Error> {
        let ext = self.find(name)?;
        if ext.kind != expected {
            return Err(Error::WrongKind {
                name: name.to_string(),
                expected,
                actual: ext.kind,
            });
        }
        Ok(ext)
    }

    pub(crate) fn instrument(&self, name: &str) -> Result<Instrument, Error> {
        Ok(Instrument {
            ext: self.get(name, ExtensionKind::Instrument)?,
        })
    }

    pub(crate) fn operator(&self, name: &str) -> Result<Operator, Error> {
        Ok(Operator {
            ext: self.get(name, ExtensionKind::Operator)?,
        })
    }

    pub(crate) fn addon(&self, name: &str) -> Result<Addon, Error> {
        Ok(Addon {
            ext: self.get(name, ExtensionKind::Addon)?,
        })
    }

    /// Why each extension that could not be loaded was not, by name.
    fn failure_reasons(&self) -> BTreeMap<String, String> {
        (self.failures().iter())
            .map(|(name, failure)| (name.clone(), failure.reason.clone()))
            .collect()
    }

    fn kinds(&self) -> BTreeMap<String, ExtensionKind> {
        let extensions = self.extensions.read().unwrap_or_else(|e| e.into_inner());
        extensions
            .iter()
            .map(|(name, ext)| (name.clone(), ext.kind))
            .collect()
    }
}

impl Host {
    /// A builder with the defaults.
    pub fn builder() -> HostBuilder {
        HostBuilder::default()
    }

    /// The data directory.
    pub fn home(&self) -> &Path {
        &self.inner.home
    }

    /// The Arbitration Engine: its slots, budgets and
    /// [`stats`](Arbiter::stats). Its decisions are kept in
    /// `<home>/arbitration.db`.
    pub fn arbiter(&self) -> &Arbiter {
        &self.inner.arbiter
    }

    /// Loads the component at `path` with no grants and default limits;
    /// returns the name it is known by.
    pub fn load(&self, path: impl AsRef<Path>) -> Result<String, Error> {
        self.load_with(path, LoadOptions::default())
    }

    /// Loads the component at `path` with `options` and activates it (its
    /// first instance runs `on-load` and `on-activate`). If activation
    /// fails the extension stays listed as failed, with the reason, and
    /// the error says why.
    pub fn load_with(&self, path: impl AsRef<Path>, options: LoadOptions) -> Result<String, Error> {
        let path = path.as_ref();
        let name = options
            .name
            .clone()
            .unwrap_or_else(|| symphony_runtime::extension::name_from_path(path));
        let extension = self.prepare(path, &name, &options, Arc::default())?;
        let slot = self.register(
            extension,
            BTreeMap::new(),
            Source::Component(Box::new(options)),
        )?;
        slot.step(LifecycleState::Resolved, "needs no other extension")?;
        slot.step(LifecycleState::Loaded, "compiled and linked")?;
        slot.activate("loaded")?;
        Ok(name)
    }

    /// Compiles (or reads from the cache) and links the component at
    /// `path` as the extension `name`, checking it against `options`.
    pub(crate) fn prepare(
        &self,
        path: &Path,
        name: &str,
        options: &LoadOptions,
        metrics: Arc<ExtensionMetrics>,
    ) -> Result<Extension, Error> {
        let symphony_runtime::Prepared {
            kind,
            pre,
            hash,
            built_with,
        } = self.inner.runtime.prepare(path)?;
        if let Some(expected) = options.kind
            && expected != kind
        {
            return Err(LoadError::WorldMismatch {
                path: path.to_path_buf(),
                kind: expected,
                reason: format!(
                    "its manifest says it is an {expected}, but the component exports the {kind} \
                     world ({})",
                    kind.interface()
                ),
            }
            .into());
        }
        let limits = options
            .limits
            .unwrap_or_else(|| self.inner.default_limits(kind));
        let max_memory = self.inner.runtime.settings.max_memory;
        if limits.memory > max_memory {
            return Err(LoadError::Limits {
                name: name.to_string(),
                reason: format!(
                    "memory limit {} bytes is above the engine's maximum of {max_memory} bytes",
                    limits.memory
                ),
            }
            .into());
        }
        if let Some(dir) = options.grants.missing_dir() {
            return Err(LoadError::Grant {
                name: name.to_string(),
                path: dir.host.clone(),
                reason: "not a directory".into(),
            }
            .into());
        }
        let ctx = Arc::new(ExtensionContext {
            name: name.into(),
            grants: options.grants.clone(),
            bus: self.inner.bus.endpoint(name),
            host: self.inner.me.clone(),
            version: options.version.as_ref().map(ToString::to_string),
            audit: self.inner.audit.clone(),
            metrics,
            log: Arc::new(LogLimiter::new(name.into(), limits.log)),
            empty_root: Arc::from(self.inner.runtime.empty_root()),
        });
        Ok(Extension::new(
            ctx,
            kind,
            path.to_path_buf(),
            hash,
            built_with,
            options.version.clone(),
            options.config.clone(),
            limits,
            self.inner.runtime.settings.epoch_tick,
            self.inner.runtime.engine.clone(),
            pre,
            self.inner.pool.clone(),
        ))
    }

    /// Adds a prepared extension to the host, Discovered and not yet
    /// serving; refuses a name already taken.
    pub(crate) fn register(
        &self,
        extension: Extension,
        dependencies: BTreeMap<String, Dependency>,
        source: Source,
    ) -> Result<Arc<Slot>, Error> {
        let mut extensions = self
            .inner
            .extensions
            .write()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(existing) = extensions.get(&*extension.name) {
            return Err(LoadError::Duplicate {
                name: extension.name.to_string(),
                existing: existing.current().path.clone(),
            }
            .into());
        }
        tracing::debug!(
            extension = %extension.name,
            kind = %extension.kind,
            path = %extension.path.display(),
            "loaded"
        );
        let slot = Arc::new(Slot::new(
            extension,
            self.inner.next_order.fetch_add(1, Ordering::Relaxed),
            dependencies,
            source,
            self.inner.bus.endpoint("host"),
            self.inner.crash,
        ));
        extensions.insert(slot.name.to_string(), slot.clone());
        drop(extensions);
        let mut failures = self
            .inner
            .failures
            .write()
            .unwrap_or_else(|e| e.into_inner());
        failures.remove(&*slot.name);
        Ok(slot)
    }

    /// Loads every extension in `dir` as [`Host::load_extensions`] does,
    /// with no explicit grants and no one to ask; returns their names,
    /// dependencies first, then the bare components.
    pub fn load_dir(&self, dir: impl AsRef<Path>) -> Result<Vec<String>, Error> {
        let report =
            self.load_extensions(&[dir.as_ref().to_path_buf()], &ExtensionSetup::default())?;
        Ok(report
            .loaded
            .into_iter()
            .map(|loaded| loaded.name)
            .chain(report.bare)
            .collect())
    }

    /// The loaded extensions, by name, with their lifecycle state and
    /// crash counts.
    pub fn extensions(&self) -> Vec<ExtensionInfo> {
        self.inner.loaded().iter().map(|slot| slot.info()).collect()
    }

    /// The extensions that could not be loaded (a broken manifest or
    /// component, a dependency that cannot be met), by name, with why.
    /// They take no calls, and workflows naming them fail validation.
    pub fn load_failures(&self) -> Vec<LoadFailure> {
        self.inner.failures().values().cloned().collect()
    }

    /// The extension `name`, with its lifecycle state and crash counts.
    pub fn extension(&self, name: &str) -> Result<ExtensionInfo, Error> {
        Ok(self.inner.find(name)?.info())
    }

    /// Starts the extension `name` again after it was deactivated, failed
    /// to activate or was quarantined: a fresh instance runs `on-load` and
    /// `on-activate`, and its crash count within the window restarts.
    pub fn activate(&self, name: &str) -> Result<(), Error> {
        Ok(self.inner.find(name)?.activate("activated")?)
    }

    /// Stops the extension `name` from taking calls: its idle instances
    /// run `on-deactivate` and `on-unload` now, busy ones when their call
    /// returns.
    pub fn deactivate(&self, name: &str) -> Result<(), Error> {
        Ok(self.inner.find(name)?.deactivate("deactivated")?)
    }

    /// Removes the extension `name`, deactivating it first if it is
    /// active; refused while a loaded extension depends on it.
    pub fn unload(&self, name: &str) -> Result<(), Error> {
        let slot = self.inner.find(name)?;
        let dependants: Vec<String> = self
            .inner
            .loaded()
            .iter()
            .filter(|other| {
                other.state() != LifecycleState::Unloaded && other.depends_on(name).is_some()
            })
            .map(|other| other.name.to_string())
            .collect();
        if !dependants.is_empty() {
            return Err(Error::InUse {
                name: name.to_string(),
                dependants,
            });
        }
        let _ops = slot.ops();
        if slot.state() == LifecycleState::Active {
            slot.leave(LifecycleState::Inactive, "deactivated to unload")?;
        }
        slot.leave(LifecycleState::Unloaded, "unloaded")?;
        let mut extensions = self
            .inner
            .extensions
            .write()
            .unwrap_or_else(|e| e.into_inner());
        if extensions.get(name).is_some_and(|s| Arc::ptr_eq(s, &slot)) {
            extensions.remove(name);
        }
        Ok(())
    }

    /// What the extension `name` was granted.
    pub fn grants(&self, name: &str) -> Result<Grants, Error> {
        Ok(self.inner.find(name)?.current().ctx.grants.clone())
    }

    /// The metrics of the extension `name` since it was loaded: calls,
    /// errors by kind, refused imports, fuel, memory high-water mark and
    /// call latency.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), symphony_host::Error> {
    /// # let host = symphony_host::Host::builder().build()?;
    /// let stats = host.metrics("mock-llm")?;
    /// let (calls, failed) = (stats.calls, stats.errors.total());
    /// println!("{calls} calls, {failed} failed, p99 {} µs", stats.latency.p99_us);
    /// # Ok(())
    /// # }
    /// ```
    pub fn metrics(&self, name: &str) -> Result<MetricsSnapshot, Error> {
        Ok(self.inner.find(name)?.metrics.snapshot())
    }

    /// The metrics of every loaded extension, by name.
    pub fn all_metrics(&self) -> Vec<(String, MetricsSnapshot)> {
        self.inner
            .loaded()
            .iter()
            .map(|slot| (slot.name.to_string(), slot.metrics.snapshot()))
            .collect()
    }

    /// The Instrument named `name`.
    pub fn instrument(&self, name: &str) -> Result<Instrument, Error> {
        self.inner.instrument(name)
    }

    /// The Operator named `name`.
    pub fn operator(&self, name: &str) -> Result<Operator, Error> {
        self.inner.operator(name)
    }

    /// The Addon named `name`.
    pub fn addon(&self, name: &str) -> Result<Addon, Error> {
        self.inner.addon(name)
    }

    /// Creates a fresh instance of the extension `name` (running its
    /// `on-load` and `on-activate` hooks) and drops it: proof that it can
    /// start under its limits, without touching its pool of warm instances.
    pub fn check_start(&self, name: &str) -> Result<(), Error> {
        Ok(self.inner.find(name)?.current().start_and_drop()?)
    }

    /// Describes the component at `path`: its world, imports and exports.
    pub fn inspect(&self, path: impl AsRef<Path>) -> Result<ComponentInfo, Error> {
        Ok(self.inner.runtime.inspect(path.as_ref())?)
    }

    /// Checks `workflow` against the loaded extensions.
    /// Each node's config must fit the keys its extension's manifest
    /// declares.
    pub fn validate(&self, workflow: &Workflow) -> Result<Plan, Error> {
        let plan = workflow.validate_loaded(&self.inner.kinds(), &self.inner.failure_reasons())?;
        let problems = self.inner.config_problems(&workflow.nodes);
        if !problems.is_empty() {
            return Err(WorkflowError::Invalid {
                name: workflow.name.clone(),
                problems,
            }
            .into());
        }
        Ok(plan)
    }

    /// The in-process bus; run events are published on `exec.<run-id>.>`.
    pub fn bus(&self) -> &Bus {
        &self.inner.bus
    }

    /// The artifact store.
    pub fn artifacts(&self) -> &ArtifactStore {
        &self.inner.artifacts
    }

    /// The audit log of permission decisions and refused imports
    /// (`<home>/audit.log`).
    pub fn audit(&self) -> &AuditLog {
        &self.inner.audit
    }

    /// How often the compile cache was used.
    pub fn cache_stats(&self) -> CacheStats {
        self.inner.runtime.cache_stats()
    }

    /// Deactivates every active extension, dependants before their
    /// dependencies: idle instances run `on-deactivate` and `on-unload`
    /// now, busy ones when their call returns. Stops the background health
    /// checks. [`Host::shutdown_within`] also waits for calls in flight.
    pub fn shutdown(&self) {
        self.inner.pool.stop_health_checks();
        for slot in self.inner.active_dependants_first() {
            if let Err(e) = slot.deactivate("the host shut down") {
                tracing::debug!("{e}");
            }
        }
    }
}

/// What guests' host imports reach of the host: its Artifact Store and its
/// other extensions.
impl HostDelegate for HostInner {
    fn artifact_put(&self, content: &[u8]) -> Result<String, String> {
        self.artifacts.put(content).map_err(|e| e.to_string())
    }

    fn artifact_get(&self, id: &str) -> Result<Vec<u8>, String> {
        self.artifacts.get(id).map_err(|e| e.to_string())
    }

    fn call_model(
        &self,
        name: &str,
        input: String,
        nesting: u32,
        requester: Option<symphony_arbitration::Requester>,
    ) -> Result<ModelCall, String> {
        let model = HostInner::instrument(self, name).map_err(|e| e.to_string())?;
        Ok(model.call_nested(input, nesting, requester))
    }

    fn prewarm_in_background(&self, names: Vec<String>) {
        pool::prewarm_in_background(&self.me, names);
    }
}
