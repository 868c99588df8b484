//! Python guests: componentize-py over the author's module and the
//! `symphony_ext` package, through an entry module that exports the
//! world's classes.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use super::Job;

/// Builds the component into `stage` and returns its path.
pub(super) fn build(job: &Job<'_>, stage: &Path) -> anyhow::Result<PathBuf> {
    let sources = &job.manifest.build.sources;
    let module = &sources[0];
    let name = module
        .file_stem()
        .and_then(|s| s.to_str())
        .filter(|_| module.extension().is_some_and(|e| e == "py"))
        .with_context(|| format!("{} is not a Python module (NAME.py)", module.display()))?;
    if !is_identifier(name) || name.starts_with("symphony_ext") || name == "wit_world" {
        bail!(
            "{} cannot be imported as a module: name it like `app.py` (letters, digits and \
             '_', not starting with a digit, not symphony_ext or wit_world)",
            module.display()
        );
    }
    let class = match job.kind() {
        "operator" => "Operator",
        "instrument" => "Instrument",
        _ => "Addon",
    };
    std::fs::write(
        stage.join("_symphony_entry.py"),
        format!(
            "# Written by `symphony ext build`: the component's entry module.\n\
             import {name}  # noqa: F401 - the extension registers itself\n\
             from symphony_ext._exports import Lifecycle, {class}  # noqa: F401\n"
        ),
    )
    .context("writing the entry module")?;
    let out = stage.join("component.wasm");
    let mut command = Command::new(&job.tool.program);
    command
        .arg("-d")
        .arg(&job.sdks.wit)
        .args(["-w", job.world, "componentize", "_symphony_entry"]);
    // Each source's directory is on the module path, the first first.
    let mut paths: Vec<&Path> = Vec::new();
    for source in sources {
        let dir = source.parent().unwrap_or(Path::new("."));
        if !paths.contains(&dir) {
            paths.push(dir);
        }
    }
    for path in paths {
        command.arg("-p").arg(path);
    }
    command
        .arg("-p")
        .arg(&job.sdks.python)
        .arg("-p")
        .arg(stage)
        .arg("-o")
        .arg(&out);
    super::run_step(&mut command, "componentize-py")?;
    Ok(out)
}

fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}
