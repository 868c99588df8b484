//! What a guest's host imports reach beyond the runtime — the Artifact
//! Store and the other loaded extensions — through a trait the host
//! implements, so the runtime never depends on the host that owns it.

use crate::extension::Instrument;

/// The host's side of the `host` imports that reach its services. Every
/// extension's context holds it weakly: the host owns the instances that
/// hold it, and an import made while the host shuts down is refused as
/// `unavailable`.
pub trait HostDelegate: Send + Sync {
    /// Stores `content` in the host's Artifact Store and returns its id
    /// (`artifact-put`). Called on a blocking-pool thread.
    fn artifact_put(&self, content: &[u8]) -> Result<String, String>;

    /// The content of artifact `id` (`artifact-get`). Called on a
    /// blocking-pool thread.
    fn artifact_get(&self, id: &str) -> Result<Vec<u8>, String>;

    /// The loaded Instrument `name`, for a guest's `model-call`.
    fn instrument(&self, name: &str) -> Result<Instrument, String>;

    /// Starts an instance of each of `names` in the background, if the
    /// host has a background slot free: the Pool Manager's prediction of
    /// what a call is likely to be followed by. Returns at once.
    fn prewarm_in_background(&self, names: Vec<String>);
}
