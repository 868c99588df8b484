//! Building a workflow in code.

use serde_json::Value;

use super::control::{Branch, Case, Control, MapBody, MergeMode};
use super::model::SCHEMA_VERSION;
use super::port::{Port, PortType};
use super::{AddonView, Edge, Metadata, Node, NodeKind, Problem, Workflow, WorkflowError};

/// Builds a [`Workflow`] step by step; [`WorkflowBuilder::build`] checks
/// its shape (ids, edges, port types, cycles) and reports every problem at
/// once.
///
/// ```
/// use serde_json::json;
/// use symphony_workflow::{MergeMode, Workflow};
///
/// let workflow = Workflow::builder("review-triage")
///     .version("1.2.0")
///     .author("ada")
///     .tag("reviews")
///     .instrument("tone", "mock-llm")
///     .config(json!({"tasks": ["sentiment", "keywords"]}))
///     .output("sentiment", "object{label: string, score: number}")
///     .output("keywords", "list<string>")
///     .branch("route", &[("unhappy", "label == 'negative'")], Some("content"))
///     .operator("escalate", "json-transform")
///     .operator("archive", "json-transform")
///     .merge("done", MergeMode::First)
///     .connect("tone", "route").from_port("sentiment")
///     .connect("route", "escalate").from_port("unhappy")
///     .connect("route", "archive").from_port("content")
///     .connect("escalate", "done")
///     .connect("archive", "done")
///     .addon("status-panel")
///     .build()?;
/// assert_eq!(workflow.dependencies("done").unwrap().len(), 2);
///
/// // Port types are checked where edges join them.
/// let err = Workflow::builder("mismatch")
///     .instrument("tone", "mock-llm")
///     .output("keywords", "list<string>")
///     .operator("score", "json-transform")
///     .input("value", "number")
///     .connect("tone", "score").from_port("keywords")
///     .build()
///     .unwrap_err();
/// assert!(err.to_string().contains("'tone'.keywords carries list<string>, but 'score'.value takes number"));
/// # Ok::<(), symphony_workflow::WorkflowError>(())
/// ```
#[derive(Debug, Clone)]
pub struct WorkflowBuilder {
    workflow: Workflow,
    problems: Vec<Problem>,
}

impl Workflow {
    /// Starts building a workflow with this id (also its name until
    /// [`WorkflowBuilder::name`] says otherwise), version 0.1.0.
    pub fn builder(id: &str) -> WorkflowBuilder {
        WorkflowBuilder {
            workflow: Workflow {
                schema: None,
                schema_version: SCHEMA_VERSION,
                id: id.to_string(),
                name: id.to_string(),
                version: semver::Version::new(0, 1, 0),
                description: None,
                metadata: Metadata::default(),
                nodes: Vec::new(),
                edges: Vec::new(),
                addons: Vec::new(),
                timeout_ms: None,
            },
            problems: Vec::new(),
        }
    }
}

impl WorkflowBuilder {
    /// The name shown in reports.
    pub fn name(mut self, name: &str) -> Self {
        self.workflow.name = name.to_string();
        self
    }

    /// The workflow's version (semver); a malformed one is reported by
    /// [`WorkflowBuilder::build`].
    pub fn version(mut self, version: &str) -> Self {
        match semver::Version::parse(version) {
            Ok(version) => self.workflow.version = version,
            Err(e) => self.problem("workflow", format!("version '{version}': {e}")),
        }
        self
    }

    /// What the workflow does.
    pub fn description(mut self, description: &str) -> Self {
        self.workflow.description = Some(description.to_string());
        self
    }

    /// Who wrote it.
    pub fn author(mut self, author: &str) -> Self {
        self.workflow.metadata.author = Some(author.to_string());
        self
    }

    /// Adds a tag.
    pub fn tag(mut self, tag: &str) -> Self {
        self.workflow.metadata.tags.push(tag.to_string());
        self
    }

    /// Records any other metadata.
    pub fn meta(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.workflow
            .metadata
            .extra
            .insert(key.to_string(), value.into());
        self
    }

    /// Adds a node calling the Instrument `extension`.
    pub fn instrument(self, id: &str, extension: &str) -> Self {
        self.node(Node::extension(id, NodeKind::Instrument, extension))
    }

    /// Adds a node calling the Operator `extension`.
    pub fn operator(self, id: &str, extension: &str) -> Self {
        self.node(Node::extension(id, NodeKind::Operator, extension))
    }

    /// Adds a branch node: its input leaves, unchanged, through the port of
    /// the first `(port, when)` case whose JMESPath condition holds, else
    /// through `otherwise` (if given); connect its ports with
    /// [`WorkflowBuilder::from_port`].
    pub fn branch(self, id: &str, cases: &[(&str, &str)], otherwise: Option<&str>) -> Self {
        let cases = cases
            .iter()
            .map(|&(port, when)| Case {
                port: port.to_string(),
                when: when.to_string(),
            })
            .collect();
        self.node(Node::control(
            id,
            Control::Branch(Branch {
                cases,
                otherwise: otherwise.map(String::from),
            }),
        ))
    }

    /// Adds a merge node joining the paths that reach it.
    pub fn merge(self, id: &str, mode: MergeMode) -> Self {
        self.node(Node::control(id, Control::Merge(mode)))
    }

    /// Adds a map node running `body`'s nodes and edges once per element of
    /// the list that the JMESPath `over` selects from its input (default:
    /// the input itself).
    pub fn map(self, id: &str, over: Option<&str>, body: Workflow) -> Self {
        self.node(Node::control(
            id,
            Control::Map(MapBody {
                over: over.map(String::from),
                nodes: body.nodes,
                edges: body.edges,
            }),
        ))
    }

    fn node(mut self, node: Node) -> Self {
        self.workflow.nodes.push(node);
        self
    }

    /// Declares an input port of the node added last; `ty` is a port type
    /// such as `string` or `list<object{title: string}>`.
    pub fn input(self, name: &str, ty: &str) -> Self {
        self.port(name, ty, true, true)
    }

    /// Declares an input port the node added last can run without.
    pub fn optional_input(self, name: &str, ty: &str) -> Self {
        self.port(name, ty, true, false)
    }

    /// Declares an output port of the node added last.
    pub fn output(self, name: &str, ty: &str) -> Self {
        self.port(name, ty, false, true)
    }

    fn port(mut self, name: &str, ty: &str, input: bool, required: bool) -> Self {
        let ty = match ty.parse::<PortType>() {
            Ok(ty) => ty,
            Err(e) => {
                let at = self.last_node_at();
                self.problem(&at, format!("port '{name}': {e}"));
                return self;
            }
        };
        let Some(node) = self.workflow.nodes.last_mut() else {
            self.problem("workflow", format!("port '{name}' before any node"));
            return self;
        };
        let port = Port {
            required,
            ..Port::new(name, ty)
        };
        if input {
            node.inputs.push(port);
        } else {
            node.outputs.push(port);
        }
        self
    }

    fn last_node_at(&self) -> String {
        self.workflow
            .nodes
            .last()
            .map_or("workflow".into(), |n| format!("node '{}'", n.id))
    }

    /// Sets the configuration of the node added last; it must be a JSON
    /// object.
    pub fn config(mut self, config: Value) -> Self {
        let Some(node) = self.workflow.nodes.last_mut() else {
            self.problem("workflow", "config() before any node".into());
            return self;
        };
        match config {
            Value::Object(map) => node.config = map,
            other => {
                let at = format!("node '{}'", node.id);
                self.problem(&at, format!("config must be a JSON object, not {other}"));
            }
        }
        self
    }

    /// A data edge: `from`'s output flows into `to`.
    pub fn connect(mut self, from: &str, to: &str) -> Self {
        self.workflow.edges.push(Edge::data(from, to));
        self
    }

    /// A control edge: `to` runs after `from` without taking its output.
    pub fn after(mut self, from: &str, to: &str) -> Self {
        self.workflow.edges.push(Edge::control(from, to));
        self
    }

    /// A conditional edge: `from`'s output flows into `to` when the
    /// JMESPath expression `when` holds over it; otherwise `to` is skipped.
    pub fn connect_when(mut self, from: &str, to: &str, when: &str) -> Self {
        self.workflow.edges.push(Edge::conditional(from, to, when));
        self
    }

    /// Makes the edge added last leave `from`'s output port `port` (a
    /// field of its output, or a branch's case).
    pub fn from_port(mut self, port: &str) -> Self {
        match self.workflow.edges.last_mut() {
            Some(edge) => edge.from_port = Some(port.to_string()),
            None => self.problem("workflow", format!("from_port('{port}') before any edge")),
        }
        self
    }

    /// Makes the edge added last feed `to`'s input port `port`.
    pub fn to_port(mut self, port: &str) -> Self {
        match self.workflow.edges.last_mut() {
            Some(edge) => edge.to_port = Some(port.to_string()),
            None => self.problem("workflow", format!("to_port('{port}') before any edge")),
        }
        self
    }

    /// Asks an Addon to render the run's status.
    pub fn addon(mut self, extension: &str) -> Self {
        self.workflow.addons.push(AddonView {
            extension: extension.to_string(),
        });
        self
    }

    fn problem(&mut self, at: &str, message: String) {
        self.problems.push(Problem {
            at: at.to_string(),
            message,
        });
    }

    /// The workflow, once its shape holds together: every problem found
    /// while building and by [`Workflow::validate_structure`], at once.
    pub fn build(self) -> Result<Workflow, WorkflowError> {
        let mut problems = self.problems;
        if let Err(WorkflowError::Invalid { problems: more, .. }) =
            self.workflow.validate_structure()
        {
            problems.extend(more);
        }
        if problems.is_empty() {
            Ok(self.workflow)
        } else {
            Err(WorkflowError::Invalid {
                name: self.workflow.name,
                problems,
            })
        }
    }
}

#[cfg(test)]
mod tests;
