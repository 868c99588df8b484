//! The `host` interface extensions import, with a grant check on every call.
//!
//! Every import that can wait (a bus publish to a slow subscriber, a bus
//! request, artifact reads and writes, a nested `model-call`) awaits rather
//! than blocking its thread, and notes itself in the store's
//! [`Waits`](super::waits::Waits), so a deadline or an interrupt can stop the
//! call while it waits and say where.

use std::sync::Arc;
use std::time::Duration;

use super::bindings::host::Host as HostImports;
use super::bindings::types::{self, ExtError, LogLevel};
use super::store_data::StoreState;
use super::waits::HostWait;
use crate::HostDelegate;
use symphony_manifest::ArtifactAccess;

/// How deep `model-call` may nest (an Instrument calling an Instrument ...).
const MAX_MODEL_CALL_DEPTH: u32 = 4;

impl types::Host for StoreState {}

impl StoreState {
    /// Refuses an import for lack of `capability` (its text form), and
    /// records the refusal in the audit log.
    fn denied(&self, what: &str, grant: &str, capability: String) -> ExtError {
        self.ext.audit_denial(capability.clone(), what.to_string());
        ExtError::Denied(format!(
            "extension '{}' may not {what}: it has no {grant} grant (capability {capability})",
            self.ext.name
        ))
    }

    fn host(&self) -> Result<Arc<dyn HostDelegate>, ExtError> {
        self.ext
            .host
            .upgrade()
            .ok_or_else(|| ExtError::Unavailable("the host is shutting down".into()))
    }

    /// Awaits `work`, noting meanwhile that the guest waits in the host
    /// import `call` (so a call stopped then says so).
    async fn waiting_in<T>(&mut self, call: &'static str, work: impl Future<Output = T>) -> T {
        self.waits.current = Some(HostWait::on_call(call));
        let done = work.await;
        self.waits.current = None;
        done
    }
}

/// Runs `work` (file or store I/O) on the blocking pool, so the calling
/// guest's call can be dropped while it runs.
async fn off_thread<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ExtError> + Send + 'static,
) -> Result<T, ExtError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ExtError::Failed(format!("the host failed doing it: {e}")))?
}

impl HostImports for StoreState {
    async fn log(&mut self, level: LogLevel, message: String) {
        let ext = &*self.ext.name;
        let Some(message) = self.ext.log.admit(&message) else {
            return;
        };
        match level {
            LogLevel::Trace => {
                tracing::trace!(target: "symphony::guest", extension = ext, "{message}")
            }
            LogLevel::Debug => {
                tracing::debug!(target: "symphony::guest", extension = ext, "{message}")
            }
            LogLevel::Info => {
                tracing::info!(target: "symphony::guest", extension = ext, "{message}")
            }
            LogLevel::Warn => {
                tracing::warn!(target: "symphony::guest", extension = ext, "{message}")
            }
            LogLevel::Error => {
                tracing::error!(target: "symphony::guest", extension = ext, "{message}")
            }
        }
    }

    async fn config(&mut self, key: String) -> Option<String> {
        self.config.get(&key)
    }

    async fn publish(&mut self, subject: String, payload: Vec<u8>) -> Result<(), ExtError> {
        if !self.ext.grants.may_publish(&subject) {
            return Err(self.denied(
                &format!("publish on '{subject}'"),
                "bus publish",
                format!("publish:{subject}"),
            ));
        }
        let bus = self.ext.bus.clone();
        let publish = bus.publish_async(&subject, payload);
        self.waiting_in("symphony:extension/host.publish", publish)
            .await
            .map(drop)
            .map_err(|e| ExtError::InvalidInput(e.to_string()))
    }

    async fn request(
        &mut self,
        subject: String,
        payload: Vec<u8>,
        timeout_ms: u32,
    ) -> Result<Vec<u8>, ExtError> {
        if !self.ext.grants.may_publish(&subject) {
            return Err(self.denied(
                &format!("send a request on '{subject}'"),
                "bus publish",
                format!("publish:{subject}"),
            ));
        }
        let bus = self.ext.bus.clone();
        let timeout = Duration::from_millis(timeout_ms.into());
        let request = bus.request_async(&subject, payload, timeout);
        match self
            .waiting_in("symphony:extension/host.request", request)
            .await
        {
            Ok(reply) => Ok(reply.payload.to_vec()),
            Err(e @ symphony_bus::BusError::InvalidSubject(_)) => {
                Err(ExtError::InvalidInput(e.to_string()))
            }
            Err(e) => Err(ExtError::Unavailable(e.to_string())),
        }
    }

    async fn artifact_put(&mut self, content: Vec<u8>) -> Result<String, ExtError> {
        if self.ext.grants.artifact_access() != ArtifactAccess::ReadWrite {
            return Err(self.denied(
                "write artifacts",
                "artifacts read-write",
                "artifacts:read-write".into(),
            ));
        }
        let host = self.host()?;
        let put = off_thread(move || host.artifact_put(&content).map_err(ExtError::Failed));
        self.waiting_in("symphony:extension/host.artifact-put", put)
            .await
    }

    async fn artifact_get(&mut self, hash: String) -> Result<Vec<u8>, ExtError> {
        if self.ext.grants.artifact_access() == ArtifactAccess::None {
            return Err(self.denied("read artifacts", "artifacts read", "artifacts:read".into()));
        }
        let host = self.host()?;
        let get = off_thread(move || host.artifact_get(&hash).map_err(ExtError::InvalidInput));
        self.waiting_in("symphony:extension/host.artifact-get", get)
            .await
    }

    async fn model_call(&mut self, instrument: String, input: String) -> Result<String, ExtError> {
        if !self.ext.grants.may_call_model(&instrument) {
            return Err(self.denied(
                &format!("call the model '{instrument}'"),
                "models",
                format!("model:{instrument}"),
            ));
        }
        let depth = self.config.nesting();
        if depth >= MAX_MODEL_CALL_DEPTH {
            return Err(ExtError::Unavailable(format!(
                "model-call nested deeper than {MAX_MODEL_CALL_DEPTH} levels"
            )));
        }
        let invoke = self
            .host()?
            .call_model(
                &instrument,
                input,
                depth + 1,
                self.config.requester().cloned(),
            )
            .map_err(ExtError::Unavailable)?;
        let result = self
            .waiting_in("symphony:extension/host.model-call", invoke)
            .await;
        result.map_err(|e| match e {
            crate::CallError::Guest { error, .. } => error.into(),
            other => ExtError::Unavailable(other.to_string()),
        })
    }
}
