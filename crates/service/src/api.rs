//! The control API, version 1: every request and reply the service
//! understands, as typed bus messages.
//!
//! A request is sent on the subject named by its kind (`symphony.v1.run.start`
//! travels on `symphony.v1.run.start`) with a reply subject; the answer is
//! one message of the request's reply kind, or an [`ErrorReply`]
//! (`symphony.v1.error`) naming an [`ErrorKind`]. Payloads are msgpack maps
//! keyed by field name; fields marked optional may be left out. `PROTOCOL.md`
//! at the repository's root describes each with an example, and its
//! examples are checked against [`registry`].

use serde::{Deserialize, Serialize};
use serde_json::Value;
use symphony_host::protocol::{Message, MessageRegistry, validate_subject};
use symphony_host::runs::{RunReport, RunStatus, RunSummary};

/// The prefix of every subject and kind of the control API, version 1.
pub const PREFIX: &str = "symphony.v1";

/// Requests a client may send inline in one frame, in bytes: larger
/// artifacts go by path ([`ArtifactPut::path`]).
pub const MAX_INLINE: usize = 4 << 20;

/// The most bytes one [`ArtifactGet`] returns.
pub const MAX_CHUNK: usize = 1 << 20;

/// The message registry of a service: the bus's own types and every type
/// of this API.
pub fn registry() -> MessageRegistry {
    let mut registry = MessageRegistry::with_builtin();
    registry.register::<RunStart>();
    registry.register::<RunStatusRequest>();
    registry.register::<RunList>();
    registry.register::<RunPause>();
    registry.register::<RunResume>();
    registry.register::<RunCancel>();
    registry.register::<RunRetry>();
    registry.register::<RunReportRequest>();
    registry.register::<ExtList>();
    registry.register::<ExtLoad>();
    registry.register::<ExtUnload>();
    registry.register::<ExtReload>();
    registry.register::<ArtifactPut>();
    registry.register::<ArtifactGet>();
    registry.register::<ArtifactSearch>();
    registry.register::<ArtifactInfoRequest>();
    registry.register::<StatsRequest>();
    registry.register::<RunStarted>();
    registry.register::<RunStatusReply>();
    registry.register::<RunsReply>();
    registry.register::<RunStateReply>();
    registry.register::<RunReportReply>();
    registry.register::<ExtensionsReply>();
    registry.register::<ExtLoaded>();
    registry.register::<Done>();
    registry.register::<ArtifactStored>();
    registry.register::<ArtifactChunk>();
    registry.register::<ArtifactHits>();
    registry.register::<ArtifactInfoReply>();
    registry.register::<StatsReply>();
    registry.register::<ErrorReply>();
    registry
}

/// A request of the control API: a message with the kind of its answer.
pub trait Request: Message {
    /// What a successful request is answered with.
    type Reply: Message;
}

/// Implements [`Message`] for a control API type: its kind (the subject
/// it travels on, for requests) and version 1.
macro_rules! message {
    ($ty:ty, $kind:literal) => {
        message!($ty, $kind, |_m: &$ty| Ok(()));
    };
    ($ty:ty, $kind:literal, $check:expr) => {
        impl Message for $ty {
            const KIND: &'static str = concat!("symphony.v1.", $kind);
            const VERSION: u16 = 1;

            fn check(&self) -> Result<(), String> {
                #[allow(clippy::redundant_closure_call, reason = "the macro's check")]
                ($check)(self)
            }
        }
    };
}

macro_rules! request {
    ($ty:ty => $reply:ty) => {
        impl Request for $ty {
            type Reply = $reply;
        }
    };
}

/// Checks a run id: one subject token of letters, digits, `-` and `_`,
/// at most 64 characters (it names the run's `exec.<run>.>` subjects).
pub fn check_run_id(run: &str) -> Result<(), String> {
    let ok = !run.is_empty()
        && run.len() <= 64
        && run
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "run id '{run}' must be 1 to 64 letters, digits, '-' or '_'"
        ))
    }
}

/// Starts a run of a workflow, given inline or by a path the service
/// reads. Answered with [`RunStarted`] once the workflow is validated and
/// the run is under way; its events follow on `exec.<run>.>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct RunStart {
    /// The workflow document (the JSON format of `symphony workflow`),
    /// inline. Exactly one of `workflow` and `workflow_path` is given.
    #[serde(default)]
    pub workflow: Option<Value>,
    /// A workflow file the service reads.
    #[serde(default)]
    pub workflow_path: Option<String>,
    /// The run's input. Default: null.
    #[serde(default)]
    pub input: Value,
    /// The run's id, so a client can subscribe to `exec.<run>.>` before
    /// the run starts. Default: the service picks one.
    #[serde(default)]
    pub run_id: Option<String>,
    /// The most nodes running at once. Default: the service's.
    #[serde(default)]
    pub concurrency: Option<u32>,
    /// The longest the run may take, in milliseconds.
    #[serde(default)]
    pub timeout_ms: Option<u64>,
    /// Do not record or checkpoint the run. Default: false.
    #[serde(default)]
    pub no_checkpoint: bool,
    /// Do not keep node outputs in the Artifact Store. Default: false.
    #[serde(default)]
    pub no_artifacts: bool,
}
message!(RunStart, "run.start", |m: &RunStart| {
    match (&m.workflow, &m.workflow_path) {
        (Some(_), Some(_)) => return Err("give either workflow or workflow_path, not both".into()),
        (None, None) => {
            return Err("give the workflow inline (workflow) or by path (workflow_path)".into());
        }
        _ => {}
    }
    if m.concurrency == Some(0) {
        return Err("concurrency must be at least 1".into());
    }
    m.run_id.as_deref().map_or(Ok(()), check_run_id)
});
request!(RunStart => RunStarted);

/// A run was started (or resumed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunStarted {
    /// The run's id.
    pub run_id: String,
    /// The workflow's name.
    pub workflow: String,
    /// Nodes taken from a checkpoint (a resumed run), else 0.
    #[serde(default)]
    pub restored: usize,
}
message!(RunStarted, "reply.run-started");

/// Names one run.
macro_rules! run_request {
    ($(#[$doc:meta])* $ty:ident, $kind:literal => $reply:ty) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        pub struct $ty {
            /// The run's id.
            pub run: String,
        }
        message!($ty, $kind, |m: &$ty| check_run_id(&m.run));
        request!($ty => $reply);
    };
}

run_request!(
    /// A run's state, nodes and output ([`RunStatusReply`]).
    RunStatusRequest, "run.status" => RunStatusReply
);
run_request!(
    /// Pauses a running run: nodes already running finish, no new one
    /// starts ([`RunStateReply`]).
    RunPause, "run.pause" => RunStateReply
);
run_request!(
    /// Resumes a paused run, or continues an interrupted or failed one
    /// from its checkpoint without redoing finished nodes
    /// ([`RunStateReply`]).
    RunResume, "run.resume" => RunStateReply
);
run_request!(
    /// Cancels a run: nothing more starts, and it ends `cancelled`
    /// ([`RunStateReply`]).
    RunCancel, "run.cancel" => RunStateReply
);
run_request!(
    /// Runs a failed run's failed nodes again, keeping the rest
    /// ([`RunStateReply`]).
    RunRetry, "run.retry" => RunStateReply
);
run_request!(
    /// The report of a run that ended: per-node reports, output, metrics,
    /// and the views of the workflow's addons ([`RunReportReply`]).
    RunReportRequest, "run.report" => RunReportReply
);

/// A run's status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunStatusReply {
    /// As recorded: its nodes, output, and whether it was interrupted.
    pub status: RunStatus,
    /// Its state right now, when this service is running it (`paused`,
    /// say, which the record does not show).
    #[serde(default)]
    pub live: Option<String>,
}
message!(RunStatusReply, "reply.run-status");

/// Lists recent runs, newest first ([`RunsReply`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunList {
    /// How many. Default: 20.
    #[serde(default = "default_limit")]
    pub limit: usize,
}
fn default_limit() -> usize {
    20
}
message!(RunList, "run.list", |m: &RunList| {
    if m.limit > 10_000 {
        Err(format!("limit {} is more than 10000", m.limit))
    } else {
        Ok(())
    }
});
request!(RunList => RunsReply);

/// Recent runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunsReply {
    /// Newest first.
    pub runs: Vec<RunSummary>,
}
message!(RunsReply, "reply.runs");

/// A run's state after a command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunStateReply {
    /// The run.
    pub run: String,
    /// The state it was in.
    pub from: String,
    /// The state it is in now.
    pub state: String,
}
message!(RunStateReply, "reply.run-state");

/// A finished run's report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunReportReply {
    /// The report.
    pub report: RunReport,
    /// Each addon of the workflow, by name: `{"text", "vnodes"}` or
    /// `{"error"}`.
    #[serde(default)]
    pub addons: serde_json::Map<String, Value>,
}
message!(RunReportReply, "reply.run-report");

/// Lists the loaded extensions ([`ExtensionsReply`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ExtList {}
message!(ExtList, "ext.list");
request!(ExtList => ExtensionsReply);

/// The loaded extensions, and those that failed to load.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExtensionsReply {
    /// One object per extension: name, kind, version, state, path.
    pub extensions: Vec<Value>,
    /// Extensions that could not be loaded: `{"name", "reason"}`.
    #[serde(default)]
    pub failures: Vec<Value>,
}
message!(ExtensionsReply, "reply.extensions");

/// Loads the extensions in a directory the service reads ([`ExtLoaded`]),
/// as `symphony serve --ext-dir` does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtLoad {
    /// A directory of extensions, or one extension's directory.
    pub dir: String,
    /// Capabilities granted beyond the policy, as `ext:capability`
    /// (`scraper:net:api.example.com:443`).
    #[serde(default)]
    pub grants: Vec<String>,
}
message!(ExtLoad, "ext.load", |m: &ExtLoad| {
    if m.dir.is_empty() {
        Err("dir is empty".into())
    } else {
        Ok(())
    }
});
request!(ExtLoad => ExtLoaded);

/// What loading found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtLoaded {
    /// Extensions loaded now.
    pub loaded: Vec<String>,
    /// Warnings: capabilities denied, notes of the resolver, extensions
    /// that failed to activate.
    #[serde(default)]
    pub warnings: Vec<String>,
}
message!(ExtLoaded, "reply.ext-loaded");

/// Names one extension.
macro_rules! ext_request {
    ($(#[$doc:meta])* $ty:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        pub struct $ty {
            /// The extension's name.
            pub name: String,
        }
        message!($ty, $kind, |m: &$ty| validate_subject(&m.name).map_err(|e| format!("extension name: {e}")));
        request!($ty => Done);
    };
}

ext_request!(
    /// Unloads an extension (after its deactivate and unload hooks).
    ExtUnload, "ext.unload"
);
ext_request!(
    /// Reloads an extension from its files: new calls go to the new
    /// version, calls in flight finish on the old.
    ExtReload, "ext.reload"
);

/// Done, with a line saying what was done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Done {
    /// What was done.
    pub message: String,
}
message!(Done, "reply.done");

/// Stores content in the Artifact Store ([`ArtifactStored`]): inline up to
/// [`MAX_INLINE`] bytes, or a file the service reads (any size, streamed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ArtifactPut {
    /// The content, inline. Exactly one of `content` and `path`.
    #[serde(default, with = "serde_bytes")]
    pub content: Option<Vec<u8>>,
    /// A file to store.
    #[serde(default)]
    pub path: Option<String>,
    /// Records it as the next version of this name.
    #[serde(default)]
    pub name: Option<String>,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// A MIME type.
    #[serde(default)]
    pub content_type: Option<String>,
}
message!(ArtifactPut, "artifact.put", |m: &ArtifactPut| {
    match (&m.content, &m.path) {
        (Some(content), None) if content.len() > MAX_INLINE => Err(format!(
            "{} bytes inline is more than {MAX_INLINE}; send large content by path",
            content.len()
        )),
        (Some(_), None) | (None, Some(_)) => Ok(()),
        _ => Err("give either content or path".into()),
    }
});
request!(ArtifactPut => ArtifactStored);

/// Content was stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactStored {
    /// Its id (the SHA-256 of the content, hex).
    pub id: String,
    /// Its size in bytes.
    pub size: u64,
    /// The same content was already stored.
    pub deduplicated: bool,
    /// The version of `name` it became.
    #[serde(default)]
    pub version: Option<u32>,
}
message!(ArtifactStored, "reply.artifact-stored");

/// Reads up to `max` bytes of an artifact from `offset`
/// ([`ArtifactChunk`]); read a large one chunk by chunk, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactGet {
    /// The artifact's id.
    pub id: String,
    /// Where to start. Default: 0.
    #[serde(default)]
    pub offset: u64,
    /// The most bytes to return, at most [`MAX_CHUNK`]. Default: that.
    #[serde(default = "max_chunk")]
    pub max: u32,
}
fn max_chunk() -> u32 {
    MAX_CHUNK as u32
}
message!(ArtifactGet, "artifact.get", |m: &ArtifactGet| {
    if m.max == 0 || m.max as usize > MAX_CHUNK {
        Err(format!("max must be 1 to {MAX_CHUNK} bytes, not {}", m.max))
    } else {
        Ok(())
    }
});
request!(ArtifactGet => ArtifactChunk);

/// Part of an artifact's content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactChunk {
    /// The artifact.
    pub id: String,
    /// Where these bytes start.
    pub offset: u64,
    /// Its whole size.
    pub size: u64,
    /// The bytes.
    #[serde(with = "serde_bytes")]
    pub data: Vec<u8>,
}
message!(ArtifactChunk, "reply.artifact-chunk");

/// Searches the Artifact Store ([`ArtifactHits`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ArtifactSearch {
    /// Words to match, e.g. `revenue "next quarter"`; empty matches all.
    #[serde(default)]
    pub text: String,
    /// Tags every hit carries.
    #[serde(default)]
    pub tags: Vec<String>,
    /// The most hits. Default: 20.
    #[serde(default = "default_limit")]
    pub limit: usize,
}
message!(ArtifactSearch, "artifact.search", |m: &ArtifactSearch| {
    if m.limit > 1000 {
        Err(format!("limit {} is more than 1000", m.limit))
    } else {
        Ok(())
    }
});
request!(ArtifactSearch => ArtifactHits);

/// What a search found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArtifactHits {
    /// Matches in all.
    pub total: usize,
    /// This page: `{"id", "score", "info", ...}` per hit.
    pub hits: Vec<Value>,
}
message!(ArtifactHits, "reply.artifact-hits");

/// An artifact's metadata ([`ArtifactInfoReply`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactInfoRequest {
    /// The artifact's id.
    pub id: String,
}
message!(ArtifactInfoRequest, "artifact.info");
request!(ArtifactInfoRequest => ArtifactInfoReply);

/// An artifact's metadata: size, type, tags, fields, reads, quality.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArtifactInfoReply {
    /// As `symphony artifacts show --json` prints it.
    pub info: Value,
}
message!(ArtifactInfoReply, "reply.artifact-info");

/// The service's statistics ([`StatsReply`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct StatsRequest {}
message!(StatsRequest, "stats");
request!(StatsRequest => StatsReply);

/// The pool, the bus and the runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatsReply {
    /// The Pool Manager's statistics (`symphony ext stats`).
    pub pool: Value,
    /// The bus server's: peers, subjects, latency (`symphony bus stats`).
    pub bus: Value,
    /// Runs this service is running now, by state.
    pub runs: Value,
    /// Seconds since the service started.
    pub uptime_s: f64,
}
message!(StatsReply, "reply.stats");

/// What went wrong, by kind, so a client can tell cases apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorKind {
    /// The request is malformed or breaks a rule of its type.
    InvalidRequest,
    /// Its message type is not one the service knows.
    UnknownType,
    /// Its type is known, but not in this version.
    UnsupportedVersion,
    /// The peer may not do this.
    Denied,
    /// No such run, extension or artifact.
    NotFound,
    /// The workflow does not validate (every problem is listed).
    InvalidWorkflow,
    /// The run is in a state that does not allow this (resume a completed
    /// run, report a running one).
    InvalidState,
    /// An extension could not be loaded, reloaded or unloaded.
    Extension,
    /// The Artifact Store refused or failed.
    Artifact,
    /// The service is shutting down and takes no new work.
    ShuttingDown,
    /// Anything else: the message says what.
    Internal,
}

impl ErrorKind {
    /// The kind's name on the wire, e.g. `not_found`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidRequest => "invalid_request",
            ErrorKind::UnknownType => "unknown_type",
            ErrorKind::UnsupportedVersion => "unsupported_version",
            ErrorKind::Denied => "denied",
            ErrorKind::NotFound => "not_found",
            ErrorKind::InvalidWorkflow => "invalid_workflow",
            ErrorKind::InvalidState => "invalid_state",
            ErrorKind::Extension => "extension",
            ErrorKind::Artifact => "artifact",
            ErrorKind::ShuttingDown => "shutting_down",
            ErrorKind::Internal => "internal",
        }
    }

    /// The kind named `name` (an unknown name reads as `internal`), as a
    /// bus-level refusal's header carries it.
    pub fn from_name(name: &str) -> ErrorKind {
        serde_json::from_value(Value::String(name.to_string())).unwrap_or(ErrorKind::Internal)
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A request failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct ErrorReply {
    /// Which kind of failure.
    pub kind: ErrorKind,
    /// What was wrong, for a person.
    pub message: String,
}
message!(ErrorReply, "error");

impl ErrorReply {
    /// An error of `kind`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ErrorReply {
            kind,
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests;
