//! Handing finished nodes' outputs to the run's output archive, linked to
//! the outputs they were computed from.

use super::{Scheduler, inline};
use crate::output_archive::StoredOutput;
use crate::walk::Outcome;
use symphony_artifacts::ArtifactMeta;

impl Scheduler<'_, '_> {
    /// Queues node `index`'s output for the Artifact Store, when outputs
    /// are kept and the node computed one (branch and merge steps only
    /// pass data on).
    pub(super) fn archive_output(&mut self, index: usize, outcome: &Outcome) {
        let Some(archive) = self.archive else {
            return;
        };
        let node = &self.graph.nodes[index];
        let Outcome::Output(value) = outcome else {
            return;
        };
        if inline(node) {
            return;
        }
        let mut derived_from = Vec::new();
        self.upstream_artifacts(index, &mut derived_from);
        derived_from.sort();
        derived_from.dedup();
        let output = StoredOutput::new(value, ArtifactMeta::default());
        // An output equal to its input is the same artifact, not derived
        // from itself.
        derived_from.retain(|id| *id != output.id);
        let mut meta = self
            .run_meta()
            .creator(node.runs())
            // No tag per node: equal outputs of many nodes are one
            // artifact, whose tags would grow with the graph. The node is
            // its version name and its `node` field.
            .tag("output")
            .field("node", node.id.as_str())
            .name(format!("{}/{}", self.workflow_id, node.id));
        meta.derived_from = derived_from;
        let output = output.with_meta(meta);
        let id = output.id.clone();
        archive.store(output);
        self.report.nodes[self.position_of[index]].artifact = Some(id);
    }

    /// The artifacts node `index`'s input came from: its upstream nodes'
    /// outputs, looking through branch and merge steps, and the run's
    /// input for nodes fed by nothing else.
    fn upstream_artifacts(&mut self, index: usize, found: &mut Vec<String>) {
        let incoming = self.graph.plan.incoming.of(index);
        if incoming.is_empty() {
            found.push(self.input_artifact());
            return;
        }
        for &(from, _) in incoming {
            match &self.report.nodes[self.position_of[from]].artifact {
                Some(id) => found.push(id.clone()),
                None if inline(&self.graph.nodes[from]) => self.upstream_artifacts(from, found),
                // Skipped, or restored without an output to link.
                None => {}
            }
        }
    }

    /// The run's input as an artifact, stored the first time it is needed
    /// and versioned as `<workflow>#input`, apart from the outputs'
    /// `<workflow>/<node>` names even for a node called `input`.
    fn input_artifact(&mut self) -> String {
        if let Some(id) = &self.input_artifact {
            return id.clone();
        }
        let meta = self
            .run_meta()
            .tag("input")
            .name(format!("{}#input", self.workflow_id));
        let input = StoredOutput::new(self.input, meta);
        let id = input.id.clone();
        if let Some(archive) = self.archive {
            archive.store(input);
        }
        self.input_artifact = Some(id.clone());
        id
    }

    /// Metadata every artifact of this run carries.
    fn run_meta(&self) -> ArtifactMeta {
        ArtifactMeta::default()
            .tag(format!("run:{}", self.run))
            .tag(format!("workflow:{}", self.workflow_id))
            .field("run", &*self.run)
            .field("workflow", self.workflow_id)
    }
}
