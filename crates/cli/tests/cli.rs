//! The `symphony` binary, run as a user would.

#[path = "cli/arbitration.rs"]
mod arbitration;
#[path = "cli/languages.rs"]
mod languages;
#[path = "cli/resume.rs"]
mod resume;
#[path = "cli/service.rs"]
mod service;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_symphony");

/// `$VAR`, else `<target>/<dir>`, where `cargo xtask build-examples` puts
/// the components (the binary is `<target>/<profile>/symphony`).
fn built(var: &str, dir: &str) -> PathBuf {
    std::env::var_os(var).map(PathBuf::from).unwrap_or_else(|| {
        Path::new(BIN)
            .ancestors()
            .nth(2)
            .expect("binary under <target>/<profile>")
            .join(dir)
    })
}

/// The example components.
fn components() -> PathBuf {
    built("SYMPHONY_COMPONENTS", "components")
}

fn workflows() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/workflows")
}

fn symphony(args: &[&str]) -> Output {
    let home = tempfile::tempdir().unwrap();
    let output = Command::new(BIN)
        .arg("--home")
        .arg(home.path())
        .args(args)
        .env_remove("SYMPHONY_LOG")
        .output()
        .expect("symphony runs");
    assert!(
        !String::from_utf8_lossy(&output.stderr).contains("panicked"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn demo_args() -> Vec<String> {
    let components = components();
    assert!(
        components.join("mock-llm").join("mock_llm.wasm").is_file(),
        "run `cargo xtask build-examples` first"
    );
    vec![
        "run".into(),
        workflows().join("demo.json").display().to_string(),
        "--input".into(),
        format!("@{}", workflows().join("demo-input.json").display()),
        "--ext-dir".into(),
        components.display().to_string(),
    ]
}

#[test]
fn run_prints_output_node_times_and_the_addon_view() {
    let args = demo_args();
    let out = symphony(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}\n{}", stdout, text(&out.stderr));
    assert!(
        stdout.starts_with("workflow 'demo' completed in "),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.contains("✓ summarise") && l.ends_with(" ms")),
        "{stdout}"
    );
    assert!(stdout.contains("\"mood\": \"positive\""), "{stdout}");
    assert!(
        stdout.contains("status-panel:\n✓ demo: completed — 2/2 nodes"),
        "{stdout}"
    );
}

#[test]
fn run_json_is_one_machine_readable_document() {
    let mut args = demo_args();
    args.push("--json".into());
    let out = symphony(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["state"], "completed");
    assert_eq!(doc["output"]["topics"][0], "EXTENSION");
    assert_eq!(doc["nodes"].as_array().unwrap().len(), 2);
    assert!(
        doc["addons"]["status-panel"]["text"]
            .as_str()
            .unwrap()
            .contains("2/2 nodes")
    );
}

#[test]
fn bad_input_and_unknown_extensions_are_one_line_errors() {
    let mut args = demo_args();
    args[3] = "not json".into();
    let out = symphony(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(stderr.starts_with("error: --input is not JSON"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");

    let out = symphony(&[
        "validate",
        &workflows().join("demo.json").display().to_string(),
    ]);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(stderr.contains("node 'summarise': unknown extension 'mock-llm' (no extensions are loaded; pass --ext-dir)"), "{stderr}");
}

#[test]
fn validate_and_inspect_report_in_text_and_json() {
    let dir = components().display().to_string();
    let demo = workflows().join("demo.json").display().to_string();
    let out = symphony(&["validate", &demo, "--ext-dir", &dir]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "workflow 'demo' is valid: 2 nodes, 1 edges\n  layer   1: summarise\n  layer   2: brief\n"
    );

    let wasm = components()
        .join("status-panel")
        .join("status_panel.wasm")
        .display()
        .to_string();
    let out = symphony(&["ext", "inspect", &wasm]);
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("world:     symphony:extension/addon-extension@0.1.1 (addon)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("symphony:extension/addon@0.1.1: render, handle-event, get-state"),
        "{stdout}"
    );

    // What built it: the WASI version it imports and its toolchain.
    assert!(stdout.contains("\nwasi:      0.2."), "{stdout}");
    assert!(stdout.contains("\nbuilt by:  Rust, "), "{stdout}");
    assert!(stdout.contains("rustc 1."), "{stdout}");

    let out = symphony(&["ext", "inspect", &wasm, "--json"]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["kind"], "addon");
    assert!(doc["wasi"].as_str().unwrap().starts_with("0.2."), "{doc}");
    let producers = doc["producers"].as_array().unwrap();
    assert!(
        producers
            .iter()
            .any(|p| p["field"] == "language" && p["name"] == "Rust"),
        "{producers:?}"
    );

    // Given the extension's directory, the manifest and its node config too.
    let shaper = components().join("json-transform").display().to_string();
    let out = symphony(&["ext", "inspect", &shaper]);
    let stdout = text(&out.stdout);
    assert!(
        stdout.starts_with("extension: json-transform 0.1.0 (operator)\n"),
        "{stdout}"
    );
    assert!(stdout.contains("  - spec (object, required): "), "{stdout}");
    let out = symphony(&["ext", "inspect", &shaper, "--json"]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["config"]["spec"]["type"], "object");
    assert_eq!(doc["manifest"]["name"], "json-transform");
}

#[test]
fn missing_files_fail_without_a_backtrace() {
    let out = symphony(&["ext", "inspect", "/nonexistent/x.wasm"]);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with("error: cannot read extension /nonexistent/x.wasm"),
        "{stderr}"
    );
    assert!(!stderr.contains("backtrace"), "{stderr}");
}

#[test]
fn every_command_has_help() {
    for args in [
        &["--help"][..],
        &["run", "--help"],
        &["validate", "--help"],
        &["ext", "inspect", "--help"],
    ] {
        let out = symphony(args);
        assert!(out.status.success(), "{args:?}");
        assert!(text(&out.stdout).contains("Usage: symphony"), "{args:?}");
    }
}

#[test]
fn limit_flags_apply_to_every_extension() {
    let mut args = demo_args();
    args.extend(["--fuel".to_string(), "1000".to_string()]);
    let out = symphony(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(!out.status.success());
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with("workflow 'demo' failed"), "{stdout}");
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("ran out of fuel (1000 units per call)"),
        "{stderr}"
    );
}

#[test]
fn workflow_convert_goes_to_msgpack_and_back_and_the_result_runs() {
    let dir = tempfile::tempdir().unwrap();
    let packed = dir.path().join("demo.msgpack");
    let json = dir.path().join("demo.json");
    let demo = workflows().join("demo.json");
    let convert = |from: &Path, to: &str, out: &Path| {
        let output = symphony(&[
            "workflow",
            "convert",
            from.to_str().unwrap(),
            "--to",
            to,
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(output.status.success(), "{}", text(&output.stderr));
    };
    convert(&demo, "msgpack", &packed);
    convert(&packed, "json", &json);
    let original: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&demo).unwrap()).unwrap();
    let round_tripped: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(round_tripped, original);

    let out = symphony(&[
        "validate",
        packed.to_str().unwrap(),
        "--ext-dir",
        components().to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn workflow_show_draws_layers_and_edges() {
    let file = workflows().join("review-triage.json");
    let out = symphony(&["workflow", "show", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let drawing = text(&out.stdout);
    assert!(
        drawing.contains("layer 0") && drawing.contains("layer 1"),
        "{drawing}"
    );
    assert!(drawing.contains("<- topics, tone"), "{drawing}");

    let out = symphony(&["workflow", "show", file.to_str().unwrap(), "--json"]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        doc["layers"],
        serde_json::json!([["tone", "topics"], ["triage"]])
    );
    assert_eq!(
        doc["nodes"][2]["depends_on"],
        serde_json::json!(["topics", "tone"])
    );
}

#[test]
fn workflow_show_draws_ports_and_control_steps() {
    let file = workflows().join("review-router.json");
    let out = symphony(&["workflow", "show", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let drawing = text(&out.stdout);
    for expected in [
        "out  sentiment: object{label: string, score: number}, keywords: list<string>",
        "route         control     branch  <- tone",
        "case unhappy when sentiment.label == 'negative'",
        "else content",
        "takes the first input to arrive",
        "for each element of its input:",
        "weigh  instrument  mock-llm",
        "in   reply: object{action: string}, keywords: list<object>",
        "<- reply into reply, each-keyword into keywords",
        "route.unhappy -> escalate",
        "each-keyword -> record.keywords",
    ] {
        assert!(drawing.contains(expected), "{expected:?} in\n{drawing}");
    }

    let out = symphony(&["workflow", "show", file.to_str().unwrap(), "--json"]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let route = &doc["nodes"][1];
    assert_eq!(route["runs"], "branch");
    assert_eq!(route["control"]["branch"]["otherwise"], "content");
    assert_eq!(doc["nodes"][0]["outputs"][1]["type"], "list<string>");
}

/// The example extensions copied to a fresh directory, with mock-llm's
/// manifest asking for the wall clock as well.
fn extensions_asking_for_the_clock() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(components()).unwrap() {
        let from = entry.unwrap().path();
        let to = dir.path().join(from.file_name().unwrap());
        std::fs::create_dir_all(&to).unwrap();
        for file in std::fs::read_dir(&from).unwrap() {
            let file = file.unwrap().path();
            std::fs::copy(&file, to.join(file.file_name().unwrap())).unwrap();
        }
    }
    let manifest = dir.path().join("mock-llm/symphony.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(&manifest, format!("{text}\n[capabilities]\nclock = true\n")).unwrap();
    dir
}

#[test]
fn ungranted_capabilities_are_refused_without_a_terminal_and_audited() {
    let home = tempfile::tempdir().unwrap();
    let extensions = extensions_asking_for_the_clock();
    let run = |extra: &[&str]| {
        let mut args = demo_args();
        let at = args.iter().position(|a| a == "--ext-dir").unwrap() + 1;
        args[at] = extensions.path().display().to_string();
        Command::new(BIN)
            .arg("--home")
            .arg(home.path())
            .args(&args)
            .args(extra)
            .output()
            .unwrap()
    };
    let refused = run(&[]);
    assert!(refused.status.success(), "{}", text(&refused.stderr));
    let stderr = text(&refused.stderr);
    assert!(
        stderr.contains("mock-llm may not read the wall clock")
            && stderr.contains("--grant mock-llm:clock"),
        "{stderr}"
    );

    let granted = run(&["--grant", "mock-llm:clock"]);
    assert!(granted.status.success(), "{}", text(&granted.stderr));
    assert!(
        !text(&granted.stderr).contains("may not"),
        "{}",
        text(&granted.stderr)
    );

    let audit = Command::new(BIN)
        .arg("--home")
        .arg(home.path())
        .args(["audit", "--ext", "mock-llm", "--json"])
        .output()
        .unwrap();
    let records: Vec<serde_json::Value> = text(&audit.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let decisions: Vec<(&str, &str, &str)> = records
        .iter()
        .map(|r| {
            (
                r["capability"].as_str().unwrap(),
                r["decision"].as_str().unwrap(),
                r["by"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        decisions,
        [
            ("clock", "denied", "no-prompt"),
            ("clock", "granted", "explicit")
        ]
    );
    let plain = Command::new(BIN)
        .arg("--home")
        .arg(home.path())
        .args(["audit", "--decision", "denied"])
        .output()
        .unwrap();
    assert!(
        text(&plain.stdout).contains("denied   mock-llm 0.1.0  clock"),
        "{}",
        text(&plain.stdout)
    );
}

#[test]
fn ext_permissions_says_what_a_manifest_asks_in_plain_words() {
    let extensions = extensions_asking_for_the_clock();
    let asks = symphony(&[
        "ext",
        "permissions",
        extensions.path().join("mock-llm").to_str().unwrap(),
    ]);
    assert!(asks.status.success(), "{}", text(&asks.stderr));
    assert!(
        text(&asks.stdout)
            .starts_with("mock-llm 0.1.0 (instrument) asks to:\n  - read the wall clock\n"),
        "{}",
        text(&asks.stdout)
    );
    let nothing = symphony(&[
        "ext",
        "permissions",
        components()
            .join("json-transform")
            .join("symphony.toml")
            .to_str()
            .unwrap(),
    ]);
    assert!(
        text(&nothing.stdout).contains("asks for nothing"),
        "{}",
        text(&nothing.stdout)
    );
    // The node config it takes, so a workflow can be written from it.
    assert!(
        text(&nothing.stdout).contains("Node config (a workflow node's \"config\"):\n  - spec (object, required): The steps to apply"),
        "{}",
        text(&nothing.stdout)
    );
}

/// `ext stats --workflow FILE ...` from the demo's `run FILE ...` arguments.
fn stats_args() -> Vec<String> {
    let mut args = demo_args();
    assert_eq!(args[0], "run");
    args.splice(0..1, ["ext".into(), "stats".into(), "--workflow".into()]);
    args
}

#[test]
fn ext_stats_runs_the_workflow_and_shows_each_extensions_metrics() {
    let args = stats_args();
    let out = symphony(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}\n{}", stdout, text(&out.stderr));
    let mut lines = stdout.lines();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        [
            "extension",
            "calls",
            "errors",
            "denials",
            "fuel",
            "memory",
            "p50",
            "p90",
            "p99"
        ]
    );
    let llm = stdout
        .lines()
        .find(|l| l.starts_with("mock-llm "))
        .unwrap_or_else(|| panic!("no mock-llm row in\n{stdout}"));
    let cells: Vec<&str> = llm.split_whitespace().collect();
    assert_eq!(cells[1], "1", "one call: {llm}");
    assert_eq!(cells[2], "0", "no errors: {llm}");
    assert!(cells[4].parse::<u64>().unwrap() > 0, "fuel used: {llm}");
    assert!(llm.contains(" MiB"), "{llm}");
    assert!(
        stdout.lines().any(|l| l.starts_with("json-transform ")),
        "{stdout}"
    );

    let mut args = args;
    args.push("--json".into());
    let out = symphony(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["state"], "completed");
    let llm = &doc["extensions"]["mock-llm"];
    assert_eq!(llm["calls"], 1);
    assert_eq!(llm["errors"]["trap"], 0);
    assert!(llm["fuel_used"].as_u64().unwrap() > 0, "{llm}");
    assert!(llm["memory_high_water"].as_u64().unwrap() > 0, "{llm}");
    assert_eq!(llm["latency"]["count"], 1);
    assert!(llm["latency"]["p99_us"].as_u64().is_some(), "{llm}");
}

/// `symphony ext new --kind KIND NAME --dir PARENT ARGS...`.
/// `symphony ext new` with `bin`, its data directory (where the SDK is
/// written) in `parent/home`.
fn ext_new_with(bin: &Path, kind: &str, name: &str, parent: &Path, extra: &[&str]) -> Output {
    Command::new(bin)
        .arg("--home")
        .arg(parent.join("home"))
        .args(["ext", "new", "--kind", kind, name, "--dir"])
        .arg(parent)
        .args(extra)
        .output()
        .unwrap()
}

fn ext_new(kind: &str, name: &str, parent: &Path, extra: &[&str]) -> Output {
    ext_new_with(Path::new(BIN), kind, name, parent, extra)
}

#[test]
fn ext_new_scaffolds_each_kind_with_a_manifest_that_loads() {
    let help = symphony(&["ext", "new", "--help"]);
    assert!(help.status.success());
    assert!(
        text(&help.stdout).contains("--kind <KIND>"),
        "{}",
        text(&help.stdout)
    );

    let parent = tempfile::tempdir().unwrap();
    for kind in ["operator", "instrument", "addon"] {
        let name = format!("my-{kind}");
        let out = ext_new(kind, &name, parent.path(), &["--json"]);
        assert!(out.status.success(), "{kind}: {}", text(&out.stderr));
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let dir = parent.path().join(&name);
        assert_eq!(doc["dir"].as_str(), dir.to_str());
        let files: Vec<PathBuf> = (doc["files"].as_array().unwrap().iter())
            .map(|f| PathBuf::from(f.as_str().unwrap()))
            .collect();
        for file in ["symphony.toml", "Cargo.toml", "src/lib.rs", "README.md"] {
            assert!(
                files.contains(&dir.join(file)),
                "{kind}: {file} in {files:?}"
            );
        }
        assert!(files.iter().all(|f| f.is_file()), "{files:?}");
        assert_eq!(files.contains(&dir.join("workflow.json")), kind != "addon");
        let component = format!("target/wasm32-wasip2/release/my_{kind}.wasm");
        assert_eq!(doc["component"].as_str(), dir.join(component).to_str());

        // The manifest parses and asks for nothing.
        let asks = symphony(&["ext", "permissions", dir.to_str().unwrap(), "--json"]);
        assert!(asks.status.success(), "{kind}: {}", text(&asks.stderr));
        let asks: serde_json::Value = serde_json::from_slice(&asks.stdout).unwrap();
        assert_eq!(
            (asks["name"].as_str(), asks["kind"].as_str()),
            (Some(&*name), Some(kind))
        );
        assert_eq!(asks["capabilities"], serde_json::json!([]));

        // Cargo.toml depends on an SDK that is there, by absolute path.
        let cargo = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
        let sdk = (cargo.lines())
            .find_map(|l| l.strip_prefix("symphony-sdk = { path = \""))
            .and_then(|rest| rest.strip_suffix("\" }"))
            .unwrap_or_else(|| panic!("no symphony-sdk path in\n{cargo}"));
        assert!(Path::new(sdk).is_absolute(), "{sdk}");
        assert!(Path::new(sdk).join("src/lib.rs").is_file(), "{sdk}");
        assert!(cargo.contains("\n[workspace]\n"), "{cargo}");
    }

    // An empty directory is filled; text mode lists the files and what next.
    let empty = parent.path().join("empty-one");
    std::fs::create_dir(&empty).unwrap();
    let out = ext_new("operator", "empty-one", parent.path(), &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.starts_with(&format!(
            "Created operator `empty-one` in {}:\n",
            empty.display()
        )),
        "{stdout}"
    );
    for line in [
        "  src/lib.rs\n",
        "cargo build --release --target wasm32-wasip2\n",
        "symphony run workflow.json --ext-dir . --input",
        "target/wasm32-wasip2/release/empty_one.wasm",
    ] {
        assert!(stdout.contains(line), "{line:?} in\n{stdout}");
    }
}

#[test]
fn ext_new_refuses_taken_directories_bad_names_and_a_wrong_sdk() {
    let parent = tempfile::tempdir().unwrap();
    let out = ext_new("operator", "taken", parent.path(), &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lib = parent.path().join("taken/src/lib.rs");
    std::fs::write(&lib, "// mine\n").unwrap();
    let again = ext_new("addon", "taken", parent.path(), &[]);
    assert!(!again.status.success());
    let stderr = text(&again.stderr);
    assert!(
        stderr.contains("taken already exists and is not empty")
            && stderr.contains("nothing was written"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&lib).unwrap(), "// mine\n");
    assert!(
        !text(&std::fs::read(parent.path().join("taken/symphony.toml")).unwrap()).contains("addon")
    );

    for (name, why) in [
        ("Shout", "invalid extension.name \"Shout\": contains 'S'"),
        ("9lives", "a crate name cannot start with a digit"),
        ("fn", "is a Rust keyword"),
    ] {
        let out = ext_new("operator", name, parent.path(), &[]);
        assert!(!out.status.success(), "{name}");
        let stderr = text(&out.stderr);
        assert!(
            stderr.starts_with("error: cannot create extension"),
            "{stderr}"
        );
        assert!(stderr.contains(why), "{name}: {stderr}");
        assert!(!parent.path().join(name).exists(), "{name}");
    }

    let not_sdk = parent.path().join("taken").display().to_string();
    let out = ext_new("operator", "fresh", parent.path(), &["--sdk", &not_sdk]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("is not the Symphony SDK"),
        "{}",
        text(&out.stderr)
    );
    assert!(!parent.path().join("fresh").exists());
}

/// Whether rustc can build for wasm32-wasip2 (`cargo xtask` adds it).
fn wasm_target_installed() -> bool {
    let Ok(out) = Command::new("rustc").args(["--print", "sysroot"]).output() else {
        return false;
    };
    let sysroot = text(&out.stdout);
    out.status.success()
        && Path::new(sysroot.trim())
            .join("lib/rustlib/wasm32-wasip2")
            .is_dir()
}

#[test]
fn ext_new_operator_builds_for_wasm_loads_and_runs() {
    assert!(
        wasm_target_installed(),
        "the wasm32-wasip2 target is not installed: run `cargo xtask test`, which adds it \
         (or `rustup target add wasm32-wasip2`)"
    );
    // `cargo xtask build-examples` builds the guests in <target>/guests;
    // building there reuses their compiled dependencies. The scaffold
    // lives at a fixed place too (inside this workspace's tree, which its
    // own [workspace] table allows), so its artifacts are reused run after
    // run instead of piling up.
    let guests = (Path::new(BIN).ancestors().nth(2))
        .expect("binary under <target>/<profile>")
        .join("guests");
    let parent = guests.join("scaffold-test");
    let _ = std::fs::remove_dir_all(&parent);
    // The binary moved away from the tree it was built from: the scaffold
    // depends on the SDK the binary carries, written to its data directory.
    std::fs::create_dir_all(&parent).unwrap();
    let moved = parent.join("symphony");
    std::fs::copy(BIN, &moved).unwrap();
    let out = ext_new_with(&moved, "operator", "scaffold-e2e", &parent, &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let cargo_toml = std::fs::read_to_string(parent.join("scaffold-e2e/Cargo.toml")).unwrap();
    let home_sdk = parent.join("home/sdk").display().to_string();
    assert!(cargo_toml.contains(&home_sdk), "{cargo_toml}");
    let dir = parent.join("scaffold-e2e");
    // The examples' lock file pins the versions xtask compiled.
    let lock = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/Cargo.lock");
    std::fs::copy(lock, dir.join("Cargo.lock")).unwrap();
    let cargo = |args: &[&str]| {
        let out = Command::new(std::env::var_os("CARGO").unwrap_or("cargo".into()))
            .args(args)
            .current_dir(&dir)
            .env("CARGO_TARGET_DIR", &guests)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "cargo {args:?}:\n{}",
            text(&out.stderr)
        );
        text(&out.stdout)
    };

    cargo(&["build", "--release", "--target", "wasm32-wasip2"]);
    // Built into the shared directory: put it where the manifest looks.
    let built = guests.join("wasm32-wasip2/release/scaffold_e2e.wasm");
    let component = dir.join("target/wasm32-wasip2/release/scaffold_e2e.wasm");
    std::fs::create_dir_all(component.parent().unwrap()).unwrap();
    std::fs::copy(built, &component).unwrap();

    let workflow = dir.join("workflow.json");
    let run = |ext_dir: &Path, input: &str| {
        let out = symphony(&[
            "run",
            workflow.to_str().unwrap(),
            "--ext-dir",
            ext_dir.to_str().unwrap(),
            "--input",
            input,
            "--json",
        ]);
        assert!(
            out.status.success(),
            "{}\n{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        doc["output"].clone()
    };
    let output = run(&dir, r#"{"text": "hello, wasm", "n": 1}"#);
    assert_eq!(output, serde_json::json!({"text": "HELLO, WASM", "n": 1}));

    // The node's config reaches it; the parent directory loads it too.
    let text_field = std::fs::read_to_string(&workflow).unwrap();
    let title_field = text_field.replace(r#""field": "text""#, r#""field": "title""#);
    assert_ne!(text_field, title_field);
    std::fs::write(&workflow, title_field).unwrap();
    let output = run(&parent, r#"{"text": "keep", "title": "shout"}"#);
    assert_eq!(
        output,
        serde_json::json!({"text": "keep", "title": "SHOUT"})
    );

    // Its own unit tests pass natively.
    let tests = cargo(&["test"]);
    assert!(tests.contains("test result: ok. 4 passed"), "{tests}");
}

#[test]
fn ext_list_shows_each_extensions_state_and_crash_counts() {
    let mut args = stats_args();
    args[1] = "list".into();
    let out = symphony(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}\n{}", stdout, text(&out.stderr));
    let header: Vec<&str> = stdout.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        [
            "extension",
            "version",
            "kind",
            "state",
            "failures",
            "recent"
        ]
    );
    let llm: Vec<&str> = stdout
        .lines()
        .find(|l| l.starts_with("mock-llm "))
        .unwrap_or_else(|| panic!("no mock-llm row in\n{stdout}"))
        .split_whitespace()
        .collect();
    assert_eq!(llm, ["mock-llm", "0.1.0", "instrument", "active", "0", "0"]);

    args.push("--json".into());
    let out = symphony(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let panel = list
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "status-panel")
        .unwrap();
    assert_eq!(panel["state"], "active");
    let steps: Vec<&str> = panel["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["to"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["resolved", "loaded", "active"]);
}

/// The test fixtures (`hostile.wasm` and others).
fn fixtures() -> PathBuf {
    built("SYMPHONY_FIXTURES", "fixtures")
}

/// `<root>/<name>/` holding the hostile fixture as the Operator `name`.
fn hostile_as(root: &Path, name: &str) {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(fixtures().join("hostile.wasm"), dir.join("ext.wasm")).unwrap();
    std::fs::write(
        dir.join("symphony.toml"),
        format!(
            "[extension]\nname = \"{name}\"\nversion = \"1.0.0\"\nkind = \"operator\"\n\
             component = \"ext.wasm\"\n\n[limits]\ndeadline = \"60s\"\n"
        ),
    )
    .unwrap();
}

#[test]
fn a_log_flood_is_held_to_its_limit_and_other_extensions_still_log() {
    let root = tempfile::tempdir().unwrap();
    hostile_as(root.path(), "flooder");
    hostile_as(root.path(), "quiet");
    let op = |id: &str, extension: &str, config: serde_json::Value| serde_json::json!({"id": id, "kind": "operator", "extension": extension, "config": config});
    // Ten seconds of flooding, through the log import and then stdout,
    // while another extension prints a line half way through.
    let workflow = serde_json::json!({
        "schema_version": 2, "id": "flood", "name": "flood", "version": "1.0.0",
        "nodes": [
            op("by-log", "flooder", serde_json::json!({"mode": "log-flood", "seconds": 5, "stream": "log"})),
            op("by-stdout", "flooder", serde_json::json!({"mode": "log-flood", "seconds": 5, "stream": "stdout"})),
            op("wait", "quiet", serde_json::json!({"mode": "sleep", "ms": 4000})),
            op("speak", "quiet", serde_json::json!({"mode": "print", "stdout": "quiet line", "stderr": ""})),
        ],
        "edges": [{"from": "by-log", "to": "by-stdout"}, {"from": "wait", "to": "speak"}],
    });
    let file = root.path().join("flood.json");
    std::fs::write(&file, workflow.to_string()).unwrap();
    let began = std::time::Instant::now();
    let out = symphony(&[
        "run",
        &file.display().to_string(),
        "--ext-dir",
        &root.path().display().to_string(),
        "--concurrency",
        "2",
    ]);
    let seconds = began.elapsed().as_secs_f64();
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{}", text(&out.stdout));
    let flooded = stderr
        .lines()
        .filter(|l| l.contains("flood line") && l.contains("flooder"))
        .count();
    let notes = stderr
        .lines()
        .filter(|l| l.contains("log lines dropped: over the extension's limit of 100 lines/s"))
        .count();
    // The default limit: bursts of 500, then 100 lines a second.
    let limit = 500.0 + 100.0 * seconds;
    assert!(
        (flooded as f64) <= limit,
        "{flooded} flood lines in {seconds:.1} s, over the limit of {limit:.0}"
    );
    assert!(flooded >= 500, "the burst passed: {flooded}");
    // One note a second at most, and at least one for the flood.
    assert!(
        notes >= 1 && (notes as f64) <= seconds + 2.0,
        "{notes} notes"
    );
    assert!(
        stderr.contains("quiet line") && stderr.contains("quiet"),
        "the other extension's line is missing"
    );
}

/// A workflow of `n` operator nodes in a chain, for output that overflows
/// a pipe.
fn big_workflow(dir: &Path, n: usize) -> PathBuf {
    let nodes: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            serde_json::json!({"id": format!("step-{i}"), "kind": "operator",
                                    "extension": "json-transform"})
        })
        .collect();
    let edges: Vec<serde_json::Value> = (1..n)
        .map(|i| {
            serde_json::json!({"from": format!("step-{}", i - 1), "to": format!("step-{i}"),
                                    "kind": "control"})
        })
        .collect();
    let doc = serde_json::json!({"schema_version": 2, "id": "big", "name": "big",
                                 "version": "1.0.0", "nodes": nodes, "edges": edges});
    let path = dir.join("big.json");
    std::fs::write(&path, doc.to_string()).unwrap();
    path
}

#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    use std::io::{BufRead, BufReader};
    use std::os::unix::process::ExitStatusExt;
    let dir = tempfile::tempdir().unwrap();
    let big = big_workflow(dir.path(), 3000);
    let mut child = Command::new(BIN)
        .arg("--home")
        .arg(dir.path())
        .args(["workflow", "show"])
        .arg(&big)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Read one line, then close the pipe, as `| head -1` does.
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.starts_with("workflow big"), "{first}");
    let output = child.wait_with_output().unwrap();
    let stderr = text(&output.stderr);
    assert!(
        output.status.success() || output.status.signal() == Some(libc::SIGPIPE),
        "{:?}: {stderr}",
        output.status
    );
    assert!(stderr.is_empty(), "{stderr}");
}

#[test]
fn logs_written_to_a_pipe_carry_no_colour_codes() {
    let demo = workflows().join("demo.json");
    let home = tempfile::tempdir().unwrap();
    let logs = |env: &[(&str, &str)]| {
        let out = Command::new(BIN)
            .arg("--home")
            .arg(home.path())
            .arg("validate")
            .arg(&demo)
            .arg("--ext-dir")
            .arg(components())
            .env("SYMPHONY_LOG", "debug")
            .env_remove("CLICOLOR_FORCE")
            .env_remove("NO_COLOR")
            .envs(env.iter().copied())
            .output()
            .unwrap();
        let stderr = text(&out.stderr);
        assert!(stderr.contains("DEBUG"), "{stderr}");
        stderr
    };
    let plain = logs(&[]);
    assert!(!plain.contains('\x1b'), "{plain:?}");
    // Forced, as the CLICOLOR_FORCE convention says; NO_COLOR wins.
    assert!(logs(&[("CLICOLOR_FORCE", "1")]).contains('\x1b'));
    let both = logs(&[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]);
    assert!(!both.contains('\x1b'), "{both:?}");
}

#[test]
fn an_os_cause_is_printed_once() {
    for args in [
        &["run", "/nonexistent/wf.json"][..],
        &["bus", "pub", "a", "--socket", "/nonexistent/bus.sock"][..],
    ] {
        let out = symphony(args);
        assert!(!out.status.success());
        let stderr = text(&out.stderr);
        assert_eq!(stderr.matches("os error 2").count(), 1, "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }
}

#[test]
fn completions_are_printed_for_each_shell() {
    for (shell, marker) in [
        ("bash", "complete -F _symphony"),
        ("zsh", "#compdef symphony"),
        ("fish", "complete -c symphony"),
    ] {
        let out = symphony(&["completions", shell]);
        assert!(out.status.success(), "{shell}: {}", text(&out.stderr));
        let script = text(&out.stdout);
        assert!(script.contains(marker), "{shell}: {script}");
        assert!(script.contains("serve"), "{shell} completes subcommands");
    }
    let unknown = symphony(&["completions", "tcsh"]);
    assert_eq!(unknown.status.code(), Some(2));
}

/// Three runs at once in one home share its artifact search index without
/// a warning: one writes it, the others queue, and every run's outputs are
/// found afterwards.
#[test]
fn runs_sharing_a_home_share_the_search_index_quietly() {
    let home = tempfile::tempdir().unwrap();
    let runs: Vec<_> = (0..3)
        .map(|_| {
            let mut args = vec!["--home".to_string(), home.path().display().to_string()];
            args.extend(demo_args());
            args.extend(["--embedded".into(), "--json".into()]);
            Command::new(BIN)
                .args(&args)
                .env_remove("SYMPHONY_LOG")
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut ids = Vec::new();
    for child in runs {
        let out = child.wait_with_output().unwrap();
        let stderr = text(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        assert!(!stderr.contains("warn"), "{stderr}");
        assert!(!stderr.contains("LockBusy"), "{stderr}");
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        ids.push(report["run_id"].as_str().unwrap().to_string());
    }
    for id in ids {
        let out = Command::new(BIN)
            .arg("--home")
            .arg(home.path())
            .args(["artifacts", "search", "--tag", &format!("run:{id}")])
            .args(["--embedded", "--json"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        let page: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(page["total"].as_u64().unwrap() >= 2, "run {id}: {page}");
    }
}

#[test]
fn schema_prints_each_format_and_writes_them_all() {
    for (name, title) in [
        ("workflow", "Symphony workflow"),
        ("template", "Symphony workflow template"),
        ("manifest", "Symphony extension manifest (symphony.toml)"),
        ("retention", "Symphony retention policy (retention.toml)"),
        (
            "arbitration",
            "Symphony arbitration settings (arbitration.toml)",
        ),
    ] {
        let out = symphony(&["schema", name]);
        assert!(out.status.success(), "{name}: {}", text(&out.stderr));
        let schema: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(schema["title"], title);
    }
    let list = symphony(&["schema", "--json"]);
    let list: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 5);
    let dir = tempfile::tempdir().unwrap();
    let out = symphony(&["schema", "--out", &dir.path().display().to_string()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mut written: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    written.sort();
    assert_eq!(
        written,
        [
            "arbitration.schema.json",
            "manifest.schema.json",
            "retention.schema.json",
            "template.schema.json",
            "workflow.schema.json"
        ]
    );
    assert_eq!(symphony(&["schema", "wrokflow"]).status.code(), Some(2));
    // A workflow naming its schema validates and runs as any other (the
    // examples all do).
    let demo = std::fs::read_to_string(workflows().join("demo.json")).unwrap();
    assert!(demo.contains("\"$schema\""));
}

/// Every documented exit code a test can provoke, and the JSON error shape.
#[test]
fn exit_codes_tell_failures_apart() {
    let demo = workflows().join("demo.json").display().to_string();
    let components = components().display().to_string();
    let cases: Vec<(Vec<&str>, i32)> = vec![
        (vec!["workflow", "show", &demo], 0),
        (vec!["frobnicate"], 2),
        // The demo's model needs a text: the run fails.
        (
            vec!["run", &demo, "--embedded", "--ext-dir", &components],
            3,
        ),
        (vec!["run", &demo, "--input", "not json"], 65),
        (vec!["validate", &demo], 65),
        (vec!["run", "/nonexistent/wf.json"], 66),
        (vec!["status", "no-such-run"], 66),
        (vec!["pause", "no-such-run"], 69),
        // Writing to a full device: an I/O error.
        (
            vec![
                "workflow",
                "convert",
                &demo,
                "--to",
                "msgpack",
                "--out",
                "/dev/full",
            ],
            74,
        ),
    ];
    for (args, code) in cases {
        let out = symphony(&args);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    let out = symphony(&["status", "no-such-run", "--json"]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["error"]["code"], 66);
    assert_eq!(doc["error"]["kind"], "not_found");
    assert!(
        doc["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no-such-run")
    );
    // A failed run's JSON is its report, one document.
    let out = symphony(&[
        "run",
        &demo,
        "--embedded",
        "--ext-dir",
        &components,
        "--json",
    ]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["state"], "failed");
}

#[test]
fn validate_draws_a_big_graph_as_bounded_layers() {
    let dir = tempfile::tempdir().unwrap();
    // 30 layers of 12 operator nodes each, every node after the first
    // layer fed by one of the layer before.
    let mut nodes = Vec::new();
    let mut edges = Vec::new();
    for layer in 0..30 {
        for i in 0..12 {
            let id = format!("n{layer}-{i}");
            nodes.push(serde_json::json!({"id": id, "kind": "operator",
                                          "extension": "json-transform",
                                          "config": {"spec": {"steps": []}}}));
            if layer > 0 {
                edges.push(serde_json::json!({"from": format!("n{}-{i}", layer - 1), "to": id}));
            }
        }
    }
    let doc = serde_json::json!({"schema_version": 2, "id": "wide", "name": "wide",
                                 "version": "1.0.0", "nodes": nodes, "edges": edges});
    let path = dir.path().join("wide.json");
    std::fs::write(&path, doc.to_string()).unwrap();
    let components = components().display().to_string();
    let out = symphony(&["validate", path.to_str().unwrap(), "--ext-dir", &components]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1 + 20 + 1, "{stdout}");
    assert!(lines[1].ends_with("and 4 more"), "{}", lines[1]);
    assert!(
        lines[21].contains("10 more layers, 120 nodes"),
        "{}",
        lines[21]
    );
    assert!(lines.iter().all(|l| l.len() < 200), "{stdout}");
}

#[test]
fn a_big_run_prints_a_summary_and_every_node_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let nodes: Vec<serde_json::Value> = (0..60)
        .map(|i| {
            serde_json::json!({"id": format!("t{i}"), "kind": "operator",
                                    "extension": "json-transform",
                                    "config": {"spec": {"steps": []}}})
        })
        .collect();
    let edges: Vec<serde_json::Value> = (1..60)
        .map(|i| serde_json::json!({"from": format!("t{}", i - 1), "to": format!("t{i}")}))
        .collect();
    let doc = serde_json::json!({"schema_version": 2, "id": "many", "name": "many",
                                 "version": "1.0.0", "nodes": nodes, "edges": edges});
    let path = dir.path().join("many.json");
    std::fs::write(&path, doc.to_string()).unwrap();
    let components = components().display().to_string();
    let path = path.display().to_string();
    let base = [
        "run",
        path.as_str(),
        "--input",
        "{\"a\": 1}",
        "--ext-dir",
        components.as_str(),
    ];

    let out = symphony(&base);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("60 nodes: 60 completed, 0 failed"),
        "{stdout}"
    );
    assert!(stdout.lines().count() < 25, "{stdout}");

    let mut verbose = vec!["-v"];
    verbose.extend(base);
    let out = symphony(&verbose);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let listed = text(&out.stdout)
        .lines()
        .filter(|l| l.contains("json-transform"))
        .count();
    assert_eq!(listed, 60);
}

/// The subcommands `symphony ARGS --help` lists.
fn subcommands(args: &[&str]) -> Vec<String> {
    let mut args = args.to_vec();
    args.push("--help");
    let help = text(&symphony(&args).stdout);
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_string)
        .collect()
}

/// Every command's `--help`, against the text in `tests/help/`
/// (`SYMPHONY_HELP_BLESS=1` rewrites them), and only the commands that call
/// extensions take the limit flags.
#[test]
fn every_commands_help_matches_its_golden_text() {
    let bless = std::env::var_os("SYMPHONY_HELP_BLESS").is_some();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/help");
    let mut paths: Vec<Vec<String>> = vec![Vec::new()];
    for top in subcommands(&[]) {
        let nested = subcommands(&[top.as_str()]);
        paths.push(vec![top.clone()]);
        for sub in nested {
            paths.push(vec![top.clone(), sub]);
        }
    }
    let with_limits = [
        vec!["run"],
        vec!["serve"],
        vec!["resume"],
        vec!["ext", "stats"],
        vec!["ext", "list"],
    ];
    let mut expected = std::collections::BTreeSet::new();
    for path in &paths {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        let name = if args.is_empty() {
            "symphony".to_string()
        } else {
            format!("symphony-{}", args.join("-"))
        };
        args.push("--help");
        let out = symphony(&args);
        assert!(out.status.success(), "{args:?}");
        let help = text(&out.stdout);
        let limits = with_limits
            .iter()
            .any(|l| *l == path.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(
            help.contains("--fuel"),
            limits,
            "{args:?} and the limit flags"
        );
        let file = dir.join(format!("{name}.txt"));
        expected.insert(file.clone());
        if bless {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&file, &help).unwrap();
        } else {
            let golden = std::fs::read_to_string(&file).unwrap_or_else(|_| {
                panic!(
                    "{} is missing: rerun with SYMPHONY_HELP_BLESS=1",
                    file.display()
                )
            });
            assert_eq!(
                help,
                golden,
                "{}: rerun with SYMPHONY_HELP_BLESS=1 if intended",
                file.display()
            );
        }
    }
    // No golden text for a command that no longer exists.
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        assert!(expected.contains(&path), "{} is stale", path.display());
    }
}

#[test]
fn a_failed_runs_node_count_is_the_same_in_its_report_view_and_the_run_list() {
    let home = tempfile::tempdir().unwrap();
    let demo = workflows().join("demo.json").display().to_string();
    let components = components().display().to_string();
    let run = |args: &[&str]| {
        Command::new(BIN)
            .arg("--home")
            .arg(home.path())
            .args(args)
            .output()
            .unwrap()
    };
    // Without a text, the model fails and the run with it.
    let out = run(&["run", &demo, "--embedded", "--ext-dir", &components]);
    assert_eq!(out.status.code(), Some(3));
    let panel = text(&out.stdout);
    assert!(panel.contains("failed — 1/2 nodes"), "{panel}");
    let listed = text(&run(&["runs"]).stdout);
    let row = listed.lines().find(|l| l.contains("demo")).unwrap();
    assert!(row.split_whitespace().any(|cell| cell == "1/2"), "{row}");
}

#[test]
fn an_unbuilt_scaffold_says_how_to_build_it_and_where_cargo_target_dir_puts_it() {
    let parent = tempfile::tempdir().unwrap();
    let out = ext_new("operator", "unbuilt", parent.path(), &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let target = parent.path().join("elsewhere");
    let out = Command::new(BIN)
        .arg("--home")
        .arg(parent.path().join("home"))
        .args(["ext", "list", "--ext-dir"])
        .arg(parent.path().join("unbuilt"))
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .unwrap();
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(
        said.contains("does not exist; build it (`cargo build --release --target wasm32-wasip2`"),
        "{said}"
    );
    let moved = target.join("wasm32-wasip2/release/unbuilt.wasm");
    assert!(
        said.contains(&format!(
            "CARGO_TARGET_DIR is set, so cargo builds it at {}",
            moved.display()
        )),
        "{said}"
    );
}
