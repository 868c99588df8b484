//! JSON Schemas of the files people write for Symphony, generated from the
//! types that read them: workflows, templates, extension manifests,
//! retention policies and arbitration settings.
//!
//! ```
//! use symphony_host::schema::FileFormat;
//!
//! let schema = FileFormat::Workflow.schema();
//! assert_eq!(schema["title"], "Symphony workflow");
//! assert_eq!(FileFormat::from_name("manifest"), Some(FileFormat::Manifest));
//! ```

use serde_json::Value;

/// A file format Symphony reads from people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileFormat {
    /// A workflow (`*.json`, or msgpack), schema version 2.
    Workflow,
    /// A workflow template (`*.json`), template version 1.
    Template,
    /// An extension manifest, `symphony.toml`.
    Manifest,
    /// The Stale Manager's policy, `<home>/retention.toml`.
    Retention,
    /// The Arbitration Engine's settings, `<home>/arbitration.toml`.
    Arbitration,
}

impl FileFormat {
    /// Every format, in the order `symphony schema` lists them.
    pub const ALL: [FileFormat; 5] = [
        FileFormat::Workflow,
        FileFormat::Template,
        FileFormat::Manifest,
        FileFormat::Retention,
        FileFormat::Arbitration,
    ];

    /// The format's name: `workflow`, `template`, `manifest`, `retention`,
    /// `arbitration`.
    pub fn name(self) -> &'static str {
        match self {
            FileFormat::Workflow => "workflow",
            FileFormat::Template => "template",
            FileFormat::Manifest => "manifest",
            FileFormat::Retention => "retention",
            FileFormat::Arbitration => "arbitration",
        }
    }

    /// The format named `name`, if there is one.
    pub fn from_name(name: &str) -> Option<FileFormat> {
        FileFormat::ALL.into_iter().find(|f| f.name() == name)
    }

    /// What files of this format are, for listings.
    pub fn describe(self) -> &'static str {
        match self {
            FileFormat::Workflow => "a workflow: nodes, edges, addons (JSON)",
            FileFormat::Template => "a workflow template with typed parameters (JSON)",
            FileFormat::Manifest => "an extension's manifest, symphony.toml (TOML)",
            FileFormat::Retention => "the Stale Manager's policy, retention.toml (TOML)",
            FileFormat::Arbitration => "the Arbitration Engine's settings, arbitration.toml (TOML)",
        }
    }

    /// Whether files of this format are TOML (editors take the schema from
    /// a `#:schema` comment) rather than JSON (a `"$schema"` key).
    pub fn is_toml(self) -> bool {
        matches!(
            self,
            FileFormat::Manifest | FileFormat::Retention | FileFormat::Arbitration
        )
    }

    /// The file name the schema is written under, e.g.
    /// `workflow.schema.json`.
    pub fn file_name(self) -> String {
        format!("{}.schema.json", self.name())
    }

    /// The format's JSON Schema (draft 2020-12).
    pub fn schema(self) -> Value {
        match self {
            FileFormat::Workflow => symphony_workflow::workflow_schema(),
            FileFormat::Template => symphony_workflow::template_schema(),
            FileFormat::Manifest => symphony_manifest::manifest_schema(),
            FileFormat::Retention => symphony_artifacts::stale::retention_schema(),
            FileFormat::Arbitration => {
                symphony_manifest::file_schema::<symphony_arbitration::ArbitrationConfig>()
            }
        }
    }
}

impl std::fmt::Display for FileFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
