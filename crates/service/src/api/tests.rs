use super::*;
use symphony_host::protocol::Envelope;

/// Every example of `PROTOCOL.md`: (kind, JSON payload).
fn documented() -> Vec<(String, Value)> {
    let doc = include_str!("../../../../PROTOCOL.md");
    let mut examples = Vec::new();
    let mut lines = doc.lines();
    while let Some(line) = lines.next() {
        let Some(kind) = line.strip_prefix("```json ") else {
            continue;
        };
        let body: Vec<&str> = lines.by_ref().take_while(|l| *l != "```").collect();
        let value = serde_json::from_str(&body.join("\n"))
            .unwrap_or_else(|e| panic!("PROTOCOL.md, example of {kind}: {e}"));
        examples.push((kind.trim().to_string(), value));
    }
    examples
}

#[test]
fn every_example_in_the_protocol_document_is_accepted_by_the_registry() {
    let registry = registry();
    let examples = documented();
    for (kind, value) in &examples {
        let payload = rmp_serde::to_vec_named(value).unwrap();
        let envelope = Envelope::new(kind.as_str(), kind.as_str(), payload);
        registry
            .validate(&envelope)
            .unwrap_or_else(|e| panic!("PROTOCOL.md, example of {kind}: {e}"));
    }
    // And every type of the API has one.
    let shown: Vec<&str> = examples.iter().map(|(k, _)| k.as_str()).collect();
    for (kind, versions) in registry.types() {
        if kind.starts_with(PREFIX) {
            assert_eq!(versions, [1], "{kind}");
            assert!(
                shown.contains(&kind.as_str()),
                "PROTOCOL.md has no example of {kind}"
            );
        }
    }
}

#[test]
fn requests_round_trip_as_maps_and_their_rules_are_checked() {
    let start = RunStart {
        workflow_path: Some("wf.json".into()),
        run_id: Some("run-1".into()),
        ..RunStart::default()
    };
    let envelope = start.to_envelope(RunStart::KIND).unwrap();
    let raw: Value = rmp_serde::from_slice(&envelope.payload).unwrap();
    assert_eq!(raw["workflow_path"], "wf.json", "fields travel by name");
    assert_eq!(RunStart::from_envelope(&envelope).unwrap(), start);

    let bad = [
        RunStart::default(),
        RunStart {
            workflow: Some(serde_json::json!({})),
            workflow_path: Some("x".into()),
            ..RunStart::default()
        },
        RunStart {
            workflow_path: Some("x".into()),
            run_id: Some("no spaces".into()),
            ..RunStart::default()
        },
    ];
    for request in bad {
        let envelope = request.to_envelope(RunStart::KIND).unwrap();
        assert!(registry().validate(&envelope).is_err(), "{request:?}");
    }
    let huge = ArtifactPut {
        content: Some(vec![0; MAX_INLINE + 1]),
        ..ArtifactPut::default()
    };
    let message = huge.check().unwrap_err();
    assert!(message.contains("send large content by path"), "{message}");
}

#[test]
fn error_kinds_read_back_from_their_names() {
    for kind in [
        ErrorKind::NotFound,
        ErrorKind::Denied,
        ErrorKind::UnknownType,
    ] {
        assert_eq!(ErrorKind::from_name(kind.as_str()), kind);
    }
    assert_eq!(ErrorKind::from_name("martian"), ErrorKind::Internal);
}
