//! A reference for placeholder substitution, written from the documented
//! rules on a parsed value rather than the host's scan of JSON text:
//! anywhere in the workflow value (object keys aside), a string that is
//! exactly one `{{name}}` (spaces allowed inside the braces) becomes the
//! parameter's value, and a placeholder inside a longer string becomes
//! text (a string as it is, any other value as compact JSON). A name is a
//! letter or `_`, then letters, digits, `_` or `-`; braces around anything
//! else stay literal.

use std::collections::{BTreeMap, HashSet};
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

/// `value` with every placeholder outside object keys filled from
/// `values`; a name missing from `values` is left as `{{name}}`.
pub fn substitute(value: &Value, values: &BTreeMap<String, Value>) -> Value {
    match value {
        Value::String(s) => fill(s, values),
        Value::Array(items) => Value::Array(items.iter().map(|v| substitute(v, values)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), substitute(v, values)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// One piece of a string: literal text, or a placeholder's name.
#[derive(Debug, PartialEq, Eq)]
enum Piece<'s> {
    Text(&'s str),
    Name(&'s str),
}

fn fill(s: &str, values: &BTreeMap<String, Value>) -> Value {
    let pieces = pieces(s);
    if let [Piece::Name(name)] = pieces[..]
        && let Some(value) = values.get(name)
    {
        return value.clone();
    }
    let mut out = String::new();
    for piece in pieces {
        match piece {
            Piece::Text(text) => out.push_str(text),
            Piece::Name(name) => match values.get(name) {
                Some(Value::String(v)) => out.push_str(v),
                Some(v) => out.push_str(&v.to_string()),
                None => {
                    out.push_str("{{");
                    out.push_str(name);
                    out.push_str("}}");
                }
            },
        }
    }
    Value::String(out)
}

fn pieces(s: &str) -> Vec<Piece<'_>> {
    let mut pieces = Vec::new();
    let mut rest = s;
    let mut text_from = 0;
    let mut at = 0;
    // `at` walks `s`; `rest` is `s[at..]`; literal text runs from
    // `text_from` until a placeholder is found.
    while let Some(open) = rest.find("{{") {
        let inner = &rest[open + 2..];
        let start = inner.len() - inner.trim_start().len();
        let name: &str = &inner[start..];
        let len = name
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
            .unwrap_or(name.len());
        let (name, after) = name.split_at(len);
        let close = after.len() - after.trim_start().len();
        if is_name(name) && after[close..].starts_with("}}") {
            if at + open > text_from {
                pieces.push(Piece::Text(&s[text_from..at + open]));
            }
            pieces.push(Piece::Name(name));
            let consumed = open + 2 + start + len + close + 2;
            at += consumed;
            text_from = at;
            rest = &s[at..];
        } else {
            // Keep one brace; look again from the next.
            at += open + 1;
            rest = &s[at..];
        }
    }
    if text_from < s.len() || pieces.is_empty() {
        pieces.push(Piece::Text(&s[text_from..]));
    }
    pieces
}

fn is_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Whether the JSON `text` has an object with a key twice (serde's
/// derived readers refuse that where a `Value` keeps the last); `None`
/// when it is not JSON.
pub fn has_duplicate_keys(text: &str) -> Option<bool> {
    let mut de = serde_json::Deserializer::from_str(text);
    match DuplicateCheck::deserialize(&mut de).and_then(|c| de.end().map(|()| c)) {
        Ok(DuplicateCheck(found)) => Some(found),
        Err(_) => None,
    }
}

struct DuplicateCheck(bool);

impl<'de> Deserialize<'de> for DuplicateCheck {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(CheckVisitor)
    }
}

struct CheckVisitor;

impl<'de> Visitor<'de> for CheckVisitor {
    type Value = DuplicateCheck;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(DuplicateCheck(false))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(DuplicateCheck(false))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(DuplicateCheck(false))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(DuplicateCheck(false))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(DuplicateCheck(false))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(DuplicateCheck(false))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut found = false;
        while let Some(DuplicateCheck(inner)) = seq.next_element()? {
            found |= inner;
        }
        Ok(DuplicateCheck(found))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut keys = HashSet::new();
        let mut found = false;
        while let Some(key) = map.next_key::<String>()? {
            found |= !keys.insert(key);
            let DuplicateCheck(inner) = map.next_value()?;
            found |= inner;
        }
        Ok(DuplicateCheck(found))
    }
}

#[cfg(test)]
mod tests;
