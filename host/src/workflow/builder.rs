//! Building a workflow in code.

use serde_json::{Map, Value};

use super::model::SCHEMA_VERSION;
use super::{AddonView, Edge, Metadata, Node, Problem, Workflow, WorkflowError};
use crate::extension::ExtensionKind;

/// Builds a [`Workflow`] step by step; [`WorkflowBuilder::build`] checks
/// its shape (ids, edges, cycles) and reports every problem at once.
///
/// ```
/// use serde_json::json;
/// use symphony_host::Workflow;
///
/// let workflow = Workflow::builder("review-triage")
///     .version("1.2.0")
///     .author("ada")
///     .tag("reviews")
///     .instrument("topics", "mock-llm")
///     .config(json!({"tasks": ["keywords"]}))
///     .instrument("tone", "mock-llm")
///     .operator("triage", "json-transform")
///     .connect("topics", "triage")
///     .connect("tone", "triage")
///     .addon("status-panel")
///     .build()?;
/// assert_eq!(workflow.dependencies("triage").unwrap().len(), 2);
/// # Ok::<(), symphony_host::WorkflowError>(())
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
                schema_version: SCHEMA_VERSION,
                id: id.to_string(),
                name: id.to_string(),
                version: semver::Version::new(0, 1, 0),
                description: None,
                metadata: Metadata::default(),
                nodes: Vec::new(),
                edges: Vec::new(),
                addons: Vec::new(),
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
        self.node(id, ExtensionKind::Instrument, extension)
    }

    /// Adds a node calling the Operator `extension`.
    pub fn operator(self, id: &str, extension: &str) -> Self {
        self.node(id, ExtensionKind::Operator, extension)
    }

    fn node(mut self, id: &str, kind: ExtensionKind, extension: &str) -> Self {
        self.workflow.nodes.push(Node {
            id: id.to_string(),
            kind,
            extension: extension.to_string(),
            config: Map::new(),
        });
        self
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
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_built_workflow_equals_the_same_document_loaded() {
        let built = Workflow::builder("demo")
            .version("1.0.0")
            .instrument("summarise", "mock-llm")
            .config(json!({"keywords": 4}))
            .operator("brief", "json-transform")
            .connect("summarise", "brief")
            .build()
            .unwrap();
        let loaded = Workflow::from_json(
            r#"{"schema_version": 2, "id": "demo", "name": "demo", "version": "1.0.0",
                "nodes": [{"id": "summarise", "kind": "instrument", "extension": "mock-llm", "config": {"keywords": 4}},
                          {"id": "brief", "kind": "operator", "extension": "json-transform"}],
                "edges": [{"from": "summarise", "to": "brief"}]}"#,
            "demo",
        )
        .unwrap();
        assert_eq!(built, loaded);
    }

    #[test]
    fn build_reports_every_problem_at_once() {
        let err = Workflow::builder("broken")
            .version("one")
            .config(json!({}))
            .operator("a", "op")
            .config(json!([1]))
            .operator("a", "op")
            .connect("a", "ghost")
            .after("b", "a")
            .build()
            .unwrap_err();
        let WorkflowError::Invalid { problems, .. } = err else {
            panic!("expected problems");
        };
        let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
        for expected in [
            "version 'one'",
            "config() before any node",
            "config must be a JSON object",
            "used by more than one node",
            "no node 'ghost'",
            "no node 'b'",
        ] {
            assert!(
                text.iter().any(|p| p.contains(expected)),
                "{expected}: {text:?}"
            );
        }
    }

    #[test]
    fn a_cycle_is_caught_at_build_time() {
        let err = Workflow::builder("loop")
            .operator("a", "op")
            .operator("b", "op")
            .connect("a", "b")
            .after("b", "a")
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("cycle: a -> b -> a"), "{err}");
    }
}
