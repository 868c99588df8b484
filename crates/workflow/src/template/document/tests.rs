use proptest::prelude::*;
use serde_json::json;

use super::*;

/// A template with `parameters` whose workflow is one mock-llm node with
/// `config` (and `name` as the workflow's name).
fn template_text(parameters: Value, name: &str, config: Value) -> String {
    json!({
        "template_version": 1,
        "template": {
            "id": "t", "version": "1.0.0", "name": "T", "tags": ["x"],
            "parameters": parameters
        },
        "workflow": {
            "schema_version": 2, "id": "w", "name": name, "version": "1.0.0",
            "nodes": [{"id": "llm", "kind": "instrument", "extension": "mock-llm",
                       "config": config}]
        }
    })
    .to_string()
}

fn summariser() -> Template {
    let text = template_text(
        json!({
            "sentences": {"type": "integer", "default": 1, "min": 1, "max": 10,
                          "description": "Sentences in the summary"},
            "tone": {"type": "string", "enum": ["formal", "casual"], "required": true},
            "slug": {"type": "string", "pattern": "^[a-z-]+$", "default": "sum"},
            "tasks": {"type": "list", "default": ["summary"], "min": 1},
            "verbose": {"type": "bool", "default": false}
        }),
        "{{slug}}: {{sentences}} sentences",
        json!({"summary_sentences": "{{sentences}}", "tone": "{{ tone }}",
               "tasks": "{{tasks}}", "verbose": "{{verbose}}"}),
    );
    Template::from_json(&text, "summariser.json").unwrap()
}

fn params(pairs: &[(&str, Value)]) -> BTreeMap<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

fn problems(err: TemplateError) -> Vec<String> {
    match err {
        TemplateError::Invalid { problems, .. } | TemplateError::Instantiate { problems, .. } => {
            problems.iter().map(Problem::to_string).collect()
        }
        other => panic!("expected problems, got {other}"),
    }
}

#[test]
fn instantiation_fills_defaults_and_keeps_types() {
    let workflow = summariser()
        .instantiate(&params(&[
            ("tone", json!("casual")),
            ("sentences", json!(3)),
        ]))
        .unwrap();
    let config = &workflow.nodes[0].config;
    assert_eq!(config["summary_sentences"], json!(3));
    assert_eq!(config["tone"], json!("casual"));
    assert_eq!(config["tasks"], json!(["summary"]));
    assert_eq!(config["verbose"], json!(false));
    assert_eq!(workflow.name, "sum: 3 sentences");
}

#[test]
fn every_parameter_problem_is_reported_at_once() {
    let err = summariser()
        .instantiate(&params(&[
            ("sentences", json!(12)),
            ("slug", json!("Not A Slug")),
            ("tasks", json!([])),
            ("verbose", json!("yes")),
            ("colour", json!("red")),
            ("sentence", json!(2)),
        ]))
        .unwrap_err();
    assert_eq!(
        problems(err),
        [
            "parameter 'colour': unknown parameter (this template has: sentences, slug, tasks, tone, verbose)",
            "parameter 'sentence': unknown parameter (did you mean 'sentences'?)",
            "parameter 'sentences': must be 1 to 10, got 12",
            "parameter 'slug': must match the pattern ^[a-z-]+$, got \"Not A Slug\"",
            "parameter 'tasks': must have at least 1 item, got 0 items",
            "parameter 'tone': is required: give a string (one of \"formal\", \"casual\")",
            "parameter 'verbose': expected a bool, got the string \"yes\"",
        ]
    );
}

#[test]
fn an_error_names_the_template_and_lists_problems() {
    let err = summariser().instantiate(&BTreeMap::new()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot instantiate template t@1.0.0:\n  - parameter 'tone': is required: give a string \
         (one of \"formal\", \"casual\")"
    );
}

#[test]
fn command_line_arguments_are_read_by_type_and_checked_together() {
    let template = summariser();
    let workflow = template
        .instantiate_args(&[
            "tone=formal",
            "sentences=2",
            r#"tasks=["summary","keywords"]"#,
        ])
        .unwrap();
    assert_eq!(workflow.nodes[0].config["summary_sentences"], json!(2));
    assert_eq!(
        workflow.nodes[0].config["tasks"],
        json!(["summary", "keywords"])
    );
    let err = template
        .instantiate_args(&[
            "sentences=lots",
            "tone",
            "verbose=maybe",
            "slug=A",
            "slug=b",
        ])
        .unwrap_err();
    assert_eq!(
        problems(err),
        [
            "argument \"tone\": expected NAME=VALUE",
            "parameter 'sentences': \"lots\" is not an integer: expected value (write it as JSON, e.g. 42)",
            "parameter 'slug': is given more than once",
            "parameter 'slug': must match the pattern ^[a-z-]+$, got \"A\"",
            "parameter 'tone': is required: give a string (one of \"formal\", \"casual\")",
            "parameter 'verbose': \"maybe\" is not a bool: write true or false",
        ]
    );
    assert_eq!(
        template.parse_args(&["x=[1]", "tone=a=b"]).unwrap(),
        params(&[("x", json!([1])), ("tone", json!("a=b"))])
    );
}

#[test]
fn a_filled_in_workflow_is_checked_too() {
    let text = json!({
        "template_version": 1,
        "template": {"id": "t", "version": "1.0.0", "name": "T",
                     "parameters": {"second": {"type": "string"}, "n": {"type": "any"}}},
        "workflow": {"schema_version": 2, "id": "w", "name": "{{n}}", "version": "1.0.0",
                     "nodes": [{"id": "a", "kind": "instrument", "extension": "x"},
                               {"id": "{{second}}", "kind": "instrument", "extension": "x"}]}
    })
    .to_string();
    let template = Template::from_json(&text, "t.json").unwrap();
    let err = template
        .instantiate(&params(&[("second", json!("a")), ("n", json!("ok"))]))
        .unwrap_err();
    // Whatever else the workflow checks say, the duplicate id is there.
    let found = problems(err);
    assert!(
        found.contains(&"workflow node 'a': the id is used by more than one node".to_string()),
        "{found:?}"
    );
    let err = template
        .instantiate(&params(&[("second", json!("b")), ("n", json!(5))]))
        .unwrap_err();
    let problems = problems(err);
    assert!(
        problems[0].starts_with("workflow: the filled-in workflow does not parse: invalid type"),
        "{problems:?}"
    );
}

#[test]
fn loading_reports_undeclared_and_unused_parameters_with_paths() {
    let text = template_text(
        json!({"used": {"type": "string"}, "unused": {"type": "integer", "default": 1}}),
        "{{used}}",
        json!({"keywords": "{{count}}", "nested": [{"{{key}}": "x {{ other }}"}]}),
    );
    let err = Template::from_json(&text, "t.json").unwrap_err();
    assert!(
        err.to_string().starts_with("template t.json is invalid:\n"),
        "{err}"
    );
    assert_eq!(
        problems(err),
        [
            "workflow.nodes[0].config.keywords: placeholder {{count}} names no parameter \
             (this template has: unused, used)",
            "workflow.nodes[0].config.nested[0][\"{{key}}\"]: placeholder {{other}} names no \
             parameter (this template has: unused, used)",
            "workflow.nodes[0].config.nested[0][\"{{key}}\"]: object keys are not substituted: \
             put the placeholder in a value",
            "parameter 'unused': no placeholder uses it: put {{unused}} in the workflow or \
             remove the parameter",
        ]
    );
}

#[test]
fn every_definition_problem_is_reported_naming_its_parameter() {
    let text = template_text(
        json!({
            "n": {"type": "integer", "min": 3, "max": 1},
            "s": {"type": "strng"},
            "bad name": {"type": "string"},
            "d": {"type": "integer", "default": "one"}
        }),
        "{{n}}{{s}}{{d}}",
        json!({}),
    );
    let problems = problems(Template::from_json(&text, "t.json").unwrap_err());
    let expected = [
        "parameter 'bad name': the name may hold only",
        "parameter 'd': the default \"one\": expected an integer",
        "parameter 'n': min 3 is greater than max 1",
        "parameter 's': unknown type \"strng\"",
        // A bad name cannot be a placeholder, so nothing can use it.
        "parameter 'bad name': no placeholder uses it",
    ];
    assert_eq!(problems.len(), expected.len(), "{problems:#?}");
    for (problem, expected) in problems.iter().zip(expected) {
        assert!(problem.starts_with(expected), "{problem} vs {expected}");
    }
}

#[test]
fn file_format_errors_are_named() {
    let err = Template::from_json(r#"{"template": {}}"#, "a.json").unwrap_err();
    assert_eq!(
        err.to_string(),
        "a.json: no template_version: a template file starts with {\"template_version\": 1, ...}"
    );
    let err = Template::from_json(r#"{"template_version": 2, "new": true}"#, "b.json").unwrap_err();
    assert_eq!(
        err.to_string(),
        "b.json: template_version 2 is not supported (this host reads 1)"
    );
    let err =
        Template::from_json("{\n\"template_version\": 1,\n\"templat\": {}}", "c.json").unwrap_err();
    assert!(err.to_string().starts_with("c.json:3:"), "{err}");
    assert!(err.to_string().contains("unknown field `templat`"), "{err}");
    let err = Template::from_json("not json", "d.json").unwrap_err();
    assert!(matches!(err, TemplateError::Parse { line: 1, .. }), "{err}");
    let text = template_text(json!({}), "w", json!({})).replace("\"id\":\"t\"", "\"id\":\"a b\"");
    let problems = problems(Template::from_json(&text, "e.json").unwrap_err());
    assert_eq!(
        problems,
        ["template: id \"a b\" may hold only letters, digits, '-', '_' and '.'"]
    );
}

/// A parameter type and a value of that type.
fn typed_value() -> impl Strategy<Value = (&'static str, Value)> {
    let leaf = prop_oneof![
        any::<i64>().prop_map(Value::from),
        "[a-z ]{0,8}".prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
    ];
    let nested = leaf.prop_recursive(2, 8, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            proptest::collection::btree_map("[a-z]{1,4}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    });
    prop_oneof![
        any::<i64>().prop_map(|n| ("integer", Value::from(n))),
        // Numbers pass through the workflow's JSON text, whose parser is
        // exact up to 15 significant digits.
        (-1_000_000_000i64..1_000_000_000).prop_map(|n| ("number", Value::from(n as f64 / 1000.0))),
        ".{0,20}".prop_map(|s| ("string", Value::from(s))),
        any::<bool>().prop_map(|b| ("bool", Value::from(b))),
        proptest::collection::vec(nested.clone(), 0..4).prop_map(|v| ("list", Value::from(v))),
        proptest::collection::btree_map("[a-z]{1,4}", nested.clone(), 0..4)
            .prop_map(|m| ("object", Value::Object(m.into_iter().collect()))),
        nested.prop_map(|v| ("any", v)),
    ]
}

proptest! {
    #[test]
    fn a_valid_value_reaches_the_node_config_unchanged((kind, value) in typed_value()) {
        let text = template_text(
            json!({"p": {"type": kind}}),
            "w",
            json!({"value": "{{p}}", "nested": ["{{ p }}"]}),
        );
        let template = Template::from_json(&text, "t.json").unwrap();
        let workflow = template.instantiate(&params(&[("p", value.clone())])).unwrap();
        prop_assert_eq!(&workflow.nodes[0].config["value"], &value);
        prop_assert_eq!(&workflow.nodes[0].config["nested"][0], &value);
    }

    #[test]
    fn arbitrary_parameter_values_never_panic(value in ".{0,30}", kind in "[a-z]{3,7}") {
        let text = template_text(
            json!({"p": {"type": kind, "default": value.clone()}}),
            "{{p}} {{p}}",
            json!({"v": "{{p}}"}),
        );
        if let Ok(template) = Template::from_json(&text, "t.json") {
            let _ = template.instantiate_args(&[format!("p={value}")]);
        }
    }
}
