//! The `host` interface extensions import, with a grant check on every call.

use std::cell::Cell;

use super::bindings::host::Host as HostImports;
use super::bindings::types::{self, ExtError, LogLevel};
use super::state::StoreState;
use crate::extension::ArtifactAccess;
use crate::host::HostInner;

/// How deep `model-call` may nest (an Instrument calling an Instrument ...).
const MAX_MODEL_CALL_DEPTH: u32 = 4;

thread_local! {
    static MODEL_CALL_DEPTH: Cell<u32> = const { Cell::new(0) };
}

impl types::Host for StoreState {}

impl StoreState {
    /// Refuses an import for lack of `capability` (its text form), and
    /// records the refusal in the audit log.
    fn denied(&self, what: &str, grant: &str, capability: String) -> ExtError {
        self.ext.audit_denial(capability, what.to_string());
        ExtError::Denied(format!(
            "extension '{}' may not {what}: it has no {grant} grant",
            self.ext.name
        ))
    }

    fn host(&self) -> Result<std::sync::Arc<HostInner>, ExtError> {
        self.ext
            .host
            .upgrade()
            .ok_or_else(|| ExtError::Unavailable("the host is shutting down".into()))
    }
}

impl HostImports for StoreState {
    fn log(&mut self, level: LogLevel, message: String) {
        let ext = &*self.ext.name;
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

    fn config(&mut self, key: String) -> Option<String> {
        self.config.get(&key)
    }

    fn publish(&mut self, subject: String, payload: Vec<u8>) -> Result<(), ExtError> {
        if !self.ext.grants.may_publish(&subject) {
            return Err(self.denied(
                &format!("publish on '{subject}'"),
                "bus publish",
                format!("publish:{subject}"),
            ));
        }
        self.ext
            .bus
            .publish(&subject, payload)
            .map(drop)
            .map_err(|e| ExtError::InvalidInput(e.to_string()))
    }

    fn artifact_put(&mut self, content: Vec<u8>) -> Result<String, ExtError> {
        if self.ext.grants.artifact_access() != ArtifactAccess::ReadWrite {
            return Err(self.denied(
                "write artifacts",
                "artifacts read-write",
                "artifacts:read-write".into(),
            ));
        }
        self.host()?
            .artifacts
            .put(&content)
            .map_err(|e| ExtError::Failed(e.to_string()))
    }

    fn artifact_get(&mut self, hash: String) -> Result<Vec<u8>, ExtError> {
        if self.ext.grants.artifact_access() == ArtifactAccess::None {
            return Err(self.denied("read artifacts", "artifacts read", "artifacts:read".into()));
        }
        self.host()?
            .artifacts
            .get(&hash)
            .map_err(|e| ExtError::InvalidInput(e.to_string()))
    }

    fn model_call(&mut self, instrument: String, input: String) -> Result<String, ExtError> {
        if !self.ext.grants.may_call_model(&instrument) {
            return Err(self.denied(
                &format!("call the model '{instrument}'"),
                "models",
                format!("model:{instrument}"),
            ));
        }
        let depth = MODEL_CALL_DEPTH.get();
        if depth >= MAX_MODEL_CALL_DEPTH {
            return Err(ExtError::Unavailable(format!(
                "model-call nested deeper than {MAX_MODEL_CALL_DEPTH} levels"
            )));
        }
        let host = self.host()?;
        let model = host
            .instrument(&instrument)
            .map_err(|e| ExtError::Unavailable(e.to_string()))?;
        // The model's own manifest defaults, as a workflow node would get.
        let config = (model.ext)
            .node_config(&serde_json::Map::new())
            .map_err(|e| ExtError::Unavailable(e.to_string()))?;
        MODEL_CALL_DEPTH.set(depth + 1);
        let result = model.invoke(&config, &input);
        MODEL_CALL_DEPTH.set(depth);
        result.map_err(|e| match e {
            crate::CallError::Guest { error, .. } => error.into(),
            other => ExtError::Unavailable(other.to_string()),
        })
    }
}
