//! Node configs checked against the configuration keys an extension's
//! manifest declares, with the same checker templates use for their
//! parameters.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::{ConfigSchema, NodeConfig, Slot};
use crate::Error;
use crate::host::HostInner;
use crate::workflow::{Control, Node, NodeKind, Problem};

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
