use super::*;

/// a → b → d, a → c → d, c ⇢ e (control)
fn diamond() -> Workflow {
    Workflow::from_json(
        r#"{"schema_version": 2, "id": "d", "name": "d", "version": "1.0.0",
            "nodes": [
              {"id": "a", "kind": "operator", "extension": "op"},
              {"id": "b", "kind": "operator", "extension": "op"},
              {"id": "c", "kind": "operator", "extension": "op"},
              {"id": "d", "kind": "operator", "extension": "op"},
              {"id": "e", "kind": "operator", "extension": "op"}],
            "edges": [{"from": "a", "to": "b"}, {"from": "a", "to": "c"},
                      {"from": "b", "to": "d"}, {"from": "c", "to": "d"},
                      {"from": "c", "to": "e", "kind": "control"}]}"#,
        "diamond",
    )
    .unwrap()
}

fn ids(nodes: Option<Vec<&Node>>) -> Vec<&str> {
    nodes.unwrap().into_iter().map(|n| n.id.as_str()).collect()
}

#[test]
fn dependencies_ancestors_and_descendants_follow_every_edge() {
    let wf = diamond();
    assert_eq!(ids(wf.dependencies("d")), ["b", "c"]);
    assert_eq!(ids(wf.ancestors("d")), ["a", "b", "c"]);
    assert_eq!(ids(wf.ancestors("e")), ["a", "c"]);
    assert_eq!(ids(wf.descendants("a")), ["b", "c", "d", "e"]);
    assert_eq!(ids(wf.descendants("d")), Vec::<&str>::new());
    assert!(wf.ancestors("nope").is_none());
}

#[test]
fn layers_count_the_longest_path_from_a_source() {
    let wf = diamond();
    let layers = wf.layers();
    assert_eq!(
        ["a", "b", "c", "d", "e"].map(|id| layers[id]),
        [0, 1, 1, 2, 2]
    );
}
