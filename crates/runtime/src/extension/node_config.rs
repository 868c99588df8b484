//! The configuration of one call ([`NodeConfig`]), the flag that stops
//! calls while they run ([`Interrupt`]), and node configs checked against
//! the configuration keys an extension's manifest declares, with the same
//! checker templates use for their parameters.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::{Map, Value};
use tokio::sync::Notify;

use super::{ConfigSchema, Slot};
use crate::Error;
use crate::host::HostInner;
use crate::workflow::{Control, Node, NodeKind, Problem};

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
}

/// A flag that stops the calls made with it while they run: set it and
/// each such call ends with [`CallError::Interrupted`] — within a few epoch
/// ticks while it runs guest code, at once while it waits in a host call or
/// for a free instance. Cheap to clone; every clone is the same flag.
///
/// ```
/// use symphony_host::{Interrupt, NodeConfig};
///
/// let stop = Interrupt::new();
/// let config = NodeConfig::default().with_interrupt(stop.clone());
/// // ... calls made with `config` on other threads ...
/// stop.set();
/// assert!(stop.is_set());
/// # drop(config);
/// ```
#[derive(Debug, Clone, Default)]
pub struct Interrupt(Arc<InterruptState>);

#[derive(Debug, Default)]
struct InterruptState {
    set: AtomicBool,
    /// Wakes calls waiting in a host call, which no epoch check reaches.
    woken: Notify,
}

impl Interrupt {
    /// A flag not yet set.
    pub fn new() -> Self {
        Interrupt::default()
    }

    /// Stops every call made with this flag.
    pub fn set(&self) {
        self.0.set.store(true, Ordering::Release);
        self.0.woken.notify_waiters();
    }

    /// Whether it was set.
    pub fn is_set(&self) -> bool {
        self.0.set.load(Ordering::Acquire)
    }

    /// Resolves once the flag is set.
    pub(crate) async fn wait(&self) {
        loop {
            // Registered before the flag is read, so a `set` between the
            // two still wakes this waiter.
            let woken = self.0.woken.notified();
            let mut woken = std::pin::pin!(woken);
            woken.as_mut().enable();
            if self.is_set() {
                return;
            }
            woken.await;
        }
    }
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
        }
    }

    /// The same configuration for calls that stop (with
    /// [`CallError::Interrupted`]) when `interrupt` is set while they run.
    pub fn with_interrupt(mut self, interrupt: Interrupt) -> Self {
        self.interrupt = Some(interrupt);
        self
    }

    /// The flag set by [`with_interrupt`](Self::with_interrupt).
    pub fn interrupt(&self) -> Option<&Interrupt> {
        self.interrupt.as_ref()
    }

    /// The same configuration for calls that must end within `deadline`
    /// (or the extension's own deadline, if that is sooner). The guest is
    /// interrupted when it passes, and the call fails with
    /// [`CallError::Deadline`].
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

impl Slot {
    /// The config a call gets from a node's `config`: checked against the
    /// keys the serving version's manifest declares, with their defaults
    /// filled in. An extension loaded without a manifest (or whose
    /// manifest declares no keys) takes any config.
    pub(crate) fn node_config(&self, config: &Map<String, Value>) -> Result<NodeConfig, Error> {
        match &self.current().config {
            None => Ok(NodeConfig::new(config.clone())),
            Some(schema) => schema
                .check(config)
                .map(NodeConfig::new)
                .map_err(|problems| Error::Config {
                    extension: self.name.to_string(),
                    problems,
                }),
        }
    }
}

impl HostInner {
    /// Every node in `nodes` (map bodies included) whose config does not
    /// fit its extension's declared keys, named as validation names nodes
    /// (`node 'each' > node 'x'`). Nodes of unknown extensions are left to
    /// validation.
    pub(crate) fn config_problems(&self, nodes: &[Node]) -> Vec<Problem> {
        let mut schemas = HashMap::new();
        let mut problems = Vec::new();
        self.collect_config_problems(nodes, "", &mut schemas, &mut problems);
        problems
    }

    fn collect_config_problems(
        &self,
        nodes: &[Node],
        prefix: &str,
        schemas: &mut HashMap<String, Option<Arc<ConfigSchema>>>,
        problems: &mut Vec<Problem>,
    ) {
        for node in nodes {
            if let Some(Control::Map(body)) = &node.control {
                let prefix = format!("{prefix}node '{}' > ", node.id);
                self.collect_config_problems(&body.nodes, &prefix, schemas, problems);
            }
            if node.kind == NodeKind::Control {
                continue;
            }
            let schema = schemas.entry(node.extension.clone()).or_insert_with(|| {
                self.find(&node.extension)
                    .ok()
                    .and_then(|slot| slot.current().config.clone())
            });
            if let Some(Err(found)) = schema.as_ref().map(|s| s.check(&node.config)) {
                problems.extend(found.into_iter().map(|message| Problem {
                    at: format!("{prefix}node '{}'", node.id),
                    message,
                }));
            }
        }
    }
}
