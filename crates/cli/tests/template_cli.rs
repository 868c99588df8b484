//! `symphony template`, run as a user would, against `examples/templates`
//! and libraries made in temporary directories.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_symphony");

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/templates")
}

/// Runs `symphony` with a fresh `--home`.
fn symphony(args: &[&str]) -> Output {
    let home = tempfile::tempdir().unwrap();
    symphony_at(home.path(), args)
}

fn symphony_at(home: &Path, args: &[&str]) -> Output {
    let output = Command::new(BIN)
        .arg("--home")
        .arg(home)
        .args(args)
        .env_remove("SYMPHONY_LOG")
        .output()
        .expect("symphony runs");
    assert!(
        !text(&output.stderr).contains("panicked"),
        "{}",
        text(&output.stderr)
    );
    output
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `symphony template ARGS --dir examples/templates`, which must succeed.
fn on_examples(args: &[&str]) -> String {
    let dir = examples().display().to_string();
    let mut all = vec!["template"];
    all.extend_from_slice(args);
    all.extend(["--dir", &dir]);
    let out = symphony(&all);
    assert!(
        out.status.success(),
        "{args:?}: {}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

fn json_of(stdout: &str) -> Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

#[test]
fn list_shows_the_latest_version_of_each_template() {
    let stdout = on_examples(&["list"]);
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines[0].starts_with("ID") && lines[0].contains("VERSION"),
        "{stdout}"
    );
    assert!(lines[1].starts_with("review-triage  1.0.0"), "{stdout}");
    assert!(
        lines[2].starts_with("text-brief     1.1.0 (+1)"),
        "{stdout}"
    );
    assert_eq!(lines.len(), 3, "{stdout}");

    let list = json_of(&on_examples(&["list", "--json"]));
    let ids: Vec<(&str, &str)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["id"].as_str().unwrap(), t["version"].as_str().unwrap()))
        .collect();
    assert_eq!(ids, [("review-triage", "1.0.0"), ("text-brief", "1.1.0")]);
    assert_eq!(list[1]["versions"], json!(["1.0.0", "1.1.0"]));

    let all = json_of(&on_examples(&["list", "--all-versions", "--json"]));
    assert_eq!(all.as_array().unwrap().len(), 3);
}

#[test]
fn search_finds_by_text_and_tags() {
    let found = json_of(&on_examples(&["search", "review", "--json"]));
    assert_eq!(found[0]["id"], "review-triage");
    let found = json_of(&on_examples(&[
        "search", "brief", "--tag", "demo", "--json",
    ]));
    assert_eq!(found.as_array().unwrap().len(), 1);
    assert_eq!(found[0]["id"], "text-brief");
    let found = json_of(&on_examples(&[
        "search", "--tag", "reviews", "--tag", "demo", "--json",
    ]));
    assert_eq!(found, json!([]));
    // Every word must match.
    let stdout = on_examples(&["search", "mock", "model", "text"]);
    assert!(stdout.contains("text-brief"), "{stdout}");
    let stdout = on_examples(&["search", "mock", "unicorn"]);
    assert_eq!(stdout, "");
}

#[test]
fn show_lists_versions_and_a_parameter_table() {
    let stdout = on_examples(&["show", "text-brief"]);
    assert!(
        stdout.starts_with("template text-brief 1.1.0 (Text brief)\n"),
        "{stdout}"
    );
    assert!(stdout.contains("  versions: 1.0.0, 1.1.0\n"), "{stdout}");
    assert!(
        stdout.contains("  tags: summary, brief, demo\n"),
        "{stdout}"
    );
    let row = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("topic_case"))
        .unwrap_or_else(|| panic!("{stdout}"));
    for cell in [
        "string",
        "default \"uppercase\"",
        "one of \"uppercase\", \"lowercase\"",
        "How topics are written",
    ] {
        assert!(row.contains(cell), "{cell} not in {row}");
    }
    let old = on_examples(&["show", "text-brief@1.0.0"]);
    assert!(old.starts_with("template text-brief 1.0.0"), "{old}");
    assert!(!old.contains("topic_case"), "{old}");

    let shown = json_of(&on_examples(&["show", "review-triage@^1", "--json"]));
    assert_eq!(shown["id"], "review-triage");
    let product = &shown["parameters"]["product"];
    assert_eq!(product["type"], "string");
    assert_eq!(product["required"], true);
    assert_eq!(product["constraints"], "length 1 to 60");
    assert_eq!(shown["parameters"]["keywords"]["default"], 3);
}

#[test]
fn instantiate_prints_a_workflow_that_loads_back() {
    let stdout = on_examples(&[
        "instantiate",
        "review-triage",
        "--param",
        "product=The Editor",
        "-p",
        "keywords=5",
        "-p",
        r#"labels=["editor", "q3"]"#,
    ]);
    let workflow = json_of(&stdout);
    assert_eq!(workflow["name"], "review-triage: The Editor");
    assert_eq!(workflow["nodes"][0]["config"]["keywords"], 5);
    assert_eq!(workflow["metadata"]["tags"], json!(["editor", "q3"]));

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("brief.msgpack");
    let out = symphony(&[
        "template",
        "instantiate",
        "text-brief@1.1.0",
        "-p",
        "slug=my-brief",
        "-p",
        "topic_case=lowercase",
        "--format",
        "msgpack",
        "--out",
        file.to_str().unwrap(),
        "--dir",
        examples().to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).starts_with("wrote "),
        "{}",
        text(&out.stderr)
    );
    let out = symphony(&["workflow", "show", file.to_str().unwrap(), "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown = json_of(&text(&out.stdout));
    assert_eq!(shown["id"], "my-brief");
    assert_eq!(shown["version"], "1.1.0");
}

#[test]
fn instantiate_reports_every_bad_parameter_at_once() {
    let dir = examples().display().to_string();
    let out = symphony(&[
        "template",
        "instantiate",
        "text-brief",
        "-p",
        "sentences=0",
        "-p",
        "keywords=lots",
        "-p",
        "topic_case=title",
        "-p",
        "slug=Bad Slug",
        "-p",
        "colour=red",
        "--dir",
        &dir,
    ]);
    assert!(!out.status.success());
    assert_eq!(text(&out.stdout), "");
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with("error: cannot instantiate template text-brief@1.1.0:\n"),
        "{stderr}"
    );
    for problem in [
        "  - parameter 'colour': unknown parameter",
        "  - parameter 'keywords': \"lots\" is not an integer",
        "  - parameter 'sentences': must be 1 to 20, got 0",
        "  - parameter 'slug': must match the pattern ^[a-z][a-z0-9-]*$, got \"Bad Slug\"",
        "  - parameter 'topic_case': must be one of \"uppercase\", \"lowercase\", got \"title\"",
    ] {
        assert!(stderr.contains(problem), "{problem}\nnot in:\n{stderr}");
    }

    let out = symphony(&["template", "instantiate", "review-triage", "--dir", &dir]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("parameter 'product': is required: give a string"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_library_in_home_is_the_default_and_bad_files_are_warnings() {
    let home = tempfile::tempdir().unwrap();
    let templates = home.path().join("templates");
    std::fs::create_dir_all(templates.join("nested")).unwrap();
    let good = std::fs::read_to_string(examples().join("review-triage.json")).unwrap();
    std::fs::write(templates.join("nested/triage.json"), &good).unwrap();
    std::fs::write(templates.join("copy.json"), &good).unwrap();
    std::fs::write(templates.join("broken.json"), "{\"template_version\": 1").unwrap();
    std::fs::write(
        templates.join("future.json"),
        r#"{"template_version": 7, "template": {}}"#,
    )
    .unwrap();

    let out = symphony_at(home.path(), &["template", "list", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let list = json_of(&text(&out.stdout));
    assert_eq!(list.as_array().unwrap().len(), 1);
    // copy.json sorts first, so it is the one loaded.
    assert!(
        list[0]["file"].as_str().unwrap().ends_with("copy.json"),
        "{list}"
    );
    let stderr = text(&out.stderr);
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("warning: skipped"))
        .collect();
    assert_eq!(warnings.len(), 3, "{stderr}");
    assert!(stderr.contains("broken.json:1:"), "{stderr}");
    assert!(
        stderr.contains("template_version 7 is not supported"),
        "{stderr}"
    );
    assert!(
        stderr
            .contains("triage.json: template 'review-triage' version 1.0.0 is already defined by"),
        "{stderr}"
    );

    let out = symphony_at(home.path(), &["template", "show", "nope"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("error: no template 'nope'"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn an_empty_home_lists_nothing_and_says_where_to_look() {
    let out = symphony(&["template", "list"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "");
    assert!(
        text(&out.stderr).contains("pass --dir DIR"),
        "{}",
        text(&out.stderr)
    );
}
