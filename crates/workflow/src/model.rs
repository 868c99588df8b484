//! The workflow document (schema version 2) as it lives in memory; older
//! versions are upgraded on load (see `format`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::control::Control;
use super::port::Port;
use crate::RecoveryPolicy;
use symphony_manifest::ExtensionKind;

/// The schema version this host writes; older ones are upgraded on load.
pub(crate) const SCHEMA_VERSION: u32 = 2;

/// A workflow: nodes that call extensions, and the edges between them.
///
/// ```json
/// {
///   "schema_version": 2,
///   "id": "summarise-and-shape",
///   "name": "Summarise and shape",
///   "version": "1.2.0",
///   "metadata": {"author": "ada", "tags": ["demo"]},
///   "nodes": [
///     {"id": "llm", "kind": "instrument", "extension": "mock-llm", "config": {"keywords": 3}},
///     {"id": "shape", "kind": "operator", "extension": "json-transform",
///      "config": {"spec": {"steps": [{"select": {"summary": "$.summary"}}]}}}
///   ],
///   "edges": [{"from": "llm", "to": "shape"}],
///   "addons": [{"extension": "status-panel"}]
/// }
/// ```
///
/// A node with no incoming data edge receives the run's input (under its
/// port, if it declares exactly one input); a node with one receives that
/// edge's value; a node with several, or with input ports, receives an
/// object keyed by target port (or, for edges naming none, by upstream
/// node id). Control edges only order nodes, whatever became of the node
/// before; conditional edges carry data only when their `when` expression
/// holds, and skip the downstream node otherwise — as do a branch node's
/// untaken ports and absent optional outputs. A skipped node skips the
/// nodes it feeds, except a merge node, which runs when at least one input
/// arrived. The run's output is the output of the
/// node with no outgoing data edge, or an object keyed by id when there are
/// several (skipped nodes left out).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "Symphony workflow")]
#[schemars(
    description = "A workflow: nodes that call extensions, and the edges between them. \
    The format is documented in docs/workflow-format.md."
)]
pub struct Workflow {
    /// The JSON Schema the file follows, for editors, e.g.
    /// `"https://…/workflow.schema.json"` or a path (`symphony schema
    /// workflow` prints it); kept as written, not used by the host.
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// The document format; in memory always the current one. (Version 1
    /// files, of another shape, are still read and upgraded; this schema
    /// describes the current one, which editors should write.)
    #[schemars(range(min = 2, max = 2))]
    pub schema_version: u32,
    /// A stable identifier, e.g. `review-triage`.
    pub id: String,
    /// A short name, shown in reports.
    pub name: String,
    /// The workflow's own version.
    pub version: semver::Version,
    /// What the workflow does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Who made it and when, tags, and any other key/value.
    #[serde(default, skip_serializing_if = "Metadata::is_empty")]
    pub metadata: Metadata,
    /// The nodes, each calling one extension.
    pub nodes: Vec<Node>,
    /// Edges between nodes.
    #[serde(default)]
    pub edges: Vec<Edge>,
    /// Addons that render the run's status.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addons: Vec<AddonView>,
    /// The longest the whole run may take, in milliseconds; nodes still
    /// running then are interrupted and the run fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
}

/// Who made a workflow and when, its tags, and anything else worth keeping.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Metadata {
    /// The author.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// When it was created (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// When it was last changed (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified: Option<String>,
    /// Tags for finding it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Any other key/value.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The JSON Schema (draft 2020-12) of a workflow file, as `symphony schema
/// workflow` prints it.
pub fn workflow_schema() -> Value {
    symphony_manifest::file_schema::<Workflow>()
}

impl Metadata {
    /// Whether nothing is recorded.
    pub fn is_empty(&self) -> bool {
        self == &Metadata::default()
    }
}

/// One step of a workflow: a call to an extension, or a control step.
///
/// Ports are optional. A node that declares inputs receives an object
/// keyed by port name, each filled by the data edge naming that port as
/// `to_port` (a node with a single input port needs no `to_port`); one
/// that declares outputs must return an object with those fields, which
/// edges pick with `from_port`. Declared types are checked between nodes
/// when the workflow is validated and against the values when it runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Node {
    /// Unique within the workflow, e.g. `summarise`.
    pub id: String,
    /// `instrument`, `operator` or `control`.
    pub kind: NodeKind,
    /// The name of the extension to call, e.g. `mock-llm`; empty for
    /// control nodes.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub extension: String,
    /// Configuration handed to the extension, e.g. `{"keywords": 3}`.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub config: Map<String, Value>,
    /// What a control node does; only control nodes have it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control: Option<Control>,
    /// Named, typed inputs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<Port>,
    /// Named, typed outputs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outputs: Vec<Port>,
    /// The longest one attempt of the node may take, in milliseconds
    /// (its extension's own deadline still applies); the guest is
    /// interrupted then and the attempt fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    /// What to do when the node fails: retry with backoff, a fallback
    /// value or node, skip with a default, or fail the run (the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery: Option<RecoveryPolicy>,
}

impl Node {
    /// A node calling the Instrument or Operator `extension`.
    pub fn extension(id: impl Into<String>, kind: NodeKind, extension: impl Into<String>) -> Node {
        Node {
            id: id.into(),
            kind,
            extension: extension.into(),
            config: Map::new(),
            control: None,
            inputs: Vec::new(),
            outputs: Vec::new(),
            timeout_ms: None,
            recovery: None,
        }
    }

    /// A control node.
    pub fn control(id: impl Into<String>, control: Control) -> Node {
        Node {
            control: Some(control),
            ..Node::extension(id, NodeKind::Control, "")
        }
    }

    /// What the node runs, for people: the extension's name, or the
    /// control step's (`branch`, `merge`, `map`).
    pub fn runs(&self) -> &str {
        match &self.control {
            Some(control) => control.name(),
            None => &self.extension,
        }
    }
}

/// What a node is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum NodeKind {
    /// Calls an Instrument (a model adapter).
    Instrument,
    /// Calls an Operator (a data transform).
    Operator,
    /// A step the host runs itself: branch, merge or map.
    Control,
}

impl NodeKind {
    /// `instrument`, `operator` or `control`.
    pub fn as_str(self) -> &'static str {
        match self {
            NodeKind::Instrument => "instrument",
            NodeKind::Operator => "operator",
            NodeKind::Control => "control",
        }
    }

    /// The extension kind a node of this kind calls.
    pub fn extension_kind(self) -> Option<ExtensionKind> {
        match self {
            NodeKind::Instrument => Some(ExtensionKind::Instrument),
            NodeKind::Operator => Some(ExtensionKind::Operator),
            NodeKind::Control => None,
        }
    }
}

impl std::fmt::Display for NodeKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An edge between two nodes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Edge {
    /// The upstream node's id.
    pub from: String,
    /// The downstream node's id.
    pub to: String,
    /// The upstream node's output port; none takes its whole output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_port: Option<String>,
    /// The downstream node's input port; none feeds its whole input (or,
    /// for a node with one input port, that port).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_port: Option<String>,
    /// What the edge carries. Default: data.
    #[serde(default, skip_serializing_if = "EdgeKind::is_data")]
    pub kind: EdgeKind,
    /// For a conditional edge: a JMESPath expression over the upstream
    /// node's output; the edge is taken when it is truthy (not false,
    /// null, or empty), e.g. `sentiment.label == 'negative'`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
}

/// What an edge means.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum EdgeKind {
    /// The upstream output flows into the downstream node (and orders them).
    #[default]
    Data,
    /// Only ordering: the downstream node runs after the upstream one.
    Control,
    /// Data that flows only when the edge's `when` expression holds over
    /// the upstream output; otherwise the downstream node, and whatever
    /// depends on it, is skipped.
    Conditional,
}

impl EdgeKind {
    fn is_data(&self) -> bool {
        *self == EdgeKind::Data
    }
}

impl Edge {
    /// A data edge: `from`'s output flows into `to`.
    pub fn data(from: impl Into<String>, to: impl Into<String>) -> Edge {
        Edge::new(from, to, EdgeKind::Data, None)
    }

    /// A control edge: `to` runs after `from` without taking its output.
    pub fn control(from: impl Into<String>, to: impl Into<String>) -> Edge {
        Edge::new(from, to, EdgeKind::Control, None)
    }

    /// A conditional edge: `from`'s output flows into `to` when the
    /// JMESPath expression `when` holds over it.
    pub fn conditional(
        from: impl Into<String>,
        to: impl Into<String>,
        when: impl Into<String>,
    ) -> Edge {
        Edge::new(from, to, EdgeKind::Conditional, Some(when.into()))
    }

    fn new(
        from: impl Into<String>,
        to: impl Into<String>,
        kind: EdgeKind,
        when: Option<String>,
    ) -> Edge {
        Edge {
            from: from.into(),
            to: to.into(),
            from_port: None,
            to_port: None,
            kind,
            when,
        }
    }

    /// The same edge from `from`'s output port `port`.
    pub fn from_port(mut self, port: impl Into<String>) -> Edge {
        self.from_port = Some(port.into());
        self
    }

    /// The same edge into `to`'s input port `port`.
    pub fn to_port(mut self, port: impl Into<String>) -> Edge {
        self.to_port = Some(port.into());
        self
    }
}

/// An Addon asked to render the run's status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AddonView {
    /// The Addon's extension name, e.g. `status-panel`.
    pub extension: String,
}
