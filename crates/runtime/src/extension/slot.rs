//! One loaded extension as the host holds it: the version serving calls,
//! its lifecycle, its crash count, and where it came from so it can be
//! reloaded.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use arc_swap::ArcSwap;
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::{
    Dependency, Extension, ExtensionKind, ExtensionMetrics, GuestResult, LoadOptions, NodeConfig,
};
use crate::Instance;
use crate::{ActivateError, CallError, ConfigError};
use symphony_bus::Bus;
use symphony_manifest::{CrashPolicy, Lifecycle, LifecycleState, Transition, TransitionError};

/// A loaded extension, as the host lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ExtensionInfo {
    /// The name workflows use.
    pub name: String,
    /// Its kind.
    pub kind: ExtensionKind,
    /// The version its manifest declares.
    pub version: Option<semver::Version>,
    /// The component file.
    pub path: PathBuf,
    /// SHA-256 of the component bytes.
    pub sha256: String,
    /// The WASI version its component imports, e.g. `0.2.9`.
    pub wasi: Option<semver::Version>,
    /// The tools its producers sections name, e.g. `componentize-py
    /// 0.25.1`: the language and toolchain it was built with.
    pub producers: Vec<crate::Producer>,
    /// Where it is in its lifecycle.
    pub state: LifecycleState,
    /// Calls that cost it an instance (traps, exhausted limits) since it
    /// was loaded.
    pub failures: u64,
    /// Of those, the ones inside the crash policy's window when last
    /// counted.
    pub recent_failures: usize,
    /// Why it last crashed or failed to activate or reload.
    pub last_error: Option<String>,
    /// The lifecycle steps it took, oldest first (the last 64).
    pub history: Vec<Transition>,
}

/// Where an extension came from, so a reload can read it again.
#[derive(Debug, Clone)]
pub enum Source {
    /// A manifest file, and its text when loaded (a reload with the same
    /// text and component bytes changes nothing).
    Manifest {
        /// The manifest file.
        file: PathBuf,
        /// Its text, once read.
        text: Option<String>,
    },
    /// A component loaded without a manifest, with these options.
    Component(Box<LoadOptions>),
}

/// A loaded extension: the version serving new calls and its lifecycle.
pub struct Slot {
    /// The name workflows use.
    pub name: Arc<str>,
    /// Its kind.
    pub kind: ExtensionKind,
    /// Load order: dependencies have lower numbers than their dependants.
    pub order: u64,
    /// The extensions its manifest depends on, by name; a reload may
    /// change them.
    pub dependencies: Mutex<BTreeMap<String, Dependency>>,
    /// The lifecycle state, readable without the lock on every call.
    state: AtomicU8,
    current: ArcSwap<Extension>,
    life: Mutex<Lifecycle>,
    /// Shared by every version, so a reload keeps the figures.
    pub metrics: Arc<ExtensionMetrics>,
    /// Where it was loaded from, so a reload reads the same place.
    pub source: Mutex<Source>,
    /// Held through activate, deactivate, unload and reload, so they never
    /// interleave (taken by `activate` and `deactivate` themselves). Never held by calls, so a guest hook that calls back
    /// into the host cannot deadlock on it.
    pub ops: Mutex<()>,
    /// Where lifecycle events are published (`ext.<name>.lifecycle`,
    /// `ext.<name>.quarantined`, `ext.<name>.reload`).
    events: Bus,
    crash: CrashPolicy,
}

impl Slot {
    /// A slot serving `extension`, loaded from `source`, quarantined by
    /// `crash` after repeated crashes.
    pub fn new(
        extension: Extension,
        order: u64,
        dependencies: BTreeMap<String, Dependency>,
        source: Source,
        events: Bus,
        crash: CrashPolicy,
    ) -> Self {
        Slot {
            name: extension.name.clone(),
            kind: extension.kind,
            order,
            dependencies: Mutex::new(dependencies),
            state: AtomicU8::new(LifecycleState::Discovered.to_u8()),
            metrics: extension.ctx.metrics.clone(),
            current: ArcSwap::from_pointee(extension),
            life: Mutex::new(Lifecycle::new()),
            source: Mutex::new(source),
            ops: Mutex::new(()),
            events,
            crash,
        }
    }

    fn life(&self) -> MutexGuard<'_, Lifecycle> {
        // Every update leaves the lifecycle whole, so a panic elsewhere
        // while it was held does not make it unusable.
        self.life.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Serialises lifecycle operations on this extension.
    pub fn ops(&self) -> MutexGuard<'_, ()> {
        self.ops.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether it depends on `name`.
    pub fn depends_on(&self, name: &str) -> Option<Dependency> {
        let dependencies = self.dependencies.lock().unwrap_or_else(|e| e.into_inner());
        dependencies.get(name).cloned()
    }

    /// The lifecycle state.
    pub fn state(&self) -> LifecycleState {
        LifecycleState::from_u8(self.state.load(Ordering::Acquire))
    }

    /// The version serving new calls.
    pub fn current(&self) -> Arc<Extension> {
        self.current.load_full()
    }

    /// Makes `next` the version serving new calls; the one it replaces
    /// keeps serving the calls it has.
    pub fn swap(&self, next: Arc<Extension>) {
        self.current.store(next);
    }

    /// Publishes `payload` on `ext.<name>.<event>`; an extension name that
    /// is no valid subject token just goes unannounced.
    pub fn announce(&self, event: &str, payload: serde_json::Value) {
        let subject = format!("ext.{}.{event}", self.name);
        if let Err(e) = self.events.publish(&subject, payload.to_string()) {
            tracing::debug!(extension = %self.name, "cannot announce {event}: {e}");
        }
    }

    /// Takes one lifecycle step and announces it.
    pub fn step(
        &self,
        to: LifecycleState,
        reason: impl Into<String>,
    ) -> Result<Transition, TransitionError> {
        let transition = self.step_locked(&mut self.life(), to, reason)?;
        self.announce_step(&transition);
        Ok(transition)
    }

    fn step_locked(
        &self,
        life: &mut Lifecycle,
        to: LifecycleState,
        reason: impl Into<String>,
    ) -> Result<Transition, TransitionError> {
        let transition = life.step(&self.name, to, reason)?;
        self.state.store(to.to_u8(), Ordering::Release);
        tracing::debug!(extension = %self.name, from = %transition.from, %to, "{}", transition.reason);
        Ok(transition)
    }

    fn announce_step(&self, transition: &Transition) {
        self.announce("lifecycle", json!(transition));
    }

    /// Records why the last activation or reload failed.
    pub fn note_error(&self, error: String) {
        self.life().last_error = Some(error);
    }

    /// Calls into the serving version. A call that began on a version a
    /// reload then replaced finishes there; one that finds its version
    /// just replaced moves to the new one.
    pub(crate) async fn call<R, F>(
        &self,
        function: &'static str,
        config: &NodeConfig,
        mut f: F,
    ) -> Result<R, CallError>
    where
        F: AsyncFnOnce(&mut Instance) -> wasmtime::Result<GuestResult<R>>,
    {
        loop {
            let state = self.state();
            if state != LifecycleState::Active {
                return Err(self.unavailable(state));
            }
            let extension = self.current();
            match extension.call(function, config, f).await {
                Ok(result) => {
                    if let Err(error) = &result
                        && error.is_crash()
                        && !Self::stopped_early(error, &extension)
                    {
                        self.crashed(error);
                    }
                    return result;
                }
                // The version stopped serving between reading it and
                // calling it: go again with whichever serves now.
                Err(back) => f = back,
            }
            if Arc::ptr_eq(&extension, &self.current()) && self.state() == state {
                // Closed without a replacement and still marked active: a
                // deactivation is under way.
                return Err(self.unavailable(LifecycleState::Inactive));
            }
        }
    }

    /// Runs `call` (one of this extension's calls) to its end on this
    /// thread; see `block_on`. Taken pinned where it was made: a call's
    /// future is kilobytes (wasmtime's call and the racing deadline), and
    /// passing it by value copied it on every call.
    pub(crate) fn block_on<T: Send>(
        &self,
        call: Pin<&mut (impl Future<Output = Result<T, CallError>> + Send)>,
    ) -> Result<T, CallError> {
        crate::block_on_call(&self.name, call)
    }

    /// Whether `error` is a deadline its caller set tighter than the
    /// extension's own (a node's or a run's timeout): the caller's choice,
    /// not the extension's crash.
    fn stopped_early(error: &CallError, extension: &Extension) -> bool {
        matches!(error, CallError::Deadline { deadline, .. } if *deadline < extension.limits.deadline)
    }

    fn unavailable(&self, state: LifecycleState) -> CallError {
        // The lifecycle lock is only ever held briefly, never across a
        // guest call, so a guest calling back in here cannot deadlock.
        let reason = (self.life().history.last())
            .filter(|t| t.to == state)
            .map(|t| t.reason.clone());
        let error = CallError::Unavailable {
            extension: self.name.to_string(),
            state,
            reason,
        };
        self.metrics
            .record_call(std::time::Duration::ZERO, 0, Some(&error));
        error
    }

    /// Counts a crash; the one that crosses the crash policy's threshold
    /// quarantines the extension: it stops serving, its idle instances shut
    /// down, and `ext.<name>.quarantined` is published.
    fn crashed(&self, error: &CallError) {
        let mut life = self.life();
        if !life.crashed(&self.crash, error.to_string()) || life.state != LifecycleState::Active {
            return;
        }
        let failures = life.recent_failures();
        let window = self.crash.window;
        let reason =
            format!("quarantined after {failures} crashes within {window:?}; the last: {error}");
        let Ok(transition) = self.step_locked(&mut life, LifecycleState::Failed, reason.clone())
        else {
            return;
        };
        life.last_error = Some(reason);
        // Closed under the lock, so an activation cannot slip in between
        // the step and the close; the hooks run after it is released.
        let current = self.current();
        let idle = current.close();
        drop(life);
        tracing::warn!(extension = %self.name, "{}", transition.reason);
        current.shut_down(idle);
        self.announce_step(&transition);
        self.announce(
            "quarantined",
            json!({
                "extension": &*self.name,
                "failures": failures,
                "window_ms": u64::try_from(window.as_millis()).unwrap_or(u64::MAX),
                "last_error": error.to_string(),
            }),
        );
    }

    /// Starts the extension (Loaded, Inactive or Failed to Active): its
    /// first instance runs `on-load` and `on-activate`. On failure it is
    /// left Failed with the reason.
    pub fn activate(&self, reason: &str) -> Result<(), ActivateError> {
        let _ops = self.ops();
        let from = self.state();
        if !from.can_become(LifecycleState::Active) {
            return Err(TransitionError {
                extension: self.name.to_string(),
                from,
                to: LifecycleState::Active,
            }
            .into());
        }
        // The hooks run with no lock held: they may call back into the host.
        let started = self.current().activate(None);
        let mut life = self.life();
        let transition = match &started {
            Ok(()) => Some(self.step_locked(&mut life, LifecycleState::Active, reason)?),
            Err(failure) => {
                life.last_error = Some(failure.clone());
                (life.state.can_become(LifecycleState::Failed))
                    .then(|| self.step_locked(&mut life, LifecycleState::Failed, failure.clone()))
                    .transpose()?
            }
        };
        drop(life);
        if let Some(transition) = transition {
            self.announce_step(&transition);
        }
        started.map_err(|reason| ActivateError::Hooks {
            name: self.name.to_string(),
            reason,
        })
    }

    /// Fails the extension without starting it, e.g. because a dependency
    /// failed.
    pub fn fail(&self, reason: String) -> Result<(), TransitionError> {
        self.step(LifecycleState::Failed, reason.clone())?;
        self.note_error(reason);
        Ok(())
    }

    /// Stops serving (Active to Inactive): new calls are refused, idle
    /// instances run `on-deactivate` and `on-unload`, busy ones when their
    /// call returns.
    pub fn deactivate(&self, reason: &str) -> Result<(), TransitionError> {
        let _ops = self.ops();
        self.leave(LifecycleState::Inactive, reason)
    }

    /// Steps to `to` and stops the serving version, closing it under the
    /// lifecycle lock and running the guests' hooks after. The caller holds
    /// [`Slot::ops`].
    pub fn leave(&self, to: LifecycleState, reason: &str) -> Result<(), TransitionError> {
        let mut life = self.life();
        let transition = self.step_locked(&mut life, to, reason)?;
        let current = self.current();
        let idle = current.close();
        drop(life);
        current.shut_down(idle);
        self.announce_step(&transition);
        Ok(())
    }

    /// After a reload swapped in a started version: a quarantined (or
    /// failed) extension is active again. The caller holds [`Slot::ops`].
    pub fn revived(&self) {
        let mut life = self.life();
        if life.state == LifecycleState::Failed
            && let Ok(transition) = self.step_locked(&mut life, LifecycleState::Active, "reloaded")
        {
            drop(life);
            self.announce_step(&transition);
        }
    }

    /// What `Host::extensions` reports.
    pub fn info(&self) -> ExtensionInfo {
        let extension = self.current();
        let life = self.life();
        ExtensionInfo {
            name: self.name.to_string(),
            kind: self.kind,
            version: extension.version.clone(),
            path: extension.path.clone(),
            sha256: extension.hash.clone(),
            wasi: extension.built_with.wasi.clone(),
            producers: extension.built_with.producers.clone(),
            state: life.state,
            failures: life.failures,
            recent_failures: life.recent_failures(),
            last_error: life.last_error.clone(),
            history: life.history.clone(),
        }
    }
}

impl Slot {
    /// The config a call gets from a node's `config`: checked against the
    /// keys the serving version's manifest declares, with their defaults
    /// filled in. An extension loaded without a manifest (or whose
    /// manifest declares no keys) takes any config.
    pub fn node_config(&self, config: &Map<String, Value>) -> Result<NodeConfig, ConfigError> {
        match &self.current().config {
            None => Ok(NodeConfig::new(config.clone())),
            Some(schema) => schema
                .check(config)
                .map(NodeConfig::new)
                .map_err(|problems| ConfigError {
                    extension: self.name.to_string(),
                    problems,
                }),
        }
    }
}
