//! Typed ports: what a node takes in and gives out, checked between nodes
//! when a workflow is validated and against the values a run passes.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A named input or output of a node.
///
/// ```json
/// {"name": "text", "type": "string", "description": "what to summarise"}
/// {"name": "tags", "type": "list<string>", "required": false}
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(description = "A named input or output of a node, e.g. \
    `{\"name\": \"text\", \"type\": \"string\"}`.")]
pub struct Port {
    /// Unique among the node's inputs (or outputs), e.g. `text`.
    pub name: String,
    /// What the port carries. Default: `any`.
    #[serde(rename = "type", default, skip_serializing_if = "PortType::is_any")]
    pub ty: PortType,
    /// An input a node cannot run without; an output it always produces.
    /// Default: true.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub required: bool,
    /// What the port means.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

impl Port {
    /// A required port of type `ty`.
    pub fn new(name: impl Into<String>, ty: PortType) -> Port {
        Port {
            name: name.into(),
            ty,
            required: true,
            description: None,
        }
    }

    /// The same port, optional.
    pub fn optional(mut self) -> Port {
        self.required = false;
        self
    }
}

/// The type of the values a port carries, written as text in documents:
/// `any`, `string`, `number`, `bool`, `list<T>` (`list` alone is
/// `list<any>`), and `object{name: T, ...}` (`object` alone is any object).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub enum PortType {
    /// Anything; checked only where it meets a stricter type at run time.
    #[default]
    Any,
    /// A JSON string.
    String,
    /// A JSON number.
    Number,
    /// `true` or `false`.
    Bool,
    /// A list whose elements all have this type.
    List(Box<PortType>),
    /// An object with at least these fields; no fields means any object.
    Object(BTreeMap<String, PortType>),
}

impl PortType {
    /// A list of `element`.
    pub fn list(element: PortType) -> PortType {
        PortType::List(Box::new(element))
    }

    /// An object with these fields.
    pub fn object<'a>(fields: impl IntoIterator<Item = (&'a str, PortType)>) -> PortType {
        PortType::Object(
            fields
                .into_iter()
                .map(|(name, ty)| (name.to_string(), ty))
                .collect(),
        )
    }

    fn is_any(&self) -> bool {
        *self == PortType::Any
    }

    /// Whether every value of type `from` can flow into a port of this
    /// type. `any` on either side is accepted here and checked against the
    /// values at run time.
    pub fn accepts(&self, from: &PortType) -> bool {
        match (self, from) {
            (PortType::Any, _) | (_, PortType::Any) => true,
            (PortType::List(to), PortType::List(from)) => to.accepts(from),
            (PortType::Object(to), PortType::Object(from)) => {
                // An object whose fields are not declared may have any.
                from.is_empty()
                    || to
                        .iter()
                        .all(|(name, ty)| from.get(name).is_some_and(|f| ty.accepts(f)))
            }
            (to, from) => std::mem::discriminant(to) == std::mem::discriminant(from),
        }
    }

    /// Checks `value` against this type; the error names where inside the
    /// value it differs, e.g. `.tags[2] is a number, expected string`.
    pub fn check(&self, value: &Value) -> Result<(), String> {
        let mut path = String::new();
        self.check_at(value, &mut path)
    }

    fn check_at(&self, value: &Value, path: &mut String) -> Result<(), String> {
        let fits = match (self, value) {
            (PortType::Any, _)
            | (PortType::String, Value::String(_))
            | (PortType::Number, Value::Number(_))
            | (PortType::Bool, Value::Bool(_)) => true,
            // Nothing to check inside: skip walking a long list.
            (PortType::List(element), Value::Array(_)) if **element == PortType::Any => true,
            (PortType::List(element), Value::Array(items)) => {
                let len = path.len();
                for (i, item) in items.iter().enumerate() {
                    let _ = write!(path, "[{i}]");
                    element.check_at(item, path)?;
                    path.truncate(len);
                }
                true
            }
            (PortType::Object(fields), Value::Object(map)) => {
                let len = path.len();
                for (name, ty) in fields {
                    path.push('.');
                    path.push_str(name);
                    match map.get(name) {
                        Some(field) => ty.check_at(field, path)?,
                        None => return Err(format!("{path} is missing, expected {ty}")),
                    }
                    path.truncate(len);
                }
                true
            }
            _ => false,
        };
        if fits {
            return Ok(());
        }
        let at = if path.is_empty() { "the value" } else { path };
        Err(format!("{at} is {}, expected {self}", kind_of(value)))
    }
}

/// A value's kind in words: `null`, `a bool`, `a list`...
pub fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a bool",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

impl fmt::Display for PortType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PortType::Any => f.write_str("any"),
            PortType::String => f.write_str("string"),
            PortType::Number => f.write_str("number"),
            PortType::Bool => f.write_str("bool"),
            PortType::List(element) if **element == PortType::Any => f.write_str("list"),
            PortType::List(element) => write!(f, "list<{element}>"),
            PortType::Object(fields) if fields.is_empty() => f.write_str("object"),
            PortType::Object(fields) => {
                f.write_str("object{")?;
                for (i, (name, ty)) in fields.iter().enumerate() {
                    let sep = if i == 0 { "" } else { ", " };
                    write!(f, "{sep}{name}: {ty}")?;
                }
                f.write_str("}")
            }
        }
    }
}

/// Why a port type's text does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("port type '{text}': {message} at column {column}")]
pub struct PortTypeError {
    /// The text given.
    pub text: String,
    /// 1-based column where parsing stopped.
    pub column: usize,
    /// What was expected there.
    pub message: String,
}

impl FromStr for PortType {
    type Err = PortTypeError;

    fn from_str(text: &str) -> Result<PortType, PortTypeError> {
        let mut parser = Parser { text, at: 0 };
        let ty = parser.ty(0)?;
        parser.skip_space();
        if parser.at < text.len() {
            return Err(parser.error("unexpected text after the type"));
        }
        Ok(ty)
    }
}

/// Deep nesting would only come from a hostile document; stop it before
/// it exhausts the stack.
const MAX_DEPTH: usize = 32;

struct Parser<'t> {
    text: &'t str,
    at: usize,
}

impl<'t> Parser<'t> {
    fn error(&self, message: &str) -> PortTypeError {
        PortTypeError {
            text: self.text.to_string(),
            column: self.text[..self.at].chars().count() + 1,
            message: message.to_string(),
        }
    }

    fn skip_space(&mut self) {
        let rest = &self.text[self.at..];
        self.at += rest.len() - rest.trim_start().len();
    }

    fn eat(&mut self, c: char) -> bool {
        self.skip_space();
        let found = self.text[self.at..].starts_with(c);
        if found {
            self.at += c.len_utf8();
        }
        found
    }

    fn word(&mut self) -> &'t str {
        self.skip_space();
        let text: &'t str = self.text;
        let rest = &text[self.at..];
        let len = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-'))
            .unwrap_or(rest.len());
        self.at += len;
        &rest[..len]
    }

    fn ty(&mut self, depth: usize) -> Result<PortType, PortTypeError> {
        if depth > MAX_DEPTH {
            return Err(self.error("types nest too deeply"));
        }
        let start = self.at;
        Ok(match self.word() {
            "any" => PortType::Any,
            "string" => PortType::String,
            "number" => PortType::Number,
            "bool" => PortType::Bool,
            "list" if self.eat('<') => {
                let element = self.ty(depth + 1)?;
                if !self.eat('>') {
                    return Err(self.error("expected '>'"));
                }
                PortType::list(element)
            }
            "list" => PortType::list(PortType::Any),
            "object" if self.eat('{') => {
                let mut fields = BTreeMap::new();
                while !self.eat('}') {
                    if !fields.is_empty() && !self.eat(',') {
                        return Err(self.error("expected ',' or '}'"));
                    }
                    let name = self.word().to_string();
                    if name.is_empty() {
                        return Err(self.error("expected a field name"));
                    }
                    if !self.eat(':') {
                        return Err(self.error("expected ':' after the field name"));
                    }
                    let ty = self.ty(depth + 1)?;
                    if fields.insert(name, ty).is_some() {
                        return Err(self.error("the field is named twice"));
                    }
                }
                PortType::Object(fields)
            }
            "object" => PortType::Object(BTreeMap::new()),
            _ => {
                self.at = start;
                self.skip_space();
                return Err(self
                    .error("expected any, string, number, bool, list<T> or object{name: T, ...}"));
            }
        })
    }
}

impl Serialize for PortType {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PortType {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<PortType, D::Error> {
        let text = std::borrow::Cow::<str>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Written as text, so its schema is a string whose grammar the description
/// gives; the parser above checks it when the workflow is read.
impl JsonSchema for PortType {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "PortType".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "The type of the values a port carries: `any`, `string`, `number`, \
                `bool`, `list<T>` (`list` alone is `list<any>`) or `object{name: T, ...}` \
                (`object` alone is any object).",
            "default": "any",
            "examples": ["string", "list<string>", "object{label: string, score: number}"]
        })
    }
}

#[cfg(test)]
pub(crate) mod tests;
