//! Typed handles for calling loaded extensions directly.

use std::pin::pin;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::NodeConfig;
use super::slot::Slot;
use crate::CallError;
use crate::{Instance, wit};

/// A loaded Instrument (AI model adapter).
#[derive(Clone)]
pub struct Instrument {
    /// The extension called.
    pub ext: Arc<Slot>,
}

impl Instrument {
    /// A guest's `model-call` of this Instrument on `input`: with its
    /// manifest's default config (as a workflow node without one gets),
    /// `nesting` calls deep, for the calling call's `requester`, as a
    /// future the calling guest's call polls.
    pub fn call_nested(
        self,
        input: String,
        nesting: u32,
        requester: Option<symphony_arbitration::Requester>,
    ) -> crate::ModelCall {
        Box::pin(async move {
            let mut config = self
                .ext
                .node_config(&serde_json::Map::new())
                .map_err(|e| CallError::Unavailable {
                    extension: self.ext.name.to_string(),
                    state: self.ext.state(),
                    reason: Some(e.to_string()),
                })?
                .nested(nesting);
            if let Some(requester) = requester {
                config = config.with_requester(requester);
            }
            self.invoke_async(&config, &input).await
        })
    }
}

/// An Instrument's answer to a health check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// `healthy`, `degraded` or `unhealthy`.
    pub status: String,
    /// An explanation, if the Instrument gave one.
    pub detail: Option<String>,
}

impl From<wit::Health> for Health {
    fn from(health: wit::Health) -> Self {
        let status = match health.status {
            wit::HealthStatus::Healthy => "healthy",
            wit::HealthStatus::Degraded => "degraded",
            wit::HealthStatus::Unhealthy => "unhealthy",
        };
        Health {
            status: status.to_string(),
            detail: health.detail,
        }
    }
}

impl Instrument {
    /// The extension's name.
    pub fn name(&self) -> &str {
        &self.ext.name
    }

    /// Runs the model on JSON `input`, first calling `configure` with
    /// `config` if this instance last saw a different one. Blocks until
    /// the call ends, at the latest at its deadline.
    pub fn invoke(&self, config: &NodeConfig, input: &str) -> Result<String, CallError> {
        self.ext.block_on(pin!(self.invoke_async(config, input)))
    }

    /// [`Instrument::invoke`] as a future, for a caller already in a call
    /// (`model-call`).
    pub(crate) async fn invoke_async(
        &self,
        config: &NodeConfig,
        input: &str,
    ) -> Result<String, CallError> {
        let call = async |instance: &mut Instance| {
            let input = instance.text_arg(input);
            let (api, store, configured) = instance.instrument()?;
            if configured.as_ref() != Some(config) {
                let json = config.to_json().to_owned();
                if let Err(e) = api.call_configure(&mut *store, &json).await? {
                    return Ok(Err(("configure", e)));
                }
                *configured = Some(config.clone());
            }
            let answer = api.call_invoke(store, &input).await?;
            instance.keep_text(input);
            Ok(answer.map_err(|e| ("invoke", e)))
        };
        self.ext.call("invoke", config, call).await
    }

    /// Asks the model whether it can serve requests.
    pub fn health_check(&self) -> Result<Health, CallError> {
        let call = async |instance: &mut Instance| {
            let (api, store, _) = instance.instrument()?;
            Ok(Ok(api.call_health_check(store).await?.into()))
        };
        let config = NodeConfig::default();
        self.ext
            .block_on(pin!(self.ext.call("health-check", &config, call)))
    }
}

/// A loaded Operator (workflow data transform).
#[derive(Clone)]
pub struct Operator {
    /// The extension called.
    pub ext: Arc<Slot>,
}

/// Which Operator export to call.
#[derive(Clone, Copy)]
enum OperatorCall {
    ValidateInput,
    Process,
    ValidateOutput,
}

impl Operator {
    /// The extension's name.
    pub fn name(&self) -> &str {
        &self.ext.name
    }

    fn call(
        &self,
        which: OperatorCall,
        config: &NodeConfig,
        json: &str,
    ) -> Result<Option<String>, CallError> {
        let function = match which {
            OperatorCall::ValidateInput => "validate-input",
            OperatorCall::Process => "process",
            OperatorCall::ValidateOutput => "validate-output",
        };
        let call = async |instance: &mut Instance| {
            let text = instance.text_arg(json);
            let (api, store) = instance.operator()?;
            let result = match which {
                OperatorCall::ValidateInput => {
                    api.call_validate_input(store, &text).await?.map(|()| None)
                }
                OperatorCall::Process => api.call_process(store, &text).await?.map(Some),
                OperatorCall::ValidateOutput => {
                    api.call_validate_output(store, &text).await?.map(|()| None)
                }
            };
            instance.keep_text(text);
            Ok(result.map_err(|e| (function, e)))
        };
        self.ext
            .block_on(pin!(self.ext.call(function, config, call)))
    }

    /// Checks an input before processing.
    pub fn validate_input(&self, config: &NodeConfig, input: &str) -> Result<(), CallError> {
        self.call(OperatorCall::ValidateInput, config, input)
            .map(drop)
    }

    /// Transforms JSON `input` into JSON output.
    pub fn process(&self, config: &NodeConfig, input: &str) -> Result<String, CallError> {
        self.call(OperatorCall::Process, config, input)
            .map(Option::unwrap_or_default)
    }

    /// Checks an output produced by [`Operator::process`].
    pub fn validate_output(&self, config: &NodeConfig, output: &str) -> Result<(), CallError> {
        self.call(OperatorCall::ValidateOutput, config, output)
            .map(drop)
    }
}

/// One node of an Addon's rendered tree; parents come before children.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VNode {
    /// Unique within the tree.
    pub id: u32,
    /// The parent's id; `None` for a root.
    pub parent: Option<u32>,
    /// Element name, e.g. `panel`, `row`.
    pub tag: String,
    /// Attributes in order.
    pub attrs: Vec<(String, String)>,
    /// Text content.
    pub text: Option<String>,
}

/// A user interaction delivered to an Addon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UiEvent {
    /// The vnode the event happened on.
    pub target: u32,
    /// What happened, e.g. `toggle-details`.
    pub name: String,
    /// Event data as JSON text.
    pub payload: String,
}

/// A loaded Addon (UI contribution).
#[derive(Clone)]
pub struct Addon {
    /// The extension called.
    pub ext: Arc<Slot>,
}

impl Addon {
    /// The extension's name.
    pub fn name(&self) -> &str {
        &self.ext.name
    }

    /// Renders `state` (JSON) as a vnode tree.
    pub fn render(&self, state: &str) -> Result<Vec<VNode>, CallError> {
        let call = async |instance: &mut Instance| {
            let state = instance.text_arg(state);
            let (api, store) = instance.addon()?;
            let nodes = api.call_render(store, &state).await?;
            instance.keep_text(state);
            Ok(Ok(nodes
                .into_iter()
                .map(|n| VNode {
                    id: n.id,
                    parent: n.parent,
                    tag: n.tag,
                    attrs: n.attrs,
                    text: n.text,
                })
                .collect()))
        };
        let config = NodeConfig::default();
        self.ext
            .block_on(pin!(self.ext.call("render", &config, call)))
    }

    /// Delivers an event; returns the Addon's JSON description of the change.
    pub fn handle_event(&self, event: &UiEvent) -> Result<String, CallError> {
        let call = async |instance: &mut Instance| {
            let (api, store) = instance.addon()?;
            let event = wit::UiEvent {
                target: event.target,
                name: event.name.clone(),
                payload: event.payload.clone(),
            };
            Ok(api
                .call_handle_event(store, &event)
                .await?
                .map_err(|e| ("handle-event", e)))
        };
        let config = NodeConfig::default();
        self.ext
            .block_on(pin!(self.ext.call("handle-event", &config, call)))
    }

    /// The Addon's own UI state as JSON.
    pub fn get_state(&self) -> Result<String, CallError> {
        let call = async |instance: &mut Instance| {
            let (api, store) = instance.addon()?;
            Ok(Ok(api.call_get_state(store).await?))
        };
        let config = NodeConfig::default();
        self.ext
            .block_on(pin!(self.ext.call("get-state", &config, call)))
    }
}

/// Draws a vnode tree as indented text: one line per node with text,
/// indented by how many of its ancestors have text (containers without text
/// do not indent).
///
/// ```
/// use symphony_runtime::extension::{VNode, render_text};
///
/// let node = |id, parent, text: Option<&str>| VNode {
///     id, parent, tag: "row".into(), attrs: vec![], text: text.map(String::from),
/// };
/// let tree = [node(0, None, None), node(1, Some(0), Some("run")), node(2, Some(1), Some("step a"))];
/// assert_eq!(render_text(&tree), "run\n  step a\n");
/// ```
pub fn render_text(nodes: &[VNode]) -> String {
    let mut levels: std::collections::HashMap<u32, (usize, bool)> =
        std::collections::HashMap::with_capacity(nodes.len());
    let mut out = String::new();
    for node in nodes {
        let level = node
            .parent
            .and_then(|p| levels.get(&p))
            .map_or(0, |&(level, has_text)| level + usize::from(has_text));
        levels.insert(node.id, (level, node.text.is_some()));
        for line in node.text.iter().flat_map(|t| t.lines()) {
            out.push_str(&"  ".repeat(level));
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}
