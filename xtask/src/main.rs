//! `cargo xtask`: build, demo, test and bench Symphony with one command each.
//!
//! - `cargo xtask build-examples`: builds every example extension and test
//!   fixture for `wasm32-wasip2` (adding the target if missing) and collects
//!   the components in `<target>/components` and `<target>/fixtures`; the
//!   examples in Python, JavaScript and C (those without a Cargo.toml) are
//!   built with `symphony ext build`, after installing their toolchains
//!   (`toolchains.rs`) into the tools directory, and their components are
//!   cached by a hash of their sources and toolchain in
//!   `~/.cache/symphony/guest-builds`.
//! - `cargo xtask toolchains`: only installs those toolchains.
//! - `cargo xtask demo`: builds the examples and runs the demo workflow,
//!   then the polyglot one (Rust, Python, JavaScript and C in one run).
//! - `cargo xtask test`: checks the layer crates' dependency trees, builds
//!   what the tests need (including one example
//!   built with `cargo component`), checks formatting and lints, runs every
//!   test, and runs each fuzz target's stable smoke mode for 3 seconds.
//! - `cargo xtask test-s3`: only the S3 cold-tier step of `test`: installs
//!   moto's S3 server into `<target>/s3-venv` (once), lints symphony-artifacts
//!   and symphony-host with the `s3` feature and runs `crates/artifacts/tests/s3_tier.rs` against it.
//! - `cargo xtask bench [NAME]`: runs the criterion benches briefly and
//!   prints their `compare` lines; `bench dask` runs the DAG Tracker against
//!   dask on the same graphs (`benches/dask/compare.py`).

use std::env;
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use serde_json::Value;

mod summary;
mod toolchains;

const WASM_TARGET: &str = "wasm32-wasip2";

/// The guest workspaces and where their components go.
const GUESTS: [(&str, &str); 2] = [("examples", "components"), ("tests/fixtures", "fixtures")];

/// The cargo-component release the SDK is checked against.
const CARGO_COMPONENT: &str = "0.21.1";

/// The moto release (PyPI) whose `moto_server` the S3 cold-tier tests run:
/// `moto[s3]` plus flask and flask-cors, which its server needs (`moto[server]`
/// would also bring every other AWS service's dependencies).
const MOTO: &str = "5.2.5";

fn main() -> Result<()> {
    let args: Vec<String> = env::args().skip(1).collect();
    let task = Task::new()?;
    match args.first().map(String::as_str) {
        Some("build-examples") => task.build_examples(),
        Some("toolchains") => toolchains::install(&task.tools()),
        Some("demo") => task.demo(),
        Some("test") => task.test(),
        Some("test-s3") => {
            let mut tally = Tally::default();
            task.test_s3(&mut tally)?;
            println!("tests: {} passed, {} failed", tally.passed, tally.failed);
            Ok(())
        }
        Some("bench") => {
            let summary = args.iter().any(|a| a == "--summary");
            let name = args[1..].iter().find(|a| !a.starts_with("--"));
            task.bench(name.map(String::as_str), summary)
        }
        _ => {
            eprintln!(
                "usage: cargo xtask <build-examples | toolchains | demo | test | test-s3 | bench [NAME] [--summary]>"
            );
            bail!("unknown or missing task")
        }
    }
}

struct Task {
    root: PathBuf,
    target: PathBuf,
}

impl Task {
    fn new() -> Result<Task> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .context("xtask lives inside the workspace")?
            .to_path_buf();
        let target = env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .map(|t| if t.is_absolute() { t } else { root.join(t) })
            .unwrap_or_else(|| root.join("target"));
        Ok(Task { root, target })
    }

    fn cargo(&self) -> Command {
        let mut cmd = Command::new(env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        cmd.current_dir(&self.root);
        cmd
    }

    /// `cargo ARGS --manifest-path MANIFEST [--target-dir DIR]`: a command
    /// on another workspace (the guests).
    fn cargo_in(&self, args: &[&str], manifest: &Path, target_dir: Option<&Path>) -> Command {
        let mut cmd = self.cargo();
        cmd.args(args).arg("--manifest-path").arg(manifest);
        if let Some(dir) = target_dir {
            cmd.arg("--target-dir").arg(dir);
        }
        cmd
    }

    fn components(&self) -> PathBuf {
        self.target.join("components")
    }

    fn fixtures(&self) -> PathBuf {
        self.target.join("fixtures")
    }

    fn guest_target(&self) -> PathBuf {
        self.target.join("guests")
    }

    fn ensure_target(&self, target: &str) -> Result<()> {
        let installed = Command::new("rustup")
            .args(["target", "list", "--installed"])
            .output()
            .with_context(|| format!("running rustup (needed to add the {target} target)"))?;
        if String::from_utf8_lossy(&installed.stdout)
            .lines()
            .any(|l| l.trim() == target)
        {
            return Ok(());
        }
        eprintln!("xtask: adding the {target} target");
        run(Command::new("rustup").args(["target", "add", target]))
    }

    fn build_examples(&self) -> Result<()> {
        self.ensure_target(WASM_TARGET)?;
        for (workspace, out) in GUESTS {
            let manifest = self.root.join(workspace).join("Cargo.toml");
            eprintln!("xtask: building {workspace} for {WASM_TARGET}");
            run(self
                .cargo()
                .args([
                    "build",
                    "--release",
                    "--target",
                    WASM_TARGET,
                    "--manifest-path",
                ])
                .arg(&manifest)
                .arg("--target-dir")
                .arg(self.guest_target()))?;
            let built = self.guest_target().join(WASM_TARGET).join("release");
            let out = self.target.join(out);
            // Start clean, so a renamed or removed extension does not linger.
            if out.exists() {
                fs::remove_dir_all(&out).with_context(|| format!("clearing {}", out.display()))?;
            }
            fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
            for guest in guest_components(self, &manifest)? {
                let from = built.join(&guest.file);
                // An extension with a manifest gets a directory of its own,
                // laid out as the host discovers it; others lie flat.
                let ext_manifest = guest.dir.join("symphony.toml");
                let dir = if ext_manifest.is_file() {
                    let dir = out.join(&guest.package);
                    fs::create_dir_all(&dir)
                        .with_context(|| format!("creating {}", dir.display()))?;
                    fs::copy(&ext_manifest, dir.join("symphony.toml"))
                        .with_context(|| format!("copying {}", ext_manifest.display()))?;
                    dir
                } else {
                    out.clone()
                };
                let to = dir.join(guest.file.replace('-', "_"));
                fs::copy(&from, &to)
                    .with_context(|| format!("copying {} to {}", from.display(), to.display()))?;
            }
        }
        self.build_other_languages()?;
        eprintln!("xtask: components in {}", self.components().display());
        Ok(())
    }

    /// Where `symphony ext build` caches the components it builds, shared
    /// by every checkout and test run on the machine.
    fn build_cache(&self) -> PathBuf {
        self.tools()
            .parent()
            .map(|p| p.join("guest-builds"))
            .unwrap_or_else(|| self.target.join("guest-builds"))
    }

    /// The examples without a Cargo.toml (Python, JavaScript, C): built
    /// with the workspace's own `symphony ext build` into
    /// `<target>/components/<name>/`, beside a copy of their manifest.
    fn build_other_languages(&self) -> Result<()> {
        toolchains::install(&self.tools())?;
        eprintln!("xtask: building the symphony CLI for `symphony ext build`");
        run(self.cargo().args([
            "build",
            "--quiet",
            "-p",
            "symphony-cli",
            "--bin",
            "symphony",
        ]))?;
        let symphony = self.target.join("debug/symphony");
        let examples = self.root.join("examples");
        let groups = ["instruments", "operators", "addons"].map(|g| examples.join(g));
        // Examples go beside their manifest, as the host discovers them;
        // fixtures lie flat (the tests write their own manifests).
        let sets = [
            (&groups[..], self.components(), false),
            (
                &[self.root.join("tests/fixtures")][..],
                self.fixtures(),
                true,
            ),
        ];
        for (parents, out, flat) in sets {
            for dir in other_language_dirs(parents)? {
                let name = dir
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .to_string();
                let file = format!("{}.wasm", name.replace('-', "_"));
                let target = if flat {
                    out.join(&file)
                } else {
                    let home = out.join(&name);
                    fs::create_dir_all(&home)?;
                    fs::copy(dir.join("symphony.toml"), home.join("symphony.toml"))?;
                    home.join(&file)
                };
                eprintln!("xtask: symphony ext build {}", dir.display());
                run(Command::new(&symphony)
                    .args(["ext", "build"])
                    .arg(&dir)
                    .arg("--out")
                    .arg(&target)
                    .env("SYMPHONY_HOME", self.target.join("xtask-home"))
                    .env("SYMPHONY_TOOLS", self.tools())
                    .env("SYMPHONY_BUILD_CACHE", self.build_cache()))?;
            }
        }
        Ok(())
    }

    /// Where tools the tests need are installed once and reused:
    /// `$SYMPHONY_TOOLS`, else `~/.cache/symphony/tools`.
    fn tools(&self) -> PathBuf {
        env::var_os("SYMPHONY_TOOLS")
            .map(PathBuf::from)
            .or_else(|| env::var_os("HOME").map(|h| Path::new(&h).join(".cache/symphony/tools")))
            .unwrap_or_else(|| self.target.join("tools"))
    }

    /// Builds `json-transform` with `cargo component build` (wasm32-wasip1 plus
    /// the preview-1 adapter) into `<target>/fixtures`, so the tests check that
    /// the SDK works with cargo-component too. Installs cargo-component into
    /// the tools directory the first time (about ten minutes on two cores).
    fn build_with_cargo_component(&self) -> Result<()> {
        // cargo-component builds for wasm32-wasip1 and adapts to preview 2.
        self.ensure_target("wasm32-wasip1")?;
        let tools = self.tools();
        let bin = tools.join("bin");
        let installed = Command::new(bin.join("cargo-component"))
            .args(["component", "--version"])
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains(CARGO_COMPONENT));
        if !installed {
            eprintln!(
                "xtask: installing cargo-component {CARGO_COMPONENT} into {}",
                tools.display()
            );
            run(self
                .cargo()
                .args([
                    "install",
                    "cargo-component",
                    "--locked",
                    "--version",
                    CARGO_COMPONENT,
                    "--root",
                ])
                .arg(&tools)
                .arg("--target-dir")
                .arg(tools.join("build")))?;
        }
        let path = env::join_paths(
            std::iter::once(bin).chain(env::split_paths(&env::var_os("PATH").unwrap_or_default())),
        )?;
        let target_dir = self.target.join("guests-cargo-component");
        eprintln!("xtask: cargo component build of json-transform");
        run(self
            .cargo()
            .args([
                "component",
                "build",
                "--release",
                "-p",
                "json-transform",
                "--manifest-path",
            ])
            .arg(self.root.join("examples/Cargo.toml"))
            .arg("--target-dir")
            .arg(&target_dir)
            .env("PATH", path))?;
        let from = target_dir.join("wasm32-wasip1/release/json_transform.wasm");
        let to = self.fixtures().join("json_transform_cargo_component.wasm");
        fs::copy(&from, &to)
            .with_context(|| format!("copying {} to {}", from.display(), to.display()))?;
        Ok(())
    }

    fn demo(&self) -> Result<()> {
        self.build_examples()?;
        let workflows = self.root.join("examples/workflows");
        for workflow in ["demo.json", "polyglot.json"] {
            self.run_demo(&workflows.join(workflow), "demo-input.json", &[])?;
        }
        // The demo host has one parallel slot (its arbitration.toml), so
        // the briefing's four parallel model calls (on a text long enough
        // that each takes milliseconds) queue for it and each wait is
        // explained.
        let home = self.target.join("demo-home");
        std::fs::create_dir_all(&home)?;
        std::fs::copy(
            workflows.join("demo-arbitration.toml"),
            home.join("arbitration.toml"),
        )?;
        let briefing = self.run_demo(
            &workflows.join("briefing.json"),
            "briefing-input.json",
            &["--concurrency", "4", "--tenant", "demo", "--priority", "1"],
        );
        std::fs::remove_file(home.join("arbitration.toml"))?;
        briefing?;
        run(self
            .symphony()
            .args(["arbitration", "stats", "--home"])
            .arg(&home))
    }

    /// `cargo run` of the `symphony` binary, arguments to follow.
    fn symphony(&self) -> Command {
        let mut cmd = self.cargo();
        cmd.args([
            "run",
            "--quiet",
            "-p",
            "symphony-cli",
            "--bin",
            "symphony",
            "--",
        ]);
        cmd
    }

    /// Runs one example workflow on `input` (in `examples/workflows`),
    /// with `extra` options.
    fn run_demo(&self, workflow: &Path, input: &str, extra: &[&str]) -> Result<()> {
        let workflows = self.root.join("examples/workflows");
        eprintln!("xtask: symphony run {}", workflow.display());
        run(self
            .symphony()
            .arg("run")
            .arg(workflow)
            .arg("--input")
            .arg(format!("@{}", workflows.join(input).display()))
            .arg("--ext-dir")
            .arg(self.components())
            .arg("--home")
            .arg(self.target.join("demo-home"))
            .args(extra))
    }

    fn test(&self) -> Result<()> {
        self.check_layers()?;
        self.build_examples()?;
        self.build_with_cargo_component()?;
        let guests: Vec<PathBuf> = GUESTS
            .iter()
            .map(|(workspace, _)| self.root.join(workspace).join("Cargo.toml"))
            .collect();
        // The workspace includes the fuzz crate (`fuzz/`), so its targets
        // are formatted, linted and unit-tested with everything else.
        eprintln!("xtask: cargo fmt --check");
        run(self.cargo().args(["fmt", "--all", "--check"]))?;
        for manifest in &guests {
            run(&mut self.cargo_in(&["fmt", "--all", "--check"], manifest, None))?;
        }
        eprintln!("xtask: cargo clippy");
        let deny_warnings = ["--", "-D", "warnings"];
        run(self
            .cargo()
            .args(["clippy", "--workspace", "--all-targets"])
            .args(deny_warnings))?;
        for manifest in &guests {
            run(self
                .cargo_in(
                    &["clippy", "--all-targets", "--target", WASM_TARGET],
                    manifest,
                    Some(&self.guest_target()),
                )
                .args(deny_warnings))?;
        }
        let mut tally = Tally::default();
        eprintln!("xtask: unit tests of the example extensions");
        tally.run(&mut self.cargo_in(
            &["test"],
            &self.root.join("examples/Cargo.toml"),
            Some(&self.guest_target()),
        ))?;
        eprintln!("xtask: cargo test --workspace");
        tally.run(
            self.cargo()
                .args(["test", "--workspace"])
                .env("SYMPHONY_TOOLS", self.tools())
                .env("SYMPHONY_BUILD_CACHE", self.build_cache())
                // Every CLI a test starts compiles into the same cache,
                // whatever home it has: a Python component compiles once.
                .env(
                    "SYMPHONY_COMPILE_CACHE",
                    self.target.join("test-compile-cache"),
                )
                .env("SYMPHONY_COMPONENTS", self.components())
                .env("SYMPHONY_FIXTURES", self.fixtures()),
        )?;
        self.test_s3(&mut tally)?;
        eprintln!("xtask: fuzz smoke: every fuzz target for 3 seconds on stable");
        run(self.cargo().args([
            "run",
            "--quiet",
            "-p",
            "symphony-fuzz",
            "--bin",
            "smoke",
            "--",
            "3",
        ]))?;
        // One closing line for every test binary above.
        println!("tests: {} passed, {} failed", tally.passed, tally.failed);
        Ok(())
    }

    /// Checks the layer crates' dependency trees: Cargo forbids a cycle
    /// between crates, and this keeps each layer free of what sits above
    /// it or is heavy for it (README, "Layout").
    fn check_layers(&self) -> Result<()> {
        eprintln!("xtask: layer check (cargo tree)");
        let engine = [
            "wasmtime",
            "symphony-runtime",
            "symphony-dag",
            "symphony-host",
        ];
        let storage = ["tantivy", "rusqlite", "object_store"];
        let cli = ["clap", "indicatif", "tracing-subscriber"];
        let rules: [(&str, Vec<&str>); 9] = [
            (
                "symphony-protocol",
                [&engine[..], &storage, &cli, &["symphony-bus"]].concat(),
            ),
            ("symphony-bus", [&engine[..], &storage, &cli].concat()),
            (
                "symphony-manifest",
                [&engine[..], &storage, &cli, &["symphony-bus"]].concat(),
            ),
            (
                "symphony-workflow",
                [&engine[..], &storage, &cli, &["symphony-bus"]].concat(),
            ),
            // The Arbitration Engine sits below the runtime and the DAG
            // Tracker, which wait in its lines; its SQLite log is a feature
            // only the host turns on.
            (
                "symphony-arbitration",
                [&engine[..], &storage, &cli, &["symphony-workflow"]].concat(),
            ),
            (
                "symphony-runtime",
                [
                    &storage[..],
                    &cli,
                    &["symphony-workflow", "symphony-dag", "symphony-host"],
                ]
                .concat(),
            ),
            (
                "symphony-dag",
                [&cli[..], &["wasmtime", "symphony-runtime", "symphony-host"]].concat(),
            ),
            ("symphony-host", [&cli[..], &["symphony-service"]].concat()),
            ("symphony-service", cli.to_vec()),
        ];
        let mut problems = Vec::new();
        for (krate, forbidden) in &rules {
            let output = self
                .cargo()
                .args([
                    "tree", "--quiet", "-e", "normal", "--prefix", "none", "--format", "{p}", "-p",
                ])
                .arg(krate)
                .output()
                .with_context(|| format!("running cargo tree -p {krate}"))?;
            if !output.status.success() {
                bail!(
                    "cargo tree -p {krate} failed: {}",
                    String::from_utf8_lossy(&output.stderr)
                );
            }
            let tree = String::from_utf8_lossy(&output.stdout);
            let mut found: Vec<&str> = tree
                .lines()
                .filter_map(|line| line.split_whitespace().next())
                .filter(|name| forbidden.contains(name))
                .collect();
            found.sort_unstable();
            found.dedup();
            if !found.is_empty() {
                problems.push(format!("{krate} depends on {}", found.join(", ")));
            }
        }
        if !problems.is_empty() {
            bail!(
                "a layer reaches up or carries what it must not:\n  {}",
                problems.join("\n  ")
            );
        }
        Ok(())
    }

    /// The S3 cold tier against a real S3-protocol server: installs moto
    /// into a virtualenv under the target directory (skipped when it is
    /// already there at [`MOTO`]), runs clippy on symphony-artifacts and
    /// symphony-host with the `s3` feature, and runs `crates/artifacts/tests/s3_tier.rs`, which starts
    /// `moto_server` on 127.0.0.1 itself.
    fn test_s3(&self, tally: &mut Tally) -> Result<()> {
        eprintln!("xtask: S3 cold tier (moto {MOTO}): clippy and tests with the s3 feature");
        let venv = self.target.join("s3-venv");
        let python = venv.join("bin/python");
        let installed = Command::new(&python)
            .args([
                "-c",
                "import flask, flask_cors, moto; print(moto.__version__)",
            ])
            .output()
            .is_ok_and(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).trim() == MOTO)
            // A virtualenv's scripts name its python by absolute path, so
            // one whose directory moved imports fine but cannot start.
            && Command::new(venv.join("bin/moto_server"))
                .arg("-h")
                .output()
                .is_ok_and(|o| o.status.success());
        if !installed {
            eprintln!("xtask: installing moto {MOTO} into {}", venv.display());
            if venv.exists() {
                std::fs::remove_dir_all(&venv)
                    .with_context(|| format!("removing the stale {}", venv.display()))?;
            }
            run(Command::new("python3").arg("-m").arg("venv").arg(&venv))
                .context("creating the virtualenv for moto (needs python3 with venv)")?;
            run(Command::new(&python).args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                &format!("moto[s3]=={MOTO}"),
                "flask",
                "flask-cors",
            ]))?;
        }
        run(self.cargo().args([
            "clippy",
            "-p",
            "symphony-artifacts",
            "-p",
            "symphony-host",
            "--features",
            "symphony-host/s3",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]))?;
        tally.run(
            self.cargo()
                .args([
                    "test",
                    "-p",
                    "symphony-artifacts",
                    "--features",
                    "s3",
                    "--test",
                    "s3_tier",
                ])
                .env("SYMPHONY_S3_SERVER", venv.join("bin/moto_server")),
        )
    }

    /// Runs the benches (all, or `name`); with `summary`, then prints every
    /// measurement against its target as one table.
    fn bench(&self, name: Option<&str>, summary: bool) -> Result<()> {
        if name == Some("dask") {
            // The DAG Tracker against dask on the same graphs; the script
            // installs dask itself.
            return run(Command::new("python3")
                .arg(self.root.join("benches/dask/compare.py"))
                .current_dir(&self.root)
                .env("CARGO_TARGET_DIR", &self.target));
        }
        self.build_examples()?;
        let mut cmd = self.cargo();
        cmd.args(["bench", "-p", "symphony-benches"]);
        if let Some(name) = name {
            cmd.args(["--bench", name]);
        }
        if name.is_none_or(|n| n == "bus_pubsub") {
            // The bus's throughput is measured against NATS's.
            cmd.env("SYMPHONY_NATS_SERVER", toolchains::nats_server()?);
        }
        if name.is_none_or(|n| n == "artifacts") {
            // The encrypted ingest is measured against restic's backup.
            cmd.env("SYMPHONY_RESTIC", toolchains::restic()?);
        }
        cmd.args(["--", "--warm-up-time", "1", "--measurement-time", "3"])
            .env("SYMPHONY_COMPONENTS", self.components())
            .env("SYMPHONY_FIXTURES", self.fixtures());
        if !summary {
            return run(&mut cmd);
        }
        // Shown as it comes, and kept for the table.
        let mut child = cmd
            .stdout(std::process::Stdio::piped())
            .spawn()
            .context("starting cargo bench")?;
        let mut output = String::new();
        if let Some(stdout) = child.stdout.take() {
            for line in std::io::BufRead::lines(std::io::BufReader::new(stdout)) {
                let line = line.context("reading the benches' output")?;
                println!("{line}");
                output.push_str(&line);
                output.push('\n');
            }
        }
        let status = child.wait().context("waiting for cargo bench")?;
        let (table, missed) = summary::table(&summary::parse(&output));
        println!("\n{table}");
        println!("{missed} target(s) missed");
        if !status.success() {
            bail!("cargo bench failed: {status}");
        }
        Ok(())
    }
}

/// The directories under `parents` holding an extension in another language
/// than Rust: a manifest and no Cargo.toml. Each names its component
/// `<name with '_' for '-'>.wasm` in its manifest.
fn other_language_dirs(parents: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut dirs = Vec::new();
    for parent in parents {
        for entry in
            fs::read_dir(parent).with_context(|| format!("reading {}", parent.display()))?
        {
            let dir = entry?.path();
            if dir.join("symphony.toml").is_file() && !dir.join("Cargo.toml").is_file() {
                dirs.push(dir);
            }
        }
    }
    dirs.sort();
    Ok(dirs)
}

/// The component file names a guest workspace produces: one per `cdylib`
/// or `bin` target, as `cargo metadata` lists them.
/// A component a guest workspace builds.
struct GuestComponent {
    /// The package that builds it.
    package: String,
    /// The package's directory (where its `symphony.toml` lives).
    dir: PathBuf,
    /// The file cargo writes, e.g. `mock_llm.wasm`.
    file: String,
}

fn guest_components(task: &Task, manifest: &Path) -> Result<Vec<GuestComponent>> {
    let output = task
        .cargo()
        .args([
            "metadata",
            "--no-deps",
            "--format-version",
            "1",
            "--manifest-path",
        ])
        .arg(manifest)
        .output()
        .context("running cargo metadata")?;
    if !output.status.success() {
        bail!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let metadata: Value =
        serde_json::from_slice(&output.stdout).context("reading cargo metadata")?;
    let mut found = Vec::new();
    for package in metadata["packages"].as_array().into_iter().flatten() {
        let dir = Path::new(package["manifest_path"].as_str().unwrap_or_default())
            .parent()
            .unwrap_or(Path::new("."))
            .to_path_buf();
        for target in package["targets"].as_array().into_iter().flatten() {
            let kinds: Vec<&str> = target["kind"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            let name = target["name"].as_str().unwrap_or_default();
            let file = if kinds.contains(&"cdylib") {
                format!("{}.wasm", name.replace('-', "_"))
            } else if kinds.contains(&"bin") {
                format!("{name}.wasm")
            } else {
                continue;
            };
            found.push(GuestComponent {
                package: package["name"].as_str().unwrap_or(name).to_string(),
                dir: dir.clone(),
                file,
            });
        }
    }
    found.sort_by(|a, b| a.file.cmp(&b.file));
    Ok(found)
}

/// Test counts summed over `cargo test` runs.
#[derive(Default)]
struct Tally {
    passed: u64,
    failed: u64,
}

impl Tally {
    /// Runs `cmd`, echoing its output and adding up its `test result:` lines.
    fn run(&mut self, cmd: &mut Command) -> Result<()> {
        let mut child = cmd
            .stdout(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {:?}", cmd.get_program()))?;
        let stdout = child.stdout.take().context("piped stdout")?;
        for line in BufReader::new(stdout).lines() {
            let line = line?;
            println!("{line}");
            if let Some(counts) = line.strip_prefix("test result: ") {
                self.passed += count(counts, " passed");
                self.failed += count(counts, " failed");
            }
        }
        let status = child.wait()?;
        if !status.success() {
            bail!("{cmd:?} failed with {status}");
        }
        Ok(())
    }
}

/// The number before `label` in `ok. 3 passed; 0 failed; ...`.
fn count(counts: &str, label: &str) -> u64 {
    counts
        .split(';')
        .find_map(|part| {
            part.trim()
                .strip_suffix(label)?
                .rsplit(' ')
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

fn run(cmd: &mut Command) -> Result<()> {
    let status = cmd
        .status()
        .with_context(|| format!("starting {:?}", cmd.get_program()))?;
    if !status.success() {
        bail!("{cmd:?} failed with {status}");
    }
    Ok(())
}
