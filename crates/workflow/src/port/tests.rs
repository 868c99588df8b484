use proptest::prelude::*;
use serde_json::json;

use super::*;

fn ty(text: &str) -> PortType {
    text.parse().unwrap()
}

#[test]
fn types_parse_from_their_text() {
    assert_eq!(ty("list"), PortType::list(PortType::Any));
    assert_eq!(
        ty(" object{ title : string, tags: list<string> } "),
        PortType::object([
            ("title", PortType::String),
            ("tags", PortType::list(PortType::String))
        ])
    );
    assert_eq!(ty("object{}"), ty("object"));
    let err = "lst<string>".parse::<PortType>().unwrap_err();
    assert_eq!(err.column, 1, "{err}");
    assert!(err.to_string().contains("expected any, string"), "{err}");
    let err = "list<string".parse::<PortType>().unwrap_err();
    assert!(
        err.to_string().contains("expected '>' at column 12"),
        "{err}"
    );
    let err = "object{a: string, a: bool}"
        .parse::<PortType>()
        .unwrap_err();
    assert!(err.to_string().contains("named twice"), "{err}");
    let deep = "list<".repeat(100) + "any" + &">".repeat(100);
    assert!(deep.parse::<PortType>().is_err());
}

#[test]
fn compatibility_is_structural() {
    let record = ty("object{title: string, score: number}");
    assert!(ty("object{title: string}").accepts(&record));
    assert!(!record.accepts(&ty("object{title: string}")));
    assert!(
        record.accepts(&ty("object")),
        "undeclared fields may hold anything"
    );
    assert!(ty("list<number>").accepts(&ty("list<number>")));
    assert!(!ty("list<number>").accepts(&ty("list<string>")));
    assert!(ty("string").accepts(&ty("any")) && ty("any").accepts(&ty("bool")));
    assert!(!ty("string").accepts(&ty("number")));
}

#[test]
fn values_are_checked_with_the_path_that_differs() {
    let t = ty("object{tags: list<string>, score: number}");
    assert_eq!(
        t.check(&json!({"tags": ["a"], "score": 1, "extra": null})),
        Ok(())
    );
    assert_eq!(
        t.check(&json!({"tags": ["a", 2], "score": 1})),
        Err(".tags[1] is a number, expected string".into())
    );
    assert_eq!(
        t.check(&json!({"tags": []})),
        Err(".score is missing, expected number".into())
    );
    assert_eq!(
        ty("string").check(&json!(null)),
        Err("the value is null, expected string".into())
    );
}

pub(crate) fn arbitrary_type() -> impl Strategy<Value = PortType> {
    let leaf = prop_oneof![
        Just(PortType::Any),
        Just(PortType::String),
        Just(PortType::Number),
        Just(PortType::Bool),
    ];
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            inner.clone().prop_map(PortType::list),
            proptest::collection::btree_map("[a-z_]{1,6}", inner, 0..4).prop_map(PortType::Object),
        ]
    })
}

proptest! {
    #[test]
    fn every_type_round_trips_through_its_text(t in arbitrary_type()) {
        prop_assert_eq!(t.to_string().parse::<PortType>(), Ok(t.clone()));
        prop_assert!(t.accepts(&t));
    }

    #[test]
    fn no_text_panics_the_parser(text in "\\PC{0,40}") {
        let _ = text.parse::<PortType>();
    }
}
