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
    let edge =
        ("[a-z]{1,8}", "[a-z]{1,8}", 0..3u8, "[a-z.]{1,10}").prop_map(|(from, to, kind, when)| {
            match kind {
                0 => Edge::data(from, to).from_port(when.clone()).to_port(when),
                1 => Edge::control(from, to),
                _ => Edge::conditional(from, to, when),
            }
        });
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
                schema: None,
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
    let text = r#"{"schema_version": 2, "id": "x", "name": "x", "version": "one", "nodes": []}"#;
    let msg = Workflow::from_json(text, "wf").unwrap_err().to_string();
    assert!(msg.starts_with("wf:1:"), "{msg}");
}

mod documented {
    use std::collections::BTreeMap;
    use std::path::{Path, PathBuf};

    use symphony_manifest::ExtensionKind;

    use crate::Workflow;

    fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
    }

    /// The example extensions, by name, from their manifests.
    fn known() -> BTreeMap<String, ExtensionKind> {
        let mut known = BTreeMap::new();
        for kind in ["instruments", "operators", "addons"] {
            for entry in std::fs::read_dir(root().join("examples").join(kind)).unwrap() {
                let manifest = entry.unwrap().path().join("symphony.toml");
                if manifest.is_file() {
                    let manifest = symphony_manifest::Manifest::from_file(&manifest).unwrap();
                    let kind = manifest.kind.extension_kind().unwrap();
                    known.insert(manifest.name, kind);
                }
            }
        }
        known
    }

    #[test]
    fn every_example_workflow_file_validates() {
        let dir = root().join("examples/workflows");
        let mut checked = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            if path.extension().is_none_or(|e| e != "json") || name.ends_with("-input.json") {
                continue;
            }
            let workflow = Workflow::from_file(&path).unwrap();
            if workflow
                .nodes
                .iter()
                .all(|n| n.extension.is_empty() || known().contains_key(&n.extension))
            {
                workflow
                    .validate(&known())
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
            }
            checked += 1;
        }
        assert!(checked >= 3, "{checked}");
    }
}

mod schema {
    use crate::{template_schema, workflow_schema};

    #[test]
    fn a_schema_key_is_accepted_and_kept() {
        let text = r#"{"$schema": "../schemas/workflow.schema.json", "schema_version": 2,
            "id": "w", "name": "w", "version": "1.0.0",
            "nodes": [{"id": "a", "kind": "operator", "extension": "x"}]}"#;
        let workflow = crate::Workflow::from_json(text, "w.json").unwrap();
        assert_eq!(
            workflow.schema.as_deref(),
            Some("../schemas/workflow.schema.json")
        );
        assert!(
            workflow
                .to_json()
                .starts_with("{\n  \"$schema\": \"../schemas/workflow.schema.json\"")
        );
    }

    #[test]
    fn schemas_are_draft_2020_12_with_titles() {
        for (schema, title) in [
            (workflow_schema(), "Symphony workflow"),
            (template_schema(), "Symphony workflow template"),
        ] {
            assert_eq!(
                schema["$schema"],
                "https://json-schema.org/draft/2020-12/schema"
            );
            assert_eq!(schema["title"], title);
            assert_eq!(schema["additionalProperties"], false);
        }
    }
}
