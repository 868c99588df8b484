//! Control nodes: the host's own steps that route, join and repeat data
//! between extension nodes.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Edge, Node};

/// What a control node does.
///
/// ```json
/// {"id": "route", "kind": "control", "control": {"branch": {
///     "cases": [{"port": "angry", "when": "sentiment.label == 'negative'"}],
///     "otherwise": "calm"}}}
/// {"id": "join", "kind": "control", "control": {"merge": "first"}}
/// {"id": "each", "kind": "control", "control": {"map": {"over": "reviews",
///     "nodes": [{"id": "tone", "kind": "instrument", "extension": "mock-llm"}]}}}
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[schemars(description = "What a control node does: `{\"branch\": {...}}`, \
    `{\"merge\": \"all\"}` or `{\"map\": {...}}`.")]
pub enum Control {
    /// Routes its input, unchanged, out of the port of the first case
    /// whose condition holds (or the `otherwise` port); nodes fed by the
    /// other ports are skipped.
    Branch(Branch),
    /// Joins several paths, of which some may have been skipped.
    Merge(MergeMode),
    /// Runs a sub-graph once per element of a list and outputs the list of
    /// its results, in order.
    Map(MapBody),
}

impl Control {
    /// `branch`, `merge` or `map`.
    pub fn name(&self) -> &'static str {
        match self {
            Control::Branch(_) => "branch",
            Control::Merge(_) => "merge",
            Control::Map(_) => "map",
        }
    }
}

/// The cases of a branch node, tried in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Branch {
    /// Each case names an output port and the condition that selects it.
    pub cases: Vec<Case>,
    /// The port taken when no case holds; without one, nothing is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub otherwise: Option<String>,
}

impl Branch {
    /// The branch's output ports: each case's, then `otherwise`.
    pub fn ports(&self) -> impl Iterator<Item = &str> {
        self.cases
            .iter()
            .map(|c| c.port.as_str())
            .chain(self.otherwise.as_deref())
    }
}

/// One way out of a branch node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// The output port this case selects.
    pub port: String,
    /// A JMESPath expression over the branch's input; the case holds when
    /// it is truthy (not false, null, or empty).
    pub when: String,
}

/// How a merge node joins its inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum MergeMode {
    /// Waits for every input; outputs an object keyed by target port (or
    /// upstream node id) of the inputs that were not skipped.
    All,
    /// Outputs the first input that arrives, unchanged.
    First,
}

/// The sub-graph a map node runs per element.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MapBody {
    /// A JMESPath expression over the map's input that selects the list;
    /// default: the input itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub over: Option<String>,
    /// The sub-graph's nodes; those with no incoming data edge receive the
    /// element.
    pub nodes: Vec<Node>,
    /// The sub-graph's edges.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub edges: Vec<Edge>,
}
