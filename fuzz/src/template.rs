//! The `template` target: [`Template::from_json`] on arbitrary text, and
//! [`Template::instantiate`] with values picked from the input (see
//! [`fuzz`]).

mod reference;
mod seeds;
mod values;

use std::collections::BTreeMap;

use serde_json::Value;
use symphony_workflow::{Problem, Template, TemplateError, Workflow};

use crate::engine::{Outcome, Rng, Target, json};
use crate::workflow::{as_value, check_workflow};

/// Separates the template document from the value-picking bytes.
pub const SEPARATOR: u8 = 0;
/// What every template is named.
const ORIGIN: &str = "t.json";

/// The `template` target, for the smoke fuzzer.
#[derive(Debug, Clone, Copy)]
pub struct TemplateTarget;

impl Target for TemplateTarget {
    fn name(&self) -> &'static str {
        "template"
    }

    fn seeds(&self) -> Vec<(&'static str, Vec<u8>)> {
        seeds::SEEDS
            .iter()
            .map(|(name, text, tail)| (*name, [text.as_bytes(), &[SEPARATOR], tail].concat()))
            .collect()
    }

    fn run(&self, data: &[u8]) -> Outcome {
        run(data)
    }

    fn dictionary(&self) -> &'static [&'static [u8]] {
        seeds::DICTIONARY
    }

    fn mutate(&self, rng: &mut Rng, data: &mut Vec<u8>) -> bool {
        mutate(rng, data)
    }
}

/// The fuzz target: `data` is a template document (lossy UTF-8), then
/// optionally a 0 byte and bytes that pick parameter values.
///
/// A document that does not load must say why: a parse error inside the
/// text, an unsupported version, or problems each naming where. A template
/// that loads asks, when instantiated with nothing, for exactly its
/// required parameters (or makes its workflow). With the picked values:
/// giving each omitted default explicitly changes nothing; a misspelt
/// name is reported; `instantiate_args` with the values as `NAME=VALUE`
/// text agrees with `parse_args` then `instantiate`; an instantiated
/// workflow passes `validate_structure`, comes back equal from JSON and
/// msgpack, and equals what substituting the documented way on the parsed
/// document makes (and when that makes no workflow, neither does
/// `instantiate`). A panic is a bug.
pub fn fuzz(data: &[u8]) {
    run(data);
}

fn run(data: &[u8]) -> Outcome {
    let mut outcome = Outcome::default();
    let (doc, tail) = match data.iter().position(|&b| b == SEPARATOR) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[][..]),
    };
    let text = String::from_utf8_lossy(doc);
    match Template::from_json(&text, ORIGIN) {
        Ok(template) => {
            outcome.accepted += 1;
            check_template(&template, tail, &mut outcome);
        }
        Err(e) => {
            outcome.rejected += 1;
            check_load_error(&text, &e, &mut outcome);
        }
    }
    outcome
}

fn check_load_error(text: &str, e: &TemplateError, outcome: &mut Outcome) {
    match e {
        TemplateError::Parse { line, message, .. } => {
            outcome.error("parse", message);
            let lines = text.split('\n').count();
            assert!((1..=lines).contains(line), "{e}: line of {lines}");
        }
        TemplateError::UnsupportedVersion { found, .. } => {
            assert_ne!(*found, Some(1), "{e}");
            outcome.feature(&["version", &format!("{}", found.is_some())]);
        }
        TemplateError::Invalid { problems, .. } => {
            assert!(!problems.is_empty(), "invalid with no problems");
            for p in problems {
                check_problem(p);
                outcome.error("invalid", &p.message);
            }
        }
        other => panic!("loading a template gave {other:?}"),
    }
}

fn check_problem(p: &Problem) {
    assert!(!p.at.is_empty() && !p.message.is_empty(), "{p:?}");
}

fn check_template(template: &Template, tail: &[u8], outcome: &mut Outcome) {
    assert_eq!(
        template.reference(),
        format!("{}@{}", template.id(), template.version())
    );
    assert_eq!(template.origin(), ORIGIN);
    for (name, param) in template.parameters() {
        assert_eq!(
            param.required,
            param.default.is_none(),
            "parameter '{name}'"
        );
        outcome.feature(&["parameter", param.kind.name(), &param.required.to_string()]);
    }
    check_nothing_given(template, outcome);

    let mut tail = values::Tail::new(tail);
    let flags = tail.next().unwrap_or(0);
    let picked = values::pick(template, &mut tail);
    let made = template.instantiate(&picked.given);
    check_made(template, &made, outcome);
    for name in &picked.unknown {
        let Err(TemplateError::Instantiate { problems, .. }) = &made else {
            panic!("unknown parameter '{name}' accepted");
        };
        let at = format!("parameter '{name}'");
        assert!(
            problems
                .iter()
                .any(|p| p.at == at && p.message.starts_with("unknown parameter")),
            "unknown parameter '{name}' not reported: {problems:?}"
        );
    }

    // Giving the defaults that were left out changes nothing.
    let mut explicit = picked.given.clone();
    for (name, param) in template.parameters() {
        if let (false, Some(default)) = (explicit.contains_key(name), &param.default) {
            explicit.insert(name.clone(), default.clone());
        }
    }
    same_result(
        &made,
        &template.instantiate(&explicit),
        "giving the defaults",
    );

    if flags & 0x80 != 0 {
        check_args(template, &picked.given, flags, outcome);
    }
    if picked.well_typed {
        check_reference(template, &picked.given, &made, outcome);
    }
}

/// With nothing given, exactly the required parameters are asked for.
fn check_nothing_given(template: &Template, outcome: &mut Outcome) {
    let required: Vec<String> = template
        .parameters()
        .iter()
        .filter(|(_, p)| p.required)
        .map(|(name, _)| format!("parameter '{name}'"))
        .collect();
    match template.instantiate(&BTreeMap::new()) {
        Ok(workflow) => {
            assert!(required.is_empty(), "{required:?} not asked for");
            outcome.feature(&["defaults-suffice"]);
            check_workflow(&workflow, outcome);
        }
        Err(TemplateError::Instantiate { problems, .. }) if !required.is_empty() => {
            let asked: Vec<&str> = problems.iter().map(|p| p.at.as_str()).collect();
            assert_eq!(asked, required, "asked for {problems:?}");
            for p in &problems {
                assert!(p.message.starts_with("is required"), "{p:?}");
            }
        }
        Err(TemplateError::Instantiate { problems, .. }) => {
            assert!(!problems.is_empty());
            for p in &problems {
                assert!(p.at.starts_with("workflow"), "with defaults only: {p:?}");
            }
        }
        Err(other) => panic!("instantiate gave {other:?}"),
    }
}

fn check_made(template: &Template, made: &Result<Workflow, TemplateError>, outcome: &mut Outcome) {
    match made {
        Ok(workflow) => {
            outcome.accepted += 1;
            outcome.feature(&["instantiated"]);
            if let Err(e) = workflow.validate_structure() {
                panic!("instantiate made a workflow validate_structure refuses: {e}");
            }
            check_workflow(workflow, outcome);
        }
        Err(TemplateError::Instantiate {
            template: reference,
            problems,
        }) => {
            outcome.rejected += 1;
            assert_eq!(reference, &template.reference());
            assert!(!problems.is_empty(), "failed with no problems");
            for p in problems {
                check_problem(p);
                outcome.error("instantiate", &p.message);
            }
        }
        Err(other) => panic!("instantiate gave {other:?}"),
    }
}

fn same_result(
    a: &Result<Workflow, TemplateError>,
    b: &Result<Workflow, TemplateError>,
    what: &str,
) {
    match (a, b) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "{what} makes another workflow"),
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{what} fails otherwise"),
        _ => panic!("{what} changes whether it works: {a:?} / {b:?}"),
    }
}

/// `instantiate_args` is `parse_args` then `instantiate`.
fn check_args(
    template: &Template,
    given: &BTreeMap<String, Value>,
    flags: u8,
    outcome: &mut Outcome,
) {
    let args = values::args(template, given, flags);
    let direct = template.instantiate_args(&args);
    match template.parse_args(&args) {
        Ok(values) => {
            outcome.feature(&["args", "read"]);
            same_result(&template.instantiate(&values), &direct, "instantiate_args");
        }
        Err(TemplateError::Instantiate { problems, .. }) => {
            outcome.feature(&["args", "refused"]);
            let Err(TemplateError::Instantiate { problems: all, .. }) = &direct else {
                panic!("instantiate_args accepts {args:?}, which parse_args refuses");
            };
            for p in &problems {
                assert!(all.contains(p), "instantiate_args drops {p:?}: {all:?}");
            }
        }
        Err(other) => panic!("parse_args gave {other:?}"),
    }
}

/// What `instantiate` made (or failed to) agrees with substituting the
/// documented way on the parsed document, when the parameters resolved.
fn check_reference(
    template: &Template,
    given: &BTreeMap<String, Value>,
    made: &Result<Workflow, TemplateError>,
    outcome: &mut Outcome,
) {
    if let Err(TemplateError::Instantiate { problems, .. }) = made
        && problems.iter().any(|p| !p.at.starts_with("workflow"))
    {
        return;
    }
    let raw = template.workflow_json();
    if reference::has_duplicate_keys(raw) != Some(false) {
        return;
    }
    let Ok(document) = serde_json::from_str::<Value>(raw) else {
        return;
    };
    let mut values = given.clone();
    for (name, param) in template.parameters() {
        if let (false, Some(default)) = (values.contains_key(name), &param.default) {
            values.insert(name.clone(), default.clone());
        }
    }
    let filled = reference::substitute(&document, &values);
    let expected = Workflow::from_json(&filled.to_string(), ORIGIN)
        .ok()
        .filter(|workflow| workflow.validate_structure().is_ok());
    outcome.feature(&["reference", &expected.is_some().to_string()]);
    match (made, &expected) {
        (Ok(workflow), Some(want)) if workflow == want => {}
        (Ok(workflow), Some(want)) => {
            let (a, b) = (as_value(workflow), as_value(want));
            panic!("instantiate made another workflow than the reference:\n{a}\n{b}");
        }
        (Err(_), None) => {}
        (Ok(_), None) => panic!("instantiate made a workflow where the reference makes none"),
        (Err(e), Some(_)) => panic!("instantiate failed where the reference works: {e}"),
    }
}

/// The structure-aware mutation: the value-picking bytes, the parameters
/// and their placeholders, or the document as a JSON value.
fn mutate(rng: &mut Rng, data: &mut Vec<u8>) -> bool {
    let at = data
        .iter()
        .position(|&b| b == SEPARATOR)
        .unwrap_or(data.len());
    let mut tail = data.get(at + 1..).unwrap_or_default().to_vec();
    let Ok(mut doc) = serde_json::from_slice::<Value>(&data[..at]) else {
        return false;
    };
    match rng.below(4) {
        0 => {
            let len = tail.len();
            match rng.below(3) {
                0 if len > 0 => tail[rng.below(len)] = rng.next_u64() as u8,
                1 => tail.insert(rng.below(len + 1), rng.below(8) as u8),
                _ => tail.truncate(rng.below(len + 1)),
            }
        }
        1 => placeholders(rng, &mut doc),
        _ => json::mutate_value(rng, &mut doc, seeds::WORDS),
    }
    let Ok(written) = serde_json::to_vec(&doc) else {
        return false;
    };
    *data = [&written[..], &[SEPARATOR], &tail].concat();
    true
}

/// Puts a declared parameter's placeholder into a string of the workflow,
/// or declares a new parameter and uses it.
fn placeholders(rng: &mut Rng, doc: &mut Value) {
    let mut names: Vec<String> = doc
        .pointer("/template/parameters")
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    if names.is_empty() || rng.one_in(3) {
        let name = format!("p{}", rng.below(4));
        let kinds = [
            "string", "number", "integer", "bool", "list", "object", "any",
        ];
        let kind = kinds[rng.below(kinds.len())];
        let mut definition = serde_json::json!({"type": kind});
        if rng.one_in(2) {
            definition["default"] = json::interesting(rng, seeds::WORDS);
        }
        if let Some(Value::Object(params)) = doc.pointer_mut("/template/parameters") {
            params.insert(name.clone(), definition);
        }
        names.push(name);
    }
    let Some(workflow) = doc.get_mut("workflow") else {
        return;
    };
    let strings: Vec<_> = json::paths(workflow)
        .into_iter()
        .filter(|path| json::get(workflow, path).is_some_and(Value::is_string))
        .collect();
    let (Some(path), Some(name)) = (rng.pick(&strings), rng.pick(&names)) else {
        return;
    };
    if let Some(Value::String(s)) = json::get_mut(workflow, path) {
        match rng.below(3) {
            0 => *s = format!("{{{{{name}}}}}"),
            1 => s.push_str(&format!(" {{{{ {name} }}}}")),
            _ => *s = format!("{{{{{name}}}}}{s}"),
        }
    }
}

#[cfg(test)]
mod tests;
