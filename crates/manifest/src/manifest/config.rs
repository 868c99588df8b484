//! The `[config]` table: the keys a node's `config` may hold, each typed
//! and checked as template parameters are ([`Parameter`]), some of them
//! secret.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{Map, Number, Value as Json};

use super::source_tree::{Item, Loc, Problems, Table, Value, found, join};
use crate::Parameter;
use crate::param::is_name;

/// The shown form of a secret value.
const HIDDEN: &str = "***";

/// The fields of one `[config.KEY]` table.
pub(super) const FIELDS: &[&str] = &[
    "type",
    "default",
    "min",
    "max",
    "enum",
    "pattern",
    "secret",
    "required",
    "description",
];

/// The configuration keys an extension takes, from the manifest's
/// `[config.KEY]` tables, e.g.
///
/// ```toml
/// [config.max-len]
/// type = "integer"
/// default = 80
/// min = 1
/// ```
#[derive(Debug, Clone, Default)]
pub struct ConfigSchema {
    /// Each key's definition, by key.
    pub keys: BTreeMap<String, ConfigKey>,
}

/// One configuration key: a [`Parameter`] (`type`, `default`, `min`,
/// `max`, `enum`, `pattern`, `description`), whether it must be given and
/// whether its values are secret.
#[derive(Clone)]
pub struct ConfigKey {
    /// Its type and constraints. Unlike a template parameter, a key with
    /// no default is optional unless `required = true`, so
    /// [`Parameter::required`] is that flag, e.g. `type = "string"`.
    pub parameter: Parameter,
    /// Whether values are secret: never shown in `Debug`, `Display` or
    /// messages, only `***`, e.g. `secret = true`.
    pub secret: bool,
}

impl ConfigSchema {
    /// Whether no keys are defined.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Checks a node's `config` against the schema: every key must be
    /// defined and its value fit, every required key be given. Returns the
    /// configuration with defaults filled in (and integral floats for
    /// integers made integers), or every problem, one per key in key
    /// order, e.g. `config 'max-len': must be 1 to 1000, got 5000`. Secret
    /// values show as `***`.
    pub fn check(&self, config: &Map<String, Json>) -> Result<Map<String, Json>, Vec<String>> {
        let mut problems = Vec::new();
        let mut out = Map::new();
        for name in config.keys() {
            if !self.keys.contains_key(name) {
                let known: Vec<&str> = self.keys.keys().map(String::as_str).collect();
                let known = if known.is_empty() {
                    "this extension takes no config".to_string()
                } else {
                    format!("this extension takes: {}", known.join(", "))
                };
                problems.push(format!("config '{name}': unknown key ({known})"));
            }
        }
        for (name, key) in &self.keys {
            let checked = match config.get(name) {
                Some(value) => key.parameter.check(value).map(Some),
                None if key.parameter.required => Err(vec![key.parameter.wanted()]),
                None => Ok(key.parameter.default.clone()),
            };
            match checked {
                Ok(Some(value)) => {
                    out.insert(name.clone(), value);
                }
                Ok(None) => {}
                Err(errors) => problems.extend(
                    errors
                        .into_iter()
                        .map(|e| format!("config '{name}': {}", key.hide(e))),
                ),
            }
        }
        problems.sort();
        if problems.is_empty() {
            Ok(out)
        } else {
            Err(problems)
        }
    }

    /// `config` with the value of each secret key replaced by `"***"`, to
    /// log or show.
    pub fn redact(&self, config: &Map<String, Json>) -> Map<String, Json> {
        config
            .iter()
            .map(|(name, value)| {
                let secret = self.keys.get(name).is_some_and(|k| k.secret);
                let value = if secret {
                    Json::from(HIDDEN)
                } else {
                    value.clone()
                };
                (name.clone(), value)
            })
            .collect()
    }
}

impl ConfigKey {
    /// A message about a value, with the value hidden if it is secret:
    /// every value-checking message ends in `, got VALUE`.
    fn hide(&self, message: String) -> String {
        if !self.secret {
            return message;
        }
        match message.find(", got ") {
            Some(at) => format!("{}, got {HIDDEN}", &message[..at]),
            None => message,
        }
    }

    /// The parameter with a secret default hidden.
    fn shown(&self) -> Parameter {
        let mut parameter = self.parameter.clone();
        if self.secret && parameter.default.is_some() {
            parameter.default = Some(Json::from(HIDDEN));
        }
        parameter
    }
}

impl fmt::Debug for ConfigKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConfigKey")
            .field("parameter", &self.shown())
            .field("secret", &self.secret)
            .finish()
    }
}

/// `integer = 80, 1 to 1000: Maximum length`; `string, required, secret`.
impl fmt::Display for ConfigKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = self.shown();
        write!(f, "{}", shown.kind)?;
        if let Some(default) = &shown.default {
            write!(f, " = {default}")?;
        }
        if shown.required {
            f.write_str(", required")?;
        }
        if self.secret {
            f.write_str(", secret")?;
        }
        let constraints = shown.constraints();
        if !constraints.is_empty() {
            write!(f, ", {constraints}")?;
        }
        if let Some(description) = &shown.description {
            write!(f, ": {description}")?;
        }
        Ok(())
    }
}

/// Reads the `[config]` table.
pub(super) fn read(item: &Item, problems: &mut Problems) -> ConfigSchema {
    let mut schema = ConfigSchema::default();
    let Some(table) = item.entries("config", problems) else {
        return schema;
    };
    for (name, entry) in table {
        let path = join("config", name);
        // Config keys follow template parameter names.
        if !is_name(name) {
            problems.push(
                &entry.key,
                format!(
                    "invalid config key \"{name}\": start with a letter or '_', \
                     then use letters, digits, '_' and '-'"
                ),
            );
        }
        let Some(fields) = entry.item.table(&path, FIELDS, problems) else {
            continue;
        };
        if let Some(key) = define(fields, &entry.key, &path, problems) {
            schema.keys.insert(name.clone(), key);
        }
    }
    schema
}

/// One key's definition: the template checker reads all but `secret`,
/// `required` and `default`, which differ here.
fn define(fields: &Table, at: &Loc, path: &str, problems: &mut Problems) -> Option<ConfigKey> {
    let field = |key: &str| fields.get(key).map(|e| &e.item);
    let flag = |key: &str, problems: &mut Problems| {
        field(key).and_then(|item| item.bool(&join(path, key), problems))
    };
    let secret = flag("secret", problems).unwrap_or(false);
    let required = flag("required", problems).unwrap_or(false);
    let mut definition = Map::new();
    let mut broken = false;
    for (key, entry) in fields {
        if matches!(key.as_str(), "secret" | "required" | "default")
            || !FIELDS.contains(&key.as_str())
        {
            continue;
        }
        match to_json(&entry.item) {
            Ok(value) => {
                definition.insert(key.clone(), value);
            }
            Err(why) => {
                problems.push(&entry.item.loc, format!("{path}.{key}: {why}"));
                broken = true;
            }
        }
    }
    let mut messages = Vec::new();
    let parameter = Parameter::define(&Json::Object(definition), &mut messages);
    for message in messages {
        // Point at the field a message is about, when it names one.
        let first = message.split([' ', ':']).next().unwrap_or("");
        let about = if message.starts_with("unknown type") {
            "type"
        } else {
            first
        };
        let loc = fields.get(about).map_or(at, |e| &e.item.loc);
        problems.push(loc, format!("{path}: {message}"));
    }
    let mut key = ConfigKey {
        parameter: parameter?,
        secret,
    };
    key.parameter.required = required;
    key.parameter.default = None;
    if let Some(entry) = fields.get("default") {
        let item = &entry.item;
        if required {
            problems.push(
                &item.loc,
                format!("{path}: is required but has a default: drop one"),
            );
        }
        match to_json(item) {
            Ok(value) => match key.parameter.check(&value) {
                Ok(value) => key.parameter.default = Some(value),
                Err(errors) => {
                    for e in errors {
                        problems.push(&item.loc, format!("{path}: the default: {}", key.hide(e)));
                    }
                }
            },
            Err(why) => problems.push(&item.loc, format!("{path}.default: {why}")),
        }
    }
    (!broken).then_some(key)
}

/// A TOML value as JSON: dates become strings.
fn to_json(item: &Item) -> Result<Json, String> {
    Ok(match &item.value {
        Value::String(s) | Value::Datetime(s) => Json::String(s.clone()),
        Value::Integer(Some(i)) => Json::from(*i),
        Value::Integer(None) => return Err(format!("{} is out of range", found(item))),
        Value::Float(f) => Number::from_f64(*f)
            .map(Json::Number)
            .ok_or_else(|| format!("{} has no JSON form", found(item)))?,
        Value::Bool(b) => Json::Bool(*b),
        Value::Array(items) => Json::Array(items.iter().map(to_json).collect::<Result<_, _>>()?),
        Value::Table(table) => Json::Object(
            table
                .iter()
                .map(|(k, e)| Ok((k.clone(), to_json(&e.item)?)))
                .collect::<Result<_, String>>()?,
        ),
    })
}
