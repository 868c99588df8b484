//! Reading and writing workflow files: JSON for people, msgpack for
//! machines, each carrying a `schema_version`; older versions are upgraded
//! on load.

use std::path::Path;

use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::WorkflowError;
use super::model::{SCHEMA_VERSION, Workflow};

/// How a workflow file is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Indented JSON: what people read and write.
    Json,
    /// msgpack with field names: compact, still self-describing.
    Msgpack,
}

impl Format {
    /// The file extension this format is written with.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Msgpack => "msgpack",
        }
    }
}

/// Only the version, read first to pick the document's shape.
#[derive(Deserialize)]
struct Probe {
    schema_version: Option<u32>,
}

impl Workflow {
    /// Parses a workflow from JSON text; `origin` names it in errors, which
    /// carry the line and column.
    pub fn from_json(text: &str, origin: &str) -> Result<Workflow, WorkflowError> {
        let parse_error = |e: serde_json::Error| WorkflowError::Parse {
            origin: origin.to_string(),
            line: e.line(),
            column: e.column(),
            message: crate::without_position(&e),
        };
        let probe: Probe = serde_json::from_str(text).map_err(parse_error)?;
        match check_version(probe.schema_version, origin)? {
            1 => serde_json::from_str::<v1::Workflow>(text)
                .map(v1::Workflow::upgrade)
                .map_err(parse_error),
            _ => serde_json::from_str(text).map_err(parse_error),
        }
    }

    /// Parses a workflow from msgpack (as [`Workflow::to_msgpack`] writes).
    pub fn from_msgpack(bytes: &[u8], origin: &str) -> Result<Workflow, WorkflowError> {
        let probe: Probe = decode(bytes, origin)?;
        match check_version(probe.schema_version, origin)? {
            1 => decode::<v1::Workflow>(bytes, origin).map(v1::Workflow::upgrade),
            _ => decode(bytes, origin),
        }
    }

    /// Parses a workflow in either format: JSON starts with `{`.
    pub fn from_bytes(bytes: &[u8], origin: &str) -> Result<Workflow, WorkflowError> {
        match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'{') => {
                let text = std::str::from_utf8(bytes).map_err(|e| WorkflowError::Decode {
                    origin: origin.to_string(),
                    message: format!("not UTF-8 text: {e}"),
                })?;
                Workflow::from_json(text, origin)
            }
            _ => Workflow::from_msgpack(bytes, origin),
        }
    }

    /// Reads a workflow file in either format.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Workflow, WorkflowError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| WorkflowError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Workflow::from_bytes(&bytes, &path.display().to_string())
    }

    /// The workflow as indented JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// The workflow as msgpack, with field names so it stays readable by
    /// any msgpack tool and tolerant of added fields.
    pub fn to_msgpack(&self) -> Vec<u8> {
        rmp_serde::to_vec_named(self).unwrap_or_default()
    }

    /// The workflow encoded as `format`.
    pub fn to_bytes(&self, format: Format) -> Vec<u8> {
        match format {
            Format::Json => self.to_json().into_bytes(),
            Format::Msgpack => self.to_msgpack(),
        }
    }
}

fn check_version(version: Option<u32>, origin: &str) -> Result<u32, WorkflowError> {
    match version {
        Some(v @ 1..=SCHEMA_VERSION) => Ok(v),
        found => Err(WorkflowError::UnsupportedVersion {
            origin: origin.to_string(),
            found,
        }),
    }
}

/// How deeply msgpack values may nest: as deeply as serde_json lets JSON
/// nest, so every workflow read from msgpack can be written as JSON and read
/// back (rmp-serde's own limit, 1024, is deeper than that, and deep enough
/// to overflow a thread's stack while the value is built).
const MAX_MSGPACK_DEPTH: usize = 128;

fn decode<T: DeserializeOwned>(bytes: &[u8], origin: &str) -> Result<T, WorkflowError> {
    let mut deserializer = rmp_serde::Deserializer::from_read_ref(bytes);
    deserializer.set_max_depth(MAX_MSGPACK_DEPTH);
    T::deserialize(&mut deserializer).map_err(|e| WorkflowError::Decode {
        origin: origin.to_string(),
        message: e.to_string(),
    })
}

/// Schema version 1, the foundation's format, and its upgrade.
mod v1 {
    use serde::Deserialize;

    use crate::model::{self, AddonView, Edge, Metadata, SCHEMA_VERSION};

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(super) struct Workflow {
        #[serde(rename = "$schema", default)]
        schema: Option<String>,
        #[allow(
            dead_code,
            reason = "read so that deny_unknown_fields accepts it; check_version reads it first"
        )]
        schema_version: u32,
        name: String,
        #[serde(default)]
        description: Option<String>,
        /// Version 2 nodes are still the same shape.
        nodes: Vec<model::Node>,
        #[serde(default)]
        edges: Vec<V1Edge>,
        #[serde(default)]
        addons: Vec<AddonView>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct V1Edge {
        from: String,
        to: String,
    }

    impl Workflow {
        /// Version 2 adds an id (derived from the name), a version (1.0.0)
        /// and metadata; every version 1 edge is a data edge.
        pub(super) fn upgrade(self) -> model::Workflow {
            model::Workflow {
                schema: self.schema,
                schema_version: SCHEMA_VERSION,
                id: slug(&self.name),
                name: self.name,
                version: semver::Version::new(1, 0, 0),
                description: self.description,
                metadata: Metadata::default(),
                nodes: self.nodes,
                edges: self
                    .edges
                    .into_iter()
                    .map(|e| Edge::data(e.from, e.to))
                    .collect(),
                addons: self.addons,
                timeout_ms: None,
            }
        }
    }

    /// `Review Triage!` → `review-triage`.
    fn slug(name: &str) -> String {
        let mut slug = String::with_capacity(name.len());
        for c in name.chars() {
            if c.is_ascii_alphanumeric() {
                slug.push(c.to_ascii_lowercase());
            } else if !slug.ends_with('-') && !slug.is_empty() {
                slug.push('-');
            }
        }
        let slug = slug.trim_end_matches('-').to_string();
        if slug.is_empty() {
            "workflow".into()
        } else {
            slug
        }
    }

    #[cfg(test)]
    #[test]
    fn slugs_are_lowercase_words_joined_by_dashes() {
        assert_eq!(slug("Review Triage!"), "review-triage");
        assert_eq!(slug("  --  "), "workflow");
        assert_eq!(slug("demo"), "demo");
    }
}

#[cfg(test)]
mod tests;
