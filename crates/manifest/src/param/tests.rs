use serde_json::json;

use super::*;

fn define(definition: Value) -> Result<Parameter, Vec<String>> {
    let mut problems = Vec::new();
    let param = Parameter::define(&definition, &mut problems);
    match param {
        Some(p) if problems.is_empty() => Ok(p),
        _ => Err(problems),
    }
}

fn check(definition: Value, value: Value) -> Result<Value, Vec<String>> {
    define(definition).unwrap().check(&value)
}

#[test]
fn each_type_takes_its_values_and_refuses_others() {
    let table = [
        ("string", json!("x"), json!(1)),
        ("number", json!(1.5), json!("1.5")),
        ("integer", json!(3), json!(3.5)),
        ("bool", json!(true), json!("true")),
        ("list", json!([1]), json!({})),
        ("object", json!({"a": 1}), json!([])),
    ];
    for (kind, good, bad) in table {
        let def = json!({"type": kind});
        assert_eq!(check(def.clone(), good.clone()), Ok(good), "{kind}");
        let err = check(def, bad).unwrap_err();
        assert!(err[0].starts_with("expected a"), "{kind}: {err:?}");
    }
    assert_eq!(check(json!({"type": "any"}), Value::Null), Ok(Value::Null));
    // A whole float is an integer, normalised.
    let three = check(json!({"type": "integer"}), json!(3.0)).unwrap();
    assert!(three.is_i64());
}

#[test]
fn min_and_max_bound_numbers_lengths_and_item_counts() {
    let def = json!({"type": "integer", "min": 1, "max": 10});
    assert!(check(def.clone(), json!(10)).is_ok());
    assert_eq!(
        check(def, json!(0)),
        Err(vec!["must be 1 to 10, got 0".to_string()])
    );
    assert_eq!(
        check(json!({"type": "number", "min": 0.5}), json!(0.25)),
        Err(vec!["must be at least 0.5, got 0.25".to_string()])
    );
    assert_eq!(
        check(json!({"type": "string", "max": 3}), json!("long")),
        Err(vec![
            "must be at most 3 characters long, got 4 characters".to_string()
        ])
    );
    assert_eq!(
        check(json!({"type": "list", "min": 1}), json!([])),
        Err(vec!["must have at least 1 item, got 0 items".to_string()])
    );
    // Characters, not bytes.
    assert!(check(json!({"type": "string", "max": 2}), json!("éé")).is_ok());
}

#[test]
fn enum_and_pattern_restrict_values() {
    let def = json!({"type": "string", "enum": ["formal", "casual"]});
    assert_eq!(
        check(def, json!("rude")),
        Err(vec![
            "must be one of \"formal\", \"casual\", got \"rude\"".to_string()
        ])
    );
    assert!(check(json!({"type": "number", "enum": [1, 2]}), json!(2.0)).is_ok());
    let def = json!({"type": "string", "pattern": "^[a-z-]+$"});
    assert!(check(def.clone(), json!("a-slug")).is_ok());
    assert_eq!(
        check(def, json!("Not A Slug")),
        Err(vec![
            "must match the pattern ^[a-z-]+$, got \"Not A Slug\"".to_string()
        ])
    );
    // Unanchored: a match anywhere will do.
    assert!(check(json!({"type": "string", "pattern": "b"}), json!("abc")).is_ok());
}

#[test]
fn every_constraint_a_value_breaks_is_reported() {
    let def = json!({"type": "string", "max": 2, "enum": ["ab", "cd"], "pattern": "^a"});
    assert_eq!(check(def, json!("xyz")).unwrap_err().len(), 3);
}

#[test]
fn definitions_report_every_problem() {
    let problems = define(json!({
        "type": "bool", "min": 1, "pattern": "(", "enum": [], "default": 3,
        "required": "yes", "colour": "red"
    }))
    .unwrap_err();
    let joined = problems.join("\n");
    for expected in [
        "required must be true or false, not \"yes\"",
        "unknown field 'colour'",
        "min applies to numbers, integers, strings (length) and lists (item count), not bool",
        "pattern applies to strings, not bool",
        "pattern \"(\" does not compile",
        "enum is empty",
        "the default 3: expected a bool, got the number 3",
    ] {
        assert!(joined.contains(expected), "{expected}\n in:\n{joined}");
    }
}

#[test]
fn definition_rules_table() {
    let table = [
        (json!({"type": "strng"}), "unknown type \"strng\""),
        (json!({}), "has no type"),
        (json!("string"), "must be an object"),
        (
            json!({"type": "integer", "min": 5, "max": 1}),
            "min 5 is greater than max 1",
        ),
        (
            json!({"type": "string", "min": -1}),
            "min -1 is a length here",
        ),
        (
            json!({"type": "list", "max": 1.5}),
            "max 1.5 is a length here",
        ),
        (
            json!({"type": "integer", "enum": [1, "two"]}),
            "enum value \"two\" is not an integer",
        ),
        (
            json!({"type": "integer", "default": 1, "required": true}),
            "is required but has a default",
        ),
        (
            json!({"type": "integer", "required": false}),
            "is optional (required: false) but has no default",
        ),
        (
            json!({"type": "integer", "default": 0, "min": 1}),
            "the default 0: must be at least 1, got 0",
        ),
        (
            json!({"type": "string", "default": "B", "pattern": "^[a-z]+$"}),
            "the default \"B\": must match",
        ),
    ];
    for (definition, expected) in table {
        let problems = define(definition.clone()).unwrap_err();
        assert!(
            problems.iter().any(|p| p.contains(expected)),
            "{definition}: expected '{expected}' in {problems:?}"
        );
    }
}

#[test]
fn required_follows_the_default() {
    assert!(define(json!({"type": "string"})).unwrap().required);
    assert!(
        define(json!({"type": "string", "required": true}))
            .unwrap()
            .required
    );
    let optional = define(json!({"type": "string", "default": "x"})).unwrap();
    assert!(!optional.required);
    assert_eq!(optional.default, Some(json!("x")));
    // `any` may default to null.
    let any = define(json!({"type": "any", "default": null})).unwrap();
    assert_eq!(any.default, Some(Value::Null));
}

#[test]
fn command_line_text_is_read_by_type() {
    let param = |kind: &str| define(json!({"type": kind})).unwrap();
    assert_eq!(param("string").parse_text("3"), Ok(json!("3")));
    assert_eq!(param("integer").parse_text("3"), Ok(json!(3)));
    assert_eq!(param("number").parse_text(" 2.5 "), Ok(json!(2.5)));
    assert_eq!(param("bool").parse_text("false"), Ok(json!(false)));
    assert_eq!(param("list").parse_text(r#"["a"]"#), Ok(json!(["a"])));
    assert_eq!(
        param("object").parse_text(r#"{"k":1}"#),
        Ok(json!({"k": 1}))
    );
    assert_eq!(param("any").parse_text("hello"), Ok(json!("hello")));
    assert_eq!(param("any").parse_text("[1]"), Ok(json!([1])));
    let err = param("integer").parse_text("three").unwrap_err();
    assert!(err.contains("e.g. 42"), "{err}");
    assert!(err.starts_with("\"three\" is not an integer"), "{err}");
    let err = param("bool").parse_text("yes").unwrap_err();
    assert!(err.contains("write true or false"), "{err}");
    let err = param("list").parse_text("[a").unwrap_err();
    assert!(err.contains(r#"e.g. '["a", "b"]'"#), "{err}");
}

#[test]
fn constraints_read_as_words() {
    let param =
        define(json!({"type": "string", "min": 1, "max": 8, "pattern": "^a", "enum": ["ab"]}))
            .unwrap();
    assert_eq!(
        param.constraints(),
        "length 1 to 8; one of \"ab\"; matching ^a"
    );
    let param = define(json!({"type": "list", "max": 3})).unwrap();
    assert_eq!(param.constraints(), "at most 3 items");
}

#[test]
fn names_are_identifiers() {
    assert!(is_name("sentences") && is_name("_x") && is_name("max-len2"));
    assert!(!is_name("") && !is_name("2x") && !is_name("a b") && !is_name("a.b"));
}

#[test]
fn the_parameter_schema_names_exactly_the_fields_define_reads() {
    let schema = schemars::schema_for!(super::ParameterSpec).to_value();
    let mut names: Vec<&str> = schema["properties"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    names.sort_unstable();
    let mut fields: Vec<&str> = super::FIELDS.split(", ").collect();
    fields.sort_unstable();
    assert_eq!(names, fields);
    assert_eq!(schema["required"], serde_json::json!(["type"]));
}
