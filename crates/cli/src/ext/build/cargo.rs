//! Rust guests: `cargo build --release --target wasm32-wasip2`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, bail};
use serde_json::Value;

/// The build a Cargo crate gets.
pub(crate) const CARGO_BUILD: [&str; 4] = ["build", "--release", "--target", "wasm32-wasip2"];

/// Runs cargo with machine-readable messages to learn where the component
/// was written, and copies it to the manifest's `component` when that is
/// elsewhere (CARGO_TARGET_DIR, a workspace's target directory).
pub(crate) fn build(dir: &Path, component: &Path) -> anyhow::Result<Option<String>> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut child = Command::new(cargo)
        .args(CARGO_BUILD)
        .arg("--message-format=json-render-diagnostics")
        .current_dir(dir)
        .stdout(Stdio::piped())
        .spawn()
        .context("running cargo (is it installed and on PATH?)")?;
    let mut wasm: Option<PathBuf> = None;
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let Ok(message) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            if message["reason"] != "compiler-artifact" {
                continue;
            }
            let cdylib = message["target"]["kind"]
                .as_array()
                .is_some_and(|k| k.iter().any(|k| k == "cdylib"));
            let file = message["filenames"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .find(|f| f.ends_with(".wasm"));
            if let (true, Some(file)) = (cdylib, file) {
                wasm = Some(PathBuf::from(file));
            }
        }
    }
    let status = child.wait().context("waiting for cargo")?;
    if !status.success() {
        bail!("cargo {} exited with {status}", CARGO_BUILD.join(" "));
    }
    let Some(wasm) = wasm else {
        bail!(
            "cargo built no .wasm component: the crate needs crate-type = [\"cdylib\"] in \
             Cargo.toml's [lib]"
        );
    };
    if same_file(&wasm, component) {
        return Ok(None);
    }
    super::place(&wasm, component)?;
    Ok(Some(format!("cargo wrote {}", wasm.display())))
}

/// Whether `a` and `b` name the same existing file.
pub(crate) fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}
