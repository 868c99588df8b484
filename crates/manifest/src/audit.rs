//! The append-only audit log of permission decisions: every grant, denial
//! and prompt answer, and every host import refused at run time.
//!
//! One JSON object per line in `<home>/audit.log`. Each record is written
//! with a single `write` to a file opened for appending, so records from
//! several processes interleave whole; a torn last line (a crash mid-write)
//! is skipped when reading, never fatal.

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// What was decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Decision {
    /// The capability was granted.
    Granted,
    /// The capability was refused.
    Denied,
}

/// Who or what decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DecidedBy {
    /// A rule in the policy file.
    Policy,
    /// The person at the prompt.
    Prompt,
    /// No one could be asked (no terminal, no prompt callback).
    NoPrompt,
    /// A `--grant` on the command line or an explicit grant in the API.
    Explicit,
    /// Granted to an earlier version of the same extension.
    EarlierGrant,
    /// A host import checked its capability while the extension ran.
    Runtime,
    /// The host could not load the extension (capability `load`): its
    /// manifest or component is broken, or a dependency is.
    Loader,
    /// The service's access check refused a bus peer: a connection from a
    /// user it does not serve, or a peer acting outside its grants.
    Peer,
}

impl Decision {
    /// `granted` or `denied`, as the log writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Granted => "granted",
            Decision::Denied => "denied",
        }
    }
}

impl DecidedBy {
    /// `policy`, `prompt`, `no-prompt`, `explicit`, `earlier-grant`,
    /// `runtime`, `loader` or `peer`, as the log writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            DecidedBy::Policy => "policy",
            DecidedBy::Prompt => "prompt",
            DecidedBy::NoPrompt => "no-prompt",
            DecidedBy::Explicit => "explicit",
            DecidedBy::EarlierGrant => "earlier-grant",
            DecidedBy::Runtime => "runtime",
            DecidedBy::Loader => "loader",
            DecidedBy::Peer => "peer",
        }
    }
}

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Milliseconds since the Unix epoch.
    pub time_ms: u64,
    /// The extension's name.
    pub extension: String,
    /// The extension's version, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The capability, in its text form (`net:api.example.com:443`).
    pub capability: String,
    /// Granted or denied.
    pub decision: Decision,
    /// Who decided.
    pub by: DecidedBy,
    /// Anything else worth knowing (the import called, the policy rule).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

impl AuditRecord {
    /// A record stamped with the current time.
    pub fn now(
        extension: impl Into<String>,
        version: Option<String>,
        capability: impl Into<String>,
        decision: Decision,
        by: DecidedBy,
        detail: impl Into<String>,
    ) -> Self {
        AuditRecord {
            time_ms: symphony_protocol::now_us() / 1000,
            extension: extension.into(),
            version,
            capability: capability.into(),
            decision,
            by,
            detail: detail.into(),
        }
    }
}

/// Which records a query returns; empty fields match everything.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// Only this extension.
    pub extension: Option<String>,
    /// Only this decision.
    pub decision: Option<Decision>,
    /// Only capabilities of this kind (`net`, `fs`, ...) or this exact text.
    pub capability: Option<String>,
    /// Only records at or after this time (ms since the epoch).
    pub since_ms: Option<u64>,
    /// At most this many, the newest.
    pub limit: Option<usize>,
}

impl AuditQuery {
    fn matches(&self, record: &AuditRecord) -> bool {
        let capability = |wanted: &String| {
            record.capability == *wanted
                || record
                    .capability
                    .split_once(':')
                    .is_some_and(|(kind, _)| kind == wanted)
        };
        self.extension
            .as_ref()
            .is_none_or(|e| record.extension == *e)
            && self.decision.is_none_or(|d| record.decision == d)
            && self.capability.as_ref().is_none_or(capability)
            && self.since_ms.is_none_or(|t| record.time_ms >= t)
    }
}

/// The audit log file. Cheap to share behind an `Arc`; appends are
/// serialised within the process.
#[derive(Debug)]
pub struct AuditLog {
    path: PathBuf,
    file: Mutex<Option<File>>,
}

/// Why the audit log could not be written or read.
#[derive(Debug, thiserror::Error)]
#[error("audit log {path}: {source}")]
pub struct AuditError {
    /// The log file.
    pub path: PathBuf,
    /// The underlying error.
    #[source]
    pub source: io::Error,
}

impl AuditLog {
    /// The log at `path`; the file is created on the first record.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        AuditLog {
            path: path.into(),
            file: Mutex::new(None),
        }
    }

    /// Where the log lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one record. A decision that cannot be recorded is an error
    /// the caller must not ignore: an unaudited grant is not allowed.
    pub fn record(&self, record: &AuditRecord) -> Result<(), AuditError> {
        let error = |source| AuditError {
            path: self.path.clone(),
            source,
        };
        let mut line = serde_json::to_vec(record).map_err(|e| error(e.into()))?;
        line.push(b'\n');
        let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
        if file.is_none() {
            if let Some(dir) = self.path.parent() {
                std::fs::create_dir_all(dir).map_err(error)?;
            }
            let mut opened = OpenOptions::new()
                .create(true)
                .read(true)
                .append(true)
                .open(&self.path)
                .map_err(error)?;
            // A line torn by a crash must not swallow the next record.
            if !ends_with_newline(&mut opened).map_err(error)? {
                opened.write_all(b"\n").map_err(error)?;
            }
            *file = Some(opened);
        }
        let Some(file) = file.as_mut() else {
            return Ok(());
        };
        file.write_all(&line).map_err(error)
    }

    /// The records matching `query`, oldest first.
    pub fn query(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, AuditError> {
        let file = match File::open(&self.path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(AuditError {
                    path: self.path.clone(),
                    source,
                });
            }
        };
        let mut found = Vec::new();
        for line in BufReader::new(file).split(b'\n') {
            let line = line.map_err(|source| AuditError {
                path: self.path.clone(),
                source,
            })?;
            // A line torn by a crash, or written by a newer version, is
            // passed over rather than hiding every record after it.
            let Ok(record) = serde_json::from_slice::<AuditRecord>(&line) else {
                continue;
            };
            if query.matches(&record) {
                found.push(record);
            }
        }
        if let Some(limit) = query.limit {
            found.drain(..found.len().saturating_sub(limit));
        }
        Ok(found)
    }
}

/// Whether the file is empty or its last byte is a newline.
fn ends_with_newline(file: &mut File) -> io::Result<bool> {
    use std::io::{Read, Seek, SeekFrom};
    if file.metadata()?.len() == 0 {
        return Ok(true);
    }
    file.seek(SeekFrom::End(-1))?;
    let mut last = [0u8];
    file.read_exact(&mut last)?;
    Ok(last[0] == b'\n')
}

#[cfg(test)]
mod tests;
