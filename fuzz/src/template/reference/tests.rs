use serde_json::json;

use super::*;

#[test]
fn the_reference_follows_the_documented_rules() {
    let values = BTreeMap::from([
        ("n".to_string(), json!(3)),
        ("tags".to_string(), json!(["a", "b"])),
        ("who".to_string(), json!("ada \"the\" \\ first")),
    ]);
    let template = json!({
        "count": "{{n}}",
        "tags": "{{ tags }}",
        "title": "{{n}} by {{who}}",
        "list": ["{{tags}}", "tags: {{tags}}", 7, null],
        "{{n}}": "keys stay",
        "missing": "{{nope}} {{n}}",
        "other": "{ {n} } {{n {{{n}}}",
    });
    assert_eq!(
        substitute(&template, &values),
        json!({
            "count": 3,
            "tags": ["a", "b"],
            "title": "3 by ada \"the\" \\ first",
            "list": [["a", "b"], "tags: [\"a\",\"b\"]", 7, null],
            "{{n}}": "keys stay",
            "missing": "{{nope}} 3",
            "other": "{ {n} } {{n {3}",
        })
    );
}

#[test]
fn duplicate_keys_are_found_at_any_depth() {
    assert_eq!(
        has_duplicate_keys(r#"{"a": 1, "b": [{"c": 1}]}"#),
        Some(false)
    );
    assert_eq!(
        has_duplicate_keys(r#"{"a": 1, "b": [{"c": 1, "c": 2}]}"#),
        Some(true)
    );
    assert_eq!(has_duplicate_keys(r#"{"a": 1, "a": 1}"#), Some(true));
    assert_eq!(has_duplicate_keys("{"), None);
}
