use serde_json::Value;

use super::super::capabilities::{BUS_KEYS, CAPABILITY_KEYS, FS_KEYS};
use super::super::config::FIELDS as CONFIG_FIELDS;
use super::super::limits::LIMIT_KEYS;
use super::super::load::{DEPENDENCY_KEYS, EXTENSION_KEYS, TOP_KEYS};
use super::schema;

/// The property names of the object at `pointer` (following `$ref`s and
/// merging `allOf` parts, as a flattened struct produces).
fn properties(schema: &Value, pointer: &str) -> Vec<String> {
    let mut object = schema
        .pointer(pointer)
        .unwrap_or_else(|| panic!("{pointer}"));
    while let Some(target) = object.get("$ref").and_then(Value::as_str) {
        object = schema.pointer(&target[1..]).unwrap();
    }
    let mut names: Vec<String> = object
        .get("properties")
        .and_then(Value::as_object)
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default();
    for part in object
        .get("allOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let mut part = part;
        while let Some(target) = part.get("$ref").and_then(Value::as_str) {
            part = schema.pointer(&target[1..]).unwrap();
        }
        names.extend(part["properties"].as_object().unwrap().keys().cloned());
    }
    names.sort();
    names
}

fn sorted(keys: &[&str]) -> Vec<String> {
    let mut keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
    keys.sort();
    keys
}

#[test]
fn the_schema_names_exactly_the_keys_the_reader_accepts() {
    let schema = schema();
    assert_eq!(properties(&schema, ""), sorted(TOP_KEYS));
    assert_eq!(
        properties(&schema, "/$defs/ExtensionTable"),
        sorted(EXTENSION_KEYS)
    );
    assert_eq!(
        properties(&schema, "/$defs/CapabilitiesTable"),
        sorted(CAPABILITY_KEYS)
    );
    assert_eq!(properties(&schema, "/$defs/BusTable"), sorted(BUS_KEYS));
    assert_eq!(properties(&schema, "/$defs/FsEntry"), sorted(FS_KEYS));
    assert_eq!(
        properties(&schema, "/$defs/LimitsTable"),
        sorted(LIMIT_KEYS)
    );
    assert_eq!(
        properties(&schema, "/$defs/DependencyTable"),
        sorted(DEPENDENCY_KEYS)
    );
    assert_eq!(
        properties(&schema, "/$defs/ConfigKeySpec"),
        sorted(CONFIG_FIELDS)
    );
}

#[test]
fn a_manifest_without_extends_must_say_what_the_extension_is() {
    let schema = schema();
    assert_eq!(schema["if"], serde_json::json!({"required": ["extends"]}));
    assert_eq!(schema["else"]["required"], serde_json::json!(["extension"]));
    assert_eq!(schema["additionalProperties"], Value::Bool(false));
}
