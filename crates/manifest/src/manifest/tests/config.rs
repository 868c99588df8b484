//! The `[config]` schema: definitions checked in place, configs checked
//! against it, secrets kept out of sight.

use serde_json::{Map, Value, json};

use super::*;

#[test]
fn config_definitions_are_checked_where_they_are() {
    let text = format!(
        "{HEAD}\n[config.n]\ntype = \"integer\"\ndefault = 5000\nmax = 1000\n\n\
         [config.s]\ntype = \"strin\"\n\n[config.t]\ntype = \"string\"\nsecret = true\n\
         default = \"hunter2\"\npattern = \"^[a-z]+$\"\nmin = 8\nrequired = true\ncolour = 1\n"
    );
    assert_eq!(
        parse_err(&text),
        [
            "ext/symphony.toml:9:11: config.n: the default: must be at most 1000, got 5000",
            "ext/symphony.toml:13:8: config.s: unknown type \"strin\" (expected one of string, \
             number, integer, bool, list, object, any)",
            "ext/symphony.toml:18:11: config.t: is required but has a default: drop one",
            "ext/symphony.toml:18:11: config.t: the default: must be at least 8 characters \
             long, got ***",
            "ext/symphony.toml:18:11: config.t: the default: must match the pattern ^[a-z]+$, \
             got ***",
            "ext/symphony.toml:22:1: unknown key \"colour\" in config.t (allowed: type, default, \
             min, max, enum, pattern, secret, required, description)",
        ]
    );
}

#[test]
fn a_config_is_checked_against_the_schema() {
    let m = Manifest::parse(FULL, "symphony.toml").unwrap();
    let config = |value: Value| -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => unreachable!(),
        }
    };
    let checked = m.config.check(&config(json!({"token": "abc"}))).unwrap();
    assert_eq!(
        Value::Object(checked),
        json!({"token": "abc", "max-len": 80})
    );
    let checked = m
        .config
        .check(&config(json!({"token": "abc", "max-len": 40.0})))
        .unwrap();
    assert_eq!(checked["max-len"], json!(40));

    let errors = m
        .config
        .check(&config(json!({"max-len": 5000, "colour": 1})))
        .unwrap_err();
    assert_eq!(
        errors,
        [
            "config 'colour': unknown key (this extension takes: max-len, token)",
            "config 'max-len': must be 1 to 1000, got 5000",
            "config 'max-len': must be one of 40, 80, got 5000",
            "config 'token': is required: give a string (matching ^[a-z]+$)",
        ]
    );
    let errors = m
        .config
        .check(&config(json!({"token": "Secret-Value"})))
        .unwrap_err();
    assert_eq!(
        errors,
        ["config 'token': must match the pattern ^[a-z]+$, got ***"]
    );
    let errors = m.config.check(&config(json!({"token": 7}))).unwrap_err();
    assert_eq!(errors, ["config 'token': expected a string, got ***"]);

    let redacted = m
        .config
        .redact(&config(json!({"token": "abc", "max-len": 3})));
    assert_eq!(
        Value::Object(redacted),
        json!({"token": "***", "max-len": 3})
    );
}

#[test]
fn secret_defaults_never_show() {
    let text = format!(
        "{HEAD}[config.key]\ntype = \"string\"\nsecret = true\ndefault = \"hunter2\"\n\
         description = \"API key\"\n"
    );
    let m = Manifest::parse(&text, "symphony.toml").unwrap();
    let key = &m.config.keys["key"];
    assert_eq!(key.parameter.default, Some(json!("hunter2")));
    for shown in [format!("{key:?}"), format!("{m:?}"), key.to_string()] {
        assert!(
            !shown.contains("hunter2") && shown.contains("***"),
            "{shown}"
        );
    }
    assert_eq!(key.to_string(), "string = \"***\", secret: API key");
}
