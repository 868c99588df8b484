//! Extensions written in Python, JavaScript and C, built by `symphony ext
//! build` (`cargo xtask build-examples`): each example's calls, typed
//! errors, config and hot reload; and, through a fixture per language that
//! does what its input says, lifecycle hooks in order, denied capabilities,
//! traps and the fuel, deadline and memory limits, with the same errors as
//! a Rust guest.

use std::time::Duration;

use serde_json::{Value, json};
use symphony_host::extension::{
    CallError, ExtError, ExtensionSetup, Grants, LifecycleState, Limits, LoadOptions, NodeConfig,
    Operator, UiEvent,
};
use symphony_tests::{
    TestHost, assert_completed, bare_host, call, components_dir, examples_dir, extension_dir,
    fixture, host, write_manifest,
};

/// The fixtures that misbehave on request, one per guest language.
const MISBEHAVING: [&str; 3] = ["py_misbehave", "js_misbehave", "c_misbehave"];

fn config(pairs: Value) -> NodeConfig {
    let Value::Object(map) = pairs else {
        panic!("config is an object")
    };
    NodeConfig::new(map)
}

fn json_of(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// `name` loaded from its fixture under `limits`, with nothing granted.
fn misbehaving(name: &str, limits: Limits) -> (TestHost, Operator) {
    let host = bare_host();
    let options = LoadOptions {
        limits: Some(limits),
        grants: Grants::none(),
        ..LoadOptions::default()
    };
    host.load_with(fixture(name), options)
        .unwrap_or_else(|e| panic!("{name} loads: {e}"));
    let op = host.operator(&name.replace('_', "-")).unwrap();
    (host, op)
}

fn still_serves(name: &str, op: &Operator) {
    let out = json_of(&call(op, json!({"do": "echo"})).unwrap());
    assert!(out["calls"].as_u64().unwrap() >= 1, "{name}: {out}");
}

#[test]
fn every_languages_hooks_run_in_order_at_load_and_shutdown() {
    for name in MISBEHAVING {
        let host = bare_host();
        let root = tempfile::tempdir().unwrap();
        let ext = name.replace('_', "-");
        let publish = "[capabilities]\nbus = { publish = [\"lifecycle.>\"] }\n";
        extension_dir(root.path(), &ext, "operator", &fixture(name), publish);
        let hooks = host.bus().subscribe("lifecycle.>").unwrap();
        let setup = ExtensionSetup {
            grants: vec![(ext.clone(), "publish:lifecycle.>".parse().unwrap())],
            prompt: None,
        };
        let report = host
            .load_extensions(&[root.path().to_path_buf()], &setup)
            .unwrap();
        assert!(report.failed.is_empty(), "{name}: {:?}", report.failed);
        assert_eq!(host.extension(&ext).unwrap().state, LifecycleState::Active);
        let drain = || -> Vec<String> {
            std::iter::from_fn(|| hooks.recv_timeout(Duration::from_millis(300)))
                .map(|m| m.subject.to_string())
                .collect()
        };
        assert_eq!(
            drain(),
            ["lifecycle.on-load", "lifecycle.on-activate"],
            "{name}"
        );
        host.shutdown();
        assert_eq!(
            drain(),
            ["lifecycle.on-deactivate", "lifecycle.on-unload"],
            "{name}"
        );
    }
}

#[test]
fn every_language_reads_config_refuses_typed_and_is_denied_what_it_lacks() {
    for name in MISBEHAVING {
        let (_host, op) = misbehaving(name, Limits::default());
        let out = op
            .process(
                &config(json!({"note": "from the node"})),
                r#"{"do": "echo"}"#,
            )
            .unwrap();
        assert_eq!(json_of(&out)["note"], "from the node", "{name}");

        match call(&op, json!({"do": "invalid"})).unwrap_err() {
            CallError::Guest {
                error: ExtError::InvalidInput(message),
                ..
            } => assert_eq!(message, "told to refuse", "{name}"),
            other => panic!("{name}: {other}"),
        }
        // No bus grant: the host refuses, the SDK passes `denied` on.
        match call(&op, json!({"do": "publish"})).unwrap_err() {
            CallError::Guest {
                error: ExtError::Denied(message),
                ..
            } => assert!(message.contains("not.granted"), "{name}: {message}"),
            other => panic!("{name}: {other}"),
        }
        still_serves(name, &op);
    }
}

#[test]
fn a_trap_in_python_or_c_is_a_trap_and_javascript_has_none_to_make() {
    for name in ["py_misbehave", "c_misbehave"] {
        let (_host, op) = misbehaving(name, Limits::default());
        let err = call(&op, json!({"do": "trap"})).unwrap_err();
        assert!(matches!(err, CallError::Trap { .. }), "{name}: {err}");
        still_serves(name, &op);
    }
    // JavaScript is memory-safe and its engine checks its own stack: what
    // would trap a native guest (here, recursion without end) is an
    // exception, which reaches the host as a typed error.
    let (_host, op) = misbehaving("js_misbehave", Limits::default());
    match call(&op, json!({"do": "trap"})).unwrap_err() {
        CallError::Guest {
            error: ExtError::Failed(message),
            ..
        } => assert!(message.contains("too much recursion"), "{message}"),
        other => panic!("js_misbehave: {other}"),
    }
    still_serves("js_misbehave", &op);
}

#[test]
fn fuel_stops_a_guest_that_loops_in_any_language() {
    for name in MISBEHAVING {
        let limits = Limits {
            fuel: 50_000_000,
            ..Limits::default()
        };
        let (_host, op) = misbehaving(name, limits);
        let err = call(&op, json!({"do": "loop"})).unwrap_err();
        assert!(
            matches!(
                err,
                CallError::OutOfFuel {
                    fuel: 50_000_000,
                    ..
                }
            ),
            "{name}: {err}"
        );
        still_serves(name, &op);
    }
}

#[test]
fn the_deadline_stops_a_guest_that_loops_in_any_language() {
    for name in MISBEHAVING {
        let limits = Limits {
            fuel: u64::MAX,
            deadline: Duration::from_millis(200),
            ..Limits::default()
        };
        let (_host, op) = misbehaving(name, limits);
        let err = call(&op, json!({"do": "loop"})).unwrap_err();
        assert!(matches!(err, CallError::Deadline { .. }), "{name}: {err}");
        assert!(err.to_string().contains("200ms deadline"), "{name}: {err}");
        still_serves(name, &op);
    }
}

#[test]
fn the_memory_limit_stops_a_guest_that_allocates_in_any_language() {
    for name in MISBEHAVING {
        let limits = Limits {
            memory: 48 << 20,
            ..Limits::default()
        };
        let (_host, op) = misbehaving(name, limits);
        let err = call(&op, json!({"do": "alloc"})).unwrap_err();
        match &err {
            CallError::MemoryLimit {
                limit, requested, ..
            } => {
                assert_eq!(*limit, 48 << 20, "{name}");
                assert!(*requested > *limit, "{name}: {err}");
            }
            other => panic!("{name}: {other}"),
        }
        still_serves(name, &op);
    }
}

#[test]
fn a_reload_hands_state_over_through_snapshot_and_restore_in_every_language() {
    for name in MISBEHAVING {
        let host = bare_host();
        let root = tempfile::tempdir().unwrap();
        let ext = name.replace('_', "-");
        let dir = extension_dir(root.path(), &ext, "operator", &fixture(name), "");
        host.load_extensions(&[root.path().to_path_buf()], &ExtensionSetup::default())
            .unwrap();
        let op = host.operator(&ext).unwrap();
        for _ in 0..3 {
            call(&op, json!({"do": "echo"})).unwrap();
        }
        write_manifest(&dir, &ext, "1.1.0", "operator", "");
        let report = host.reload(&ext).unwrap();
        assert!(report.changed, "{name}");
        assert!(report.state_bytes.unwrap() > 0, "{name}");
        let out = json_of(&call(&op, json!({"do": "echo"})).unwrap());
        assert_eq!(out["calls"], 4, "{name}: the count survived the reload");
    }
}

#[test]
fn the_python_operator_counts_words_reads_its_config_and_refuses_typed() {
    let host = host();
    let op = host.operator("py-word-stats").unwrap();
    let out = op
        .process(
            &config(json!({"field": "body", "top": 2})),
            r#"{"body": "The cat saw the other cat. A dog saw it.", "id": 7}"#,
        )
        .unwrap();
    let out = json_of(&out);
    assert_eq!(out["id"], 7, "the rest passes through");
    assert_eq!(out["stats"]["words"], 10);
    assert_eq!(out["stats"]["top"], json!(["cat", "saw"]));
    let err = op
        .process(&config(json!({})), r#"{"body": "no text field"}"#)
        .unwrap_err();
    assert!(
        matches!(&err, CallError::Guest { error: ExtError::InvalidInput(m), .. } if m.contains("\"text\"")),
        "{err}"
    );
    let err = op.process(&config(json!({})), "[1, 2]").unwrap_err();
    assert!(
        matches!(
            &err,
            CallError::Guest { error: ExtError::InvalidInput(m), .. } if m.contains("JSON object")
        ),
        "{err}"
    );
}

#[test]
fn the_python_instrument_configures_invokes_and_reports_health() {
    let host = host();
    let model = host.instrument("py-title-model").unwrap();
    let out = model
        .invoke(
            &config(json!({"max_words": 3})),
            r#"{"text": "symphony runs many small extensions. It is fast."}"#,
        )
        .unwrap();
    assert_eq!(json_of(&out)["title"], "Symphony Runs Many …");
    let err = model
        .invoke(&config(json!({"max_words": 0})), r#""text""#)
        .unwrap_err();
    assert!(
        matches!(
            &err,
            CallError::Guest {
                function: "configure",
                error: ExtError::InvalidConfig(_),
                ..
            }
        ),
        "{err}"
    );
    let health = model.health_check().unwrap();
    assert_eq!(health.status, "healthy");
    assert!(health.detail.unwrap().contains("calls served"));
}

#[test]
fn the_javascript_operator_slugs_with_its_config_and_refuses_typed() {
    let host = host();
    let op = host.operator("js-slugify").unwrap();
    let out = op
        .process(
            &config(json!({"max_length": 12})),
            r#"{"text": "Crème brûlée, à la carte!"}"#,
        )
        .unwrap();
    let out = json_of(&out);
    assert_eq!(out["slug"], "creme-brulee");
    assert_eq!(out["text"], "Crème brûlée, à la carte!");
    let err = op
        .process(&config(json!({})), r#"{"text": 3}"#)
        .unwrap_err();
    assert!(
        matches!(
            &err,
            CallError::Guest {
                error: ExtError::InvalidInput(_),
                ..
            }
        ),
        "{err}"
    );
    let err = op
        .process(&config(json!({"max_length": 0})), r#"{"text": "x"}"#)
        .unwrap_err();
    assert!(
        matches!(
            &err,
            CallError::Guest {
                error: ExtError::InvalidConfig(_),
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn the_javascript_addon_renders_handles_events_and_keeps_state_across_a_reload() {
    let host = bare_host();
    let root = tempfile::tempdir().unwrap();
    let dir = extension_dir(
        root.path(),
        "js-progress",
        "addon",
        &components_dir().join("js-progress/js_progress.wasm"),
        "",
    );
    host.load_extensions(&[root.path().to_path_buf()], &ExtensionSetup::default())
        .unwrap();
    let addon = host.addon("js-progress").unwrap();
    let run = r#"{"workflow": "w", "state": "running",
        "nodes": [{"id": "a", "state": "completed"}, {"id": "b", "state": "running"}]}"#;
    let texts = |nodes: Vec<symphony_host::extension::VNode>| -> Vec<String> {
        nodes.into_iter().filter_map(|n| n.text).collect()
    };
    assert_eq!(
        texts(addon.render(run).unwrap()),
        ["50%", "hide nodes", "✓ a", "▶ b"]
    );
    let click = UiEvent {
        target: 2,
        name: "click".into(),
        payload: "null".into(),
    };
    assert_eq!(
        json_of(&addon.handle_event(&click).unwrap()),
        json!({"show_nodes": false})
    );
    write_manifest(&dir, "js-progress", "1.1.0", "addon", "");
    assert!(host.reload("js-progress").unwrap().changed);
    assert_eq!(
        json_of(&addon.get_state().unwrap()),
        json!({"show_nodes": false}),
        "the folded state survived the reload"
    );
    assert_eq!(texts(addon.render(run).unwrap()), ["50%", "show nodes"]);
}

#[test]
fn the_c_operator_adds_a_checksum_with_its_config_and_refuses_typed() {
    let host = host();
    let op = host.operator("c-checksum").unwrap();
    let out = json_of(&op.process(&config(json!({})), r#"{"a": 1}"#).unwrap());
    assert_eq!(out["a"], 1);
    assert_eq!(out["checksum"].as_str().unwrap().len(), 16, "{out}");
    let short = json_of(
        &op.process(&config(json!({"algorithm": "fnv1a-32"})), "{}")
            .unwrap(),
    );
    assert_eq!(short["checksum"].as_str().unwrap().len(), 8, "{short}");
    let err = op.process(&config(json!({})), "[1]").unwrap_err();
    assert!(
        matches!(&err, CallError::Guest { error: ExtError::InvalidInput(m), .. } if m.contains("JSON object")),
        "{err}"
    );
}

#[test]
fn the_polyglot_workflow_runs_rust_python_javascript_and_c_in_one_run() {
    let host = host();
    let workflow = symphony_host::workflow::Workflow::from_file(
        examples_dir().join("workflows/polyglot.json"),
    )
    .unwrap();
    let input: Value = json_of(
        &std::fs::read_to_string(examples_dir().join("workflows/demo-input.json")).unwrap(),
    );
    let report = host.run(&workflow, &input).unwrap();
    assert_completed(&report);
    let output = report.output.as_ref().unwrap();
    assert_eq!(output["model"], "mock-llm", "from Rust");
    assert_eq!(output["stats"]["top"][0], "extension", "from Python");
    assert_eq!(
        output["slug"], "each-extension-is-a-webassembly",
        "from JavaScript"
    );
    assert_eq!(output["checksum"].as_str().unwrap().len(), 8, "from C");
}

#[test]
fn the_host_records_the_wasi_version_and_toolchain_each_component_was_built_with() {
    let host = host();
    for (name, wasi, sdk) in [
        ("py-word-stats", "0.2.9", "componentize-py"),
        ("js-slugify", "0.2.12", "componentize-js"),
        ("c-checksum", "0.2.12", "clang"),
    ] {
        let info = host.extension(name).unwrap();
        assert_eq!(
            info.wasi.map(|v| v.to_string()).as_deref(),
            Some(wasi),
            "{name}"
        );
        assert!(
            info.producers
                .iter()
                .any(|p| p.field == "sdk" && p.name == sdk && !p.version.is_empty()),
            "{name}: {:?}",
            info.producers
        );
    }
    let rust = host.extension("mock-llm").unwrap();
    assert!(
        rust.producers
            .iter()
            .any(|p| p.field == "language" && p.name == "Rust"),
        "{:?}",
        rust.producers
    );
}
