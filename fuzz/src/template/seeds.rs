//! The `template` target's seeds and dictionaries. A seed is a template
//! document, then [`SEPARATOR`](super::SEPARATOR) and the bytes that pick
//! parameter values (see `choose` in the target).

/// Every parameter type, placeholders whole and inside text, in a key,
/// escaped, and where the workflow model wants a number or a list.
const EVERY_TYPE: &str = r#"{
  "template_version": 1,
  "template": {
    "id": "every.type_1", "version": "2.0.0-rc.1", "name": "Every type", "tags": ["t"],
    "parameters": {
      "s": {"type": "string", "default": "say \"hi\" {{x}}", "min": 0, "max": 40, "pattern": "^[^\\n]*$"},
      "n": {"type": "number", "default": 2.5, "min": -1e3, "max": 1e3},
      "i": {"type": "integer", "default": 3.0, "min": 1, "max": 9, "enum": [1, 3, 9.0]},
      "b": {"type": "bool", "required": false, "default": false},
      "l": {"type": "list", "default": ["a", "b"], "min": 1, "max": 4},
      "o": {"type": "object", "default": {"k": [1, {"deep": null}]}},
      "a": {"type": "any", "required": true, "description": "anything"},
      "id": {"type": "string", "enum": ["one", "two"], "default": "one"}
    }
  },
  "workflow": {
    "schema_version": 2, "id": "{{ id }}", "name": "{{s}} / {{n}} / \u007b{i}} / {{b}}", "version": "1.0.0",
    "metadata": {"author": "{{s}}", "tags": "{{l}}", "x_all": ["{{o}}", "{{a}}", "{{{a}}}", "{ {a} }"]},
    "timeout_ms": "{{i}}",
    "nodes": [
      {"id": "n-{{id}}", "kind": "operator", "extension": "op",
       "config": {"number": "{{n}}", "flag": "{{b}}", "object": "{{o}}", "list": "{{l}}", "text": "[{{l}}] {{o}}"},
       "recovery": {"retry": {"max_attempts": "{{i}}"}}}
    ]
  }
}"#;

/// A template whose instantiation makes an invalid workflow.
const MAKES_INVALID: &str = r#"{"template_version": 1,
 "template": {"id": "cycle", "version": "1.0.0", "name": "Cycle",
   "parameters": {"from": {"type": "string", "default": "a"}, "to": {"type": "string", "default": "a"},
                  "kind": {"type": "string", "default": "control", "enum": ["data", "control", "conditional"]}}},
 "workflow": {"schema_version": 2, "id": "cycle", "name": "cycle", "version": "1.0.0",
   "nodes": [{"id": "a", "kind": "operator", "extension": "op"}, {"id": "b", "kind": "operator", "extension": "op"}],
   "edges": [{"from": "{{from}}", "to": "{{to}}", "kind": "{{kind}}"}, {"from": "b", "to": "a"}]}}"#;

/// Every definition problem the loader reports.
const BAD_DEFINITIONS: &str = r#"{"template_version": 1,
 "template": {"id": "bad id!", "version": "1.0.0", "name": " ", "tags": [""],
   "parameters": {
     "1x": {"type": "string"},
     "none": {},
     "t": {"type": "colour", "min": "a"},
     "r": {"type": "integer", "required": true, "default": 1, "min": 5, "max": 1},
     "o": {"type": "string", "required": false, "pattern": "(", "enum": [], "min": 1.5},
     "e": {"type": "bool", "enum": [1], "max": 3, "pattern": "x", "extra": 1},
     "d": {"type": "list", "default": "x", "min": -1},
     "unused": {"type": "any", "default": null},
     "notobject": 3}},
 "workflow": {"schema_version": 2, "id": "x", "name": "{{nope}} {{1x}} {{r}}", "version": "1.0.0",
   "metadata": {"{{t}}": 1}, "nodes": []}}"#;

/// The seeds: the example templates and hand-made ones, each with a few
/// value-picking bytes.
pub(super) const SEEDS: &[(&str, &str, &[u8])] = &[
    (
        "seed-review-triage",
        include_str!("../../../examples/templates/review-triage.json"),
        b"\x00\x03\x02\x03\x01\x05\x04\x00\x01\x04\x06\x01",
    ),
    (
        "seed-text-brief-1.0.0",
        include_str!("../../../examples/templates/text-brief/text-brief-1.0.0.json"),
        b"",
    ),
    (
        "seed-text-brief-1.1.0",
        include_str!("../../../examples/templates/text-brief/text-brief-1.1.0.json"),
        b"\x82\x03\x01\x00\x02\x01\x02\x01",
    ),
    (
        "seed-every-type",
        EVERY_TYPE,
        b"\x00\x05\x03\x00\x04\x07\x01\x02\x02\x02\x01\x03\x01\x03\x01\x07\x03\x05\x02\x01\x09",
    ),
    (
        "seed-every-type-args",
        EVERY_TYPE,
        b"\x80\x01\x00\x01\x02\x00\x01\x03\x09\x00\x05\x04\x00\x01\x02\x03",
    ),
    (
        "seed-makes-invalid",
        MAKES_INVALID,
        b"\x00\x00\x02\x00\x03\x00",
    ),
    ("seed-bad-definitions", BAD_DEFINITIONS, b""),
    (
        "seed-unsupported-version",
        r#"{"template_version": 2, "template": {"id": "x"}, "workflow": {}}"#,
        b"",
    ),
    (
        "seed-not-a-template",
        "{\"template_version\": 1,\n \"template\": {\"id\": \"x\", \"version\": \"1\"},\n \"workflow\": [1, 2]}",
        b"",
    ),
    (
        "seed-workflow-not-an-object",
        r#"{"template_version": 1, "template": {"id": "x", "version": "1.0.0", "name": "x",
            "parameters": {"p": {"type": "list", "default": []}}}, "workflow": "{{p}}"}"#,
        b"\x03\x02",
    ),
];

/// Tokens for the byte-level mutations.
pub(super) const DICTIONARY: &[&[u8]] = &[
    b"{{",
    b"}}",
    b"{{ s }}",
    b"{{a}}",
    b"\\u007b",
    b"\\u007B\\u007b",
    b"\\\"",
    b"\"template_version\": 1",
    b"\"type\": \"integer\"",
    b"\"default\": ",
    b"\"required\": true",
    b"\"enum\": [",
    b"\"pattern\": \"^",
    b"\"min\": 0",
    b"\"max\": 1",
    b"null",
    b"[]",
    b"{}",
    b"\x00",
];

/// Keys and strings for the structure-aware mutations.
pub(super) const WORDS: &[&str] = &[
    "template_version",
    "template",
    "workflow",
    "parameters",
    "id",
    "version",
    "name",
    "description",
    "tags",
    "type",
    "string",
    "number",
    "integer",
    "bool",
    "list",
    "object",
    "any",
    "default",
    "required",
    "min",
    "max",
    "enum",
    "pattern",
    "schema_version",
    "nodes",
    "edges",
    "config",
    "from",
    "to",
    "kind",
    "operator",
    "control",
    "extension",
    "metadata",
    "{{",
    "}}",
    "{{a}}",
    "x {{a}} y",
    "{{ a }}",
    "{{{a}}}",
    "{ {a} }",
    "^[a-z]+$",
    "(",
    "1.0.0",
    "",
    " ",
];
