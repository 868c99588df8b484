//! The user's permission policy (`<home>/policy.toml`) and the record of
//! what each extension version was granted (`<home>/grants.json`).
//!
//! ```toml
//! # The most specific rule wins: an extension's rule for the exact
//! # capability, then for its kind, then the same under "*".
//! [extensions."*"]
//! clock = "allow"
//! net = "prompt"
//!
//! [extensions.json-transform]
//! "fs:read:/srv/corpus" = "allow"
//! net = "deny"
//! ```

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::manifest::{Capability, line_column};

/// What a policy says about a capability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Rule {
    /// Grant without asking.
    Allow,
    /// Refuse without asking.
    Deny,
    /// Ask the person running the host.
    Prompt,
}

/// Why the policy or the grant record could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The policy file is not valid.
    #[error("{path}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong, with its line and column when known.
        message: String,
    },
}

/// The user's rules, by extension name (`*` for every extension) and
/// capability (its text form, or just its kind: `net`, `fs`, ...).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Rules per extension name.
    #[serde(default)]
    pub extensions: BTreeMap<String, BTreeMap<String, Rule>>,
}

impl Policy {
    /// Reads the policy at `path`; a missing file is an empty policy.
    pub fn load(path: &Path) -> Result<Policy, PolicyError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Policy::default()),
            Err(source) => {
                return Err(PolicyError::Io {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        toml::from_str(&text).map_err(|e| PolicyError::Invalid {
            path: path.to_path_buf(),
            message: match e.span() {
                Some(span) => {
                    let (line, column) = line_column(&text, span.start);
                    format!("{line}:{column}: {}", e.message())
                }
                None => e.message().to_string(),
            },
        })
    }

    /// The rule for `capability` of `extension`, and the key that gave it
    /// (`json-transform / net`), or `None` when no rule applies.
    pub fn rule_for(&self, extension: &str, capability: &Capability) -> Option<(Rule, String)> {
        let exact = capability.to_string();
        let kind = exact.split(':').next().unwrap_or_default().to_string();
        for scope in [extension, "*"] {
            let Some(rules) = self.extensions.get(scope) else {
                continue;
            };
            for key in [&exact, &kind] {
                if let Some(&rule) = rules.get(key.as_str()) {
                    return Some((rule, format!("[extensions.\"{scope}\"] \"{key}\"")));
                }
            }
        }
        None
    }
}

/// What one version of an extension was granted and refused.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionGrants {
    /// Granted capabilities, in text form.
    #[serde(default)]
    pub granted: Vec<String>,
    /// Capabilities refused at a prompt (so the person is not asked again).
    #[serde(default)]
    pub denied: Vec<String>,
}

/// What the grant record holds for one version of an extension.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recorded {
    /// The record of this version.
    pub this: Option<VersionGrants>,
    /// The newest earlier version and its record.
    pub earlier: Option<(semver::Version, VersionGrants)>,
}

/// The grants recorded per extension name and version, kept as JSON and
/// replaced atomically on every change.
#[derive(Debug)]
pub struct GrantStore {
    path: PathBuf,
    lock: Mutex<()>,
}

type Records = BTreeMap<String, BTreeMap<semver::Version, VersionGrants>>;

impl GrantStore {
    /// The store at `path` (created on the first record).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        GrantStore {
            path: path.into(),
            lock: Mutex::new(()),
        }
    }

    fn io(&self, source: io::Error) -> PolicyError {
        PolicyError::Io {
            path: self.path.clone(),
            source,
        }
    }

    fn read(&self) -> Result<Records, PolicyError> {
        let bytes = match std::fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Records::new()),
            Err(e) => return Err(self.io(e)),
        };
        serde_json::from_slice(&bytes).map_err(|e| PolicyError::Invalid {
            path: self.path.clone(),
            message: format!("{e}; remove the file to forget every recorded grant"),
        })
    }

    /// What `version` of `extension` was granted, and what the newest
    /// earlier version was granted.
    pub fn lookup(
        &self,
        extension: &str,
        version: &semver::Version,
    ) -> Result<Recorded, PolicyError> {
        let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let records = self.read()?;
        let Some(versions) = records.get(extension) else {
            return Ok(Recorded::default());
        };
        Ok(Recorded {
            this: versions.get(version).cloned(),
            earlier: versions
                .range(..version)
                .next_back()
                .map(|(v, g)| (v.clone(), g.clone())),
        })
    }

    /// Replaces the record of `version` of `extension`.
    pub fn record(
        &self,
        extension: &str,
        version: &semver::Version,
        grants: VersionGrants,
    ) -> Result<(), PolicyError> {
        let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let mut records = self.read()?;
        records
            .entry(extension.to_string())
            .or_default()
            .insert(version.clone(), grants);
        let dir = self.path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| self.io(e))?;
        let mut file = tempfile::NamedTempFile::new_in(dir).map_err(|e| self.io(e))?;
        serde_json::to_writer_pretty(&mut file, &records).map_err(|e| self.io(e.into()))?;
        file.as_file().sync_all().map_err(|e| self.io(e))?;
        file.persist(&self.path).map_err(|e| self.io(e.error))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
