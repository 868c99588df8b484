//! The configuration of one call ([`NodeConfig`]), the flag that stops
//! calls while they run ([`Interrupt`]), and node configs checked against
//! the configuration keys an extension's manifest declares, with the same
//! checker templates use for their parameters.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};
use symphony_arbitration::Requester;
use symphony_bus::Interrupt;

/// The configuration of one call: a workflow node's `config` object.
///
/// Cheap to clone. Extensions read it through the `host.config` import;
/// Instruments also receive it whole through `configure`. The text forms are
/// computed once here, not on every call.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    text: Arc<ConfigText>,
    /// A deadline tighter than the extension's own, e.g. a workflow node's
    /// timeout: the call is interrupted when it passes.
    deadline: Option<Duration>,
    /// Stops calls while they run when set (a cancelled workflow run).
    interrupt: Option<Interrupt>,
    /// How many `model-call`s deep this call is (0 for a call from the
    /// host), so an Instrument calling Instruments cannot recurse forever.
    nesting: u32,
    /// Who asks (tenant, priority, deadline, label), for the Arbitration
    /// Engine when the call has to wait for an instance.
    requester: Option<Requester>,
}

#[derive(Debug)]
struct ConfigText {
    map: Map<String, Value>,
    /// Each value as `host.config` returns it.
    values: HashMap<String, String>,
    /// The whole object as JSON text.
    json: String,
}

impl NodeConfig {
    /// A configuration from a JSON object.
    pub fn new(map: Map<String, Value>) -> Self {
        let values = map
            .iter()
            .map(|(k, v)| {
                let text = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (k.clone(), text)
            })
            .collect();
        let json = Value::Object(map.clone()).to_string();
        NodeConfig {
            text: Arc::new(ConfigText { map, values, json }),
            deadline: None,
            interrupt: None,
            nesting: 0,
            requester: None,
        }
    }

    /// The same configuration for calls that stop (with
    /// `CallError::Interrupted`) when `interrupt` is set while they run.
    pub fn with_interrupt(mut self, interrupt: Interrupt) -> Self {
        self.interrupt = Some(interrupt);
        self
    }

    /// The same configuration for calls made for `requester`: when every
    /// instance is busy, the call waits in line by the Arbitration Engine's
    /// strategy for that extension, and `requester` is told where it stands.
    pub fn with_requester(mut self, requester: Requester) -> Self {
        self.requester = Some(requester);
        self
    }

    /// The requester set by [`with_requester`](Self::with_requester).
    pub fn requester(&self) -> Option<&Requester> {
        self.requester.as_ref()
    }

    /// The flag set by [`with_interrupt`](Self::with_interrupt).
    pub fn interrupt(&self) -> Option<&Interrupt> {
        self.interrupt.as_ref()
    }

    /// The same configuration for calls that must end within `deadline`
    /// (or the extension's own deadline, if that is sooner). The guest is
    /// interrupted when it passes, and the call fails with
    /// `CallError::Deadline`.
    pub fn with_deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// The deadline set by [`with_deadline`](Self::with_deadline).
    pub fn deadline(&self) -> Option<Duration> {
        self.deadline
    }

    /// The value at `key`: strings as they are, anything else as JSON text.
    pub fn get(&self, key: &str) -> Option<String> {
        self.text.values.get(key).cloned()
    }

    /// The whole configuration as JSON text (`{}` when empty).
    pub fn to_json(&self) -> &str {
        &self.text.json
    }

    /// The same configuration for a call made from inside a call at
    /// `nesting` (a `model-call`).
    pub(crate) fn nested(mut self, nesting: u32) -> Self {
        self.nesting = nesting;
        self
    }

    /// How many `model-call`s deep a call with this configuration is.
    pub(crate) fn nesting(&self) -> u32 {
        self.nesting
    }

    /// Whether both are the same allocation (cheaper than comparing).
    pub(crate) fn same_as(&self, other: &NodeConfig) -> bool {
        Arc::ptr_eq(&self.text, &other.text)
    }

    /// Whether `other` is this very configuration in every part a call
    /// reads: the same text, deadline and nesting, and neither has an
    /// interrupt or a requester (those are per call, and compared only by
    /// cloning). Storing one over the other would change nothing.
    pub(crate) fn is_identical(&self, other: &NodeConfig) -> bool {
        self.same_as(other)
            && self.deadline == other.deadline
            && self.nesting == other.nesting
            && self.interrupt.is_none()
            && other.interrupt.is_none()
            && self.requester.is_none()
            && other.requester.is_none()
    }
}

/// The empty configuration. One shared allocation, so calls without a
/// config (health checks, addon renders) neither allocate nor count as a
/// config change.
impl Default for NodeConfig {
    fn default() -> Self {
        static EMPTY: std::sync::OnceLock<NodeConfig> = std::sync::OnceLock::new();
        EMPTY.get_or_init(|| NodeConfig::new(Map::new())).clone()
    }
}

impl PartialEq for NodeConfig {
    fn eq(&self, other: &Self) -> bool {
        self.same_as(other) || self.text.map == other.text.map
    }
}

impl TryFrom<Value> for NodeConfig {
    type Error = String;

    fn try_from(value: Value) -> Result<Self, String> {
        match value {
            Value::Object(map) => Ok(NodeConfig::new(map)),
            Value::Null => Ok(NodeConfig::default()),
            other => Err(format!("config must be a JSON object, got {other}")),
        }
    }
}
