//! Parameter definitions: reading and checking them, checking values
//! against them, and reading values from command-line text.

use std::fmt;

use serde::Serialize;
use serde_json::{Map, Number, Value};

use crate::workflow::without_position;

/// The fields a parameter definition may have.
const FIELDS: &str = "type, default, required, min, max, enum, pattern, description";

/// What kind of value a parameter takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum ParamType {
    /// A JSON string.
    String,
    /// Any JSON number.
    Number,
    /// A whole number (`3`, or `3.0` taken as `3`).
    Integer,
    /// `true` or `false`.
    Bool,
    /// A JSON array.
    List,
    /// A JSON object.
    Object,
    /// Any JSON value, `null` included.
    Any,
}

impl ParamType {
    const ALL: [ParamType; 7] = [
        ParamType::String,
        ParamType::Number,
        ParamType::Integer,
        ParamType::Bool,
        ParamType::List,
        ParamType::Object,
        ParamType::Any,
    ];

    /// The type's name in template files, e.g. `integer`.
    pub fn name(self) -> &'static str {
        match self {
            ParamType::String => "string",
            ParamType::Number => "number",
            ParamType::Integer => "integer",
            ParamType::Bool => "bool",
            ParamType::List => "list",
            ParamType::Object => "object",
            ParamType::Any => "any",
        }
    }

    fn from_name(name: &str) -> Option<ParamType> {
        ParamType::ALL.into_iter().find(|t| t.name() == name)
    }

    /// `a string`, `an integer`: for messages.
    fn article(self) -> String {
        match self {
            ParamType::Integer | ParamType::Object | ParamType::Any => format!("an {self}"),
            _ => format!("a {self}"),
        }
    }

    /// Whether `min` and `max` apply, and to what.
    fn measures(self) -> Option<Measure> {
        match self {
            ParamType::Number | ParamType::Integer => Some(Measure::Value),
            ParamType::String => Some(Measure::Chars),
            ParamType::List => Some(Measure::Items),
            _ => None,
        }
    }

    /// `value` as this type (an integral float becomes an integer), or
    /// `None` if it is not one.
    fn coerce(self, value: &Value) -> Option<Value> {
        let fits = match self {
            ParamType::String => value.is_string(),
            ParamType::Number => value.is_number(),
            ParamType::Integer => {
                if value.is_i64() || value.is_u64() {
                    true
                } else {
                    // 2^63 as f64 is out of i64's range; anything smaller
                    // and whole converts exactly.
                    return value
                        .as_f64()
                        .filter(|f| f.fract() == 0.0 && f.abs() < 9.2e18)
                        .map(|f| Value::from(f as i64));
                }
            }
            ParamType::Bool => value.is_boolean(),
            ParamType::List => value.is_array(),
            ParamType::Object => value.is_object(),
            ParamType::Any => true,
        };
        fits.then(|| value.clone())
    }
}

impl fmt::Display for ParamType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What `min` and `max` bound.
#[derive(Clone, Copy)]
enum Measure {
    Value,
    Chars,
    Items,
}

impl Measure {
    fn of(self, value: &Value) -> f64 {
        match (self, value) {
            (Measure::Value, v) => v.as_f64().unwrap_or(f64::NAN),
            (Measure::Chars, Value::String(s)) => s.chars().count() as f64,
            (Measure::Items, Value::Array(items)) => items.len() as f64,
            _ => f64::NAN,
        }
    }

    fn unit(self, n: f64) -> &'static str {
        match (self, n == 1.0) {
            (Measure::Value, _) => "",
            (Measure::Chars, true) => " character",
            (Measure::Chars, false) => " characters",
            (Measure::Items, true) => " item",
            (Measure::Items, false) => " items",
        }
    }
}

/// One typed parameter of a [`Template`](super::Template), as its file
/// defines it, e.g.
/// `{"type": "integer", "default": 1, "min": 1, "max": 10, "description": "Sentences"}`.
#[derive(Debug, Clone, Serialize)]
pub struct Parameter {
    /// What kind of value it takes.
    #[serde(rename = "type")]
    pub kind: ParamType,
    /// The value used when none is given; a parameter without one is required.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
    /// Whether a value must be given (exactly when there is no default).
    pub required: bool,
    /// The least value (numbers), length (strings) or item count (lists).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<Number>,
    /// The greatest value (numbers), length (strings) or item count (lists).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<Number>,
    /// The values allowed, if only some are.
    #[serde(rename = "enum", skip_serializing_if = "Option::is_none")]
    pub allowed: Option<Vec<Value>>,
    /// A regular expression a string value must match somewhere.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// What the parameter is for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `pattern`, compiled once.
    #[serde(skip)]
    regex: Option<regex_lite::Regex>,
}

/// Whether `name` can be a parameter name (and so a placeholder).
pub(super) fn is_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

impl Parameter {
    /// Reads the definition of parameter `name`, pushing a message for each
    /// thing wrong with it; `None` if it is too broken to use.
    pub(super) fn define(definition: &Value, problems: &mut Vec<String>) -> Option<Parameter> {
        let Some(fields) = definition.as_object() else {
            problems.push(format!(
                "must be an object like {{\"type\": \"string\"}}, not {}",
                show(definition)
            ));
            return None;
        };
        let mut field = Fields {
            fields,
            problems: &mut *problems,
        };
        let kind = match fields.get("type") {
            None => {
                field
                    .problems
                    .push(format!("has no type (one of {})", type_names()));
                None
            }
            Some(t) => {
                let kind = t.as_str().and_then(ParamType::from_name);
                if kind.is_none() {
                    field.problems.push(format!(
                        "unknown type {} (expected one of {})",
                        show(t),
                        type_names()
                    ));
                }
                kind
            }
        };
        let required = field.get("required", Value::as_bool, "true or false");
        let description = field.get("description", Value::as_str, "a string");
        let min = field.get("min", number, "a number");
        let max = field.get("max", number, "a number");
        let pattern = field.get("pattern", Value::as_str, "a string");
        let allowed = field.get("enum", Value::as_array, "a list of values");
        let default = fields.get("default").cloned();
        for key in fields.keys() {
            if !FIELDS.split(", ").any(|f| f == key) {
                problems.push(format!("unknown field '{key}' (expected {FIELDS})"));
            }
        }
        let kind = kind?;
        let mut param = Parameter {
            kind,
            required: default.is_none(),
            default: None,
            min,
            max,
            allowed: allowed.cloned(),
            pattern: pattern.map(str::to_string),
            description: description.map(str::to_string),
            regex: None,
        };
        param.check_definition(required, problems);
        if let Some(default) = default {
            match param.check(&default) {
                Ok(value) => param.default = Some(value),
                Err(errors) => problems.extend(
                    errors
                        .into_iter()
                        .map(|e| format!("the default {}: {e}", show(&default))),
                ),
            }
        }
        Some(param)
    }

    /// Checks the constraints fit the type and each other, and compiles
    /// the pattern.
    fn check_definition(&mut self, required: Option<bool>, problems: &mut Vec<String>) {
        let kind = self.kind;
        match required {
            Some(true) if !self.required => problems.push(
                "is required but has a default: drop one (a parameter with a default is optional)"
                    .into(),
            ),
            Some(false) if self.required => problems
                .push("is optional (required: false) but has no default: give it one".into()),
            _ => {}
        }
        for (field, bound) in [("min", &self.min), ("max", &self.max)] {
            let Some(bound) = bound else { continue };
            match kind.measures() {
                None => problems.push(format!(
                    "{field} applies to numbers, integers, strings (length) and lists (item count), not {kind}"
                )),
                Some(Measure::Chars | Measure::Items)
                    if bound.as_u64().is_none() && bound.as_f64().is_none_or(|f| f.fract() != 0.0 || f < 0.0) =>
                {
                    problems.push(format!(
                        "{field} {bound} is a length here: a whole number, 0 or more"
                    ))
                }
                _ => {}
            }
        }
        if let (Some(min), Some(max)) = (&self.min, &self.max)
            && min.as_f64() > max.as_f64()
        {
            problems.push(format!("min {min} is greater than max {max}"));
        }
        if let Some(pattern) = &self.pattern {
            if kind != ParamType::String {
                problems.push(format!("pattern applies to strings, not {kind}"));
            }
            match regex_lite::Regex::new(pattern) {
                Ok(regex) => self.regex = Some(regex),
                Err(e) => problems.push(format!(
                    "pattern {} does not compile: {}",
                    show(&Value::from(pattern.as_str())),
                    e.to_string().replace('\n', " ")
                )),
            }
        }
        if let Some(allowed) = &self.allowed {
            if allowed.is_empty() {
                problems.push("enum is empty: list the allowed values".into());
            }
            for value in allowed {
                if kind.coerce(value).is_none() {
                    problems.push(format!(
                        "enum value {} is not {}",
                        show(value),
                        kind.article()
                    ));
                }
            }
        }
    }

    /// `value` checked against the parameter (an integral float for an
    /// integer becomes an integer), or every reason it does not fit.
    pub(super) fn check(&self, value: &Value) -> Result<Value, Vec<String>> {
        let Some(value) = self.kind.coerce(value) else {
            return Err(vec![format!(
                "expected {}, got {}",
                self.kind.article(),
                typed(value)
            )]);
        };
        let mut errors = Vec::new();
        if let Some(measure) = self.kind.measures() {
            let n = measure.of(&value);
            let min = self.min.as_ref().and_then(Number::as_f64);
            let max = self.max.as_ref().and_then(Number::as_f64);
            let too_small = min.is_some_and(|min| n < min);
            let too_big = max.is_some_and(|max| n > max);
            if too_small || too_big {
                let got = match measure {
                    Measure::Value => show(&value),
                    _ => format!("{n}{}", measure.unit(n)),
                };
                let prefix = match measure {
                    Measure::Items => "must have",
                    _ => "must be",
                };
                let bound = match (&self.min, &self.max) {
                    (Some(min), Some(max)) => format!("{min} to {max}"),
                    (Some(min), None) => format!("at least {min}"),
                    (None, Some(max)) => format!("at most {max}"),
                    (None, None) => String::new(),
                };
                let unit = max.or(min).map_or("", |b| measure.unit(b));
                let long = if matches!(measure, Measure::Chars) {
                    " long"
                } else {
                    ""
                };
                errors.push(format!("{prefix} {bound}{unit}{long}, got {got}"));
            }
        }
        if let Some(allowed) = &self.allowed
            && !allowed.iter().any(|a| same(a, &value))
        {
            errors.push(format!(
                "must be one of {}, got {}",
                allowed.iter().map(show).collect::<Vec<_>>().join(", "),
                show(&value)
            ));
        }
        if let (Some(regex), Value::String(text)) = (&self.regex, &value)
            && !regex.is_match(text)
        {
            errors.push(format!(
                "must match the pattern {}, got {}",
                self.pattern.as_deref().unwrap_or_default(),
                show(&value)
            ));
        }
        if errors.is_empty() {
            Ok(value)
        } else {
            Err(errors)
        }
    }

    /// What to tell someone who left out this required parameter.
    pub(super) fn wanted(&self) -> String {
        let mut hint = format!("is required: give {}", self.kind.article());
        let constraints = self.constraints();
        match (&self.description, constraints.is_empty()) {
            (Some(d), true) => hint += &format!(" ({d})"),
            (Some(d), false) => hint += &format!(" ({constraints}; {d})"),
            (None, false) => hint += &format!(" ({constraints})"),
            (None, true) => {}
        }
        hint
    }

    /// The constraints in words, e.g. `1 to 10` or `one of "a", "b"`;
    /// empty when there are none.
    pub fn constraints(&self) -> String {
        let mut parts = Vec::new();
        let (before, after) = match self.kind {
            ParamType::String => ("length ", ""),
            ParamType::List => ("", " items"),
            _ => ("", ""),
        };
        match (&self.min, &self.max) {
            (Some(min), Some(max)) => parts.push(format!("{before}{min} to {max}{after}")),
            (Some(min), None) => parts.push(format!("{before}at least {min}{after}")),
            (None, Some(max)) => parts.push(format!("{before}at most {max}{after}")),
            (None, None) => {}
        }
        if let Some(allowed) = &self.allowed {
            let values: Vec<String> = allowed.iter().map(show).collect();
            parts.push(format!("one of {}", values.join(", ")));
        }
        if let Some(pattern) = &self.pattern {
            parts.push(format!("matching {pattern}"));
        }
        parts.join("; ")
    }

    /// Reads a value for this parameter from command-line text: a string
    /// takes the text as it is, a bool `true` or `false`, anything else
    /// JSON (`3`, `["a", "b"]`); `any` falls back to the text as a string.
    pub fn parse_text(&self, text: &str) -> Result<Value, String> {
        let json = || serde_json::from_str::<Value>(text.trim());
        match self.kind {
            ParamType::String => Ok(Value::String(text.to_string())),
            ParamType::Any => Ok(json().unwrap_or_else(|_| Value::String(text.to_string()))),
            ParamType::Bool => match text.trim() {
                "true" => Ok(Value::Bool(true)),
                "false" => Ok(Value::Bool(false)),
                _ => Err(format!(
                    "{} is not a bool: write true or false",
                    show(&Value::from(text))
                )),
            },
            kind => json().map_err(|e| {
                let example = match kind {
                    ParamType::List => r#"'["a", "b"]'"#,
                    ParamType::Object => r#"'{"key": "value"}'"#,
                    _ => "42",
                };
                format!(
                    "{} is not {}: {} (write it as JSON, e.g. {example})",
                    show(&Value::from(text)),
                    kind.article(),
                    without_position(&e)
                )
            }),
        }
    }
}

/// A definition's fields, read with a message for each of the wrong type.
struct Fields<'a, 'p> {
    fields: &'a Map<String, Value>,
    problems: &'p mut Vec<String>,
}

impl<'a> Fields<'a, '_> {
    fn get<T>(
        &mut self,
        name: &str,
        read: impl Fn(&'a Value) -> Option<T>,
        expected: &str,
    ) -> Option<T> {
        let value = self.fields.get(name)?;
        let read = read(value);
        if read.is_none() {
            self.problems
                .push(format!("{name} must be {expected}, not {}", show(value)));
        }
        read
    }
}

fn number(value: &Value) -> Option<Number> {
    match value {
        Value::Number(n) => Some(n.clone()),
        _ => None,
    }
}

/// Equal as JSON values, numbers compared by value (`1` equals `1.0`).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

fn type_names() -> String {
    ParamType::ALL.map(ParamType::name).join(", ")
}

/// A value for a message: compact JSON, cut short when long.
pub(super) fn show(value: &Value) -> String {
    const MAX: usize = 60;
    let text = value.to_string();
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text,
    }
}

/// A value with its JSON type, for a type mismatch: `the string "3"`.
fn typed(value: &Value) -> String {
    let kind = match value {
        Value::Null => return "null".into(),
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "object",
    };
    format!("the {kind} {}", show(value))
}

#[cfg(test)]
mod tests;
