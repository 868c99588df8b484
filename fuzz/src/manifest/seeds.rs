//! The `manifest` target's seeds and dictionaries.

/// A manifest with every section, as the host's own tests write it.
const FULL: &str = r#"
[extension]
name = "json-transform"
version = "0.2.0"
kind = "operator"
component = "json_transform.wasm"
description = "Reshapes JSON"
authors = ["A <a@example.com>"]
license = "Apache-2.0"
keywords = ["json"]

[capabilities]
fs = [{ path = "data", access = "read" }, { path = "/tmp/out", guest = "/out", access = "read-write" }]
net = ["api.example.com:443", "127.0.0.1:*", "[::1]:8080", "*.example.net:*"]
http = ["api.example.com", "*.example.org"]
bus = { publish = ["metrics.>"], subscribe = ["exec.*.done"] }
artifacts = "read"
models = ["mock-llm", "*"]
env = ["LANG", "_X1"]
clock = true
random = true

[dependencies]
mock-llm = "^0.1"
other = { version = ">=1.2, <2", optional = true, kind = "instrument" }

[config.max-len]
type = "integer"
default = 80
min = 1
max = 1000
enum = [40, 80]
description = "Longest line"

[config.token]
type = "string"
secret = true
required = true
pattern = "^[a-z]+$"

[config.mode]
type = "string"
secret = true
default = "fast"

[limits]
memory = "64 MiB"
fuel = 1_000_000_000
deadline = "5s"
max-instances = 4
log-rate = 20
log-burst = 50
log-line = "2 KiB"
"#;

/// The seeds: the example extensions' manifests, a full one, and broken
/// ones reaching each kind of problem.
pub(super) const SEEDS: &[(&str, &str)] = &[
    (
        "seed-mock-llm",
        include_str!("../../../examples/instruments/mock-llm/symphony.toml"),
    ),
    (
        "seed-json-transform",
        include_str!("../../../examples/operators/json-transform/symphony.toml"),
    ),
    (
        "seed-status-panel",
        include_str!("../../../examples/addons/status-panel/symphony.toml"),
    ),
    ("seed-full", FULL),
    (
        "seed-minimal-native",
        "[extension]\nname = \"x\"\nversion = \"1.0.0-rc.1+b\"\nkind = \"native\"\ncomponent = \"bin/x\"\n",
    ),
    (
        "seed-bad-version-and-kind",
        "[extension]\nname = \"x\"\nversion = \"1.x\"\nkind = \"plugin\"\ncomponent = \"x.wasm\"",
    ),
    (
        "seed-unknown-keys-crlf",
        "[extension]\r\nname = \"Ünïcode\"\r\nversion = \"1.0.0\"\r\nkind = \"addon\"\r\ncomponent = \"\"\r\ncolour = \"red\"\r\n[extras]\r\n",
    ),
    (
        "seed-bad-capabilities",
        "[extension]\nname = \"x\"\nversion = \"1.0.0\"\nkind = \"operator\"\ncomponent = \"x.wasm\"\n\n[capabilities]\nfs = [{ path = \"a\", guest = \"/d\" }, { path = \"b/../d\" }, { path = \"\" }, { guest = \"rel\" }]\nnet = [\"http://x:1\", \"::1:80\", \"x:0\", \"[::1]\", \"é.example:443\"]\nhttp = [\"*.*.x\", \"\"]\nbus = { publish = [\"a.>.b\"], subscribe = [\"\"], other = [] }\nartifacts = \"write\"\nmodels = [\"Bad\"]\nenv = [\"1X\"]\nclock = \"yes\"\n",
    ),
    (
        "seed-bad-limits",
        "[extension]\nname = \"x\"\nversion = \"1.0.0\"\nkind = \"instrument\"\ncomponent = \"x.wasm\"\n\n[limits]\nmemory = \"64 XB\"\nfuel = 0\ndeadline = \"99999999999999999999h\"\nmax-instances = -1\nlog-rate = 4294967296\nlog-burst = 1.5\nlog-line = \"KiB\"\nspeed = 1\n",
    ),
    (
        "seed-bad-config-and-dependencies",
        "[extension]\nname = \"x\"\nversion = \"1.0.0\"\nkind = \"operator\"\ncomponent = \"x.wasm\"\n\n[dependencies]\nBad = \"^1\"\nother = { version = \"one\" }\nthird = { optional = true, kind = \"native\" }\n\n[config.n]\ntype = \"integer\"\nmin = 5\nmax = 1\ndefault = 9\n\n[config.s]\ntype = \"string\"\npattern = \"(\"\nrequired = true\ndefault = \"x\"\n\n[config.1bad]\ntype = \"colour\"\nwhen = 1979-05-27T07:32:00Z\n",
    ),
    (
        "seed-extends",
        "extends = \"../base/symphony.toml\"\n[extension]\nname = \"x\"\n",
    ),
    ("seed-invalid-toml", "[extension\nname = \"x\n"),
    // Once bugs: `.` read as an empty path, and a problem quoting a newline.
    (
        "seed-dot-path",
        "[extension]\nname = \"x\"\nversion = \"1.0.0\"\nkind = \"operator\"\ncomponent = \"x.wasm\"\n[capabilities]\nfs = [{ path = \".\" }]\n",
    ),
    (
        "seed-newline-in-pattern",
        "[extension]\nname = \"x\"\nversion = \"1.0.0\"\nkind = \"operator\"\ncomponent = \"x.wasm\"\n[capabilities]\nbus = { subscribe = [\"a.\\nb\"] }\n",
    ),
    (
        "seed-wide-characters",
        "[extension]\nname = \"x\"\nversion = \"1.0.0\"\nkind = \"addon\"\ncomponent = \"x.wasm\"\ndescription = \"日本語 ✓\"\n[limits]\n\"memory\" = '64 ΜiB'\n",
    ),
];

/// Tokens for the byte-level mutations.
pub(super) const DICTIONARY: &[&[u8]] = &[
    b"[extension]",
    b"[capabilities]",
    b"[dependencies]",
    b"[limits]",
    b"[config.k]",
    b"[[",
    b"]]",
    b" = ",
    b"\"",
    b"'''",
    b"\"\"\"",
    b"{ }",
    b"[]",
    b",",
    b"#",
    b"\\u00e9",
    b"\r\n",
    b"extends",
    b"name",
    b"version",
    b"kind",
    b"component",
    b"fs",
    b"net",
    b"http",
    b"bus",
    b"publish",
    b"subscribe",
    b"artifacts",
    b"models",
    b"env",
    b"path",
    b"guest",
    b"access",
    b"read-write",
    b"memory",
    b"deadline",
    b"max-instances",
    b"log-line",
    b"type",
    b"default",
    b"required",
    b"secret",
    b"enum",
    b"pattern",
    b"optional",
    b"MiB",
    b"ms",
    b"*.",
    b":*",
    b".>",
    b"..",
];

/// Lines the line mutation inserts.
pub(super) const LINES: &[&str] = &[
    "[extension]",
    "[capabilities]",
    "[dependencies]",
    "[limits]",
    "[config.k]",
    "[config.k-2]",
    "name = \"x\"",
    "version = \"1.0.0\"",
    "kind = \"operator\"",
    "component = \"x.wasm\"",
    "extends = \"base.toml\"",
    "fs = [{ path = \"data\", guest = \"/data\", access = \"read-write\" }]",
    "fs = [{ path = \".\" }, { path = \"/\" }]",
    "net = [\"api.example.com:443\", \"[::1]:*\"]",
    "http = [\"*.example.org\"]",
    "bus = { publish = [\"metrics.>\"], subscribe = [\"exec.*.done\"] }",
    "artifacts = \"read-write\"",
    "models = [\"*\"]",
    "env = [\"LANG\"]",
    "clock = true",
    "memory = \"64 MiB\"",
    "fuel = 1_000",
    "deadline = 250",
    "log-line = \"1 KB\"",
    "type = \"integer\"",
    "type = \"string\"",
    "type = \"list\"",
    "default = 3",
    "default = \"x\"",
    "min = 1",
    "max = 10",
    "enum = [1, 2]",
    "pattern = \"^a\"",
    "secret = true",
    "required = true",
    "dep = { version = \"^1\", kind = \"instrument\", optional = true }",
];

/// Values the line mutation puts after an `=`.
pub(super) const VALUES: &[&str] = &[
    "\"\"",
    "\"x\"",
    "\"1.0.0\"",
    "0",
    "-1",
    "1",
    "9223372036854775807",
    "99999999999999999999",
    "1.5",
    "nan",
    "inf",
    "true",
    "[]",
    "[1, \"a\"]",
    "{}",
    "{ a = 1 }",
    "1979-05-27",
    "\"64 MiB\"",
    "\"5s\"",
    "\"read\"",
    "\"*\"",
    "'literal'",
];
