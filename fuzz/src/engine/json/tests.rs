use serde_json::json;

use super::*;

#[test]
fn paths_reach_every_node() {
    let value = json!({"a": [1, {"b": null}], "c": "d"});
    let all = paths(&value);
    assert_eq!(all.len(), 6);
    for path in &all {
        assert!(get(&value, path).is_some(), "{path:?}");
    }
}

#[test]
fn mutants_of_json_are_json() {
    let mut rng = Rng::new(3);
    let mut data = br#"{"nodes": [{"id": "a", "config": {"k": 1}}], "edges": []}"#.to_vec();
    for _ in 0..500 {
        assert!(mutate_text(&mut rng, &mut data, &["id", "from", "to"]));
        assert!(serde_json::from_slice::<Value>(&data).is_ok());
        if data.len() > 4096 {
            data = b"{}".to_vec();
        }
    }
}
