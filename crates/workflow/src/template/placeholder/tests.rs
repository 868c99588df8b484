use proptest::prelude::*;
use serde_json::json;

use super::*;
use Piece::{Name, Text};

#[test]
fn placeholders_are_found_with_spaces_inside_braces() {
    assert_eq!(pieces("{{a}}"), [Name("a")]);
    assert_eq!(pieces("{{ a }}"), [Name("a")]);
    assert_eq!(
        pieces("x {{a}}-{{b_2}}!"),
        [Text("x "), Name("a"), Text("-"), Name("b_2"), Text("!")]
    );
    assert_eq!(pieces(""), [Text("")]);
}

#[test]
fn braces_around_other_text_stay_literal() {
    for text in [
        "{{", "{{}}", "{{a b}}", "{{1x}}", "{{a", "a}}", "{ {a} }", "{{a.b}}",
    ] {
        let joined: String = pieces(text)
            .iter()
            .map(|p| match p {
                Text(t) => *t,
                Name(_) => panic!("{text}: found a placeholder"),
            })
            .collect();
        assert_eq!(joined, text);
    }
    assert_eq!(pieces("{{{x}}}"), [Text("{"), Name("x"), Text("}")]);
}

/// `substitute` over `value`'s JSON text, parsed back.
fn fill(value: &Value, values: &BTreeMap<String, Value>) -> Value {
    serde_json::from_str(&substitute(&value.to_string(), values)).unwrap()
}

#[test]
fn whole_placeholders_keep_their_type_and_inner_ones_become_text() {
    let values = BTreeMap::from([
        ("n".to_string(), json!(3)),
        ("tags".to_string(), json!(["a", "b"])),
        ("who".to_string(), json!("ada \"the\" \\ first")),
    ]);
    let template = json!({
        "count": "{{n}}",
        "tags": "{{ tags }}",
        "title": "{{n}} by {{who}}",
        "quoted": "\"{{n}}\"",
        "list": ["{{tags}}", "tags: {{tags}}", 7, null, "{{who}}"],
        "{{n}}": "keys stay",
        "{{n}}x": {"{{n}}": "{{n}}"},
        "missing": "{{nope}} {{n}}",
        "other": "{ {n} } {{n",
    });
    assert_eq!(
        fill(&template, &values),
        json!({
            "count": 3,
            "tags": ["a", "b"],
            "title": "3 by ada \"the\" \\ first",
            "quoted": "\"3\"",
            "list": [["a", "b"], "tags: [\"a\",\"b\"]", 7, null, "ada \"the\" \\ first"],
            "{{n}}": "keys stay",
            "{{n}}x": {"{{n}}": 3},
            "missing": "{{nope}} 3",
            "other": "{ {n} } {{n",
        })
    );
}

#[test]
fn names_are_found_in_values_and_keys() {
    let text = r#"{"a": "{{x}}", "{{y}}" : "z {{ x }}", "e": "\u0041 {{w}}", "n": 1}"#;
    assert_eq!(
        names(text),
        [
            ("x".to_string(), false),
            ("y".to_string(), true),
            ("x".to_string(), false),
            ("w".to_string(), false),
        ]
    );
    // Broken text is read without panic.
    for text in ["\"{{x", "\"\\", "{\"a\": \"{{x}}\\\"", "\"\\u00e9{{x}}\""] {
        let _ = names(text);
        let _ = substitute(text, &BTreeMap::new());
    }
}

#[test]
fn escaped_braces_are_braces_to_every_scan() {
    let text = r#"{"a": "\u007b\u007Bx}}", "b": "{\u007by}} {{z}}", "\u007b{k}}": 1}"#;
    let value: Value = serde_json::from_str(text).unwrap();
    assert_eq!(
        names(text),
        [
            ("x".to_string(), false),
            ("y".to_string(), false),
            ("z".to_string(), false),
            ("k".to_string(), true),
        ]
    );
    let found = find(&value, "w");
    let used: Vec<&str> = found.uses.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(used, ["x", "y", "z"]);
    assert_eq!(found.in_keys, ["w[\"{{k}}\"]"]);
    let values = BTreeMap::from([
        ("x".to_string(), json!(1)),
        ("y".to_string(), json!(2)),
        ("z".to_string(), json!(3)),
    ]);
    let filled: Value = serde_json::from_str(&substitute(text, &values)).unwrap();
    assert_eq!(filled, json!({"a": 1, "b": "2 3", "{{k}}": 1}));
}

#[test]
fn uses_are_reported_with_their_path() {
    let value = json!({"nodes": [{"config": {"k": "{{a}}", "odd key": ["x {{b}}"]}}],
                       "{{c}}": 1});
    let found = find(&value, "workflow");
    assert_eq!(
        found.uses,
        [
            ("a".to_string(), "workflow.nodes[0].config.k".to_string()),
            (
                "b".to_string(),
                "workflow.nodes[0].config[\"odd key\"][0]".to_string()
            ),
        ]
    );
    assert_eq!(found.in_keys, ["workflow[\"{{c}}\"]"]);
}

proptest! {
    #[test]
    fn any_text_splits_into_pieces_that_join_back(text in ".{0,40}|[{} a-z]{0,40}") {
        let joined: String = pieces(&text)
            .iter()
            .map(|p| match p {
                Text(t) => t.to_string(),
                Name(n) => format!("{{{{{n}}}}}"),
            })
            .collect();
        // Whitespace inside braces is dropped; nothing else changes.
        let squeezed = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
        prop_assert_eq!(squeezed(&joined), squeezed(&text));
    }

    #[test]
    fn strings_without_placeholders_are_left_alone(text in "[^{]{0,40}") {
        let value = json!({"k": [text.clone()]});
        prop_assert_eq!(fill(&value, &BTreeMap::new()), value);
    }

    #[test]
    fn any_text_is_interpolated_exactly(text in ".{0,30}", around in "[^{]{0,10}") {
        let values = BTreeMap::from([("p".to_string(), Value::from(text.clone()))]);
        let value = json!({"k": format!("{around}{{{{p}}}}{around}")});
        prop_assert_eq!(fill(&value, &values), json!({"k": format!("{around}{text}{around}")}));
    }

    #[test]
    fn arbitrary_text_never_panics_the_scanner(text in "[\"\\\\{}a: ]{0,40}|.{0,40}") {
        let values = BTreeMap::from([("a".to_string(), json!(1))]);
        let _ = names(&text);
        let _ = substitute(&text, &values);
    }
}
