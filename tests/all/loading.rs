//! Bad components are refused at load with a message that says why.

use symphony_host::{
    Error,
    extension::{ExtensionKind, LoadError},
    workflow::Workflow,
};
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

/// `bytes` with every `from` replaced by `to` (of the same length).
fn replaced(bytes: &[u8], from: &str, to: &str) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let mut out = bytes.to_vec();
    let mut found = 0;
    let mut at = 0;
    while let Some(i) = out[at..]
        .windows(from.len())
        .position(|w| w == from.as_bytes())
    {
        out[at + i..at + i + to.len()].copy_from_slice(to.as_bytes());
        at += i + to.len();
        found += 1;
    }
    assert!(found > 0, "{from} is not in the component");
    out
}

/// A component built against an interface version the host does not link
/// (here WASI 0.3, the example's WASI imports renamed) is refused naming
/// the interface, the version it wants and the version the host has.
#[test]
fn an_interface_version_the_host_does_not_link_is_named() {
    let bytes = std::fs::read(component("json_transform")).unwrap();
    let bytes = replaced(
        &bytes,
        "wasi:cli/environment@0.2.6",
        "wasi:cli/environment@0.3.0",
    );
    let (err, message) = load_error(&bytes);
    assert!(matches!(err, LoadError::UnlinkedImport { .. }), "{message}");
    assert!(
        message.contains("imports wasi:cli/environment@0.3.0, which this host does not provide"),
        "{message}"
    );
    assert!(message.contains("it links wasi:cli@0.2.12"), "{message}");
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
        "no extension named 'gpt-9' is loaded (loaded: c-checksum, js-progress, js-slugify, \
         json-transform, mock-llm, py-title-model, py-word-stats, status-panel)"
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
    let options = symphony_host::extension::LoadOptions {
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
fn a_dependency_that_exports_another_interface_fails_its_dependant_alone() {
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
    let report = host
        .load_extensions(
            &[root.path().to_path_buf()],
            &symphony_host::extension::ExtensionSetup::default(),
        )
        .unwrap();
    let loaded: Vec<&str> = report.loaded.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(loaded, ["base"]);
    let [failure] = &report.not_loaded[..] else {
        panic!("{report:#?}");
    };
    assert_eq!(failure.name, "caller");
    let message = &failure.reason;
    assert!(
        message.contains("its dependencies cannot be met: ")
            && message.contains("caller 1.0.0 needs ^1 (instrument)")
            && message.contains("found 1.0.0 (operator)"),
        "{message}"
    );

    // Loaded on its own, the mismatch is named with both interfaces.
    let caller =
        symphony_host::extension::Manifest::from_file(root.path().join("caller/symphony.toml"))
            .unwrap();
    let message = host
        .load_manifest(
            &caller,
            &symphony_host::extension::ExtensionSetup::default(),
        )
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
    let config =
        symphony_host::extension::NodeConfig::try_from(serde_json::json!({"suffix": "!"})).unwrap();
    let out = host
        .operator("old-wit")
        .unwrap()
        .process(&config, "abc")
        .unwrap();
    assert_eq!(out, "ABC!");
}

/// A workflow of one node calling `extension` (an Operator) on its input.
fn one_node(extension: &str) -> Workflow {
    let doc = serde_json::json!({
        "schema_version": 2, "id": "one", "name": "one", "version": "1.0.0",
        "nodes": [{"id": "only", "kind": "operator", "extension": extension,
                   "config": {"spec": {"steps": []}}}],
        "edges": [],
    });
    Workflow::from_json(&doc.to_string(), "one.json").unwrap()
}

#[test]
fn a_broken_extension_fails_alone_and_the_rest_load_and_run() {
    use symphony_tests::{extension_dir, write_manifest};
    let host = bare_host();
    let root = tempfile::tempdir().unwrap();
    let dir = root.path();
    let good = component("json_transform");
    extension_dir(dir, "json-transform", "operator", &good, "");
    let write = |name: &str, bytes: &[u8]| {
        let path = dir.join(format!("{name}.bytes"));
        std::fs::write(&path, bytes).unwrap();
        path
    };
    let whole = std::fs::read(&good).unwrap();
    let broken = [
        (
            "random-bytes",
            write("random", b"this is certainly not wasm"),
            "not a WebAssembly component",
        ),
        (
            "truncated",
            write("truncated", &whole[..whole.len() / 2]),
            "is not a valid component",
        ),
        (
            "core-module",
            write("core", &[0, b'a', b's', b'm', 1, 0, 0, 0]),
            "core WebAssembly module",
        ),
        (
            "wrong-world",
            fixture("not_an_extension"),
            "does not implement a Symphony extension world",
        ),
    ];
    for (name, bytes, _) in &broken {
        extension_dir(dir, name, "operator", bytes, "");
    }
    // A manifest that does not parse, one naming a component that is not
    // there, an extension needing a broken one, a bare broken component.
    let bad = dir.join("bad-manifest");
    std::fs::create_dir_all(&bad).unwrap();
    write_manifest(&bad, "bad-manifest", "not-a-version", "operator", "");
    let missing = dir.join("missing-component");
    std::fs::create_dir_all(&missing).unwrap();
    write_manifest(&missing, "missing-component", "1.0.0", "operator", "");
    extension_dir(
        dir,
        "needs-broken",
        "operator",
        &good,
        "[dependencies]\ntruncated = \"^1\"\n",
    );
    std::fs::write(dir.join("garbage.wasm"), b"junk").unwrap();

    let report = host
        .load_extensions(&[dir.to_path_buf()], &Default::default())
        .unwrap();
    let loaded: Vec<&str> = report.loaded.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(loaded, ["json-transform"], "{report:#?}");
    let mut failed: Vec<&str> = report.not_loaded.iter().map(|f| f.name.as_str()).collect();
    failed.sort_unstable();
    assert_eq!(
        failed,
        [
            "bad-manifest",
            "core-module",
            "garbage",
            "missing-component",
            "needs-broken",
            "random-bytes",
            "truncated",
            "wrong-world"
        ]
    );
    let reason = |name: &str| {
        let failure = host
            .load_failures()
            .into_iter()
            .find(|f| f.name == name)
            .unwrap();
        (failure.reason, failure.path)
    };
    for (name, _, why) in &broken {
        let (reason, path) = reason(name);
        assert!(reason.contains(why), "{name}: {reason}");
        assert!(path.ends_with(format!("{name}/symphony.toml")), "{path:?}");
    }
    let (why, _) = reason("bad-manifest");
    assert!(why.contains("its manifest is not valid"), "{why}");
    assert!(why.contains("not-a-version"), "{why}");
    let (why, _) = reason("needs-broken");
    assert!(
        why.contains("its dependency truncated failed to load: ")
            && why.contains("not a valid component"),
        "{why}"
    );

    // Workflows of the extensions that loaded run; those naming a broken
    // one fail at validation, saying why.
    let report = host
        .run(&one_node("json-transform"), &serde_json::json!({"a": 1}))
        .unwrap();
    symphony_tests::assert_completed(&report);
    for name in failed {
        let error = host.validate(&one_node(name)).unwrap_err().to_string();
        assert!(
            error.contains(&format!("node 'only': extension '{name}' failed to load: ")),
            "{error}"
        );
        let called = host.operator(name).err().unwrap().to_string();
        assert!(called.contains("failed to load"), "{called}");
    }
    // Each failure is in the audit log, once.
    let records = host.audit().query(&Default::default()).unwrap();
    let loads = records.iter().filter(|r| r.capability == "load").count();
    assert_eq!(loads, 8, "{records:#?}");
}
