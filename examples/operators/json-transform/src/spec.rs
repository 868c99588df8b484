//! The transform spec: parsing and applying its steps.

use serde::Deserialize;
use serde_json::{Map, Value};
use serde_json_path::JsonPath;

/// A parsed transform: input checks, steps applied in order, output checks.
#[derive(Debug)]
pub struct Spec {
    pub require_input: Vec<Query>,
    pub steps: Vec<Step>,
    pub require_output: Vec<Query>,
}

/// A JSONPath query together with its source text, for messages.
#[derive(Debug)]
pub struct Query {
    text: String,
    path: JsonPath,
}

impl Query {
    fn parse(text: &str, at: &str) -> Result<Query, String> {
        let path =
            JsonPath::parse(text).map_err(|e| format!("{at}: bad JSONPath '{text}': {e}"))?;
        Ok(Query {
            text: text.to_string(),
            path,
        })
    }

    /// Whether the query matches at least one node of `value`.
    pub fn matches(&self, value: &Value) -> bool {
        !self.path.query(value).is_empty()
    }

    pub fn text(&self) -> &str {
        &self.text
    }
}

/// One step of a transform.
#[derive(Debug)]
pub enum Step {
    /// Builds a new object: each field is the result of a query on the input.
    Select(Vec<(String, Selection)>),
    /// Renames top-level fields; fields that are absent are left alone.
    Rename(Vec<(String, String)>),
    /// Applies a function to every node a query matches, in place.
    Map { query: Query, op: MapOp },
    /// Keeps the elements of each matched array for which a filter holds.
    Filter {
        query: Query,
        keep: JsonPath,
        text: String,
    },
    /// Removes top-level fields.
    Drop(Vec<String>),
}

/// How a `select` field collects its query's matches.
#[derive(Debug)]
pub enum Selection {
    /// Exactly one value, or `null` when nothing matches.
    One(Query),
    /// Every match, as an array.
    All(Query),
}

/// The functions `map` can apply.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MapOp {
    Uppercase,
    Lowercase,
    Trim,
    Length,
    ToString,
    ToNumber,
    Round { digits: i32 },
    Truncate { max: usize },
}

// What people write; turned into the typed `Spec` by `Spec::parse`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpec {
    #[serde(default)]
    require_input: Vec<String>,
    steps: Vec<RawStep>,
    #[serde(default)]
    require_output: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
enum RawStep {
    Select(Map<String, Value>),
    Rename(Map<String, Value>),
    Map {
        path: String,
        op: String,
        #[serde(default)]
        digits: Option<i32>,
        #[serde(default)]
        max: Option<usize>,
    },
    Filter {
        path: String,
        #[serde(rename = "where")]
        condition: String,
    },
    Drop(Vec<String>),
}

impl Spec {
    /// Parses a spec from JSON text; errors name the step and what is wrong.
    pub fn parse(text: &str) -> Result<Spec, String> {
        let raw: RawSpec = serde_json::from_str(text).map_err(|e| format!("spec: {e}"))?;
        let queries = |list: Vec<String>, field: &str| -> Result<Vec<Query>, String> {
            list.iter()
                .map(|q| Query::parse(q, &format!("spec.{field}")))
                .collect()
        };
        let steps = raw
            .steps
            .into_iter()
            .enumerate()
            .map(|(i, step)| parse_step(step, &format!("spec.steps[{i}]")))
            .collect::<Result<_, _>>()?;
        Ok(Spec {
            require_input: queries(raw.require_input, "require_input")?,
            steps,
            require_output: queries(raw.require_output, "require_output")?,
        })
    }

    /// Runs every step on `input`.
    pub fn apply(&self, input: Value) -> Result<Value, String> {
        self.steps
            .iter()
            .enumerate()
            .try_fold(input, |value, (i, step)| {
                step.apply(value).map_err(|e| format!("step {i}: {e}"))
            })
    }
}

fn parse_step(step: RawStep, at: &str) -> Result<Step, String> {
    Ok(match step {
        RawStep::Select(fields) => Step::Select(
            fields
                .into_iter()
                .map(|(key, sel)| {
                    let at = format!("{at}.select.{key}");
                    let selection = match sel {
                        Value::String(q) => Selection::One(Query::parse(&q, &at)?),
                        Value::Object(ref o) if o.len() == 1 && o.get("all").is_some_and(Value::is_string) => {
                            Selection::All(Query::parse(o["all"].as_str().unwrap_or_default(), &at)?)
                        }
                        other => {
                            return Err(format!(
                                "{at}: expected a JSONPath string or {{\"all\": \"<JSONPath>\"}}, got {other}"
                            ));
                        }
                    };
                    Ok((key, selection))
                })
                .collect::<Result<_, String>>()?,
        ),
        RawStep::Rename(fields) => Step::Rename(
            fields
                .into_iter()
                .map(|(from, to)| match to {
                    Value::String(to) => Ok((from, to)),
                    other => Err(format!("{at}.rename.{from}: expected the new name as a string, got {other}")),
                })
                .collect::<Result<_, String>>()?,
        ),
        RawStep::Map { path, op, digits, max } => {
            let op = match (op.as_str(), digits, max) {
                ("uppercase", None, None) => MapOp::Uppercase,
                ("lowercase", None, None) => MapOp::Lowercase,
                ("trim", None, None) => MapOp::Trim,
                ("length", None, None) => MapOp::Length,
                ("string", None, None) => MapOp::ToString,
                ("number", None, None) => MapOp::ToNumber,
                ("round", digits, None) => MapOp::Round { digits: digits.unwrap_or(0) },
                ("truncate", None, Some(max)) => MapOp::Truncate { max },
                ("truncate", None, None) => return Err(format!("{at}.map: 'truncate' needs 'max'")),
                (
                    "uppercase" | "lowercase" | "trim" | "length" | "string" | "number" | "round" | "truncate",
                    _,
                    _,
                ) => return Err(format!("{at}.map: '{op}' does not take 'digits' or 'max' as given")),
                (other, _, _) => {
                    return Err(format!(
                        "{at}.map: unknown op '{other}' (expected uppercase, lowercase, trim, length, \
                         string, number, round or truncate)"
                    ));
                }
            };
            Step::Map { query: Query::parse(&path, &format!("{at}.map.path"))?, op }
        }
        RawStep::Filter { path, condition } => {
            let text = format!("$[?{condition}]");
            let keep = JsonPath::parse(&text)
                .map_err(|e| format!("{at}.filter.where: bad filter '{condition}': {e}"))?;
            Step::Filter { query: Query::parse(&path, &format!("{at}.filter.path"))?, keep, text: condition }
        }
        RawStep::Drop(fields) => Step::Drop(fields),
    })
}

impl Step {
    fn apply(&self, mut value: Value) -> Result<Value, String> {
        match self {
            Step::Select(fields) => {
                let mut out = Map::new();
                for (key, selection) in fields {
                    let selected = match selection {
                        Selection::One(q) => match q.path.query(&value).at_most_one() {
                            Ok(found) => found.cloned().unwrap_or(Value::Null),
                            Err(_) => {
                                return Err(format!(
                                    "select '{key}': '{}' matched several values; write {{\"all\": \"{}\"}} \
                                     to collect them",
                                    q.text, q.text
                                ));
                            }
                        },
                        Selection::All(q) => {
                            Value::Array(q.path.query(&value).all().into_iter().cloned().collect())
                        }
                    };
                    out.insert(key.clone(), selected);
                }
                Ok(Value::Object(out))
            }
            Step::Rename(pairs) => {
                let Value::Object(map) = &mut value else {
                    return Err(format!("rename needs an object, got {}", kind(&value)));
                };
                for (from, to) in pairs {
                    if let Some(v) = map.remove(from) {
                        map.insert(to.clone(), v);
                    }
                }
                Ok(value)
            }
            Step::Map { query, op } => {
                let pointers = located(&query.path, &value);
                for pointer in pointers {
                    if let Some(node) = value.pointer_mut(&pointer) {
                        *node = op
                            .apply(node)
                            .map_err(|e| format!("map '{}' at {pointer}: {e}", query.text))?;
                    }
                }
                Ok(value)
            }
            Step::Filter { query, keep, text } => {
                for pointer in located(&query.path, &value) {
                    let Some(node) = value.pointer_mut(&pointer) else {
                        continue;
                    };
                    if !node.is_array() {
                        return Err(format!(
                            "filter '{}' where '{text}' at {pointer}: expected an array, got {}",
                            query.text,
                            kind(node)
                        ));
                    }
                    let kept: Vec<Value> = keep.query(node).all().into_iter().cloned().collect();
                    *node = Value::Array(kept);
                }
                Ok(value)
            }
            Step::Drop(fields) => {
                if let Value::Object(map) = &mut value {
                    for field in fields {
                        map.remove(field);
                    }
                }
                Ok(value)
            }
        }
    }
}

/// JSON Pointers of every node `path` matches, deepest first so that
/// rewriting one never moves another.
fn located(path: &JsonPath, value: &Value) -> Vec<String> {
    let mut pointers: Vec<String> = path
        .query_located(value)
        .locations()
        .map(|l| l.to_json_pointer())
        .collect();
    pointers.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| b.cmp(a)));
    pointers.dedup();
    pointers
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl MapOp {
    fn apply(self, value: &Value) -> Result<Value, String> {
        let text = || {
            value
                .as_str()
                .ok_or_else(|| format!("expected a string, got {}", kind(value)))
        };
        Ok(match self {
            MapOp::Uppercase => Value::String(text()?.to_uppercase()),
            MapOp::Lowercase => Value::String(text()?.to_lowercase()),
            MapOp::Trim => Value::String(text()?.trim().to_string()),
            MapOp::Truncate { max } => Value::String(text()?.chars().take(max).collect()),
            MapOp::Length => match value {
                Value::String(s) => Value::from(s.chars().count()),
                Value::Array(a) => Value::from(a.len()),
                Value::Object(o) => Value::from(o.len()),
                other => {
                    return Err(format!(
                        "length needs a string, array or object, got {}",
                        kind(other)
                    ));
                }
            },
            MapOp::ToString => match value {
                Value::String(_) => value.clone(),
                other => Value::String(other.to_string()),
            },
            MapOp::ToNumber => match value {
                Value::Number(_) => value.clone(),
                Value::String(s) => serde_json::from_str::<serde_json::Number>(s.trim())
                    .map(Value::Number)
                    .map_err(|_| format!("'{s}' is not a number"))?,
                other => return Err(format!("expected a string or number, got {}", kind(other))),
            },
            MapOp::Round { digits } => {
                let n = value
                    .as_f64()
                    .ok_or_else(|| format!("expected a number, got {}", kind(value)))?;
                let scale = 10f64.powi(digits);
                let rounded = (n * scale).round() / scale;
                serde_json::Number::from_f64(rounded)
                    .map(Value::Number)
                    .unwrap_or(Value::Null)
            }
        })
    }
}
