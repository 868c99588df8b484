use std::path::Path;
use std::time::Duration;

use proptest::prelude::*;
use serde_json::json;

use super::*;
use crate::{ArtifactAccess, FsAccess, Limits};

mod capabilities;
mod config;

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
net = ["api.example.com:443", "127.0.0.1:*"]
http = ["api.example.com", "*.example.org"]
bus = { publish = ["metrics.>"], subscribe = ["exec.*.done"] }
artifacts = "read"
models = ["mock-llm"]
env = ["LANG"]
clock = true
random = true

[dependencies]
mock-llm = "^0.1"
other = { version = ">=1.2, <2", optional = true }

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

[limits]
memory = "64 MiB"
fuel = 1_000_000_000
deadline = "5s"
max-instances = 4
log-rate = 20
log-burst = 50
log-line = "2 KiB"
cost = 0.0025
"#;

/// Each problem as `file:line:column: message`.
fn problems(err: &ManifestError) -> Vec<String> {
    err.problems().iter().map(ToString::to_string).collect()
}

fn parse_err(text: &str) -> Vec<String> {
    problems(&Manifest::parse(text, "ext/symphony.toml").unwrap_err())
}

const HEAD: &str =
    "[extension]\nname = \"x\"\nversion = \"1.0.0\"\nkind = \"operator\"\ncomponent = \"x.wasm\"\n";

#[test]
fn a_full_manifest_reads() {
    let m = Manifest::parse(FULL, "/ext/jt/symphony.toml").unwrap();
    assert_eq!(m.name, "json-transform");
    assert_eq!(m.version, semver::Version::new(0, 2, 0));
    assert_eq!(m.kind, ManifestKind::Operator);
    assert_eq!(
        m.kind.extension_kind(),
        Some(crate::ExtensionKind::Operator)
    );
    assert_eq!(ManifestKind::Native.extension_kind(), None);
    assert_eq!(m.component, Path::new("/ext/jt/json_transform.wasm"));
    assert_eq!(m.dir, Path::new("/ext/jt"));
    assert_eq!(m.description.as_deref(), Some("Reshapes JSON"));
    assert_eq!(m.authors, ["A <a@example.com>"]);
    assert_eq!(m.license.as_deref(), Some("Apache-2.0"));
    assert_eq!(m.keywords, ["json"]);

    let caps = &m.capabilities;
    assert_eq!(
        caps.fs,
        [
            FsCapability {
                path: "/ext/jt/data".into(),
                guest: "/data".into(),
                access: FsAccess::Read
            },
            FsCapability {
                path: "/tmp/out".into(),
                guest: "/out".into(),
                access: FsAccess::ReadWrite
            },
        ]
    );
    assert_eq!(caps.net, ["api.example.com:443", "127.0.0.1:*"]);
    assert_eq!(caps.http, ["api.example.com", "*.example.org"]);
    assert_eq!(caps.publish, ["metrics.>"]);
    assert_eq!(caps.subscribe, ["exec.*.done"]);
    assert_eq!(caps.artifacts, ArtifactAccess::Read);
    assert_eq!(caps.models, ["mock-llm"]);
    assert_eq!(caps.env, ["LANG"]);
    assert!(caps.clock && caps.random);

    let mock = &m.dependencies["mock-llm"];
    assert!(mock.req.matches(&semver::Version::new(0, 1, 9)) && !mock.optional);
    let other = &m.dependencies["other"];
    assert!(other.optional && !other.req.matches(&semver::Version::new(2, 0, 0)));

    assert_eq!(m.config.keys["max-len"].parameter.default, Some(json!(80)));
    assert!(m.config.keys["token"].secret);
    assert!(m.config.keys["token"].parameter.required);

    assert_eq!(
        m.limits,
        ManifestLimits {
            memory: Some(64 << 20),
            fuel: Some(1_000_000_000),
            deadline: Some(Duration::from_secs(5)),
            max_instances: Some(4),
            log_rate: Some(20),
            log_burst: Some(50),
            log_line: Some(2048),
            cost_micros: Some(2500),
        }
    );
    assert_eq!(m.limits.apply(Limits::default()).cost(), 0.0025);
    let applied = m.limits.apply(Limits::default());
    assert_eq!(applied.max_instances, 4);
    assert_eq!(
        applied.log,
        crate::LogLimits {
            lines_per_second: 20,
            burst: 50,
            line_bytes: 2048
        }
    );
}

#[test]
fn a_minimal_manifest_asks_for_nothing() {
    let m = Manifest::parse(HEAD, "symphony.toml").unwrap();
    assert_eq!(m.component, Path::new("x.wasm"));
    assert!(m.capabilities.is_empty());
    assert!(m.config.is_empty() && m.dependencies.is_empty());
    assert_eq!(m.limits, ManifestLimits::default());
}

#[test]
fn problems_name_file_line_and_column() {
    let cases: &[(&str, &[&str])] = &[
        (
            "[extension]\nversion = \"1.0.0\"\nkind = \"operator\"\ncomponent = \"x.wasm\"\n",
            &["ext/symphony.toml:1:2: missing extension.name (a name like \"json-transform\")"],
        ),
        (
            "[extension]\nname = \"x\"\nversion = \"1.x\"\nkind = \"operator\"\ncomponent = \"x\"\n",
            &[
                "ext/symphony.toml:3:11: expected a semver version like \"1.2.0\" for \
                 extension.version, found \"1.x\" (unexpected character 'x' while parsing \
                 minor version number)",
            ],
        ),
        (
            "[extension]\nname = \"x\"\nversion = \"1.0.0\"\nkind = \"plugin\"\ncomponent = \"x\"\n",
            &[
                "ext/symphony.toml:4:8: unknown kind \"plugin\" for extension.kind (expected \
                 one of instrument, operator, addon, native)",
            ],
        ),
        (
            "[extension]\nname = \"x\"\nversion = \"1.0.0\"\nkind = \"addon\"\ncomponent = \"x\"\n\
             colour = \"red\"\n",
            &[
                "ext/symphony.toml:6:1: unknown key \"colour\" in extension (allowed: name, \
                 version, kind, component, description, authors, license, keywords)",
            ],
        ),
        (
            "",
            &[
                "ext/symphony.toml:1:1: missing the [extension] table (with name, version, \
                 kind and component)",
            ],
        ),
        (
            "[extension\n",
            &["ext/symphony.toml:1:11: invalid TOML: unclosed table, expected `]`"],
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(parse_err(text), *expected, "{text}");
    }
}

#[test]
fn every_semantic_problem_is_reported_in_file_order() {
    let text = format!(
        "{HEAD}\n[capabilities]\nnet = [\"api.example.com\"]\nfs = [{{ access = \"all\" }}]\n\
         clock = \"yes\"\n\n[limits]\nmemory = \"64 XB\"\ndeadline = 0\nfuel = -1\n\n[wat]\n"
    );
    assert_eq!(
        parse_err(&text),
        [
            "ext/symphony.toml:8:8: invalid capabilities.net entry: expected host:port, e.g. \
             api.example.com:443 or 127.0.0.1:*",
            "ext/symphony.toml:9:7: capabilities.fs[0] has no path (the host directory)",
            "ext/symphony.toml:9:18: unknown access \"all\" for capabilities.fs[0].access \
             (expected read or read-write)",
            "ext/symphony.toml:10:9: expected true or false for capabilities.clock, found \"yes\"",
            "ext/symphony.toml:13:10: expected bytes (an integer) or a size like \"64 MiB\" for \
             limits.memory, found \"64 XB\": unknown unit \"XB\" (expected B, KiB, MiB, GiB, TiB, \
             KB, MB, GB, TB)",
            "ext/symphony.toml:14:12: limits.deadline must be at least 1, found 0",
            "ext/symphony.toml:15:8: limits.fuel must be at least 1, found -1",
            "ext/symphony.toml:17:2: unknown key \"wat\" at the top level (allowed: extends, \
             extension, capabilities, dependencies, config, limits, build)",
        ]
    );
}

#[test]
fn more_value_problems() {
    let text = format!(
        "{HEAD}\n[capabilities]\nhttp = [\"https://a.com\"]\nbus = {{ publish = [\"a.>.b\"] }}\n\
         models = [\"GPT\"]\nenv = [\"1X\"]\nartifacts = \"all\"\n\
         fs = [{{ path = \"a\" }}, {{ path = \"/b/a\" }}]\n\
         [dependencies]\nBad = \"1\"\nok = \"~~1\"\nopt = {{ optional = true }}\n\
         [limits]\nmemory = \"MiB\"\nmax-instances = 1.5\ndeadline = \"2 fortnights\"\ncost = -1\n"
    );
    let got = parse_err(&text);
    let expected = [
        "8:9: invalid capabilities.http entry: 'https://a.com' is not a host name",
        "9:20: invalid capabilities.bus.publish entry: 'a.>.b': '>' must be the last token",
        "10:11: invalid capabilities.models entry: contains 'G'",
        "11:8: invalid capabilities.env entry: '1X' is not a variable name",
        "12:13: unknown access \"all\" for capabilities.artifacts",
        "13:23: capabilities.fs[1] is seen at guest path \"/a\", as capabilities.fs[0] is",
        "15:1: invalid dependency name \"Bad\": contains 'B'",
        "16:6: expected a version requirement like \"^1.2\" for dependencies.ok, found \"~~1\"",
        "17:1: missing dependencies.opt.version",
        "19:10: expected bytes (an integer) or a size like \"64 MiB\" for limits.memory, \
         found \"MiB\": it must start with a whole number",
        "20:17: expected an integer of at least 1 for limits.max-instances, found 1.5",
        "21:12: expected milliseconds (an integer) or a duration like \"5s\" for \
         limits.deadline, found \"2 fortnights\": unknown unit \"fortnights\"",
        "22:8: limits.cost must be at least 0 and below 1e9, found -1",
    ];
    assert_eq!(got.len(), expected.len(), "{got:#?}");
    for (got, want) in got.iter().zip(expected) {
        let got = got.strip_prefix("ext/symphony.toml:").unwrap();
        assert!(
            got.starts_with(want),
            "{got}\n  does not start with\n{want}"
        );
    }
}

#[test]
fn extends_merges_the_child_over_the_base() {
    let dir = tempfile::tempdir().unwrap();
    let write = |path: &str, text: &str| {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    };
    write(
        "base/symphony.toml",
        "[extension]\nname = \"base\"\nversion = \"1.0.0\"\nkind = \"operator\"\n\
         component = \"base.wasm\"\nkeywords = [\"a\", \"b\"]\n\
         [capabilities]\nfs = [{ path = \"shared\" }]\nnet = [\"a.com:1\"]\nclock = true\n\
         [limits]\nfuel = 5\ndeadline = 100\n",
    );
    let child = write(
        "ext/symphony.toml",
        "extends = \"../base/symphony.toml\"\n[extension]\nname = \"child\"\nkeywords = [\"c\"]\n\
         [capabilities]\nnet = [\"b.com:2\"]\n[limits]\nfuel = 7\n",
    );
    let m = Manifest::from_file(&child).unwrap();
    let root = std::path::absolute(dir.path()).unwrap();
    assert_eq!(m.name, "child");
    assert_eq!(m.version, semver::Version::new(1, 0, 0));
    assert_eq!(m.keywords, ["c"], "arrays are replaced");
    assert_eq!(m.component, root.join("base/base.wasm"));
    assert_eq!(m.dir, root.join("ext"));
    assert_eq!(m.capabilities.fs[0].path, root.join("base/shared"));
    assert_eq!(m.capabilities.net, ["b.com:2"]);
    assert!(m.capabilities.clock);
    assert_eq!(m.limits.fuel, Some(7));
    assert_eq!(m.limits.deadline, Some(Duration::from_millis(100)));

    // Problems in the base name the base file.
    write(
        "base/symphony.toml",
        "[extension]\nname = \"base\"\nversion = \"one\"\nkind = \"addon\"\ncomponent = \"b\"\n",
    );
    let err = Manifest::from_file(&child).unwrap_err();
    let base = dir.path().join("base/symphony.toml");
    assert_eq!(
        problems(&err),
        [format!(
            "{}:3:11: expected a semver version like \"1.2.0\" for extension.version, found \
             \"one\" (unexpected character 'o' while parsing major version number)",
            base.display()
        )]
    );
    write("base/symphony.toml", "[extension\n");
    let err = Manifest::from_file(&child).unwrap_err();
    assert!(
        err.to_string()
            .starts_with(&format!("{}:1:11: invalid TOML", base.display())),
        "{err}"
    );
    std::fs::remove_file(&base).unwrap();
    let err = Manifest::from_file(&child).unwrap_err();
    assert!(
        err.to_string().starts_with(&format!(
            "{}:1:11: cannot read base manifest {}: ",
            child.display(),
            base.display()
        )),
        "{err}"
    );
}

#[test]
fn extends_cycles_and_depth_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name);
    std::fs::write(path("a.toml"), "extends = \"b.toml\"\n").unwrap();
    std::fs::write(path("b.toml"), "\n\nextends = \"./a.toml\"\n").unwrap();
    let err = Manifest::from_file(path("a.toml")).unwrap_err();
    let (a, b) = (path("a.toml"), path("b.toml"));
    assert_eq!(
        problems(&err),
        [format!(
            "{}:3:11: extends cycle: {} -> {} -> {}",
            b.display(),
            a.display(),
            b.display(),
            a.display()
        )]
    );

    for i in 0..9 {
        let text = format!("extends = \"{}.toml\"\n", i + 1);
        std::fs::write(path(&format!("{i}.toml")), text).unwrap();
    }
    std::fs::write(path("9.toml"), HEAD).unwrap();
    let err = Manifest::from_file(path("0.toml")).unwrap_err();
    assert_eq!(
        problems(&err),
        [format!(
            "{}:1:11: extends goes more than 8 manifests deep",
            path("7.toml").display()
        )]
    );
    assert!(Manifest::from_file(path("2.toml")).is_ok());
}

#[test]
fn parse_and_io_errors() {
    assert_eq!(
        parse_err("extends = \"base.toml\"\n"),
        [
            "ext/symphony.toml:1:1: extends needs the base manifest from disk: read this one \
             with Manifest::from_file"
        ]
    );
    let err = Manifest::from_file("/no/such/symphony.toml").unwrap_err();
    assert!(
        err.to_string()
            .starts_with("cannot read manifest /no/such/symphony.toml: "),
        "{err}"
    );
    assert!(err.problems().is_empty());
}

/// Manifest-shaped text: known and unknown tables, keys and values in any
/// order, so the checks run and not just the TOML parser.
fn manifest_like() -> impl Strategy<Value = String> {
    let line = prop_oneof![
        prop::sample::select(vec![
            "[extension]",
            "[capabilities]",
            "[limits]",
            "[dependencies]",
            "[config.k]",
            "[config]",
            "[[capabilities.fs]]",
            "[capabilities.bus]",
            "extends = \"x.toml\"",
            "name = \"x\"",
            "version = \"1.0.0\"",
            "kind = \"native\"",
            "component = \"\"",
            "fs = [{ path = \"/\" }, { path = \"a\", guest = \"/a\" }, 3]",
            "net = [\"a:1\", \"*.b:*\", \"[::1]:9\", \"c\"]",
            "bus = { publish = [\">\"], subscribe = 1 }",
            "memory = \"1 GiB\"",
            "deadline = \"99999999999999999999h\"",
            "max-instances = 0",
            "type = \"list\"",
            "default = [1, 2.5, 1979-05-27]",
            "min = nan",
            "enum = []",
            "secret = true",
            "required = true",
            "x = { version = \"^1\", optional = 3 }",
        ])
        .prop_map(str::to_string),
        "[a-z-]{1,6} = (\"[^\"\\\\\n]{0,8}\"|-?[0-9]{1,20}|true|\\[\\]|\\{\\})",
    ];
    prop::collection::vec(line, 0..24).prop_map(|lines| lines.join("\n"))
}

proptest! {
    #[test]
    fn random_text_never_panics(text in "\\PC{0,200}") {
        let _ = Manifest::parse(&text, "symphony.toml");
    }

    #[test]
    fn manifest_like_text_never_panics(text in manifest_like()) {
        if let Err(err) = Manifest::parse(&text, "symphony.toml") {
            // Every problem points inside the text (or just past it).
            let lines = text.split('\n').count();
            for problem in err.problems() {
                prop_assert!(problem.line <= lines, "{problem} past line {lines}");
                let width = text.split('\n').nth(problem.line - 1).map_or(0, |l| l.chars().count());
                prop_assert!(problem.column <= width + 1, "{problem} past column {}", width + 1);
            }
        }
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let n = 100_000;
    for text in [
        format!("{} = 1", vec!["x"; n].join(".")),
        format!("[{}]", vec!["x"; n].join(".")),
        format!("x = {}{}", "[".repeat(n), "]".repeat(n)),
        format!("x = {}{}", "{a=".repeat(n), "}".repeat(n)),
    ] {
        let err = Manifest::parse(&text, "s.toml").unwrap_err();
        assert!(err.to_string().contains("invalid TOML"), "{err}");
    }
}

#[test]
fn the_example_manifests_read() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let (mut read, mut dirs_seen) = (0, 0);
    for kind in ["instruments", "operators", "addons"] {
        let dirs = std::fs::read_dir(examples.join(kind)).unwrap();
        for dir in dirs.flatten() {
            dirs_seen += 1;
            let path = dir.path().join("symphony.toml");
            if path.exists() {
                let m = Manifest::from_file(&path).unwrap_or_else(|e| panic!("{e}"));
                assert_eq!(
                    m.kind.extension_kind().map(|k| k.as_str()),
                    Some(&kind[..kind.len() - 1])
                );
                read += 1;
            }
        }
    }
    assert_eq!(read, dirs_seen, "one manifest per example extension");
    assert!(read >= 8, "Rust, Python, JavaScript and C examples: {read}");
}

#[test]
fn a_dot_path_is_the_manifests_directory_not_an_empty_path() {
    // Found by the manifest fuzz target.
    let m = Manifest::parse(
        &format!("{HEAD}[capabilities]\nfs = [{{ path = \".\" }}]\n"),
        "symphony.toml",
    )
    .unwrap();
    let cap = &m.capabilities.items()[0];
    assert_eq!(cap.to_string(), "fs:read:.");
    assert_eq!(cap.to_string().parse::<Capability>().unwrap(), *cap);
}

#[test]
fn a_problem_quoting_a_newline_stays_on_one_line() {
    // Found by the manifest fuzz target.
    let found = parse_err(&format!(
        "{HEAD}[capabilities]\nbus = {{ subscribe = [\"a.\\nb\"] }}\n"
    ));
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("'a.\\nb'"), "{found:?}");
    assert!(!found[0].contains('\n'), "{found:?}");
}
