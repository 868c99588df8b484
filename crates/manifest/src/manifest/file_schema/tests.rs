use serde_json::Value;

use super::super::build::BUILD_KEYS;
use super::super::capabilities::{BUS_KEYS, CAPABILITY_KEYS, FS_KEYS};
use super::super::config::FIELDS as CONFIG_FIELDS;
use super::super::limits::LIMIT_KEYS;
use super::super::load::{DEPENDENCY_KEYS, EXTENSION_KEYS, TOP_KEYS};
use super::schema;

/// `value`, or what its `$ref`s lead to.
fn resolve<'s>(schema: &'s Value, mut value: &'s Value) -> &'s Value {
    while let Some(target) = value.get("$ref").and_then(Value::as_str) {
        value = schema.pointer(&target[1..]).unwrap();
    }
    value
}

/// The property names of the object at `pointer` (following `$ref`s and
/// merging `allOf` parts, as a flattened struct produces).
fn properties(schema: &Value, pointer: &str) -> Vec<String> {
    let object = resolve(
        schema,
        schema
            .pointer(pointer)
            .unwrap_or_else(|| panic!("{pointer}")),
    );
    let parts = object.get("allOf").and_then(Value::as_array);
    let mut names: Vec<String> = std::iter::once(object)
        .chain(
            parts
                .into_iter()
                .flatten()
                .map(|part| resolve(schema, part)),
        )
        .filter_map(|part| part.get("properties").and_then(Value::as_object))
        .flat_map(|properties| properties.keys().cloned())
        .collect();
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
    for (pointer, keys) in [
        ("", TOP_KEYS),
        ("/$defs/ExtensionTable", EXTENSION_KEYS),
        ("/$defs/CapabilitiesTable", CAPABILITY_KEYS),
        ("/$defs/BusTable", BUS_KEYS),
        ("/$defs/FsEntry", FS_KEYS),
        ("/$defs/LimitsTable", LIMIT_KEYS),
        ("/$defs/BuildTable", BUILD_KEYS),
        ("/$defs/DependencyTable", DEPENDENCY_KEYS),
        ("/$defs/ConfigKeySpec", CONFIG_FIELDS),
    ] {
        assert_eq!(properties(&schema, pointer), sorted(keys), "{pointer}");
    }
}

#[test]
fn a_manifest_without_extends_must_say_what_the_extension_is() {
    let schema = schema();
    assert_eq!(schema["if"], serde_json::json!({"required": ["extends"]}));
    assert_eq!(schema["else"]["required"], serde_json::json!(["extension"]));
    assert_eq!(schema["additionalProperties"], Value::Bool(false));
}
