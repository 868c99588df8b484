//! Loading extensions from their manifests: find every `symphony.toml`,
//! resolve dependencies across all of them, decide each one's permissions,
//! then load them in dependency order.
//!
//! Loading is per extension: a manifest that cannot be read, a component
//! that cannot be compiled or linked, a dependency that cannot be met marks
//! that extension (and whatever needs it) as failed to load, with the
//! reason, and everything else loads.

use std::path::PathBuf;
use std::sync::Arc;

use semver::Version;

use symphony_manifest::{ExtensionKind, Grants, LifecycleState};
use symphony_runtime::extension::{LoadOptions, Slot, Source};
use symphony_runtime::{ActivateError, LoadError};

use super::discovery::{LoadFailure, MANIFEST_FILE, scan};
use crate::{Error, Host};
use symphony_manifest::{Candidate, Requirement, ResolveError, Roots, resolve};
use symphony_manifest::{Capability, Manifest};
use symphony_manifest::{Denial, PermissionOutcome, Permissions, Prompt};
use symphony_manifest::{GrantStore, Policy};

/// How extensions get their permissions when they load.
#[derive(Default)]
pub struct ExtensionSetup<'a> {
    /// Grants given explicitly (`--grant ext:capability`): extension name
    /// and capability.
    pub grants: Vec<(String, Capability)>,
    /// Who answers permission questions the policy leaves open; without
    /// one they are refused.
    pub prompt: Option<&'a dyn Prompt>,
}

/// One extension loaded from its manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedExtension {
    /// Its name.
    pub name: String,
    /// Its version.
    pub version: Version,
    /// Its kind.
    pub kind: ExtensionKind,
    /// What it asked for and was refused.
    pub denied: Vec<Denial>,
    /// The earlier version whose grants carried over, and what this one
    /// newly asked for.
    pub update: Option<(Version, Vec<Capability>)>,
}

/// What loading a set of extension directories did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadReport {
    /// Extensions loaded from manifests, dependencies first.
    pub loaded: Vec<LoadedExtension>,
    /// Components without a manifest, loaded with no grants.
    pub bare: Vec<String>,
    /// Things worth knowing that are not errors (absent optional
    /// dependencies).
    pub notes: Vec<String>,
    /// Extensions that loaded but failed to activate (or whose dependency
    /// did), with the reason; they are listed as failed and take no calls.
    pub failed: Vec<(String, String)>,
    /// Extensions that could not be loaded at all (a broken manifest or
    /// component, a dependency that cannot be met), with the reason; see
    /// [`Host::load_failures`].
    pub not_loaded: Vec<LoadFailure>,
}

impl Host {
    /// The permission policy (`<home>/policy.toml`), grant record
    /// (`<home>/grants.json`) and audit log of this host's home.
    pub fn permissions(&self) -> Result<Permissions, Error> {
        let home = self.home();
        Ok(Permissions::new(
            Policy::load(&home.join("policy.toml"))
                .map_err(symphony_manifest::PermissionError::from)?,
            GrantStore::new(home.join("grants.json")),
            Arc::clone(&self.inner.audit),
        ))
    }

    /// Loads one extension from its manifest: checks that the extensions
    /// it depends on are loaded in fitting versions, decides its
    /// permissions, loads its component with exactly those grants and the
    /// manifest's limits, then activates it. If activation fails it stays
    /// listed as failed and the error says why.
    pub fn load_manifest(
        &self,
        manifest: &Manifest,
        setup: &ExtensionSetup<'_>,
    ) -> Result<LoadedExtension, Error> {
        self.check_dependencies(manifest)?;
        let (loaded, slot) = self.load_manifest_with(&self.permissions()?, manifest, setup)?;
        slot.activate("loaded")?;
        Ok(loaded)
    }

    /// Checks that the extensions `manifest` depends on are loaded in
    /// fitting versions and kinds.
    pub(crate) fn check_dependencies(&self, manifest: &Manifest) -> Result<(), Error> {
        for (name, dependency) in &manifest.dependencies {
            let found = self.inner.find(name).ok().map(|slot| slot.current());
            let problem = match &found {
                None if dependency.optional => continue,
                None => "it is not loaded".to_string(),
                Some(ext) => match (&ext.version, dependency.kind) {
                    (_, Some(kind)) if kind != ext.kind => format!(
                        "the loaded {name} is an {}, exporting {} rather than {}",
                        ext.kind,
                        ext.kind.interface(),
                        kind.interface()
                    ),
                    (Some(v), _) if dependency.req.matches(v) => continue,
                    (Some(v), _) => format!("version {v} is loaded"),
                    (None, _) => {
                        "it was loaded without a manifest, so its version is unknown".into()
                    }
                },
            };
            let kind = dependency
                .kind
                .map_or(String::new(), |k| format!(" (an {k})"));
            return Err(LoadError::Dependency {
                name: manifest.name.clone(),
                reason: format!("it needs {name} {}{kind}, but {problem}", dependency.req),
            }
            .into());
        }
        Ok(())
    }

    /// Decides `manifest`'s permissions and loads its component (Loaded,
    /// not yet active).
    fn load_manifest_with(
        &self,
        permissions: &Permissions,
        manifest: &Manifest,
        setup: &ExtensionSetup<'_>,
    ) -> Result<(LoadedExtension, Arc<Slot>), Error> {
        let (options, outcome) = self.manifest_options(permissions, manifest, setup)?;
        if !manifest.component.exists() {
            return Err(missing_component(manifest));
        }
        let extension = self.prepare(
            &manifest.component,
            &manifest.name,
            &options,
            Arc::default(),
        )?;
        let file = manifest.dir.join(MANIFEST_FILE);
        let text = std::fs::read_to_string(&file).ok();
        let slot = self.register(
            extension,
            manifest.dependencies.clone(),
            Source::Manifest { file, text },
        )?;
        slot.step(LifecycleState::Resolved, "its dependencies are met")?;
        slot.step(LifecycleState::Loaded, "compiled and linked")?;
        let loaded = LoadedExtension {
            name: manifest.name.clone(),
            version: manifest.version.clone(),
            // The component's world, which `prepare` checked against the
            // manifest's kind.
            kind: slot.kind,
            denied: outcome.denied,
            update: outcome.update,
        };
        Ok((loaded, slot))
    }

    /// The load options `manifest` gets: the grants its permissions allow,
    /// its limits, version and kind.
    pub(crate) fn manifest_options(
        &self,
        permissions: &Permissions,
        manifest: &Manifest,
        setup: &ExtensionSetup<'_>,
    ) -> Result<(LoadOptions, PermissionOutcome), Error> {
        let Some(kind) = manifest.kind.extension_kind() else {
            return Err(LoadError::Unsupported {
                name: manifest.name.clone(),
                reason: "native extensions run as sandboxed processes, which this host does \
                         not start yet; build it as a component for wasm32-wasip2"
                    .into(),
            }
            .into());
        };
        let explicit: Vec<Capability> = setup
            .grants
            .iter()
            .filter(|(name, _)| *name == manifest.name)
            .map(|(_, capability)| capability.clone())
            .collect();
        let outcome = permissions.decide(manifest, &explicit, setup.prompt)?;
        let base = self.inner.default_limits(kind);
        let options = LoadOptions {
            name: Some(manifest.name.clone()),
            grants: Grants::from_capabilities(&outcome.granted),
            limits: Some(manifest.limits.apply(base)),
            version: Some(manifest.version.clone()),
            kind: Some(kind),
            // A manifest without [config] keys takes any config, as a bare
            // component does.
            config: (!manifest.config.is_empty()).then(|| manifest.config.clone()),
        };
        Ok((options, outcome))
    }

    /// Loads every extension under `dirs` (see `discover`):
    /// manifests are all read and their dependencies resolved first, then
    /// each extension is loaded with the permissions it is given and
    /// activated, dependencies first. Components without a manifest load
    /// with no grants.
    ///
    /// One extension that cannot load stops no other: a broken manifest or
    /// component, or a dependency that cannot be met, leaves that extension
    /// (and those that need it) in [`LoadReport::not_loaded`] and
    /// [`Host::load_failures`], recorded in the audit log and logged as a
    /// warning. Only a directory that cannot be read, or a policy that
    /// cannot, is an error.
    pub fn load_extensions(
        &self,
        dirs: &[PathBuf],
        setup: &ExtensionSetup<'_>,
    ) -> Result<LoadReport, Error> {
        let found = scan(dirs)?;
        let mut report = LoadReport::default();
        for (failure, _) in found.broken {
            self.not_loaded(&mut report, failure);
        }
        let manifests = found.manifests;
        let mut candidates = Vec::new();
        for (i, manifest) in manifests.iter().enumerate() {
            let Some(kind) = manifest.kind.extension_kind() else {
                report.notes.push(format!(
                    "{} {} is a native extension; this host does not start native extensions \
                     yet, so it was not loaded",
                    manifest.name, manifest.version
                ));
                continue;
            };
            let dependencies = manifest
                .dependencies
                .iter()
                .map(|(name, dependency)| Requirement {
                    name: name.clone(),
                    req: dependency.req.clone(),
                    kind: dependency.kind,
                    optional: dependency.optional,
                })
                .collect();
            candidates.push(Candidate {
                name: manifest.name.clone(),
                version: manifest.version.clone(),
                kind,
                dependencies,
                source: i,
            });
        }
        let resolution = loop {
            match resolve(&candidates, Roots::All) {
                Ok(resolution) => break resolution,
                Err(error) => {
                    let blamed = self.fail_unresolved(&mut report, &manifests, &candidates, &error);
                    if blamed.is_empty() {
                        return Err(error.into());
                    }
                    candidates.retain(|c| !blamed.contains(&c.name));
                }
            }
        };
        report
            .notes
            .extend(resolution.notes.iter().map(ToString::to_string));
        let permissions = self.permissions()?;
        // Loaded and activated one by one in load order, so each
        // extension's hooks run after its dependencies' and a failure is
        // known to its dependants.
        for index in resolution.load_order {
            let manifest = &manifests[candidates[index].source];
            let not_loaded = manifest
                .dependencies
                .iter()
                .filter(|(_, dependency)| !dependency.optional)
                .find_map(|(name, _)| report.not_loaded.iter().find(|f| &f.name == name));
            if let Some(dependency) = not_loaded {
                let reason = format!(
                    "its dependency {} failed to load: {}",
                    dependency.name, dependency.reason
                );
                self.not_loaded(&mut report, failure_of(manifest, reason));
                continue;
            }
            let (loaded, slot) = match self.load_manifest_with(&permissions, manifest, setup) {
                Ok(loaded) => loaded,
                Err(error @ Error::Permission(_)) => return Err(error),
                Err(error) => {
                    self.not_loaded(&mut report, failure_of(manifest, error.to_string()));
                    continue;
                }
            };
            let failed_dependency = manifest
                .dependencies
                .keys()
                .find(|d| report.failed.iter().any(|(name, _)| name == *d));
            let activated = match failed_dependency {
                Some(dependency) => {
                    let reason = format!("its dependency {dependency} failed to activate");
                    slot.fail(reason.clone())?;
                    Err(reason)
                }
                None => match slot.activate("loaded") {
                    Err(ActivateError::Hooks { reason, .. }) => Err(reason),
                    other => other.map_err(|e| e.to_string()),
                },
            };
            if let Err(reason) = activated {
                report.failed.push((manifest.name.clone(), reason));
            }
            report.loaded.push(loaded);
        }
        for path in found.bare {
            match self.load(&path) {
                Ok(name) => report.bare.push(name),
                Err(Error::Activate(ActivateError::Hooks { name, reason })) => {
                    report.failed.push((name, reason))
                }
                Err(error) => {
                    let failure = LoadFailure {
                        name: symphony_runtime::extension::name_from_path(&path),
                        version: None,
                        kind: None,
                        path: path.clone(),
                        reason: error.to_string(),
                    };
                    self.not_loaded(&mut report, failure);
                }
            }
        }
        Ok(report)
    }

    /// Marks the extensions `error` blames (those whose own requirements
    /// cannot be met, and the members of a cycle) as not loaded, and
    /// returns their names; none when it blames no extension.
    fn fail_unresolved(
        &self,
        report: &mut LoadReport,
        manifests: &[Manifest],
        candidates: &[Candidate],
        error: &ResolveError,
    ) -> Vec<String> {
        let mut blamed: Vec<String> = Vec::new();
        for problem in error.problems() {
            for name in problem.blamed() {
                if blamed.iter().any(|b| b == name) {
                    continue;
                }
                blamed.push(name.to_string());
                // The highest version found names it in the report.
                let Some(manifest) = candidates
                    .iter()
                    .filter(|c| c.name == name)
                    .max_by(|a, b| a.version.cmp(&b.version))
                    .map(|c| &manifests[c.source])
                else {
                    continue;
                };
                let reason = match problem
                    .missing()
                    .and_then(|missing| report.not_loaded.iter().find(|f| f.name == missing))
                {
                    Some(dependency) => format!(
                        "its dependency {} failed to load: {}",
                        dependency.name, dependency.reason
                    ),
                    None => format!("its dependencies cannot be met: {problem}"),
                };
                self.not_loaded(report, failure_of(manifest, reason));
            }
        }
        blamed
    }

    /// Records that an extension could not be loaded: in the report, the
    /// host's list of failures, the audit log and the log.
    fn not_loaded(&self, report: &mut LoadReport, failure: LoadFailure) {
        tracing::warn!(
            "extension '{}' failed to load and takes no calls ({}): {}",
            failure.name,
            failure.path.display(),
            failure.reason
        );
        self.inner.record_load_failure(failure.clone());
        report.not_loaded.push(failure);
    }
}

/// The failure of the extension `manifest` describes, for `reason`.
fn failure_of(manifest: &Manifest, reason: String) -> LoadFailure {
    LoadFailure {
        name: manifest.name.clone(),
        version: Some(manifest.version.clone()),
        kind: manifest.kind.extension_kind(),
        path: manifest.dir.join(MANIFEST_FILE),
        reason,
    }
}

/// Why `manifest`'s component is missing, and what to do: build it, or
/// find it where `CARGO_TARGET_DIR` made cargo put it.
fn missing_component(manifest: &Manifest) -> Error {
    let path = manifest.component.clone();
    let file = manifest.dir.join(MANIFEST_FILE);
    let mut hint = format!(
        "build it (`cargo build --release --target wasm32-wasip2` in {}), or point `component` \
         in {} at the .wasm",
        manifest.dir.display(),
        file.display()
    );
    // `target/<triple>/<profile>/x.wasm` under the extension: cargo's own
    // layout, which CARGO_TARGET_DIR moves.
    let relative = path.strip_prefix(manifest.dir.join("target")).ok();
    if let (Some(relative), Some(target)) = (relative, std::env::var_os("CARGO_TARGET_DIR")) {
        let moved = std::path::Path::new(&target).join(relative);
        hint.push_str(&format!(
            "; CARGO_TARGET_DIR is set, so cargo builds it at {}{}",
            moved.display(),
            if moved.exists() { " (it is there)" } else { "" }
        ));
    }
    Error::ComponentMissing {
        name: manifest.name.clone(),
        path,
        hint,
    }
}
