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
        #[allow(dead_code)]
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
mod tests {
    use super::*;
    use crate::EdgeKind;

    const V1: &str = r#"{"schema_version": 1, "name": "Two Steps", "description": "d",
        "nodes": [{"id": "a", "kind": "instrument", "extension": "llm", "config": {"k": 1}},
                  {"id": "b", "kind": "operator", "extension": "op"}],
        "edges": [{"from": "a", "to": "b"}]}"#;

    #[test]
    fn version_1_is_upgraded_on_load() {
        let wf = Workflow::from_json(V1, "v1.json").unwrap();
        assert_eq!(wf.schema_version, SCHEMA_VERSION);
        assert_eq!(
            (wf.id.as_str(), wf.version.to_string()),
            ("two-steps", "1.0.0".into())
        );
        assert_eq!(wf.edges[0].kind, EdgeKind::Data);
        assert_eq!(wf.nodes[0].config["k"], 1);
        let again = Workflow::from_json(&wf.to_json(), "v2.json").unwrap();
        assert_eq!(again, wf);
    }

    #[test]
    fn msgpack_round_trips_and_is_detected() {
        let wf = Workflow::from_json(V1, "v1.json").unwrap();
        let packed = wf.to_msgpack();
        assert_eq!(Workflow::from_bytes(&packed, "wf.msgpack").unwrap(), wf);
        assert!(packed.len() < wf.to_json().len());
    }

    #[test]
    fn unknown_versions_are_named() {
        let msg = Workflow::from_json(r#"{"schema_version": 9, "name": "x"}"#, "wf")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("schema_version 9"), "{msg}");
        let msg = Workflow::from_json(r#"{"name": "x"}"#, "wf")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("no schema_version"), "{msg}");
        let msg = Workflow::from_bytes(&[0xc1, 0x00], "wf.msgpack")
            .unwrap_err()
            .to_string();
        assert!(msg.starts_with("wf.msgpack:"), "{msg}");
    }

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
    fn floats_survive_a_json_round_trip() {
        // Found by the workflow fuzz target: without serde_json's
        // float_roundtrip this came back as ...419e-150.
        let text = r#"{"schema_version": 2, "id": "x", "name": "x", "version": "1.0.0",
            "nodes": [{"id": "a", "kind": "operator", "extension": "e",
                       "config": {"k": 8.840310895133417e-150}}]}"#;
        let wf = Workflow::from_json(text, "wf.json").unwrap();
        assert_eq!(Workflow::from_json(&wf.to_json(), "again").unwrap(), wf);
    }

    #[test]
    fn msgpack_nests_no_deeper_than_json_may() {
        // A workflow whose node config is `depth` arrays around a 1, in
        // msgpack, written byte by byte (a deep `Value` would overflow the
        // test's own stack when dropped).
        let nested = |depth: usize| {
            let mut bytes =
                b"\x85\xa2id\xa1x\xa4name\xa1x\xa5nodes\x91\x84\xa6config\x81\xa1k".to_vec();
            bytes.extend(std::iter::repeat_n(0x91, depth));
            bytes.extend_from_slice(
                b"\x01\xa9extension\xa1e\xa2id\xa1a\xa4kind\xa8operator\
                  \xaeschema_version\x02\xa7version\xa51.0.0",
            );
            bytes
        };
        // What loads from msgpack writes as JSON that loads.
        let wf = Workflow::from_msgpack(&nested(100), "wf.msgpack").unwrap();
        assert_eq!(Workflow::from_json(&wf.to_json(), "again").unwrap(), wf);
        // Deeper is an error, not JSON that will not load, nor (deeper
        // still) a stack overflow.
        for depth in [130, 100_000] {
            let msg = Workflow::from_msgpack(&nested(depth), "wf.msgpack")
                .unwrap_err()
                .to_string();
            assert!(msg.contains("depth limit exceeded"), "{msg}");
        }
    }

    #[test]
    fn unknown_node_kind_is_a_parse_error() {
        let text = r#"{"schema_version": 1, "name": "x", "nodes": [{"id": "a", "kind": "gpu", "extension": "e"}]}"#;
        let msg = Workflow::from_json(text, "wf").unwrap_err().to_string();
        assert!(msg.contains("unknown variant `gpu`"), "{msg}");
    }

    fn arbitrary_workflow() -> impl proptest::strategy::Strategy<Value = Workflow> {
        use proptest::prelude::*;
        use serde_json::{Map, Value};

        use crate::port::tests::arbitrary_type;
        use crate::{Branch, Case, Control, Edge, MergeMode, Metadata, Node, NodeKind, Port};

        let value = prop_oneof![
            any::<i64>().prop_map(Value::from),
            "[a-z ]{0,8}".prop_map(Value::from),
            any::<bool>().prop_map(Value::from),
        ];
        let config = proptest::collection::btree_map("[a-z]{1,6}", value.clone(), 0..4)
            .prop_map(|m| m.into_iter().collect::<Map<String, Value>>());
        let port = ("[a-z]{1,6}", arbitrary_type(), any::<bool>())
            .prop_map(|(name, ty, required)| Port {
                required,
                ..Port::new(name, ty)
            })
            .boxed();
        let ports = || proptest::collection::vec(port.clone(), 0..3);
        let control = prop_oneof![
            Just(None),
            Just(Some(Control::Merge(MergeMode::First))),
            (
                "[a-z]{1,5}",
                "[a-z.]{1,10}",
                proptest::option::of("[a-z]{1,5}")
            )
                .prop_map(|(port, when, otherwise)| Some(Control::Branch(Branch {
                    cases: vec![Case { port, when }],
                    otherwise,
                }))),
        ];
        let node = (
            "[a-z]{1,8}",
            0..3u8,
            "[a-z-]{1,10}",
            config,
            (ports(), ports()),
            control,
        )
            .prop_map(
                |(id, kind, extension, config, (inputs, outputs), control)| {
                    let kind = match kind {
                        0 => NodeKind::Instrument,
                        1 => NodeKind::Operator,
                        _ => NodeKind::Control,
                    };
                    Node {
                        config,
                        control,
                        inputs,
                        outputs,
                        ..Node::extension(id, kind, extension)
                    }
                },
            );
        let edge = ("[a-z]{1,8}", "[a-z]{1,8}", 0..3u8, "[a-z.]{1,10}").prop_map(
            |(from, to, kind, when)| match kind {
                0 => Edge::data(from, to).from_port(when.clone()).to_port(when),
                1 => Edge::control(from, to),
                _ => Edge::conditional(from, to, when),
            },
        );
        let metadata = (
            proptest::option::of("[a-z]{1,8}"),
            proptest::collection::vec("[a-z]{1,5}", 0..3),
            proptest::collection::btree_map("x_[a-z]{1,5}", value, 0..3),
        )
            .prop_map(|(author, tags, extra)| Metadata {
                author,
                tags,
                extra: extra.into_iter().collect(),
                ..Metadata::default()
            });
        (
            "[a-z-]{1,12}",
            ".{0,12}",
            (0u64..5, 0u64..20, 0u64..100),
            metadata,
            proptest::collection::vec(node, 0..8),
            proptest::collection::vec(edge, 0..10),
        )
            .prop_map(
                |(id, name, (major, minor, patch), metadata, nodes, edges)| Workflow {
                    schema_version: SCHEMA_VERSION,
                    id,
                    name,
                    version: semver::Version::new(major, minor, patch),
                    description: None,
                    metadata,
                    nodes,
                    edges,
                    addons: Vec::new(),
                    timeout_ms: None,
                },
            )
    }

    proptest::proptest! {
        #[test]
        fn random_workflows_round_trip_through_both_formats(wf in arbitrary_workflow()) {
            proptest::prop_assert_eq!(&Workflow::from_json(&wf.to_json(), "j").unwrap(), &wf);
            proptest::prop_assert_eq!(&Workflow::from_msgpack(&wf.to_msgpack(), "m").unwrap(), &wf);
        }
    }

    #[test]
    fn a_bad_version_string_is_a_parse_error() {
        let text =
            r#"{"schema_version": 2, "id": "x", "name": "x", "version": "one", "nodes": []}"#;
        let msg = Workflow::from_json(text, "wf").unwrap_err().to_string();
        assert!(msg.starts_with("wf:1:"), "{msg}");
    }
}
