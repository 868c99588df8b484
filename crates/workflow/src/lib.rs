//! Workflows: DAGs of Instrument, Operator and control nodes with typed
//! ports, joined by data, control and conditional edges, stored as JSON or
//! msgpack with a schema version; templates that instantiate them; the
//! recovery policies nodes carry. No engine: an embedder that builds,
//! reads, writes and validates workflows depends on this crate alone.
//!
//! ```
//! use std::collections::BTreeMap;
//! use symphony_manifest::ExtensionKind;
//! use symphony_workflow::{Format, Workflow};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let workflow = Workflow::builder("summarize")
//!     .instrument("llm", "mock-llm")
//!     .operator("shape", "json-transform")
//!     .connect("llm", "shape")
//!     .build()?;
//!
//! // Checked against the extensions a host has loaded (name -> kind) ...
//! let mut known = BTreeMap::from([("mock-llm".to_string(), ExtensionKind::Instrument)]);
//! let err = workflow.validate(&known).unwrap_err();
//! assert!(err.to_string().contains("node 'shape': unknown extension 'json-transform'"));
//! known.insert("json-transform".into(), ExtensionKind::Operator);
//! let plan = workflow.validate(&known)?;
//! let order: Vec<&str> = plan.ordered(&workflow).iter().map(|n| n.id.as_str()).collect();
//! assert_eq!(order, ["llm", "shape"]);
//!
//! // ... and written and read back in either format.
//! let bytes = workflow.to_bytes(Format::Msgpack);
//! assert_eq!(Workflow::from_bytes(&bytes, "summarize.msgpack")?, workflow);
//! # Ok(())
//! # }
//! ```

#![deny(missing_docs)]

pub mod adjacency;
mod builder;
mod control;
pub mod expr;
mod format;
mod graph;
mod model;
mod order;
mod port;
mod recovery;
pub mod template;
mod validate;

use std::fmt;
use std::path::PathBuf;

pub use builder::WorkflowBuilder;
pub use control::{Branch, Case, Control, MapBody, MergeMode};
pub use format::Format;
pub use model::{AddonView, Edge, EdgeKind, Metadata, Node, NodeKind, Workflow, workflow_schema};
pub use port::{Port, PortType, PortTypeError, kind_of};
pub use recovery::{
    BackoffPolicy, DEFAULT_MAX_BACKOFF_MS, FailureKind, RecoveryError, RecoveryPolicy,
};
pub use template::{
    ParamType, Parameter, Template, TemplateError, TemplateLibrary, template_schema,
};
pub use validate::Plan;

pub(crate) use symphony_manifest::param::without_position;

/// One thing wrong with a workflow, naming the node or edge it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where: `node 'x'`, `edge 2 (a -> b)`, `addon 'p'` or `workflow`.
    pub at: String,
    /// What is wrong and, where possible, how to fix it.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.at, self.message)
    }
}

/// Why a workflow cannot be read or run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WorkflowError {
    /// The file could not be read.
    #[error("cannot read workflow {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The text is not a workflow document.
    #[error("{origin}:{line}:{column}: {message}")]
    Parse {
        /// The file, or `<input>`.
        origin: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What the parser expected.
        message: String,
    },
    /// The document's schema version is missing or newer than this host.
    #[error("{origin}: {}", match .found {
        Some(v) => format!("schema_version {v} is not supported (this host reads 1 to {})", model::SCHEMA_VERSION),
        None => "no schema_version: a workflow document starts with {\"schema_version\": 2, ...}".to_string(),
    })]
    UnsupportedVersion {
        /// The file, or `<input>`.
        origin: String,
        /// The version found, if any.
        found: Option<u32>,
    },
    /// The bytes are not a workflow in msgpack (or not text, for JSON).
    #[error("{origin}: not a workflow document: {message}")]
    Decode {
        /// The file, or `<input>`.
        origin: String,
        /// What the decoder said.
        message: String,
    },
    /// The document parsed but describes a workflow that cannot run.
    #[error("workflow '{name}' is invalid:\n{}", list(.problems))]
    Invalid {
        /// The workflow's name.
        name: String,
        /// Every problem found.
        problems: Vec<Problem>,
    },
}

/// Problems one per line, indented, as the invalid-document errors show
/// them.
pub(crate) fn list(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| format!("  - {p}"))
        .collect::<Vec<_>>()
        .join("\n")
}
