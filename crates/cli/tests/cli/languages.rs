//! `symphony ext new --lang` and `symphony ext build` for Python,
//! JavaScript and C: every scaffold builds as generated and runs; a missing
//! toolchain is named with the command that installs it; `ext dev`
//! rebuilds and reloads a Python extension on save.
//!
//! The toolchains come from `cargo xtask` (`$SYMPHONY_TOOLS`), and built
//! components from its cache (`$SYMPHONY_BUILD_CACHE`), so a repeated run
//! does not rebuild the same sources.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};

use super::service::Lines;
use super::{BIN, text};

/// `symphony --home HOME ARGS...`, checked not to panic.
fn symphony(home: &Path, args: &[&str]) -> Output {
    let output = super::resume::symphony(home, args);
    assert!(
        !text(&output.stderr).contains("panicked"),
        "{}",
        text(&output.stderr)
    );
    output
}

fn ok(output: Output, what: &str) -> String {
    assert!(
        output.status.success(),
        "{what}: {}\n{}",
        text(&output.stderr),
        text(&output.stdout)
    );
    text(&output.stdout)
}

/// `ext new --kind KIND --lang LANG NAME` in `parent`.
fn scaffold(home: &Path, parent: &Path, lang: &str, kind: &str, name: &str) {
    let parent = parent.to_str().unwrap();
    ok(
        symphony(
            home,
            &[
                "ext", "new", "--kind", kind, "--lang", lang, "--dir", parent, name,
            ],
        ),
        "ext new",
    );
}

#[test]
fn a_scaffold_in_each_language_builds_as_generated_and_runs() {
    let work = tempfile::tempdir().unwrap();
    let home = work.path().join("home");
    for lang in ["python", "js", "c"] {
        for kind in ["operator", "instrument", "addon"] {
            // The same name every run: the build cache knows the sources.
            let name = format!("{lang}-{kind}");
            let dir = work.path().join(&name);
            scaffold(&home, work.path(), lang, kind, &name);
            let dir_arg = dir.to_str().unwrap();
            if lang == "python" {
                // Its unit tests pass in plain Python, as its README says.
                let unittest = Command::new("python3")
                    .args(["-m", "unittest", "-q"])
                    .current_dir(&dir)
                    .env(
                        "PYTHONPATH",
                        home.join("sdk")
                            .join(env!("CARGO_PKG_VERSION"))
                            .join("python"),
                    )
                    .output()
                    .expect("python3 runs");
                assert!(
                    unittest.status.success(),
                    "{name}: {}",
                    text(&unittest.stderr)
                );
            }
            let built: Value = serde_json::from_str(&ok(
                symphony(&home, &["ext", "build", dir_arg, "--json"]),
                &format!("ext build {name}"),
            ))
            .unwrap();
            assert_eq!(built["language"], lang, "{built}");
            let component = dir
                .join("build")
                .join(format!("{}.wasm", name.replace('-', "_")));
            assert_eq!(built["component"].as_str(), component.to_str(), "{built}");
            assert!(component.is_file(), "{name}: {built}");

            let run = |input: &str| -> Value {
                let workflow = dir.join("workflow.json");
                let stdout = ok(
                    symphony(
                        &home,
                        &[
                            "run",
                            workflow.to_str().unwrap(),
                            "--ext-dir",
                            dir_arg,
                            "--input",
                            input,
                            "--json",
                        ],
                    ),
                    &format!("run {name}"),
                );
                serde_json::from_str::<Value>(&stdout).unwrap()["output"].clone()
            };
            match kind {
                "operator" => assert_eq!(
                    run(r#"{"text": "hello\nthere"}"#),
                    json!({"text": "HELLO\nTHERE"}),
                    "{name}"
                ),
                "instrument" => {
                    let output = run(r#""hello from a component""#);
                    assert!(output.is_object(), "{name}: {output}");
                }
                _ => {
                    let inspected: Value = serde_json::from_str(&ok(
                        symphony(&home, &["ext", "inspect", dir_arg, "--json"]),
                        "ext inspect",
                    ))
                    .unwrap();
                    let world = inspected["world"].as_str().unwrap_or_default();
                    assert!(world.contains("addon-extension"), "{name}: {inspected}");
                }
            }
        }
    }
}

#[test]
fn ext_build_names_a_missing_toolchain_and_the_command_that_installs_it() {
    let work = tempfile::tempdir().unwrap();
    let home = work.path().join("home");
    for (lang, install) in [
        ("python", "python3 -m pip install componentize-py==0.25.1"),
        (
            "js",
            "npm install -g @bytecodealliance/componentize-js@0.23.0",
        ),
    ] {
        let name = format!("lonely-{lang}");
        scaffold(&home, work.path(), lang, "operator", &name);
        let out = Command::new(BIN)
            .arg("--home")
            .arg(&home)
            .args(["ext", "build"])
            .arg(work.path().join(&name))
            .env("SYMPHONY_TOOLS", work.path().join("no-tools"))
            .env("PATH", "/nonexistent")
            .env("SYMPHONY_BUILD_CACHE", work.path().join("no-cache"))
            .output()
            .unwrap();
        assert!(!out.status.success(), "{lang}");
        let stderr = text(&out.stderr);
        assert!(stderr.contains("was not found"), "{lang}: {stderr}");
        assert!(stderr.contains(install), "{lang}: {stderr}");
        assert!(!dir_has_component(&work.path().join(&name)), "{lang}");
    }
}

fn dir_has_component(dir: &Path) -> bool {
    dir.join("build").is_dir()
}

#[test]
fn ext_build_refuses_what_it_cannot_build_and_says_why() {
    let work = tempfile::tempdir().unwrap();
    let home = work.path().join("home");
    let manifest = |dir: &str, body: &str| {
        let dir = work.path().join(dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("symphony.toml"),
            format!(
                "[extension]\nname = \"x\"\nversion = \"0.1.0\"\ncomponent = \"x.wasm\"\n{body}"
            ),
        )
        .unwrap();
        dir
    };
    let cases = [
        (
            manifest("native", "kind = \"native\"\n[build]\nlanguage = \"c\"\n"),
            "a native extension is an executable",
        ),
        (
            manifest(
                "no-source",
                "kind = \"operator\"\n[build]\nlanguage = \"python\"\n",
            ),
            "app.py named by [build] in symphony.toml does not exist",
        ),
        (
            manifest("no-cargo", "kind = \"operator\"\n"),
            "has no Cargo.toml",
        ),
        (
            manifest(
                "bad-language",
                "kind = \"operator\"\n[build]\nlanguage = \"go\"\n",
            ),
            "unknown language \"go\" for build.language",
        ),
    ];
    for (dir, why) in cases {
        let out = symphony(&home, &["ext", "build", dir.to_str().unwrap()]);
        assert!(!out.status.success(), "{}", dir.display());
        let stderr = text(&out.stderr);
        assert!(stderr.contains(why), "{}: {stderr}", dir.display());
    }
    let out = symphony(&home, &["ext", "build", work.path().to_str().unwrap()]);
    assert!(text(&out.stderr).contains("has no symphony.toml"));
}

#[test]
fn ext_dev_rebuilds_and_reloads_a_python_extension_on_save() {
    let work = tempfile::tempdir().unwrap();
    let home = work.path().join("home");
    scaffold(&home, work.path(), "python", "operator", "py-dev");
    let dir = work.path().join("py-dev");
    let dev = Lines::spawn(
        Command::new(BIN)
            .arg("--home")
            .arg(&home)
            .args(["ext", "dev", "--json", "--embedded", "--workflow"])
            .arg(dir.join("workflow.json"))
            .args(["--input", r#"{"text": "hello"}"#])
            .arg(&dir)
            .stderr(Stdio::null()),
    );
    dev.next("built");
    assert_eq!(dev.next("loaded")["into"], "this process");
    assert_eq!(dev.next("ran")["output"], json!({"text": "HELLO"}));

    let app = dir.join("app.py");
    let source = std::fs::read_to_string(&app).unwrap();
    let edited = source.replace("text.upper()", "text.upper() + \"!\"");
    assert_ne!(source, edited, "the template upper-cases with text.upper()");
    std::fs::write(&app, edited).unwrap();
    assert_eq!(dev.next("changed")["files"], json!(["app.py"]));
    dev.next("built");
    let reloaded = dev.next("reloaded");
    assert_eq!(reloaded["changed"], true, "{reloaded}");
    assert_eq!(dev.next("ran")["output"], json!({"text": "HELLO!"}));
}
