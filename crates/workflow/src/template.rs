//! Workflow templates: a workflow with typed parameters filled in on
//! instantiation, and a library of them on disk.
//!
//! ```
//! use std::collections::BTreeMap;
//!
//! use serde_json::json;
//! use symphony_workflow::{Template, TemplateError};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let text = json!({
//!     "template_version": 1,
//!     "template": {
//!         "id": "keywords", "version": "1.0.0", "name": "Keywords of a text",
//!         "tags": ["text"],
//!         "parameters": {
//!             "count": {"type": "integer", "default": 3, "min": 1, "max": 50},
//!             "tone": {"type": "string", "enum": ["formal", "casual"]}
//!         }
//!     },
//!     "workflow": {
//!         "schema_version": 2, "id": "keywords", "version": "1.0.0",
//!         "name": "Top {{count}} keywords, {{ tone }}",
//!         "nodes": [{"id": "llm", "kind": "instrument", "extension": "mock-llm",
//!                    "config": {"tasks": ["keywords"], "keywords": "{{count}}"}}]
//!     }
//! })
//! .to_string();
//! let template = Template::from_json(&text, "keywords.json")?;
//!
//! let params = BTreeMap::from([("tone".to_string(), json!("casual"))]);
//! let workflow = template.instantiate(&params)?;
//! assert_eq!(workflow.nodes[0].config["keywords"], 3); // the default, as a number
//! assert_eq!(workflow.name, "Top 3 keywords, casual");
//!
//! // Every problem at once, each naming its parameter.
//! let params = BTreeMap::from([
//!     ("count".to_string(), json!(99)),
//!     ("colour".to_string(), json!("red")),
//! ]);
//! let Err(TemplateError::Instantiate { problems, .. }) = template.instantiate(&params) else {
//!     panic!("expected parameter problems");
//! };
//! let problems: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
//! assert_eq!(problems, [
//!     "parameter 'colour': unknown parameter (this template has: count, tone)",
//!     "parameter 'count': must be 1 to 50, got 99",
//!     "parameter 'tone': is required: give a string (one of \"formal\", \"casual\")",
//! ]);
//! # Ok(())
//! # }
//! ```
//!
//! The file format, parameter types and constraints, and how placeholders
//! are filled in are described on [`Template`]; [`TemplateLibrary`] loads a
//! directory tree of templates and finds them by id, version, text and tags.

mod document;
mod index;
mod library;
mod placeholder;
mod values;

use std::path::PathBuf;

pub use document::Template;

/// The JSON Schema (draft 2020-12) of a template file, as `symphony schema
/// template` prints it.
pub fn template_schema() -> serde_json::Value {
    document::schema()
}
pub use library::TemplateLibrary;
pub use symphony_manifest::{ParamType, Parameter};

use crate::{Problem, list};

/// The template file format version this host reads.
pub(crate) const TEMPLATE_VERSION: u64 = 1;

/// Why a template cannot be loaded, found or instantiated.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TemplateError {
    /// A file or directory could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The text is not a template document.
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
    /// The file's `template_version` is missing or not one this host reads.
    #[error("{origin}: {}", match .found {
        Some(v) => format!("template_version {v} is not supported (this host reads {TEMPLATE_VERSION})"),
        None => format!("no template_version: a template file starts with {{\"template_version\": {TEMPLATE_VERSION}, ...}}"),
    })]
    UnsupportedVersion {
        /// The file, or `<input>`.
        origin: String,
        /// The version found, if any.
        found: Option<u64>,
    },
    /// The template parsed but its definitions are wrong: parameters,
    /// placeholders, id.
    #[error("template {origin} is invalid:\n{}", list(.problems))]
    Invalid {
        /// The file, or `<input>`.
        origin: String,
        /// Every problem found.
        problems: Vec<Problem>,
    },
    /// The parameters given do not fit the template, or the workflow they
    /// make is not valid.
    #[error("cannot instantiate template {template}:\n{}", list(.problems))]
    Instantiate {
        /// The template, as `id@version`.
        template: String,
        /// Every problem found, each naming its parameter (or where in
        /// the workflow it is).
        problems: Vec<Problem>,
    },
    /// A second file in a library defines an id and version already loaded.
    #[error("template '{id}' version {version} is already defined by {}", first.display())]
    Duplicate {
        /// The template id.
        id: String,
        /// The version both files define.
        version: semver::Version,
        /// The file that was loaded.
        first: PathBuf,
    },
    /// No template in the library matches a reference.
    #[error("no template '{reference}': {hint}")]
    NotFound {
        /// What was asked for: `NAME`, `NAME@VERSION` or `NAME@REQ`.
        reference: String,
        /// What the library has instead.
        hint: String,
    },
    /// A reference is not `NAME`, `NAME@VERSION` or `NAME@REQ`.
    #[error(
        "'{reference}' is not a template reference ({message}); write NAME, NAME@1.2.0 or NAME@^1"
    )]
    BadReference {
        /// The text given.
        reference: String,
        /// What is wrong with it.
        message: String,
    },
}
