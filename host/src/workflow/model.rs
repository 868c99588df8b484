//! The workflow document (schema version 1).

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::WorkflowError;
use crate::extension::ExtensionKind;

/// The schema version this host reads.
pub(crate) const SCHEMA_VERSION: u32 = 1;

/// A workflow: nodes that call extensions, and data edges between them.
///
/// ```json
/// {
///   "schema_version": 1,
///   "name": "summarise-and-shape",
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
/// A node with no incoming edge receives the run's input; a node with one
/// receives that node's output; a node with several receives an object
/// keyed by the upstream node ids. The run's output is the output of the
/// node with no outgoing edge, or an object keyed by id when there are
/// several.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Workflow {
    /// The document format; this host reads version 1.
    pub schema_version: u32,
    /// A short name, shown in reports.
    pub name: String,
    /// What the workflow does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The nodes, each calling one extension.
    pub nodes: Vec<Node>,
    /// Data edges: the output of `from` flows into `to`.
    #[serde(default)]
    pub edges: Vec<Edge>,
    /// Addons that render the run's status.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addons: Vec<AddonView>,
}

/// One step of a workflow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Node {
    /// Unique within the workflow, e.g. `summarise`.
    pub id: String,
    /// `instrument` or `operator`.
    pub kind: ExtensionKind,
    /// The name of the extension to call, e.g. `mock-llm`.
    pub extension: String,
    /// Configuration handed to the extension, e.g. `{"keywords": 3}`.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub config: Map<String, Value>,
}

/// A data edge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Edge {
    /// The upstream node's id.
    pub from: String,
    /// The downstream node's id.
    pub to: String,
}

/// An Addon asked to render the run's status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddonView {
    /// The Addon's extension name, e.g. `status-panel`.
    pub extension: String,
}

impl Workflow {
    /// Parses a workflow from JSON text; `origin` names it in errors.
    pub fn from_json(text: &str, origin: &str) -> Result<Workflow, WorkflowError> {
        serde_json::from_str(text).map_err(|e| WorkflowError::Parse {
            origin: origin.to_string(),
            line: e.line(),
            column: e.column(),
            message: e
                .to_string()
                .split(" at line ")
                .next()
                .unwrap_or_default()
                .to_string(),
        })
    }

    /// Reads and parses a workflow file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Workflow, WorkflowError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| WorkflowError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Workflow::from_json(&text, &path.display().to_string())
    }

    /// The workflow as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_errors_carry_line_and_column() {
        let err = Workflow::from_json(
            "{\n  \"schema_version\": 1,\n  \"nmae\": \"x\"\n}",
            "wf.json",
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("wf.json:3:"), "{msg}");
        assert!(msg.contains("unknown field `nmae`"), "{msg}");
    }

    #[test]
    fn unknown_node_kind_is_a_parse_error() {
        let text = r#"{"schema_version": 1, "name": "x", "nodes": [{"id": "a", "kind": "gpu", "extension": "e"}]}"#;
        let msg = Workflow::from_json(text, "wf").unwrap_err().to_string();
        assert!(msg.contains("unknown variant `gpu`"), "{msg}");
    }
}
