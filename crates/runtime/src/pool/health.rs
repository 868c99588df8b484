//! Health checks of pooled Instrument instances: on demand, periodically on
//! a background thread, and after a call that returned a guest error. An
//! unhealthy or trapping instance goes Failed → Cold and is replaced on
//! the next call.

use serde::Serialize;

/// What a health check of the idle instances found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct HealthReport {
    /// Idle Instrument instances checked.
    pub checked: usize,
    /// Of those, the ones that answered `healthy`.
    pub healthy: usize,
    /// The ones that answered `degraded`; they keep serving.
    pub degraded: usize,
    /// The ones that answered `unhealthy` or trapped: discarded, to be
    /// replaced by a fresh instance on the next call.
    pub replaced: usize,
    /// Why each replaced instance was replaced (`<extension>: <reason>`).
    pub problems: Vec<String>,
}
