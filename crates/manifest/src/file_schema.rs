//! Generating the JSON Schema of a file format from the type that
//! describes it, shared by the crates that read files people write.

use schemars::JsonSchema;
use serde_json::Value;

/// The JSON Schema (draft 2020-12) of `T` as a file format. An absent
/// field is left out of a file, never written `null` (TOML has no null), so
/// the `null` schemars adds for each `Option` is taken out again: editors
/// then complete the real type.
pub fn file_schema<T: JsonSchema>() -> Value {
    let mut schema = schemars::schema_for!(T).to_value();
    drop_null(&mut schema);
    schema
}

fn drop_null(schema: &mut Value) {
    let Value::Object(object) = schema else {
        return;
    };
    if object.get("default") == Some(&Value::Null) {
        object.remove("default");
    }
    if let Some(Value::Array(types)) = object.get_mut("type") {
        types.retain(|t| t != "null");
        if let [only] = types.as_slice() {
            let only = only.clone();
            object.insert("type".into(), only);
        }
    }
    if let Some(Value::Array(alternatives)) = object.get("anyOf")
        && alternatives.len() == 2
        && let Some(null) = alternatives.iter().position(|a| a["type"] == "null")
    {
        let Some(Value::Object(other)) = object
            .remove("anyOf")
            .and_then(|a| a.as_array().cloned())
            .map(|mut a| a.swap_remove(1 - null))
        else {
            return;
        };
        for (key, value) in other {
            object.entry(key).or_insert(value);
        }
    }
    for child in object.values_mut() {
        match child {
            Value::Array(items) => items.iter_mut().for_each(drop_null),
            _ => drop_null(child),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(JsonSchema, serde::Deserialize)]
    #[allow(dead_code, reason = "only its schema is used")]
    struct Doc {
        /// A number.
        #[serde(default)]
        count: Option<u32>,
        /// Another doc.
        inner: Option<Box<Doc>>,
        /// Anything.
        any: Option<Value>,
    }

    #[test]
    fn optional_fields_take_their_type_without_null() {
        let schema = file_schema::<Doc>();
        let text = schema.to_string();
        assert!(!text.contains("null"), "{text}");
        assert_eq!(schema["properties"]["count"]["type"], "integer");
        assert_eq!(schema["properties"]["inner"]["$ref"], "#");
        assert_eq!(schema["properties"]["inner"]["description"], "Another doc.");
    }
}
