//! The raw manifest document: TOML read into a tree that remembers, for
//! every key and value, the file and byte range it came from; `extends`
//! followed and merged; and the helpers validation reads it with, which
//! collect every problem with its position.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::{ManifestError, ManifestProblem};

/// How many manifests an `extends` chain may hold, the first included.
pub(super) const MAX_DEPTH: usize = 8;

/// One manifest file's text.
#[derive(Debug)]
pub(super) struct Source {
    /// The path messages name.
    pub(super) path: PathBuf,
    /// The directory relative paths in this file are resolved against.
    pub(super) dir: PathBuf,
    /// The whole text, to turn byte offsets into lines and columns.
    text: String,
    /// 0 for the manifest itself, 1 for its base, and so on: problems are
    /// reported in this order.
    order: usize,
}

impl Source {
    pub(super) fn new(path: PathBuf, dir: PathBuf, text: String, order: usize) -> Arc<Source> {
        Arc::new(Source {
            path,
            dir,
            text,
            order,
        })
    }

    /// 1-based line and column (in characters) of byte `offset`.
    fn position(&self, offset: usize) -> (usize, usize) {
        line_column(&self.text, offset)
    }
}

/// 1-based line and column (in characters) of byte `offset` in `text`; an
/// offset past the end or inside a character counts from the character's
/// start.
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let start = before.rfind('\n').map_or(0, |at| at + 1);
    (line, before[start..].chars().count() + 1)
}

/// Where something is: a file and a byte range in it.
#[derive(Debug, Clone)]
pub(super) struct Loc {
    pub(super) source: Arc<Source>,
    span: Range<usize>,
}

impl Loc {
    /// The start of `source`, for problems with no better place.
    pub(super) fn start(source: &Arc<Source>) -> Loc {
        Loc {
            source: source.clone(),
            span: 0..0,
        }
    }

    /// The text at this place, as written.
    fn text(&self) -> &str {
        self.source.text.get(self.span.clone()).unwrap_or("")
    }
}

/// A value with its place.
#[derive(Debug, Clone)]
pub(super) struct Item {
    pub(super) value: Value,
    pub(super) loc: Loc,
}

/// A TOML value. Integers are kept as written until read, so one out of
/// range is reported where it is used.
#[derive(Debug, Clone)]
pub(super) enum Value {
    String(String),
    Integer(Option<i64>),
    Float(f64),
    Bool(bool),
    Datetime(String),
    Array(Vec<Item>),
    Table(Table),
}

/// A table's entries by key, each with the place of its key.
pub(super) type Table = BTreeMap<String, Entry>;

/// One key of a table and its value.
#[derive(Debug, Clone)]
pub(super) struct Entry {
    pub(super) key: Loc,
    pub(super) item: Item,
}

/// Problems found so far, each with its place.
#[derive(Debug, Default)]
pub(super) struct Problems(Vec<(Loc, String)>);

impl Problems {
    pub(super) fn push(&mut self, loc: &Loc, message: impl Into<String>) {
        self.0.push((loc.clone(), message.into()));
    }

    /// `Ok(())` if there were none; otherwise every problem, in file
    /// order (the manifest's own first, then its bases').
    pub(super) fn finish(mut self) -> Result<(), ManifestError> {
        if self.0.is_empty() {
            return Ok(());
        }
        self.0
            .sort_by_key(|(loc, _)| (loc.source.order, loc.span.start, loc.span.end));
        let problems = self
            .0
            .into_iter()
            .map(|(loc, message)| problem(&loc, message))
            .collect();
        Err(ManifestError::Invalid { problems })
    }
}

fn problem(loc: &Loc, message: String) -> ManifestProblem {
    let (line, column) = loc.source.position(loc.span.start);
    ManifestProblem {
        path: loc.source.path.clone(),
        line,
        column,
        message: one_line(message),
    }
}

/// `message` with its control characters escaped (a newline as `\n`):
/// messages quote what was written, and a problem is shown on one line.
fn one_line(message: String) -> String {
    if !message.contains(char::is_control) {
        return message;
    }
    let mut out = String::with_capacity(message.len() + 8);
    for c in message.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// A single problem as an error.
pub(super) fn fail(loc: &Loc, message: impl Into<String>) -> ManifestError {
    ManifestError::Invalid {
        problems: vec![problem(loc, message.into())],
    }
}

/// Reads `source` as a TOML document; a syntax error is reported alone.
pub(super) fn parse(source: &Arc<Source>) -> Result<Table, ManifestError> {
    let document = DeTable::parse(&source.text).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        let message = e.message().trim_end().replace('\n', "; ");
        fail(
            &Loc {
                source: source.clone(),
                span,
            },
            format!("invalid TOML: {message}"),
        )
    })?;
    Ok(table(source, document.get_ref()))
}

fn table(source: &Arc<Source>, table: &DeTable<'_>) -> Table {
    table
        .iter()
        .map(|(key, value)| {
            let entry = Entry {
                key: Loc {
                    source: source.clone(),
                    span: key.span(),
                },
                item: item(source, value),
            };
            (key.get_ref().to_string(), entry)
        })
        .collect()
}

fn item(source: &Arc<Source>, value: &Spanned<DeValue<'_>>) -> Item {
    let converted = match value.get_ref() {
        DeValue::String(s) => Value::String(s.to_string()),
        DeValue::Integer(i) => Value::Integer(i64::from_str_radix(i.as_str(), i.radix()).ok()),
        DeValue::Float(f) => Value::Float(f.as_str().parse().unwrap_or(f64::NAN)),
        DeValue::Boolean(b) => Value::Bool(*b),
        DeValue::Datetime(d) => Value::Datetime(d.to_string()),
        DeValue::Array(items) => Value::Array(items.iter().map(|i| item(source, i)).collect()),
        DeValue::Table(t) => Value::Table(table(source, t)),
    };
    Item {
        value: converted,
        loc: Loc {
            source: source.clone(),
            span: value.span(),
        },
    }
}

/// `child` over `base`: tables merge key by key, anything else (arrays
/// included) in `child` replaces what `base` has.
pub(super) fn merge(mut base: Table, child: Table) -> Table {
    for (key, entry) in child {
        let merged = match (base.remove(&key), entry) {
            (
                Some(Entry {
                    item:
                        Item {
                            value: Value::Table(under),
                            ..
                        },
                    ..
                }),
                Entry {
                    key: at,
                    item:
                        Item {
                            value: Value::Table(over),
                            loc,
                        },
                },
            ) => Entry {
                key: at,
                item: Item {
                    value: Value::Table(merge(under, over)),
                    loc,
                },
            },
            (_, entry) => entry,
        };
        base.insert(key, merged);
    }
    base
}

/// `path` with `.` dropped and `..` applied to what precedes it, without
/// touching the file system.
pub(super) fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                let last = out.components().next_back();
                match last {
                    Some(Component::Normal(_)) => {
                        out.pop();
                    }
                    // `/..` is `/`.
                    Some(Component::RootDir | Component::Prefix(_)) => {}
                    _ => out.push(".."),
                }
            }
            other => out.push(other),
        }
    }
    // `.` (or `a/..`) is the directory itself, not an empty path.
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

/// A value for a message: what was written when short, else its type.
pub(super) fn found(item: &Item) -> String {
    let text = item.loc.text().trim();
    let kind = match &item.value {
        Value::String(_) => "a string",
        Value::Integer(_) => "an integer",
        Value::Float(_) => "a float",
        Value::Bool(_) => "a bool",
        Value::Datetime(_) => "a date",
        Value::Array(_) => "an array",
        Value::Table(_) => "a table",
    };
    let short = !text.is_empty() && !text.contains('\n') && text.chars().count() <= 60;
    match &item.value {
        Value::Table(_) => kind.to_string(),
        _ if short => text.to_string(),
        _ => kind.to_string(),
    }
}

impl Item {
    fn expected(&self, what: &str, path: &str, problems: &mut Problems) {
        problems.push(
            &self.loc,
            format!("expected {what} for {path}, found {}", found(self)),
        );
    }

    pub(super) fn str(&self, path: &str, problems: &mut Problems) -> Option<&str> {
        match &self.value {
            Value::String(s) => Some(s),
            _ => {
                self.expected("a string", path, problems);
                None
            }
        }
    }

    pub(super) fn bool(&self, path: &str, problems: &mut Problems) -> Option<bool> {
        match self.value {
            Value::Bool(b) => Some(b),
            _ => {
                self.expected("true or false", path, problems);
                None
            }
        }
    }

    /// An integer; one too large for 64 bits is reported as such.
    pub(super) fn integer(&self, what: &str, path: &str, problems: &mut Problems) -> Option<i64> {
        match self.value {
            Value::Integer(Some(i)) => Some(i),
            Value::Integer(None) => {
                problems.push(&self.loc, format!("{path} {} is out of range", found(self)));
                None
            }
            _ => {
                self.expected(what, path, problems);
                None
            }
        }
    }

    pub(super) fn array(&self, what: &str, path: &str, problems: &mut Problems) -> &[Item] {
        match &self.value {
            Value::Array(items) => items,
            _ => {
                self.expected(what, path, problems);
                &[]
            }
        }
    }

    /// An array of strings, each with its item; wrong items are reported
    /// and left out.
    pub(super) fn strings(&self, path: &str, problems: &mut Problems) -> Vec<(&str, &Item)> {
        self.array("an array of strings", path, problems)
            .iter()
            .enumerate()
            .filter_map(|(i, item)| {
                let text = item.str(&format!("{path}[{i}]"), problems)?;
                Some((text, item))
            })
            .collect()
    }

    /// A table whose keys are all in `allowed`; each other key is
    /// reported, naming the allowed ones.
    pub(super) fn table(
        &self,
        path: &str,
        allowed: &[&str],
        problems: &mut Problems,
    ) -> Option<&Table> {
        let table = self.entries(path, problems)?;
        check_keys(table, path, allowed, problems);
        Some(table)
    }

    /// A table with any keys.
    pub(super) fn entries(&self, path: &str, problems: &mut Problems) -> Option<&Table> {
        match &self.value {
            Value::Table(table) => Some(table),
            _ => {
                self.expected("a table", path, problems);
                None
            }
        }
    }
}

/// Reports each key of `table` not in `allowed`.
pub(super) fn check_keys(table: &Table, path: &str, allowed: &[&str], problems: &mut Problems) {
    for (key, entry) in table {
        if !allowed.contains(&key.as_str()) {
            let place = if path.is_empty() {
                "at the top level".to_string()
            } else {
                format!("in {path}")
            };
            problems.push(
                &entry.key,
                format!(
                    "unknown key \"{key}\" {place} (allowed: {})",
                    allowed.join(", ")
                ),
            );
        }
    }
}

/// `key` of a dotted path: `extension.name`, or `name` at the top.
pub(super) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}
