//! Checking stored artifacts against their ids.

use std::io;

use super::meta;
use super::{ArtifactError, ArtifactStore};

/// The result of [`ArtifactStore::verify_all`].
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct VerifyReport {
    /// Artifacts whose content was read and matched its id.
    pub verified: u64,
    /// Artifacts that failed: id and reason.
    pub damaged: Vec<(String, String)>,
    /// Hot artifacts in the catalog whose object file is gone.
    pub missing: Vec<String>,
}

impl VerifyReport {
    /// Whether every artifact verified.
    pub fn is_clean(&self) -> bool {
        self.damaged.is_empty() && self.missing.is_empty()
    }
}

impl ArtifactStore {
    /// Reads artifact `id` to the end, checking it against its id.
    pub fn verify(&self, id: &str) -> Result<u64, ArtifactError> {
        self.hot_or_rehydrated(id, |content| content.get_to(id, io::sink()))
    }

    /// Verifies every hot artifact in the catalog.
    pub fn verify_all(&self) -> Result<VerifyReport, ArtifactError> {
        let mut report = VerifyReport::default();
        for info in self.catalog.all()? {
            if info.location != meta::Location::Hot {
                continue;
            }
            match self.content.get_to(&info.id, io::sink()) {
                Ok(_) => report.verified += 1,
                Err(ArtifactError::NotFound(_)) => report.missing.push(info.id),
                // Anything else that stops this artifact reading back
                // (EIO, a permission) is damage to report, not a reason to
                // stop checking the rest.
                Err(e) => report.damaged.push((info.id, e.to_string())),
            }
        }
        Ok(report)
    }
}
