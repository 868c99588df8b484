//! The extension lifecycle: hooks in dependency order, deactivation,
//! quarantine after repeated crashes, and hot reload with state handover
//! and rollback.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};
use symphony_host::{
    Error, Host,
    extension::{CallError, CrashPolicy, ExtensionSetup, LifecycleState, UiEvent},
};
use symphony_tests::{
    TestHost, bare_host, bare_host_with, call, component, extension_dir, fixture, write_manifest,
};

fn grant(name: &str, capability: &str) -> (String, symphony_host::extension::Capability) {
    (name.to_string(), capability.parse().unwrap())
}

/// Every message on the subscription until it goes quiet, as
/// (sender, subject).
fn drain(sub: &symphony_host::bus::Subscription) -> Vec<(String, String)> {
    std::iter::from_fn(|| sub.recv_timeout(Duration::from_millis(200)))
        .map(|m| (m.sender.to_string(), m.subject.to_string()))
        .collect()
}

#[test]
fn hooks_run_dependencies_first_and_shutdown_runs_them_in_reverse() {
    let host = bare_host();
    let root = tempfile::tempdir().unwrap();
    let hostile = fixture("hostile");
    // `top` depends on `base`; names sort the other way round, so only the
    // dependency order can put base first.
    let publish = "[capabilities]\nbus = { publish = [\"lifecycle.>\"] }\n";
    extension_dir(root.path(), "base", "operator", &hostile, publish);
    extension_dir(
        root.path(),
        "a-top",
        "operator",
        &hostile,
        &format!("{publish}[dependencies]\nbase = \"^1\"\n"),
    );
    let hooks = host.bus().subscribe("lifecycle.>").unwrap();
    let setup = ExtensionSetup {
        grants: vec![
            grant("base", "publish:lifecycle.>"),
            grant("a-top", "publish:lifecycle.>"),
        ],
        prompt: None,
    };
    let report = host
        .load_extensions(&[root.path().to_path_buf()], &setup)
        .unwrap();
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    let hook = |who: &str, hook: &str| (who.to_string(), format!("lifecycle.{hook}"));
    assert_eq!(
        drain(&hooks),
        [
            hook("base", "on-load"),
            hook("base", "on-activate"),
            hook("a-top", "on-load"),
            hook("a-top", "on-activate"),
        ]
    );
    for name in ["base", "a-top"] {
        let info = host.extension(name).unwrap();
        assert_eq!(info.state, LifecycleState::Active);
        let steps: Vec<_> = info.history.iter().map(|t| t.to).collect();
        assert_eq!(
            steps,
            [
                LifecycleState::Resolved,
                LifecycleState::Loaded,
                LifecycleState::Active
            ]
        );
    }
    host.shutdown();
    assert_eq!(
        drain(&hooks),
        [
            hook("a-top", "on-deactivate"),
            hook("a-top", "on-unload"),
            hook("base", "on-deactivate"),
            hook("base", "on-unload"),
        ]
    );
    // A dependency cannot go while its dependant is loaded.
    let error = host.unload("base").unwrap_err();
    assert!(
        matches!(&error, Error::InUse { dependants, .. } if dependants == &["a-top"]),
        "{error}"
    );
    host.unload("a-top").unwrap();
    host.unload("base").unwrap();
    assert!(host.extensions().is_empty());
}

fn hostile_host(policy: CrashPolicy) -> (TestHost, symphony_host::extension::Operator) {
    let host = bare_host_with(|builder| builder.crash_policy(policy));
    host.load(fixture("hostile")).unwrap();
    let op = host.operator("hostile").unwrap();
    (host, op)
}

#[test]
fn a_deactivated_extension_refuses_calls_until_activated_again() {
    let (host, op) = hostile_host(CrashPolicy::default());
    host.deactivate("hostile").unwrap();
    let error = call(&op, json!({"mode": "echo", "value": 1})).unwrap_err();
    assert!(
        matches!(
            error,
            CallError::Unavailable {
                state: LifecycleState::Inactive,
                ..
            }
        ),
        "{error}"
    );
    assert!(
        error.to_string().contains("activate or reload it"),
        "{error}"
    );
    // Deactivating twice is a step the state machine does not take.
    let error = host.deactivate("hostile").unwrap_err();
    assert!(
        error.to_string().contains("from inactive to inactive"),
        "{error}"
    );
    host.activate("hostile").unwrap();
    assert_eq!(call(&op, json!({"mode": "echo", "value": 1})).unwrap(), "1");
    assert_eq!(host.metrics("hostile").unwrap().errors.unavailable, 1);
}

#[test]
fn repeated_crashes_quarantine_the_extension_and_announce_it() {
    let policy = CrashPolicy {
        max_failures: 3,
        window: Duration::from_secs(600),
    };
    let (host, op) = hostile_host(policy);
    let events = host.bus().subscribe("ext.hostile.quarantined").unwrap();
    for _ in 0..2 {
        let error = call(&op, json!({"mode": "panic"})).unwrap_err();
        assert!(matches!(error, CallError::Trap { .. }), "{error}");
        // The trapped instance is replaced: the next call is served.
        assert_eq!(call(&op, json!({"mode": "echo", "value": 1})).unwrap(), "1");
    }
    // A guest's own error is not a crash.
    let error = call(&op, json!({"mode": "nonsense"})).unwrap_err();
    assert!(matches!(error, CallError::Guest { .. }), "{error}");
    assert_eq!(host.extension("hostile").unwrap().failures, 2);

    call(&op, json!({"mode": "panic"})).unwrap_err();
    let info = host.extension("hostile").unwrap();
    assert_eq!(info.state, LifecycleState::Failed);
    assert_eq!((info.failures, info.recent_failures), (3, 3));
    let reason = info.last_error.unwrap();
    assert!(reason.contains("quarantined after 3 crashes"), "{reason}");
    let event: Value = serde_json::from_slice(
        &events
            .recv_timeout(Duration::from_secs(2))
            .expect("a quarantine event")
            .payload,
    )
    .unwrap();
    assert_eq!(event["failures"], 3);
    let last = event["last_error"].as_str().unwrap();
    assert!(last.contains("hostile.process trapped"), "{last}");

    let error = call(&op, json!({"mode": "echo", "value": 1})).unwrap_err();
    assert!(
        matches!(&error, CallError::Unavailable { state: LifecycleState::Failed, reason: Some(r), .. } if r.contains("quarantined")),
        "{error}"
    );
    // Activating again lifts the quarantine with a fresh window.
    host.activate("hostile").unwrap();
    assert_eq!(call(&op, json!({"mode": "echo", "value": 1})).unwrap(), "1");
    call(&op, json!({"mode": "panic"})).unwrap_err();
    assert_eq!(
        host.extension("hostile").unwrap().state,
        LifecycleState::Active
    );
}

/// Loads one extension from a directory of its own (see
/// [`extension_dir`]); returns the root to keep and the directory.
fn load_one(
    host: &Host,
    name: &str,
    kind: &str,
    wasm: &Path,
    extra: &str,
) -> (tempfile::TempDir, PathBuf) {
    let root = tempfile::tempdir().unwrap();
    let dir = extension_dir(root.path(), name, kind, wasm, extra);
    host.load_extensions(&[root.path().to_path_buf()], &ExtensionSetup::default())
        .unwrap();
    (root, dir)
}

/// The status panel (an Addon with one instance), loaded from its
/// manifest in a directory of its own.
fn status_panel(host: &Host) -> (tempfile::TempDir, PathBuf) {
    load_one(
        host,
        "status-panel",
        "addon",
        &component("status_panel"),
        "",
    )
}

fn toggle() -> UiEvent {
    UiEvent {
        target: 0,
        name: "toggle-details".into(),
        payload: String::new(),
    }
}

#[test]
fn a_reload_hands_the_state_over_and_new_calls_reach_the_new_version() {
    let host = bare_host();
    let (_root, dir) = status_panel(&host);
    let addon = host.addon("status-panel").unwrap();
    addon.handle_event(&toggle()).unwrap();
    let reloads = host.bus().subscribe("ext.status-panel.reload").unwrap();

    // Nothing changed: nothing is replaced.
    let report = host.reload("status-panel").unwrap();
    assert!(!report.changed);

    write_manifest(&dir, "status-panel", "1.1.0", "addon", "");
    let report = host.reload("status-panel").unwrap();
    assert!(report.changed);
    assert_eq!(report.from_version.unwrap().to_string(), "1.0.0");
    assert_eq!(report.to_version.unwrap().to_string(), "1.1.0");
    assert!(report.state_bytes.unwrap() > 0);
    let state: Value = serde_json::from_str(&addon.get_state().unwrap()).unwrap();
    assert_eq!(
        state["details"], true,
        "the toggled state survived: {state}"
    );
    let info = host.extension("status-panel").unwrap();
    assert_eq!(info.version.unwrap().to_string(), "1.1.0");
    assert_eq!(info.state, LifecycleState::Active);
    let event: Value = serde_json::from_slice(
        &reloads
            .recv_timeout(Duration::from_secs(2))
            .unwrap()
            .payload,
    )
    .unwrap();
    assert_eq!(event["ok"], true);
}

#[test]
fn a_reload_that_fails_leaves_the_old_version_serving() {
    let host = bare_host();
    let (_root, dir) = status_panel(&host);
    let addon = host.addon("status-panel").unwrap();
    addon.handle_event(&toggle()).unwrap();

    // A component of another world.
    std::fs::copy(fixture("not_an_extension"), dir.join("ext.wasm")).unwrap();
    let error = host.reload("status-panel").unwrap_err();
    assert!(matches!(error, Error::Reload { .. }), "{error}");
    assert!(
        error.to_string().contains("version 1.0.0 still serves"),
        "{error}"
    );
    // Bytes that are no component at all.
    std::fs::write(dir.join("ext.wasm"), b"half a compo").unwrap();
    let error = host.reload("status-panel").unwrap_err().to_string();
    assert!(error.contains("still serves"), "{error}");
    // A manifest that no longer parses.
    std::fs::copy(component("status_panel"), dir.join("ext.wasm")).unwrap();
    std::fs::write(dir.join("symphony.toml"), "[extension]\nname = 3\n").unwrap();
    let error = host.reload("status-panel").unwrap_err().to_string();
    assert!(error.contains("symphony.toml:2"), "{error}");

    let state: Value = serde_json::from_str(&addon.get_state().unwrap()).unwrap();
    assert_eq!(state["details"], true, "the old instance still serves");
    let info = host.extension("status-panel").unwrap();
    assert_eq!(info.state, LifecycleState::Active);
    assert_eq!(info.version.unwrap().to_string(), "1.0.0");
    assert!(info.last_error.unwrap().contains("symphony.toml:2"));
}

#[test]
fn the_watcher_reloads_a_changed_manifest() {
    let host = bare_host();
    let (_root, dir) = status_panel(&host);
    let (sent, reloaded) = std::sync::mpsc::channel();
    let watcher = host
        .watch(move |event| {
            let _ = sent.send(event);
        })
        .unwrap();
    write_manifest(&dir, "status-panel", "2.0.0", "addon", "");
    let event = reloaded
        .recv_timeout(Duration::from_secs(10))
        .expect("the watcher reloads");
    assert_eq!(event.name, "status-panel");
    let report = event.result.unwrap();
    assert_eq!(report.to_version.unwrap().to_string(), "2.0.0");
    drop(watcher);
    assert_eq!(
        host.extension("status-panel")
            .unwrap()
            .version
            .unwrap()
            .to_string(),
        "2.0.0"
    );
}

/// The hostile fixture from a manifest whose `label` config defaults to
/// `label` and whose deadline is long enough for a slow call.
fn labelled(label: &str) -> String {
    format!(
        "[config.label]\ntype = \"string\"\ndefault = \"{label}\"\n\
         [limits]\ndeadline = \"20s\"\n"
    )
}

#[test]
fn a_reload_under_a_long_call_lets_it_finish_on_the_old_version() {
    let host = bare_host();
    let (_root, dir) = load_one(
        &host,
        "slow",
        "operator",
        &fixture("hostile"),
        &labelled("one"),
    );
    let workflow = symphony_host::workflow::Workflow::from_json(
        r#"{"schema_version": 2, "id": "w", "name": "w", "version": "1.0.0",
            "nodes": [{"id": "n", "kind": "operator", "extension": "slow"}]}"#,
        "test",
    )
    .unwrap();
    let output = |report: symphony_host::runs::RunReport| {
        assert!(report.error.is_none(), "{:?}", report.error);
        report.output
    };

    let long = {
        let (host, workflow) = ((*host).clone(), workflow.clone());
        std::thread::spawn(move || host.run(&workflow, &json!({"mode": "sleep", "ms": 1500})))
    };
    // Let the long call start on version 1.0.0, then replace it.
    std::thread::sleep(Duration::from_millis(300));
    write_manifest(&dir, "slow", "1.1.0", "operator", &labelled("two"));
    let report = host.reload("slow").unwrap();
    assert_eq!(report.to_version.unwrap().to_string(), "1.1.0");

    let after = host
        .run(&workflow, &json!({"mode": "sleep", "ms": 0}))
        .unwrap();
    assert_eq!(output(after), Some(json!("two")), "new calls reach 1.1.0");
    let before = long.join().unwrap().unwrap();
    assert_eq!(
        output(before),
        Some(json!("one")),
        "the long call finished on 1.0.0"
    );
    let info = host.extension("slow").unwrap();
    assert_eq!(info.failures, 0);
    // Each operator node calls validate-input, process and validate-output.
    assert_eq!(
        host.metrics("slow").unwrap().calls,
        6,
        "metrics span versions"
    );
}

#[test]
fn a_reload_that_breaks_a_dependant_or_a_dependency_is_refused() {
    let host = bare_host();
    let root = tempfile::tempdir().unwrap();
    let hostile = fixture("hostile");
    let base = extension_dir(root.path(), "base", "operator", &hostile, "");
    let top = extension_dir(
        root.path(),
        "top",
        "operator",
        &hostile,
        "[dependencies]\nbase = \"^1\"\n",
    );
    host.load_extensions(&[root.path().to_path_buf()], &ExtensionSetup::default())
        .unwrap();

    write_manifest(&base, "base", "2.0.0", "operator", "");
    let error = host.reload("base").unwrap_err().to_string();
    assert!(
        error.contains("top needs base ^1, and the new version is 2.0.0"),
        "{error}"
    );
    write_manifest(
        &top,
        "top",
        "1.1.0",
        "operator",
        "[dependencies]\nghost = \"^1\"\n",
    );
    let error = host.reload("top").unwrap_err().to_string();
    assert!(
        error.contains("it needs ghost ^1, but it is not loaded"),
        "{error}"
    );
    for name in ["base", "top"] {
        let info = host.extension(name).unwrap();
        assert_eq!(info.version.unwrap().to_string(), "1.0.0", "{name} kept");
    }
}

#[test]
fn a_quarantined_extension_reloaded_with_a_new_version_serves_again() {
    let host = bare_host_with(|builder| {
        builder.crash_policy(CrashPolicy {
            max_failures: 1,
            window: Duration::from_secs(600),
        })
    });
    let (_root, dir) = load_one(&host, "fragile", "operator", &fixture("hostile"), "");
    let op = host.operator("fragile").unwrap();
    call(&op, json!({"mode": "panic"})).unwrap_err();
    assert_eq!(
        host.extension("fragile").unwrap().state,
        LifecycleState::Failed
    );
    // Unchanged, a reload changes nothing and the quarantine stays.
    assert!(!host.reload("fragile").unwrap().changed);
    assert_eq!(
        host.extension("fragile").unwrap().state,
        LifecycleState::Failed
    );

    write_manifest(&dir, "fragile", "1.0.1", "operator", "");
    assert!(host.reload("fragile").unwrap().changed);
    let info = host.extension("fragile").unwrap();
    assert_eq!(info.state, LifecycleState::Active);
    assert_eq!(info.history.last().unwrap().reason, "reloaded");
    assert_eq!(call(&op, json!({"mode": "echo", "value": 2})).unwrap(), "2");
}
