//! Calling each kind of extension directly through the library API.

use serde_json::{Map, Value, json};
use symphony_host::extension::{CallError, ExtError, NodeConfig, UiEvent, render_text};
use symphony_tests::host;

fn config(value: Value) -> NodeConfig {
    NodeConfig::try_from(value).unwrap()
}

#[test]
fn instrument_is_configured_per_call_config() {
    let host = host();
    let llm = host.instrument("mock-llm").unwrap();
    let text = "\"Alpha beta. Alpha gamma. Delta.\"";
    let short = llm
        .invoke(&config(json!({"keywords": 1, "tasks": ["keywords"]})), text)
        .unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&short).unwrap(),
        json!({"model": "mock-llm", "tokens": 5, "keywords": ["alpha"]})
    );
    let full: Value =
        serde_json::from_str(&llm.invoke(&NodeConfig::default(), text).unwrap()).unwrap();
    assert!(
        full.get("summary").is_some() && full.get("sentiment").is_some(),
        "{full}"
    );

    let err = llm
        .invoke(&config(json!({"keywords": 500})), text)
        .unwrap_err();
    match err {
        CallError::Guest {
            function: "configure",
            error: ExtError::InvalidConfig(message),
            ..
        } => {
            assert!(message.contains("keywords must be 0 to 50"), "{message}");
        }
        other => panic!("expected an invalid config, got {other}"),
    }
    let health = llm.health_check().unwrap();
    assert_eq!(health.status, "healthy");
}

#[test]
fn operator_reports_bad_specs_and_inputs_as_guest_errors() {
    let host = host();
    let op = host.operator("json-transform").unwrap();
    let spec =
        config(json!({"spec": {"steps": [{"select": {"n": "$.a"}}], "require_input": ["$.a"]}}));
    assert_eq!(op.process(&spec, r#"{"a": 5}"#).unwrap(), r#"{"n":5}"#);

    let err = op.validate_input(&spec, r#"{"b": 1}"#).unwrap_err();
    assert!(
        matches!(&err, CallError::Guest { error: ExtError::InvalidInput(m), .. } if m.contains("$.a")),
        "{err}"
    );
    let err = op.process(&NodeConfig::new(Map::new()), "{}").unwrap_err();
    assert!(
        matches!(&err, CallError::Guest { error: ExtError::InvalidConfig(m), .. } if m.contains("needs a 'spec'")),
        "{err}"
    );
    let bad = config(json!({"spec": {"steps": [{"map": {"path": "$", "op": "explode"}}]}}));
    let err = op.process(&bad, "{}").unwrap_err();
    assert!(err.to_string().contains("unknown op 'explode'"), "{err}");
}

#[test]
fn addon_keeps_its_ui_state_between_calls() {
    let host = host();
    let panel = host.addon("status-panel").unwrap();
    let status = json!({"workflow": "w", "state": "failed", "nodes": [
        {"id": "a", "kind": "operator", "extension": "x", "state": "failed", "error": "boom"}
    ]})
    .to_string();
    assert!(!render_text(&panel.render(&status).unwrap()).contains("error: boom"));
    let toggle = UiEvent {
        target: 0,
        name: "toggle-details".into(),
        payload: "null".into(),
    };
    let changed: Value = serde_json::from_str(&panel.handle_event(&toggle).unwrap()).unwrap();
    assert_eq!(changed["details"], true);
    let text = render_text(&panel.render(&status).unwrap());
    assert!(
        text.contains("  error: boom") && text.ends_with("Hide details\n"),
        "{text}"
    );

    let bad = UiEvent {
        target: 0,
        name: "explode".into(),
        payload: "null".into(),
    };
    assert!(matches!(
        panel.handle_event(&bad),
        Err(CallError::Guest {
            error: ExtError::InvalidInput(_),
            ..
        })
    ));
}
