//! Graceful drain: an extension stops taking calls, its idle instances
//! cool at once, and the ones in a call cool as their calls finish.

use serde::Serialize;

/// What draining an extension did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct DrainReport {
    /// The extension drained.
    pub extension: String,
    /// Idle instances cooled at once (Hot → Cooling → Cold).
    pub cooled: usize,
    /// Instances that were in a call and finished it within the timeout
    /// (then cooled).
    pub finished: usize,
    /// Instances still in a call when the timeout passed; each cools when
    /// its call returns.
    pub still_busy: usize,
    /// How long the drain waited, in milliseconds.
    pub waited_ms: u64,
}
