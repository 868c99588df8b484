//! Reloading an extension in place: the new version is built and started
//! beside the old one, takes over its state, and only then serves new
//! calls. Calls already running finish on the old version; a new version
//! that fails to build, start or take the state is dropped and the old one
//! keeps serving.

use std::sync::Arc;

use serde::Serialize;
use serde_json::json;

use symphony_manifest::LifecycleState;
use symphony_runtime::extension::{Extension, Slot, Source};

use super::loader::ExtensionSetup;
use crate::{Error, Host};
use symphony_manifest::Denial;
use symphony_manifest::Manifest;

/// What a reload did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ReloadReport {
    /// The extension.
    pub name: String,
    /// The version that served before (its manifest version, if any).
    pub from_version: Option<semver::Version>,
    /// The version serving now.
    pub to_version: Option<semver::Version>,
    /// SHA-256 of the component that served before.
    pub from_sha256: String,
    /// SHA-256 of the component serving now.
    pub to_sha256: String,
    /// False when neither the component nor the manifest had changed, so
    /// nothing was replaced.
    pub changed: bool,
    /// The size of the state the old version's `snapshot` handed to the
    /// new one's `restore`, if it kept any.
    pub state_bytes: Option<usize>,
    /// Capabilities the new version asked for and was refused.
    pub denied: Vec<Denial>,
}

/// How a version is named in messages: its manifest version, else the
/// start of its component hash.
fn label(extension: &Extension) -> String {
    match &extension.version {
        Some(version) => format!("version {version}"),
        None => format!(
            "the component with sha256 {}",
            extension.hash.get(..12).unwrap_or(&extension.hash)
        ),
    }
}

impl Host {
    /// Reloads the extension `name` from where it was loaded (its manifest
    /// or component file), deciding the permissions of what it now asks for
    /// with no one to ask; see [`Host::reload_with`].
    pub fn reload(&self, name: &str) -> Result<ReloadReport, Error> {
        self.reload_with(name, &ExtensionSetup::default())
    }

    /// Reloads the extension `name` without restarting the host:
    ///
    /// 1. reads its manifest again (grants it newly asks for are decided
    ///    as at load, with `setup`) and compiles its component;
    /// 2. starts the new version and gives it the state the old version's
    ///    most recently used instance returns from `snapshot`;
    /// 3. makes the new version serve new calls, while calls already
    ///    running finish on the old one, whose instances then shut down.
    ///
    /// If any step fails (a dependency or dependant no longer fits, the
    /// component does not compile or start, every instance stays busy
    /// past the deadline so the state cannot be taken), the old version
    /// keeps serving and the error says why (rollback). When neither the
    /// manifest nor the component changed, nothing happens. A quarantined
    /// extension whose reload brings a changed version is active again; to
    /// retry an unchanged one, activate it. Publishes the outcome on
    /// `ext.<name>.reload`.
    pub fn reload_with(
        &self,
        name: &str,
        setup: &ExtensionSetup<'_>,
    ) -> Result<ReloadReport, Error> {
        let slot = self.inner.find(name)?;
        let _ops = slot.ops();
        let old = slot.current();
        let result = self.replace(&slot, &old, setup).map_err(|reason| {
            slot.note_error(reason.clone());
            Error::Reload {
                name: name.to_string(),
                serving: label(&old),
                reason,
            }
        });
        match &result {
            Ok(report) if report.changed => {
                tracing::info!(
                    extension = name,
                    "reloaded: {} -> {}",
                    label(&old),
                    label(&slot.current())
                );
                slot.announce("reload", json!({ "ok": true, "report": report }));
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!("{e}");
                slot.announce("reload", json!({ "ok": false, "error": e.to_string() }));
            }
        }
        result
    }

    /// Steps 1 to 3 of [`Host::reload_with`], under the slot's operations
    /// lock; an error is the reason the old version still serves.
    fn replace(
        &self,
        slot: &Slot,
        old: &Arc<Extension>,
        setup: &ExtensionSetup<'_>,
    ) -> Result<ReloadReport, String> {
        let state = slot.state();
        if !matches!(
            state,
            LifecycleState::Active
                | LifecycleState::Inactive
                | LifecycleState::Loaded
                | LifecycleState::Failed
        ) {
            return Err(format!("it is {state}"));
        }
        let source = slot
            .source
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let same_component = |path: &std::path::Path| {
            std::fs::read(path).is_ok_and(|bytes| symphony_runtime::sha256_hex(&bytes) == old.hash)
        };
        let same = ReloadReport {
            name: slot.name.to_string(),
            from_version: old.version.clone(),
            to_version: old.version.clone(),
            from_sha256: old.hash.clone(),
            to_sha256: old.hash.clone(),
            changed: false,
            state_bytes: None,
            denied: Vec::new(),
        };
        let (options, path, denied, dependencies, source) = match source {
            Source::Manifest { file, text } => {
                let now = std::fs::read_to_string(&file)
                    .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
                let manifest = Manifest::from_file(&file).map_err(|e| e.to_string())?;
                // Nothing changed: no permissions are asked for again, so a
                // touched file does not fill the audit log.
                if text.as_deref() == Some(now.as_str()) && same_component(&manifest.component) {
                    return Ok(same);
                }
                if manifest.name != *slot.name {
                    return Err(format!(
                        "{} now names the extension '{}'; load that as a new extension",
                        file.display(),
                        manifest.name
                    ));
                }
                self.check_dependencies(&manifest)
                    .map_err(|e| e.to_string())?;
                let permissions = self.permissions().map_err(|e| e.to_string())?;
                let (options, outcome) = self
                    .manifest_options(&permissions, &manifest, setup)
                    .map_err(|e| e.to_string())?;
                let source = Source::Manifest {
                    file,
                    text: Some(now),
                };
                let dependencies = Some(manifest.dependencies);
                (
                    options,
                    manifest.component,
                    outcome.denied,
                    dependencies,
                    source,
                )
            }
            Source::Component(options) => {
                if same_component(&old.path) {
                    return Ok(same);
                }
                let path = old.path.clone();
                let source = Source::Component(options.clone());
                (*options, path, Vec::new(), None, source)
            }
        };
        let next = self
            .prepare(&path, &slot.name, &options, slot.metrics.clone())
            .map_err(|e| e.to_string())?;
        if next.kind != slot.kind {
            return Err(format!(
                "the new component exports the {} world ({}), but '{}' is an {}",
                next.kind,
                next.kind.interface(),
                slot.name,
                slot.kind
            ));
        }
        self.check_dependants(slot, &next)?;
        let mut report = ReloadReport {
            to_version: next.version.clone(),
            to_sha256: next.hash.clone(),
            changed: true,
            denied,
            ..same
        };
        let next = Arc::new(next);
        // The old version's most recent instance is held from its snapshot
        // until the swap, so no call changes the state in between.
        let held = match state {
            LifecycleState::Active => old.hold_idle()?,
            _ => None,
        };
        let (snapshot, held) = match held {
            Some(instance) => {
                let (snapshot, instance) = old
                    .snapshot(instance)
                    .map_err(|e| format!("the old version's snapshot failed: {e}"))?;
                (snapshot, Some(instance))
            }
            None => (None, None),
        };
        if matches!(state, LifecycleState::Active | LifecycleState::Failed)
            && let Err(e) = next.activate(snapshot.as_deref())
        {
            if let Some(instance) = held {
                old.release(instance);
            }
            return Err(format!("the new version failed to start: {e}"));
        }
        report.state_bytes = snapshot.map(|s| s.len());
        slot.swap(next);
        *slot.source.lock().unwrap_or_else(|e| e.into_inner()) = source;
        if let Some(dependencies) = dependencies {
            *slot.dependencies.lock().unwrap_or_else(|e| e.into_inner()) = dependencies;
        }
        old.retire();
        if let Some(instance) = held {
            // The old version is closed: this shuts the instance down.
            old.release(instance);
        }
        slot.revived();
        Ok(report)
    }

    /// Checks that `next` still satisfies every loaded extension that
    /// depends on `slot`.
    fn check_dependants(&self, slot: &Slot, next: &Extension) -> Result<(), String> {
        for other in self.inner.loaded() {
            let Some(dependency) = other.depends_on(&slot.name) else {
                continue;
            };
            if let Some(kind) = dependency.kind
                && kind != next.kind
            {
                return Err(format!(
                    "{} needs it to be an {kind} ({})",
                    other.name,
                    kind.interface()
                ));
            }
            if let Some(version) = &next.version
                && !dependency.req.matches(version)
            {
                return Err(format!(
                    "{} needs {} {}, and the new version is {version}",
                    other.name, slot.name, dependency.req
                ));
            }
        }
        Ok(())
    }
}
