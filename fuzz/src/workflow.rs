//! The `workflow` target: the workflow loader ([`Workflow::from_json`],
//! [`Workflow::from_msgpack`], [`Workflow::from_bytes`]) on arbitrary
//! bytes, and what a loaded workflow promises (see [`fuzz`]).

mod seeds;

use std::collections::{BTreeMap, HashSet};

use serde_json::Value;
use symphony_workflow::{EdgeKind, Workflow, WorkflowError};

use crate::engine::{Outcome, Rng, Target, json};

/// The first input byte of a seed to be read as JSON; any even byte reads
/// the rest as JSON, any odd one as msgpack.
pub const JSON: u8 = b'j';
/// The first input byte of a seed to be read as msgpack.
pub const MSGPACK: u8 = b'm';
/// What every load names the document, so errors compare equal.
const ORIGIN: &str = "wf";
/// The schema version loaded workflows carry (older ones are upgraded).
const SCHEMA_VERSION: u32 = 2;

/// The `workflow` target, for the smoke fuzzer.
#[derive(Debug, Clone, Copy)]
pub struct WorkflowTarget;

impl Target for WorkflowTarget {
    fn name(&self) -> &'static str {
        "workflow"
    }

    fn seeds(&self) -> Vec<(&'static str, Vec<u8>)> {
        seeds::seeds()
    }

    fn run(&self, data: &[u8]) -> Outcome {
        run(data)
    }

    fn dictionary(&self) -> &'static [&'static [u8]] {
        seeds::DICTIONARY
    }

    fn mutate(&self, rng: &mut Rng, data: &mut Vec<u8>) -> bool {
        mutate(rng, data, seeds::WORDS)
    }
}

/// The fuzz target: the first byte of `data` picks the format (even:
/// JSON, read as lossy UTF-8; odd: msgpack) the rest is loaded in.
///
/// [`Workflow::from_bytes`] must agree with the loader its sniffing picks
/// (JSON for text starting with `{`, msgpack otherwise), to the error. A
/// load that fails must fail as a parse, version or decode error, a parse
/// error pointing inside the text. A workflow that loads is at the current
/// schema version and comes back equal from [`Workflow::to_json`] and
/// [`Workflow::to_msgpack`]; [`Workflow::validate_structure`] either
/// reports problems, each naming where, or accepts a graph with unique,
/// non-empty ids, edges between its nodes and no self-loops, and a plan
/// that orders every edge's ends. A panic is a bug.
pub fn fuzz(data: &[u8]) {
    run(data);
}

fn run(data: &[u8]) -> Outcome {
    let mut outcome = Outcome::default();
    let (mode, body) = data.split_first().map_or((JSON, &[][..]), |(m, b)| (*m, b));
    let msgpack = mode & 1 == 1;
    let loaded = if msgpack {
        Workflow::from_msgpack(body, ORIGIN)
    } else {
        Workflow::from_json(&String::from_utf8_lossy(body), ORIGIN)
    };
    check_sniffing(body, msgpack, &loaded);
    match loaded {
        Ok(workflow) => {
            outcome.accepted += 1;
            outcome.feature(&["loaded", if msgpack { "msgpack" } else { "json" }]);
            check_workflow(&workflow, &mut outcome);
        }
        Err(e) => {
            outcome.rejected += 1;
            check_load_error(body, &e, &mut outcome);
        }
    }
    outcome
}

/// `from_bytes` reads `body` as the loader its sniffing picks does.
fn check_sniffing(body: &[u8], msgpack: bool, loaded: &Result<Workflow, WorkflowError>) {
    let sniffed = Workflow::from_bytes(body, ORIGIN);
    let looks_json = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    let text = std::str::from_utf8(body);
    let direct = match (looks_json, msgpack, text) {
        (true, _, Err(_)) => {
            assert!(
                matches!(sniffed, Err(WorkflowError::Decode { .. })),
                "from_bytes on JSON that is not UTF-8: {sniffed:?}"
            );
            return;
        }
        (true, false, Ok(_)) | (false, true, _) => None,
        (true, true, Ok(text)) => Some(Workflow::from_json(text, ORIGIN)),
        (false, false, _) => Some(Workflow::from_msgpack(body, ORIGIN)),
    };
    same_load(&sniffed, direct.as_ref().unwrap_or(loaded));
}

fn same_load(a: &Result<Workflow, WorkflowError>, b: &Result<Workflow, WorkflowError>) {
    match (a, b) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "from_bytes reads another workflow"),
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "from_bytes fails otherwise"),
        _ => panic!("from_bytes and the loader it picks disagree: {a:?} / {b:?}"),
    }
}

fn check_load_error(body: &[u8], e: &WorkflowError, outcome: &mut Outcome) {
    let message = e.to_string();
    assert!(message.starts_with(ORIGIN), "{message}");
    match e {
        WorkflowError::Parse {
            line,
            column,
            message,
            ..
        } => {
            outcome.error("parse", message);
            let text = String::from_utf8_lossy(body);
            let lines: Vec<&str> = text.split('\n').collect();
            assert!(
                (1..=lines.len()).contains(line),
                "{e}: line of {}",
                lines.len()
            );
            let width = lines[line - 1].len();
            assert!(*column <= width + 1, "{e}: column past a {width}-byte line");
        }
        WorkflowError::UnsupportedVersion { found, .. } => {
            assert!(found.is_none_or(|v| v == 0 || v > SCHEMA_VERSION), "{e}");
            outcome.feature(&["version", &format!("{:?}", found.map(|v| v.min(3)))]);
        }
        WorkflowError::Decode { message, .. } => outcome.error("decode", message),
        other => panic!("loading bytes gave {other:?}"),
    }
}

/// What a loaded workflow promises; shared with the `template` target,
/// whose instantiated workflows promise the same.
pub(crate) fn check_workflow(workflow: &Workflow, outcome: &mut Outcome) {
    assert_eq!(workflow.schema_version, SCHEMA_VERSION, "not upgraded");
    check_round_trips(workflow);
    features(workflow, outcome);
    match workflow.validate_structure() {
        Ok(plan) => {
            outcome.feature(&["valid"]);
            check_valid(workflow, &plan.ordered(workflow));
        }
        Err(WorkflowError::Invalid { problems, .. }) => {
            assert!(!problems.is_empty(), "invalid with no problems");
            for p in &problems {
                assert!(!p.at.is_empty() && !p.message.is_empty(), "{p:?}");
                outcome.error("invalid", &p.message);
            }
        }
        Err(other) => panic!("validate_structure gave {other:?}"),
    }
}

/// The workflow comes back equal from both formats.
pub(crate) fn check_round_trips(workflow: &Workflow) {
    let text = workflow.to_json();
    match Workflow::from_json(&text, ORIGIN) {
        Ok(again) if &again == workflow => {}
        Ok(again) => {
            let (a, b) = (as_value(&again), as_value(workflow));
            panic!("a JSON round trip changes the workflow:\n{a}\n{b}");
        }
        Err(e) => panic!("to_json writes what from_json rejects: {e}\n{text}"),
    }
    let packed = workflow.to_msgpack();
    match Workflow::from_msgpack(&packed, ORIGIN) {
        Ok(again) => assert_eq!(
            &again, workflow,
            "a msgpack round trip changes the workflow"
        ),
        Err(e) => panic!("to_msgpack writes what from_msgpack rejects: {e}"),
    }
}

/// The workflow as a JSON value, to compare.
pub(crate) fn as_value(workflow: &Workflow) -> Value {
    serde_json::to_value(workflow).unwrap_or_else(|e| panic!("a workflow does not serialise: {e}"))
}

/// A graph `validate_structure` accepts: nodes with unique, non-empty ids,
/// edges that join two of them (never one to itself), ordered by the plan.
fn check_valid(workflow: &Workflow, ordered: &[&symphony_workflow::Node]) {
    assert!(!workflow.nodes.is_empty(), "a valid workflow with no nodes");
    let mut ids = HashSet::new();
    for node in &workflow.nodes {
        assert!(
            !node.id.trim().is_empty(),
            "a valid workflow with an empty id"
        );
        assert!(ids.insert(node.id.as_str()), "id '{}' used twice", node.id);
    }
    let position: BTreeMap<&str, usize> = ordered
        .iter()
        .enumerate()
        .map(|(i, node)| (node.id.as_str(), i))
        .collect();
    assert_eq!(position.len(), ordered.len(), "the plan runs a node twice");
    for edge in &workflow.edges {
        assert!(
            ids.contains(edge.from.as_str()) && ids.contains(edge.to.as_str()),
            "a valid workflow with a dangling edge {} -> {}",
            edge.from,
            edge.to
        );
        assert_ne!(edge.from, edge.to, "a valid workflow with a self-loop");
        if let (Some(from), Some(to)) = (
            position.get(edge.from.as_str()),
            position.get(edge.to.as_str()),
        ) {
            assert!(from < to, "the plan runs {} before {}", edge.to, edge.from);
        }
    }
}

fn features(workflow: &Workflow, outcome: &mut Outcome) {
    let n = workflow.nodes.len();
    outcome.feature(&["nodes", &n.min(8).to_string()]);
    for node in &workflow.nodes {
        outcome.feature(&["node", node.kind.as_str(), node.runs()]);
        if let Some(recovery) = &node.recovery {
            let shown = serde_json::to_value(recovery).unwrap_or_default();
            let kind = match &shown {
                Value::Object(map) => map.keys().next().cloned().unwrap_or_default(),
                other => other.to_string(),
            };
            outcome.feature(&["recovery", &kind]);
        }
        for port in node.inputs.iter().chain(&node.outputs) {
            let ty = port.ty.to_string();
            outcome.feature(&["port", ty.split(['<', '{']).next().unwrap_or("")]);
        }
    }
    for edge in &workflow.edges {
        let kind = match edge.kind {
            EdgeKind::Data => "data",
            EdgeKind::Control => "control",
            EdgeKind::Conditional => "conditional",
        };
        outcome.feature(&["edge", kind, &format!("{}", edge.from_port.is_some())]);
    }
}

/// The structure-aware mutation: a JSON or msgpack document mutated as a
/// value, now and then moved to the other format.
pub(crate) fn mutate(rng: &mut Rng, data: &mut Vec<u8>, words: &[&str]) -> bool {
    let Some((&mode, body)) = data.split_first() else {
        return false;
    };
    let msgpack = mode & 1 == 1;
    let value: Option<Value> = if msgpack {
        rmp_serde::from_slice(body).ok()
    } else {
        serde_json::from_slice(body).ok()
    };
    let Some(mut value) = value else {
        return false;
    };
    if !rng.one_in(6) {
        json::mutate_value(rng, &mut value, words);
    }
    let to_msgpack = if rng.one_in(6) { !msgpack } else { msgpack };
    let written = if to_msgpack {
        rmp_serde::to_vec_named(&value).ok()
    } else if rng.one_in(2) {
        serde_json::to_vec_pretty(&value).ok()
    } else {
        serde_json::to_vec(&value).ok()
    };
    let Some(written) = written else {
        return false;
    };
    data.clear();
    data.push(if to_msgpack { MSGPACK } else { JSON });
    data.extend(written);
    true
}

#[cfg(test)]
mod tests;
