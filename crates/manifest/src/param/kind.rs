//! Parameter types: what values each takes, what `min` and `max` bound,
//! and reading a value of each from command-line text.

use std::fmt;

use serde::Serialize;
use serde_json::Value;

use super::show;
use super::without_position;

/// What kind of value a parameter takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, schemars::JsonSchema)]
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

    pub(super) fn from_name(name: &str) -> Option<ParamType> {
        ParamType::ALL.into_iter().find(|t| t.name() == name)
    }

    /// `a string`, `an integer`: for messages.
    pub(super) fn article(self) -> String {
        match self {
            ParamType::Integer | ParamType::Object | ParamType::Any => format!("an {self}"),
            _ => format!("a {self}"),
        }
    }

    /// Whether `min` and `max` apply, and to what.
    pub(super) fn measures(self) -> Option<Measure> {
        match self {
            ParamType::Number | ParamType::Integer => Some(Measure::Value),
            ParamType::String => Some(Measure::Chars),
            ParamType::List => Some(Measure::Items),
            _ => None,
        }
    }

    /// Reads a value of this type from command-line text; see
    /// [`Parameter::parse_text`](crate::Parameter::parse_text).
    pub fn parse_text(self, text: &str) -> Result<Value, String> {
        let json = || serde_json::from_str::<Value>(text.trim());
        match self {
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

    /// `value` as this type (an integral float becomes an integer), or
    /// `None` if it is not one.
    pub(super) fn coerce(self, value: &Value) -> Option<Value> {
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
pub(super) enum Measure {
    Value,
    Chars,
    Items,
}

impl Measure {
    pub(super) fn of(self, value: &Value) -> f64 {
        match (self, value) {
            (Measure::Value, v) => v.as_f64().unwrap_or(f64::NAN),
            (Measure::Chars, Value::String(s)) => s.chars().count() as f64,
            (Measure::Items, Value::Array(items)) => items.len() as f64,
            _ => f64::NAN,
        }
    }

    pub(super) fn unit(self, n: f64) -> &'static str {
        match (self, n == 1.0) {
            (Measure::Value, _) => "",
            (Measure::Chars, true) => " character",
            (Measure::Chars, false) => " characters",
            (Measure::Items, true) => " item",
            (Measure::Items, false) => " items",
        }
    }
}

/// The type names, for messages: `string, number, ...`.
pub(super) fn type_names() -> String {
    ParamType::ALL.map(ParamType::name).join(", ")
}
