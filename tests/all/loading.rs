//! Bad components are refused at load with a message that says why.

use symphony_host::{Error, ExtensionKind, LoadError, Workflow};
use symphony_tests::{bare_host, component, fixture, host};

fn load_error(bytes: &[u8]) -> (LoadError, String) {
    let host = bare_host();
    let path = host.home.path().join("bad.wasm");
    std::fs::write(&path, bytes).unwrap();
    match host.load(&path) {
        Err(Error::Load(e)) => {
            let message = e.to_string();
            (e, message)
        }
        other => panic!("expected a load error, got {:?}", other.map(|_| ())),
    }
}

#[test]
fn random_bytes_are_not_a_component() {
    let (err, message) = load_error(b"this is certainly not wasm");
    assert!(matches!(err, LoadError::NotAComponent { .. }));
    assert!(
        message.contains("bad.wasm is not a WebAssembly component"),
        "{message}"
    );
    assert!(message.contains("magic bytes"), "{message}");
}

#[test]
fn a_core_module_is_refused_with_a_hint() {
    let (_, message) = load_error(&[0, b'a', b's', b'm', 1, 0, 0, 0]);
    assert!(message.contains("core WebAssembly module"), "{message}");
    assert!(message.contains("wasm32-wasip2"), "{message}");
}

#[test]
fn a_truncated_component_is_invalid() {
    let bytes = std::fs::read(component("mock_llm")).unwrap();
    let (err, message) = load_error(&bytes[..bytes.len() / 2]);
    assert!(matches!(err, LoadError::Invalid { .. }), "{message}");
    assert!(message.contains("is not a valid component"), "{message}");
}

#[test]
fn a_component_of_another_world_is_refused_naming_its_exports() {
    let host = bare_host();
    let err = host.load(fixture("not_an_extension")).unwrap_err();
    let message = err.to_string();
    assert!(
        matches!(err, Error::Load(LoadError::UnknownWorld { .. })),
        "{message}"
    );
    assert!(
        message.contains("does not implement a Symphony extension world"),
        "{message}"
    );
    assert!(message.contains("wasi:cli/run"), "{message}");
}

#[test]
fn a_missing_file_and_a_duplicate_name_are_errors() {
    let host = host();
    let err = host.load(host.home.path().join("nope.wasm")).unwrap_err();
    assert!(
        err.to_string().starts_with("cannot read extension"),
        "{err}"
    );
    let err = host.load(component("mock_llm")).unwrap_err();
    assert!(
        err.to_string()
            .contains("an extension named 'mock-llm' is already loaded"),
        "{err}"
    );
}

#[test]
fn using_an_extension_as_the_wrong_kind_is_refused() {
    let host = host();
    let err = host.operator("mock-llm").err().unwrap();
    assert!(
        matches!(
            err,
            Error::WrongKind {
                expected: ExtensionKind::Operator,
                actual: ExtensionKind::Instrument,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "extension 'mock-llm' is an instrument, not an operator"
    );
    let err = host.instrument("gpt-9").err().unwrap();
    assert!(err.to_string().contains(
        "no extension named 'gpt-9' is loaded (loaded: json-transform, mock-llm, status-panel)"
    ));

    let workflow = Workflow::from_json(
        r#"{"schema_version": 1, "name": "w", "nodes": [{"id": "x", "kind": "operator", "extension": "mock-llm"}]}"#,
        "w.json",
    )
    .unwrap();
    let err = host.validate(&workflow).unwrap_err().to_string();
    assert!(
        err.contains("node 'x': is an operator node, but 'mock-llm' is an instrument"),
        "{err}"
    );
}

#[test]
fn inspect_reports_world_imports_and_exports() {
    let host = bare_host();
    let info = host.inspect(component("json_transform")).unwrap();
    assert_eq!(info.kind, Some(ExtensionKind::Operator));
    assert_eq!(
        info.world().as_deref(),
        Some("symphony:extension/operator-extension@0.1.1")
    );
    let mut exports: Vec<_> = info.exports.iter().map(|e| e.name.as_str()).collect();
    exports.sort_unstable();
    assert_eq!(
        exports,
        [
            "symphony:extension/lifecycle@0.1.1",
            "symphony:extension/operator@0.1.1"
        ]
    );
    let host_import = info
        .imports
        .iter()
        .find(|i| i.name == "symphony:extension/host@0.1.1")
        .unwrap();
    assert!(host_import.functions.contains(&"config".to_string()));
    let info = host.inspect(fixture("not_an_extension")).unwrap();
    assert_eq!(info.kind, None);
}

#[test]
fn an_extension_built_with_cargo_component_runs_like_the_wasip2_build() {
    let path = symphony_tests::examples_dir().join("workflows/demo.json");
    let workflow = Workflow::from_file(path).unwrap();
    let input = serde_json::json!({"text": "Components are portable. Portable code is great."});

    let reference = host().run(&workflow, &input).unwrap();
    let host = bare_host();
    host.load(component("mock_llm")).unwrap();
    host.load(component("status_panel")).unwrap();
    let options = symphony_host::LoadOptions {
        name: Some("json-transform".into()),
        ..Default::default()
    };
    // Built by `cargo xtask test` with `cargo component build` (wasm32-wasip1 + adapter).
    host.load_with(fixture("json_transform_cargo_component"), options)
        .unwrap();
    let report = host.run(&workflow, &input).unwrap();
    assert_eq!(report.output, reference.output);
    assert!(report.output.is_some());
}

#[test]
fn a_dependency_that_exports_another_interface_is_refused_before_loading() {
    let host = bare_host();
    let root = tempfile::tempdir().unwrap();
    // `caller` calls `base` as a model, but base is an operator.
    symphony_tests::extension_dir(root.path(), "base", "operator", &fixture("hostile"), "");
    symphony_tests::extension_dir(
        root.path(),
        "caller",
        "operator",
        &fixture("hostile"),
        "[dependencies]\nbase = { version = \"^1\", kind = \"instrument\" }\n",
    );
    let error = host
        .load_extensions(
            &[root.path().to_path_buf()],
            &symphony_host::ExtensionSetup::default(),
        )
        .unwrap_err();
    let message = error.to_string();
    assert!(matches!(error, Error::Resolve(_)), "{message}");
    assert!(message.contains("instrument"), "{message}");
    assert!(message.contains("caller"), "{message}");
    assert!(host.extensions().is_empty(), "nothing loaded");

    // Loaded one at a time, the mismatch is named with both interfaces.
    host.load_manifest(
        &symphony_host::Manifest::from_file(root.path().join("base/symphony.toml")).unwrap(),
        &symphony_host::ExtensionSetup::default(),
    )
    .unwrap();
    let caller =
        symphony_host::Manifest::from_file(root.path().join("caller/symphony.toml")).unwrap();
    let message = host
        .load_manifest(&caller, &symphony_host::ExtensionSetup::default())
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("exporting symphony:extension/operator@0.1.1 rather than symphony:extension/instrument@0.1.1"),
        "{message}"
    );
}

#[test]
fn a_component_built_against_wit_0_1_0_still_loads_and_runs() {
    let host = bare_host();
    let old = fixture("old_wit");
    let info = host.inspect(&old).unwrap();
    assert_eq!(info.kind, Some(ExtensionKind::Operator));
    assert_eq!(info.wit_version(), Some("0.1.0"));
    assert!(
        info.imports
            .iter()
            .any(|i| i.name == "symphony:extension/host@0.1.0"),
        "{:?}",
        info.imports
    );
    host.load(&old).unwrap();
    let config = symphony_host::NodeConfig::try_from(serde_json::json!({"suffix": "!"})).unwrap();
    let out = host
        .operator("old-wit")
        .unwrap()
        .process(&config, "abc")
        .unwrap();
    assert_eq!(out, "ABC!");
}
