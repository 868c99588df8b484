//! Workflow runs keep their node outputs in the Artifact Store: tagged with
//! the run, versioned per node, linked to what they were computed from.

use serde_json::{Value, json};
use symphony_host::{
    artifacts::{ListQuery, SearchQuery},
    runs::{RunOptions, RunReport},
    workflow::Workflow,
};
use symphony_tests::{TestHost, assert_completed, bare_host, with_hostile};

/// A node of the hostile fixture that outputs `label`.
fn labelled(id: &str, label: &str) -> Value {
    json!({"id": id, "kind": "operator", "extension": "hostile",
           "config": {"mode": "sleep", "ms": 0, "label": label}})
}

fn chain() -> Workflow {
    let doc = json!({
        "schema_version": 2, "id": "art", "name": "artifacts test", "version": "1.0.0",
        "nodes": [labelled("a", "alpha report"), labelled("b", "beta summary"), labelled("c", "gamma")],
        "edges": [{"from": "a", "to": "b"}, {"from": "c", "to": "b"}],
    });
    Workflow::from_json(&doc.to_string(), "art.json").unwrap()
}

fn run(host: &TestHost, options: RunOptions) -> RunReport {
    let report = host
        .run_with_options(&chain(), &json!({"question": "why"}), options, &mut |_| {})
        .unwrap();
    assert_completed(&report);
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    report
}

fn artifact_of(report: &RunReport, node: &str) -> String {
    let entry = report.nodes.iter().find(|n| n.id == node).unwrap();
    entry
        .artifact
        .clone()
        .unwrap_or_else(|| panic!("node {node} has no artifact"))
}

#[test]
fn node_outputs_are_stored_tagged_versioned_and_linked_to_their_inputs() {
    let (host, _) = with_hostile(bare_host(), Default::default());
    let report = run(&host, RunOptions::default());
    let store = host.artifacts();
    let (a, b, c) = (
        artifact_of(&report, "a"),
        artifact_of(&report, "b"),
        artifact_of(&report, "c"),
    );

    let content: Value = serde_json::from_slice(&store.get(&b).unwrap()).unwrap();
    assert_eq!(content, json!("beta summary"));
    let info = store.info(&b).unwrap();
    assert_eq!(info.content_type.as_deref(), Some("application/json"));
    assert_eq!(info.creator.as_deref(), Some("hostile"));
    let run_tag = format!("run:{}", report.run_id);
    for tag in [run_tag.as_str(), "workflow:art", "output"] {
        assert!(
            info.tags.iter().any(|t| t == tag),
            "{tag} in {:?}",
            info.tags
        );
    }
    assert_eq!(info.field("run"), Some(report.run_id.as_str()));
    assert_eq!(info.field("node"), Some("b"));
    // The node is the version's name, not a tag: tags stay bounded however
    // many nodes produce the same content.
    assert!(
        !info.tags.iter().any(|t| t.starts_with("node:")),
        "{:?}",
        info.tags
    );

    let mut inputs = vec![a.clone(), c.clone()];
    inputs.sort();
    assert_eq!(store.derived_from(&b).unwrap(), inputs);
    assert_eq!(store.derivatives(&a).unwrap(), [b.as_str()]);
    let input = store.derived_from(&a).unwrap();
    assert_eq!(
        input,
        store.derived_from(&c).unwrap(),
        "roots derive from the run's input"
    );
    let input_info = store.info(&input[0]).unwrap();
    assert!(input_info.tags.iter().any(|t| t == "input"));
    let stored_input: Value = serde_json::from_slice(&store.get(&input[0]).unwrap()).unwrap();
    assert_eq!(stored_input, json!({"question": "why"}));

    let listed = store
        .list(&ListQuery {
            tags: vec![run_tag],
            ..ListQuery::default()
        })
        .unwrap();
    assert_eq!(listed.len(), 4, "three outputs and the input");

    let found = store
        .search(&SearchQuery {
            text: "beta summary".into(),
            tags: vec![format!("run:{}", report.run_id)],
            ..SearchQuery::default()
        })
        .unwrap();
    assert_eq!(found.total, 1, "node outputs are found by search");
    assert_eq!(found.hits[0].id, b);
    let snippet = found.hits[0]
        .highlight
        .as_ref()
        .unwrap()
        .to_marked("<", ">");
    assert!(snippet.contains("<beta>"), "{snippet}");

    // A second run with the same outputs stores nothing new: one version
    // per node, two copies.
    let again = run(&host, RunOptions::default());
    assert_eq!(artifact_of(&again, "b"), b);
    let history = store.history("art/b").unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].id, b);
    assert_eq!(store.info(&b).unwrap().copies, 2);
}

#[test]
fn outputs_are_not_kept_when_the_run_says_so() {
    let (host, _) = with_hostile(bare_host(), Default::default());
    let report = run(
        &host,
        RunOptions {
            store_outputs: false,
            ..RunOptions::default()
        },
    );
    assert!(report.nodes.iter().all(|n| n.artifact.is_none()));
    assert_eq!(host.artifacts().stats().unwrap().puts, 0);
}

#[test]
fn a_host_with_a_retention_policy_archives_on_its_schedule_and_reads_back() {
    let home = tempfile::tempdir().unwrap();
    let policy = symphony_host::artifacts::stale::RetentionPolicy::from_toml_str(
        "archive_after_days = 0\n[schedule]\ninterval = \"1s\"",
    )
    .unwrap();
    let host = symphony_host::Host::builder()
        .home(home.path())
        .retention(policy)
        .build()
        .unwrap();
    let id = host
        .artifacts()
        .put(b"idle content for the schedule")
        .unwrap();
    // The first run is one interval after the host starts; allow for a
    // loaded machine.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while host.artifacts().info(&id).unwrap().location != symphony_host::artifacts::Location::Warm {
        assert!(std::time::Instant::now() < deadline, "never archived");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(
        host.artifacts().get(&id).unwrap(),
        b"idle content for the schedule"
    );
    drop(host); // stops and joins the manager
}
