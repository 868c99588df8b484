//! Finding extensions on disk: the manifests under a set of directories,
//! the bare components beside them, and the manifests that cannot be read,
//! each named as well as its file allows.

use std::path::{Path, PathBuf};

use semver::Version;
use serde::Serialize;

use symphony_manifest::{ExtensionKind, Manifest, ManifestError};
use symphony_runtime::LoadError;

use crate::Error;

/// The file name of an extension manifest.
pub const MANIFEST_FILE: &str = "symphony.toml";

/// An extension that could not be loaded, and why: its manifest or
/// component is broken, or something it depends on is. It takes no calls,
/// and a workflow naming it fails validation with this reason. Listed by
/// [`Host::load_failures`](crate::Host::load_failures).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct LoadFailure {
    /// The extension's name: its manifest's, or for a manifest too broken
    /// to say, its directory's; for a bare component, its file's.
    pub name: String,
    /// Its version, when its manifest says.
    pub version: Option<Version>,
    /// Its kind, when its manifest says.
    pub kind: Option<ExtensionKind>,
    /// The file that could not be loaded: the manifest, or the component.
    pub path: PathBuf,
    /// Why, as a person can act on it.
    pub reason: String,
}

/// What [`scan`] found under a set of directories.
pub(crate) struct Found {
    /// The manifests that read cleanly.
    pub(crate) manifests: Vec<Manifest>,
    /// `.wasm` files lying in the directories that no manifest claims.
    pub(crate) bare: Vec<PathBuf>,
    /// The manifests that could not be read: each extension's failure, and
    /// the manifest's own error.
    pub(crate) broken: Vec<(LoadFailure, ManifestError)>,
}

/// The manifests under `dirs`: each directory's own `symphony.toml`, else
/// those of its immediate subdirectories. Also returns the `.wasm` files
/// lying in the directories themselves that no manifest claims. Every
/// manifest problem is collected before returning.
pub fn discover(dirs: &[PathBuf]) -> Result<(Vec<Manifest>, Vec<PathBuf>), Error> {
    let found = scan(dirs)?;
    let mut problems = Vec::new();
    for (_, error) in found.broken {
        match error {
            ManifestError::Invalid { problems: found } => problems.extend(found),
            unreadable => return Err(unreadable.into()),
        }
    }
    if !problems.is_empty() {
        return Err(ManifestError::Invalid { problems }.into());
    }
    Ok((found.manifests, found.bare))
}

/// Like [`discover`], but a manifest that cannot be read is set aside as a
/// [`LoadFailure`] instead of failing the rest. Only a directory that
/// cannot be listed is an error.
pub(crate) fn scan(dirs: &[PathBuf]) -> Result<Found, Error> {
    let mut scanned = Found {
        manifests: Vec::new(),
        bare: Vec::new(),
        broken: Vec::new(),
    };
    for dir in dirs {
        let io = |source| LoadError::Io {
            path: dir.clone(),
            source,
        };
        let own = dir.join(MANIFEST_FILE);
        let mut files = Vec::new();
        if own.is_file() {
            files.push(own);
        } else {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
                .map_err(io)?
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .collect();
            entries.sort();
            for entry in entries {
                let manifest = entry.join(MANIFEST_FILE);
                if manifest.is_file() {
                    files.push(manifest);
                } else if entry.extension().is_some_and(|e| e == "wasm") && entry.is_file() {
                    scanned.bare.push(entry);
                }
            }
        }
        for file in files {
            match Manifest::from_file(&file) {
                Ok(manifest) => scanned.manifests.push(manifest),
                Err(error) => scanned.broken.push(broken(&file, error)),
            }
        }
    }
    // A component that a manifest names is that extension's, not a bare
    // one; so is one beside a manifest that cannot be read.
    scanned.bare.retain(|path| {
        !scanned
            .manifests
            .iter()
            .any(|m| same_file(&m.component, path))
            && !scanned
                .broken
                .iter()
                .any(|(failure, _)| path.parent() == failure.path.parent())
    });
    Ok(scanned)
}

/// The failure of the manifest `file`, named by what can still be read of
/// it: its `[extension]` name, version and kind if the TOML parses that
/// far, else its directory's name.
fn broken(file: &Path, error: ManifestError) -> (LoadFailure, ManifestError) {
    let table: Option<toml::Table> = std::fs::read_to_string(file)
        .ok()
        .and_then(|text| text.parse().ok());
    let field = |key: &str| {
        table
            .as_ref()
            .and_then(|t| t.get("extension"))
            .and_then(|e| e.get(key))
            .and_then(|v| v.as_str())
    };
    let name = field("name")
        .map(str::to_string)
        .or_else(|| {
            let dir = file.parent()?.file_name()?;
            Some(dir.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| file.display().to_string());
    let kind =
        field("kind").and_then(|kind| ExtensionKind::ALL.into_iter().find(|k| k.as_str() == kind));
    let failure = LoadFailure {
        name,
        version: field("version").and_then(|v| v.parse().ok()),
        kind,
        path: file.to_path_buf(),
        reason: format!("its manifest is not valid: {error}"),
    };
    (failure, error)
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}
