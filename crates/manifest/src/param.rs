//! Parameter definitions: reading and checking them, and checking values
//! against them.

mod kind;

use serde::{Serialize, Serializer};
use serde_json::{Map, Number, Value};

pub use kind::ParamType;
use kind::{Measure, type_names};

/// The fields a parameter definition may have.
const FIELDS: &str = "type, default, required, min, max, enum, pattern, description";

/// A parameter definition as a file writes it, for JSON Schemas (template
/// parameters, a manifest's `[config.KEY]` tables); [`Parameter::define`]
/// reads and checks it, and a unit test holds its fields to that reader's.
#[derive(schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(
    dead_code,
    reason = "it describes the file for its schema; `define` reads the file"
)]
pub struct ParameterSpec {
    /// What kind of value it takes.
    #[serde(rename = "type")]
    kind: ParamType,
    /// The value used when none is given; it must fit the type and bounds.
    default: Option<Value>,
    /// Whether a value must be given. A template parameter is required
    /// exactly when it has no default, and this must agree if given.
    required: Option<bool>,
    /// The least value (numbers), length (strings) or item count (lists).
    min: Option<f64>,
    /// The greatest value (numbers), length (strings) or item count (lists).
    max: Option<f64>,
    /// The values allowed, if only some are.
    #[serde(rename = "enum")]
    allowed: Option<Vec<Value>>,
    /// A regular expression a string value must match somewhere.
    pattern: Option<String>,
    /// What the parameter is for, shown in help and errors.
    description: Option<String>,
}

/// One typed parameter of a template or an extension's config key, as its file
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
    /// A regular expression a string value must match somewhere, compiled
    /// once; see [`Parameter::pattern`].
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_pattern"
    )]
    pattern: Option<regex_lite::Regex>,
    /// What the parameter is for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

fn serialize_pattern<S: Serializer>(
    pattern: &Option<regex_lite::Regex>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    pattern
        .as_ref()
        .map(regex_lite::Regex::as_str)
        .serialize(serializer)
}

/// Whether `name` can be a parameter name (and so a placeholder).
pub fn is_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

impl Parameter {
    /// Reads the definition of parameter `name`, pushing a message for each
    /// thing wrong with it; `None` if it is too broken to use.
    pub fn define(definition: &Value, problems: &mut Vec<String>) -> Option<Parameter> {
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
            pattern: None,
            description: description.map(str::to_string),
        };
        param.check_definition(required, pattern, problems);
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
    /// `pattern`.
    fn check_definition(
        &mut self,
        required: Option<bool>,
        pattern: Option<&str>,
        problems: &mut Vec<String>,
    ) {
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
        if let Some(pattern) = pattern {
            if kind != ParamType::String {
                problems.push(format!("pattern applies to strings, not {kind}"));
            }
            match regex_lite::Regex::new(pattern) {
                Ok(regex) => self.pattern = Some(regex),
                Err(e) => problems.push(format!(
                    "pattern {} does not compile: {}",
                    show(&Value::from(pattern)),
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
    pub fn check(&self, value: &Value) -> Result<Value, Vec<String>> {
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
                let bound = self.range().unwrap_or_default();
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
        if let (Some(regex), Value::String(text)) = (&self.pattern, &value)
            && !regex.is_match(text)
        {
            errors.push(format!(
                "must match the pattern {}, got {}",
                regex.as_str(),
                show(&value)
            ));
        }
        if errors.is_empty() {
            Ok(value)
        } else {
            Err(errors)
        }
    }

    /// A regular expression a string value must match somewhere (an
    /// unanchored search), if there is one.
    pub fn pattern(&self) -> Option<&str> {
        self.pattern.as_ref().map(regex_lite::Regex::as_str)
    }

    /// `min` and `max` in words: `1 to 10`, `at least 1` or `at most 10`.
    fn range(&self) -> Option<String> {
        match (&self.min, &self.max) {
            (Some(min), Some(max)) => Some(format!("{min} to {max}")),
            (Some(min), None) => Some(format!("at least {min}")),
            (None, Some(max)) => Some(format!("at most {max}")),
            (None, None) => None,
        }
    }

    /// What to tell someone who left out this required parameter.
    pub fn wanted(&self) -> String {
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
        if let Some(range) = self.range() {
            parts.push(format!("{before}{range}{after}"));
        }
        if let Some(allowed) = &self.allowed {
            let values: Vec<String> = allowed.iter().map(show).collect();
            parts.push(format!("one of {}", values.join(", ")));
        }
        if let Some(pattern) = self.pattern() {
            parts.push(format!("matching {pattern}"));
        }
        parts.join("; ")
    }

    /// Reads a value for this parameter from command-line text: a string
    /// takes the text as it is, a bool `true` or `false`, anything else
    /// JSON (`3`, `["a", "b"]`); `any` falls back to the text as a string.
    pub fn parse_text(&self, text: &str) -> Result<Value, String> {
        self.kind.parse_text(text)
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

/// A value for a message: compact JSON, cut short when long.
pub fn show(value: &Value) -> String {
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

/// serde_json's message without its " at line L column C" suffix, for
/// errors that report the position in their own fields.
pub fn without_position(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.find(" at line ") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}
