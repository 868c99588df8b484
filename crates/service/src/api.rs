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
use symphony_host::protocol::{Message, MessageRegistry};

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

/// The page size of listings and searches unless a request names one.
fn default_limit() -> usize {
    20
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

mod artifacts;
mod errors;
mod extensions;
mod runs;

pub use artifacts::{
    ArtifactChunk, ArtifactGet, ArtifactHits, ArtifactInfoReply, ArtifactInfoRequest, ArtifactPut,
    ArtifactSearch, ArtifactStored,
};
pub use errors::{ErrorKind, ErrorReply};
pub use extensions::{Done, ExtList, ExtLoad, ExtLoaded, ExtReload, ExtUnload, ExtensionsReply};
pub use runs::{
    RunCancel, RunList, RunPause, RunReportReply, RunReportRequest, RunResume, RunRetry, RunStart,
    RunStarted, RunStateReply, RunStatusReply, RunStatusRequest, RunsReply, check_run_id,
    check_tenant,
};

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

#[cfg(test)]
mod tests;
