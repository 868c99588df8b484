//! The `workflow` target's seeds and dictionaries.

use serde_json::Value;
use symphony_workflow::Workflow;

use super::{JSON, MSGPACK};

/// Every control node kind, recovery policy, edge kind and port type.
const RECOVERY: &str = r#"{"schema_version": 2, "id": "recovering", "name": "Recovering ✓", "version": "0.3.1-beta.1+b7",
 "description": "every recovery policy",
 "metadata": {"author": "fuzz", "created": "2024-01-01T00:00:00Z", "modified": "2024-02-01T00:00:00Z",
              "tags": ["a", ""], "x_extra": {"n": [1, 2.5, -0.0, null, 18446744073709551615]}},
 "timeout_ms": 60000,
 "nodes": [
  {"id": "a", "kind": "instrument", "extension": "llm", "timeout_ms": 100,
   "recovery": {"retry": {"max_attempts": 3, "backoff": {"exponential": {"base_ms": 10, "factor": 2.0, "max_ms": 1000, "jitter": 0.5}}}},
   "outputs": [{"name": "text", "type": "string"}, {"name": "tags", "type": "list<string>", "required": false}]},
  {"id": "b", "kind": "operator", "extension": "op", "recovery": {"fallback": {"text": "n/a"}},
   "inputs": [{"name": "text", "type": "string", "description": "what"}],
   "outputs": [{"name": "out", "type": "object{a: number, b: list<bool>}"}]},
  {"id": "c", "kind": "operator", "extension": "op", "recovery": {"fallback_node": "d"}},
  {"id": "d", "kind": "operator", "extension": "cheap"},
  {"id": "e", "kind": "operator", "extension": "op",
   "recovery": {"retry": {"max_attempts": 2, "backoff": {"linear": {"base_ms": 5}}}}},
  {"id": "f", "kind": "operator", "extension": "op", "recovery": {"skip_with_default": []}},
  {"id": "g", "kind": "operator", "extension": "op", "recovery": "restart_from_checkpoint",
   "config": {"k": {"deep": [true, {"x": "y"}]}}},
  {"id": "h", "kind": "control", "control": {"merge": "all"}, "recovery": "fail_run"},
  {"id": "i", "kind": "operator", "extension": "op",
   "recovery": {"retry": {"max_attempts": 1, "backoff": {"constant": {"delay_ms": 0}}}}}
 ],
 "edges": [
  {"from": "a", "to": "b", "from_port": "text", "to_port": "text"},
  {"from": "a", "to": "c", "kind": "conditional", "when": "length(tags) > `0`"},
  {"from": "b", "to": "e", "kind": "control"},
  {"from": "c", "to": "h"}, {"from": "e", "to": "h"}, {"from": "f", "to": "h"},
  {"from": "g", "to": "i"}, {"from": "i", "to": "h", "to_port": "i"}
 ],
 "addons": [{"extension": "status-panel"}]}"#;

/// A graph with a problem of each kind validation reports.
const INVALID_GRAPH: &str = r#"{"schema_version": 2, "id": " ", "name": "broken", "version": "1.0.0",
 "nodes": [{"id": "a", "kind": "instrument", "extension": "x", "outputs": [{"name": "n", "type": "number"}]},
           {"id": "a", "kind": "operator", "extension": "y"},
           {"id": "b", "kind": "control"},
           {"id": "", "kind": "operator", "extension": "z", "inputs": [{"name": "p", "type": "string"}]},
           {"id": "m", "kind": "control", "control": {"merge": "first"}, "extension": "w"}],
 "edges": [{"from": "a", "to": "b"}, {"from": "b", "to": "a"}, {"from": "a", "to": "nowhere"},
           {"from": "a", "to": "b"}, {"from": "a", "to": "a", "kind": "conditional"},
           {"from": "a", "to": "m", "kind": "control", "from_port": "n", "when": "x"},
           {"from": "a", "to": "", "from_port": "n", "to_port": "p"},
           {"from": "b", "to": "m", "kind": "conditional", "when": "a ||| b"}]}"#;

/// Map bodies inside map bodies, a branch inside one.
const NESTED: &str = r#"{"schema_version": 2, "id": "nested", "name": "nested", "version": "1.0.0",
 "nodes": [{"id": "outer", "kind": "control", "control": {"map": {"over": "items", "nodes": [
    {"id": "inner", "kind": "control", "control": {"map": {"nodes": [
        {"id": "leaf", "kind": "operator", "extension": "op", "timeout_ms": 5}]}}},
    {"id": "route", "kind": "control", "control": {"branch": {
        "cases": [{"port": "yes", "when": "@ == `1`"}, {"port": "no", "when": "!@"}], "otherwise": "no"}}},
    {"id": "after", "kind": "operator", "extension": "op"}
   ], "edges": [{"from": "inner", "to": "route"}, {"from": "route", "from_port": "yes", "to": "after"}]}}},
  {"id": "last", "kind": "operator", "extension": "op", "inputs": [{"name": "all", "type": "list"}]}],
 "edges": [{"from": "outer", "to": "last"}]}"#;

/// JSON documents, named; the loadable ones are also seeded as msgpack.
const JSON_SEEDS: &[(&str, &str, &str)] = &[
    (
        "seed-demo",
        "seed-demo-msgpack",
        include_str!("../../../examples/workflows/demo.json"),
    ),
    (
        "seed-review-router",
        "seed-review-router-msgpack",
        include_str!("../../../examples/workflows/review-router.json"),
    ),
    (
        "seed-review-triage",
        "seed-review-triage-msgpack",
        include_str!("../../../examples/workflows/review-triage.json"),
    ),
    (
        "seed-v1-demo",
        "seed-v1-demo-msgpack",
        include_str!("../../../tests/fixtures/workflows-v1/demo.json"),
    ),
    (
        "seed-v1-review-triage",
        "seed-v1-review-triage-msgpack",
        include_str!("../../../tests/fixtures/workflows-v1/review-triage.json"),
    ),
    ("seed-recovery", "seed-recovery-msgpack", RECOVERY),
    (
        "seed-invalid-graph",
        "seed-invalid-graph-msgpack",
        INVALID_GRAPH,
    ),
    ("seed-nested", "seed-nested-msgpack", NESTED),
    (
        "seed-unknown-version",
        "seed-unknown-version-msgpack",
        r#"{"schema_version": 3, "id": "x", "name": "x", "version": "1.0.0", "nodes": []}"#,
    ),
    (
        "seed-no-version",
        "seed-no-version-msgpack",
        r#"{"name": "x", "nodes": [{"id": "a", "kind": "gpu", "extension": "e"}]}"#,
    ),
    (
        "seed-v1-unknown-field",
        "seed-v1-unknown-field-msgpack",
        "{\n  \"schema_version\": 1,\n  \"nmae\": \"x\",\n  \"nodes\": []\n}",
    ),
];

/// The seeds: each JSON document, and the same document in msgpack: as
/// the host writes it when it loads (upgraded), else as a value.
pub(super) fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let mut seeds = Vec::new();
    for (name, packed_name, text) in JSON_SEEDS {
        let mut json = vec![JSON];
        json.extend_from_slice(text.as_bytes());
        seeds.push((*name, json));
        let value: Value = serde_json::from_str(text).expect("seed documents are JSON");
        let packed = match Workflow::from_json(text, "seed") {
            // Version 1 documents stay version 1, to reach the upgrade.
            Ok(workflow) if value["schema_version"] != 1 => workflow.to_msgpack(),
            _ => rmp_serde::to_vec_named(&value).expect("values encode"),
        };
        let mut msgpack = vec![MSGPACK];
        msgpack.extend(packed);
        seeds.push((*packed_name, msgpack));
    }
    // Once bugs: a float that changed in a JSON round trip, and a msgpack
    // config nested deeper than JSON may be (130 arrays).
    let mut float = vec![JSON];
    float.extend_from_slice(
        br#"{"schema_version": 2, "id": "x", "name": "x", "version": "1.0.0",
            "nodes": [{"id": "a", "kind": "operator", "extension": "e",
                       "config": {"k": 8.840310895133417e-150}}]}"#,
    );
    seeds.push(("seed-float-round-trip", float));
    let mut deep = vec![MSGPACK];
    deep.extend_from_slice(b"\x85\xa2id\xa1x\xa4name\xa1x\xa5nodes\x91\x84\xa6config\x81\xa1k");
    deep.extend(std::iter::repeat_n(0x91, 130));
    deep.extend_from_slice(
        b"\x01\xa9extension\xa1e\xa2id\xa1a\xa4kind\xa8operator\xaeschema_version\x02\xa7version\xa51.0.0",
    );
    seeds.push(("seed-msgpack-deeper-than-json", deep));
    seeds.push(("seed-not-msgpack", vec![MSGPACK, 0xc1, 0x00]));
    seeds.push(("seed-empty", vec![JSON]));
    seeds
}

/// Tokens for the byte-level mutations.
pub(super) const DICTIONARY: &[&[u8]] = &[
    b"\"schema_version\": 1",
    b"\"schema_version\": 2",
    b"\"kind\": \"control\"",
    b"\"kind\": \"conditional\"",
    b"{\"merge\": \"first\"}",
    b"\"nodes\": []",
    b"\"edges\": []",
    b"\"type\": \"list<object{a: any}>\"",
    b"\"when\": \"a.b\"",
    b"\"recovery\": \"fail_run\"",
    b"null",
    b"true",
    b"[]",
    b"{}",
    b"\\u0000",
    b"\\ud800",
    b"\xa4kind",
    b"\xa5nodes",
    b"\x90",
    b"\x80",
    b"\xc0",
];

/// Keys and strings for the structure-aware mutations.
pub(super) const WORDS: &[&str] = &[
    "schema_version",
    "id",
    "name",
    "version",
    "description",
    "metadata",
    "author",
    "created",
    "tags",
    "nodes",
    "edges",
    "addons",
    "timeout_ms",
    "kind",
    "instrument",
    "operator",
    "control",
    "extension",
    "config",
    "inputs",
    "outputs",
    "type",
    "required",
    "from",
    "to",
    "from_port",
    "to_port",
    "data",
    "conditional",
    "when",
    "branch",
    "cases",
    "port",
    "otherwise",
    "merge",
    "all",
    "first",
    "map",
    "over",
    "recovery",
    "retry",
    "max_attempts",
    "backoff",
    "constant",
    "linear",
    "exponential",
    "delay_ms",
    "base_ms",
    "max_ms",
    "factor",
    "jitter",
    "fallback",
    "fallback_node",
    "skip_with_default",
    "fail_run",
    "restart_from_checkpoint",
    "any",
    "string",
    "number",
    "bool",
    "list",
    "list<string>",
    "object",
    "object{a: number, b: list<any>}",
    "list<list<list<object{x: string}>>>",
    "1.0.0",
    "0.0.0-alpha",
    "a",
    "b",
    "c",
    "@",
    "length(@) > `1`",
    "a ||",
    "",
    " ",
    "é",
];
