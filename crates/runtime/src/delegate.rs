//! What a guest's host imports reach beyond the runtime — the Artifact
//! Store and the other loaded extensions — through a trait the host
//! implements, so the runtime never depends on the host that owns it.

use std::future::Future;
use std::pin::Pin;

use crate::CallError;

/// A call into another extension, as [`HostDelegate::call_model`] starts
/// it: polled inside the calling guest's own call, so that call's deadline
/// and interrupt stop it too.
pub type ModelCall = Pin<Box<dyn Future<Output = Result<String, CallError>> + Send>>;

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

    /// Starts a guest's `model-call`: the loaded Instrument `name` on
    /// `input`, with its manifest's default config, `nesting` calls deep,
    /// for `requester` (the calling call's: its tenant and priority decide
    /// its place if the Instrument's instances are all busy). `Err` says
    /// why there is no such Instrument to call.
    /// [`Instrument::call_nested`](crate::extension::Instrument::call_nested)
    /// makes the call.
    fn call_model(
        &self,
        name: &str,
        input: String,
        nesting: u32,
        requester: Option<symphony_arbitration::Requester>,
    ) -> Result<ModelCall, String>;

    /// Starts an instance of each of `names` in the background, if the
    /// host has a background slot free: the Pool Manager's prediction of
    /// what a call is likely to be followed by. Returns at once.
    fn prewarm_in_background(&self, names: Vec<String>);
}
