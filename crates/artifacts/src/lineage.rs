//! Named versions of artifacts (history, retrieval by version, text diffs
//! between versions) and the derived-from links between artifacts.

use super::diff::TextDiff;
use super::meta::VersionInfo;
use super::{ArtifactError, ArtifactStore};

/// The largest version [`ArtifactStore::diff`] compares.
const DIFF_LIMIT: u64 = 16 << 20;

impl ArtifactStore {
    /// Every version of `name`, oldest first.
    pub fn history(&self, name: &str) -> Result<Vec<VersionInfo>, ArtifactError> {
        self.catalog.history(name)
    }

    /// Version `version` of `name`; the latest when `None`.
    pub fn version(&self, name: &str, version: Option<u32>) -> Result<VersionInfo, ArtifactError> {
        self.catalog.version(name, version)
    }

    /// The content of version `version` of `name` (the latest when `None`).
    pub fn get_version(&self, name: &str, version: Option<u32>) -> Result<Vec<u8>, ArtifactError> {
        let found = self.catalog.version(name, version)?;
        self.get(&found.id)
    }

    /// The names whose versions point at artifact `id`.
    pub fn names_of(&self, id: &str) -> Result<Vec<String>, ArtifactError> {
        self.catalog.names_of(id)
    }

    /// A line diff of version `from` of `name` against version `to`.
    pub fn diff(&self, name: &str, from: u32, to: u32) -> Result<TextDiff, ArtifactError> {
        let old = self.catalog.version(name, Some(from))?;
        let new = self.catalog.version(name, Some(to))?;
        let text = |v: &VersionInfo| -> Result<String, ArtifactError> {
            if v.size > DIFF_LIMIT {
                return Err(ArtifactError::Invalid(format!(
                    "version {} of '{name}' is {} bytes; diffs are limited to {DIFF_LIMIT}",
                    v.version, v.size
                )));
            }
            String::from_utf8(self.get(&v.id)?)
                .map_err(|_| ArtifactError::NotText { id: v.id.clone() })
        };
        Ok(TextDiff::between(
            &format!("{name}@{from}"),
            &text(&old)?,
            &format!("{name}@{to}"),
            &text(&new)?,
        ))
    }

    /// The artifacts `id` was derived from.
    pub fn derived_from(&self, id: &str) -> Result<Vec<String>, ArtifactError> {
        self.catalog.parents(id)
    }

    /// The artifacts derived from `id`.
    pub fn derivatives(&self, id: &str) -> Result<Vec<String>, ArtifactError> {
        self.catalog.children(id)
    }
}
