//! Parameter values for a template: reading `NAME=VALUE` arguments,
//! checking given values and filling in defaults.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::document::{declared, param_at};
use super::{ParamType, Template, TemplateError};
use crate::{Problem, Workflow};
use symphony_manifest::param::show;

impl Template {
    /// Reads `NAME=VALUE` arguments (as `symphony template instantiate
    /// --param` takes them) into values by each parameter's type; see
    /// [`Parameter::parse_text`](symphony_manifest::Parameter::parse_text). A name the
    /// template does not declare is read as an `any` (JSON, else text) and
    /// left for [`Template::instantiate`] to report. Every malformed
    /// argument is reported at once.
    pub fn parse_args<S: AsRef<str>>(
        &self,
        args: &[S],
    ) -> Result<BTreeMap<String, Value>, TemplateError> {
        let mut problems = Vec::new();
        let (values, _) = self.read_args(args, &mut problems);
        if problems.is_empty() {
            Ok(values)
        } else {
            Err(self.failed(problems))
        }
    }

    /// [`Template::parse_args`] then [`Template::instantiate`], with the
    /// problems of both reported together.
    pub fn instantiate_args<S: AsRef<str>>(&self, args: &[S]) -> Result<Workflow, TemplateError> {
        let mut problems = Vec::new();
        let (given, unreadable) = self.read_args(args, &mut problems);
        let values = self.resolve(&given, &unreadable, &mut problems);
        self.build(&values, problems)
    }

    /// The arguments read, and the names of those that could not be.
    fn read_args<S: AsRef<str>>(
        &self,
        args: &[S],
        problems: &mut Vec<Problem>,
    ) -> (BTreeMap<String, Value>, BTreeSet<String>) {
        let mut values = BTreeMap::new();
        let mut unreadable = BTreeSet::new();
        for arg in args {
            let arg = arg.as_ref();
            let Some((name, text)) = arg.split_once('=') else {
                problems.push(Problem {
                    at: format!("argument {}", show(&Value::from(arg))),
                    message: "expected NAME=VALUE".into(),
                });
                continue;
            };
            let name = name.trim();
            if values.contains_key(name) || unreadable.contains(name) {
                problems.push(Problem {
                    at: param_at(name),
                    message: "is given more than once".into(),
                });
                continue;
            }
            let kind = self
                .parameters()
                .get(name)
                .map_or(ParamType::Any, |p| p.kind);
            match kind.parse_text(text) {
                Ok(value) => {
                    values.insert(name.to_string(), value);
                }
                Err(message) => {
                    problems.push(Problem {
                        at: param_at(name),
                        message,
                    });
                    unreadable.insert(name.to_string());
                }
            }
        }
        (values, unreadable)
    }

    /// The value of every parameter: checked if given, else its default;
    /// a problem for each that is unknown, wrong or missing. Names in
    /// `reported` already have a problem and are skipped.
    pub(super) fn resolve(
        &self,
        given: &BTreeMap<String, Value>,
        reported: &BTreeSet<String>,
        problems: &mut Vec<Problem>,
    ) -> BTreeMap<String, Value> {
        let mut values = BTreeMap::new();
        for (name, value) in given {
            let Some(param) = self.parameters().get(name) else {
                let hint = match self.parameters().keys().find(|known| similar(known, name)) {
                    Some(known) => format!("did you mean '{known}'?"),
                    None => declared(self.parameters().keys()),
                };
                problems.push(Problem {
                    at: param_at(name),
                    message: format!("unknown parameter ({hint})"),
                });
                continue;
            };
            match param.check(value) {
                Ok(value) => {
                    values.insert(name.clone(), value);
                }
                Err(errors) => problems.extend(errors.into_iter().map(|message| Problem {
                    at: param_at(name),
                    message,
                })),
            }
        }
        for (name, param) in self.parameters() {
            if given.contains_key(name) || reported.contains(name) {
                continue;
            }
            match &param.default {
                Some(default) => {
                    values.insert(name.clone(), default.clone());
                }
                None => problems.push(Problem {
                    at: param_at(name),
                    message: param.wanted(),
                }),
            }
        }
        values
    }
}

/// A likely typo: the same but for case, or at most two edits apart.
fn similar(a: &str, b: &str) -> bool {
    if a.eq_ignore_ascii_case(b) {
        return true;
    }
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    if a.len().abs_diff(b.len()) > 2 || a.len().min(b.len()) < 4 {
        return false;
    }
    // Levenshtein distance, one row at a time.
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let next = (diagonal + usize::from(ca != cb))
                .min(row[j] + 1)
                .min(row[j + 1] + 1);
            diagonal = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()] <= 2
}

#[cfg(test)]
mod tests;
