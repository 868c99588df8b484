//! One loaded extension as the host holds it: the version serving calls,
//! its lifecycle, its crash count, and where it came from so it can be
//! reloaded.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use serde_json::json;

use super::lifecycle::{CrashPolicy, Lifecycle, LifecycleState, Transition, TransitionError};
use super::{Extension, ExtensionKind, ExtensionMetrics, GuestResult, LoadOptions, NodeConfig};
use crate::bus::Bus;
use crate::runtime::Instance;
use crate::{CallError, Error, ExtensionInfo};

/// Where an extension came from, so a reload can read it again.
#[derive(Debug, Clone)]
pub(crate) enum Source {
    /// A manifest file, and its text when loaded (a reload with the same
    /// text and component bytes changes nothing).
    Manifest { file: PathBuf, text: Option<String> },
    /// A component loaded without a manifest, with these options.
    Component(Box<LoadOptions>),
}

/// A loaded extension: the version serving new calls and its lifecycle.
pub(crate) struct Slot {
    pub(crate) name: Arc<str>,
    pub(crate) kind: ExtensionKind,
    /// Load order: dependencies have lower numbers than their dependants.
    pub(crate) order: u64,
    /// The extensions its manifest depends on, by name.
    pub(crate) dependencies: Vec<String>,
    /// The lifecycle state, readable without the lock on every call.
    state: AtomicU8,
    current: RwLock<Arc<Extension>>,
    life: Mutex<Lifecycle>,
    /// Shared by every version, so a reload keeps the figures.
    pub(crate) metrics: Arc<ExtensionMetrics>,
    pub(crate) source: Mutex<Source>,
    /// Held through a reload, so two never interleave.
    pub(crate) reloading: Mutex<()>,
    /// Where lifecycle events are published (`ext.<name>.lifecycle`,
    /// `ext.<name>.quarantined`, `ext.<name>.reload`).
    events: Bus,
    crash: CrashPolicy,
}

impl Slot {
    pub(crate) fn new(
        extension: Extension,
        order: u64,
        dependencies: Vec<String>,
        source: Source,
        events: Bus,
        crash: CrashPolicy,
    ) -> Self {
        Slot {
            name: extension.name.clone(),
            kind: extension.kind,
            order,
            dependencies,
            state: AtomicU8::new(LifecycleState::Discovered.to_u8()),
            metrics: extension.ctx.metrics.clone(),
            current: RwLock::new(Arc::new(extension)),
            life: Mutex::new(Lifecycle::new()),
            source: Mutex::new(source),
            reloading: Mutex::new(()),
            events,
            crash,
        }
    }

    fn life(&self) -> MutexGuard<'_, Lifecycle> {
        // Every update leaves the lifecycle whole, so a panic elsewhere
        // while it was held does not make it unusable.
        self.life.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The lifecycle state.
    pub(crate) fn state(&self) -> LifecycleState {
        LifecycleState::from_u8(self.state.load(Ordering::Acquire))
    }

    /// The version serving new calls.
    pub(crate) fn current(&self) -> Arc<Extension> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Makes `next` the version serving new calls; returns the one it
    /// replaces, which keeps serving the calls it has.
    pub(crate) fn swap(&self, next: Arc<Extension>) -> Arc<Extension> {
        let mut current = self.current.write().unwrap_or_else(|e| e.into_inner());
        std::mem::replace(&mut *current, next)
    }

    /// Publishes `payload` on `ext.<name>.<event>`; an extension name that
    /// is no valid subject token just goes unannounced.
    pub(crate) fn announce(&self, event: &str, payload: serde_json::Value) {
        let subject = format!("ext.{}.{event}", self.name);
        if let Err(e) = self.events.publish(&subject, payload.to_string()) {
            tracing::debug!(extension = %self.name, "cannot announce {event}: {e}");
        }
    }

    /// Takes one lifecycle step and announces it.
    pub(crate) fn step(
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
    pub(crate) fn note_error(&self, error: String) {
        self.life().last_error = Some(error);
    }

    /// Calls into the serving version. A call that began on a version a
    /// reload then replaced finishes there; one that finds its version
    /// just replaced moves to the new one.
    pub(crate) fn call<R, F>(
        &self,
        function: &'static str,
        config: &NodeConfig,
        mut f: F,
    ) -> Result<R, CallError>
    where
        F: FnOnce(&mut Instance) -> wasmtime::Result<GuestResult<R>>,
    {
        loop {
            let state = self.state();
            if state != LifecycleState::Active {
                return Err(self.unavailable(state));
            }
            let extension = self.current();
            match extension.call(function, config, f) {
                Ok(result) => {
                    if let Err(error) = &result
                        && error.is_crash()
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

    fn unavailable(&self, state: LifecycleState) -> CallError {
        let error = CallError::Unavailable {
            extension: self.name.to_string(),
            state,
            reason: self.life().last_error.clone(),
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
        drop(life);
        tracing::warn!(extension = %self.name, "{}", transition.reason);
        self.current().retire();
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
    pub(crate) fn activate(&self, reason: &str) -> Result<(), Error> {
        let mut life = self.life();
        if !life.state.can_become(LifecycleState::Active) {
            return Err(TransitionError {
                extension: self.name.to_string(),
                from: life.state,
                to: LifecycleState::Active,
            }
            .into());
        }
        match self.current().activate(None) {
            Ok(()) => {
                let transition = self.step_locked(&mut life, LifecycleState::Active, reason)?;
                drop(life);
                self.announce_step(&transition);
                Ok(())
            }
            Err(failure) => {
                life.last_error = Some(failure.clone());
                let transition = if life.state.can_become(LifecycleState::Failed) {
                    self.step_locked(&mut life, LifecycleState::Failed, failure.clone())
                        .ok()
                } else {
                    None
                };
                drop(life);
                if let Some(transition) = transition {
                    self.announce_step(&transition);
                }
                Err(Error::Activate {
                    name: self.name.to_string(),
                    reason: failure,
                })
            }
        }
    }

    /// Fails the extension without starting it, e.g. because a dependency
    /// failed.
    pub(crate) fn fail(&self, reason: String) -> Result<(), TransitionError> {
        self.step(LifecycleState::Failed, reason.clone())?;
        self.note_error(reason);
        Ok(())
    }

    /// Stops serving (Active to Inactive): new calls are refused, idle
    /// instances run `on-deactivate` and `on-unload`, busy ones when their
    /// call returns.
    pub(crate) fn deactivate(&self, reason: &str) -> Result<(), TransitionError> {
        self.step(LifecycleState::Inactive, reason)?;
        self.current().retire();
        Ok(())
    }

    /// What [`Host::extensions`](crate::Host::extensions) reports.
    pub(crate) fn info(&self) -> ExtensionInfo {
        let extension = self.current();
        let life = self.life();
        ExtensionInfo {
            name: self.name.to_string(),
            kind: self.kind,
            version: extension.version.clone(),
            path: extension.path.clone(),
            sha256: extension.hash.clone(),
            state: life.state,
            failures: life.failures,
            recent_failures: life.recent_failures(),
            last_error: life.last_error.clone(),
            history: life.history.clone(),
        }
    }
}
