//! JavaScript guests: componentize-js over a staged copy of the project
//! with the SDK beside the entry module (as `symphony.js`, which the
//! author's code imports) and an entry that exports the world's
//! interfaces from the module's default export.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use super::{Job, is_build_input, project_files};

/// The file name the SDK takes beside the entry module.
const SDK_FILE: &str = "symphony.js";

/// Builds the component into `stage` and returns its path.
pub(super) fn build(job: &Job<'_>, stage: &Path) -> anyhow::Result<PathBuf> {
    let dir = &job.manifest.dir;
    let entry = &job.manifest.build.sources[0];
    let relative = entry.strip_prefix(dir).with_context(|| {
        format!(
            "the entry module {} is outside the extension's directory {}",
            entry.display(),
            dir.display()
        )
    })?;
    // StarlingMonkey resolves imports by path from the importing file, so
    // the sources are staged with the SDK where `./symphony.js` finds it.
    let tree = stage.join("src");
    let files = project_files(dir, &job.manifest.component)?;
    for file in files
        .iter()
        .filter(|f| is_build_input(job.manifest.build.language, f))
    {
        let to = tree.join(file.strip_prefix(dir).unwrap_or(file));
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::copy(file, &to).with_context(|| format!("staging {}", file.display()))?;
    }
    let entry_dir = tree.join(relative.parent().unwrap_or(Path::new("")));
    let sdk = entry_dir.join(SDK_FILE);
    if sdk.exists() {
        bail!(
            "{} has a {SDK_FILE} of its own beside the entry module; that name is the SDK's \
             (rename the file)",
            dir.display()
        );
    }
    std::fs::copy(&job.sdks.js, &sdk).context("staging the SDK")?;
    let module = relative
        .file_name()
        .and_then(|n| n.to_str())
        .context("the entry module's name is not UTF-8")?;
    let kind = job.kind();
    let export = match kind {
        "operator" => "operator",
        "instrument" => "instrument",
        _ => "addon",
    };
    let wrapper = entry_dir.join("__symphony_entry.js");
    std::fs::write(
        &wrapper,
        format!(
            "// Written by `symphony ext build`: the component's entry module.\n\
             import extension from \"./{module}\";\n\
             import {{ exportsFor }} from \"./{SDK_FILE}\";\n\
             const exported = exportsFor(\"{kind}\", extension);\n\
             export const lifecycle = exported.lifecycle;\n\
             export const {export} = exported.{export};\n"
        ),
    )
    .context("writing the entry module")?;
    let out = stage.join("component.wasm");
    let mut command = Command::new(&job.tool.program);
    command
        .arg(&wrapper)
        .arg("--wit")
        .arg(&job.sdks.wit)
        .args(["--world-name", job.world, "-o"])
        .arg(&out);
    super::run_step(&mut command, "componentize-js")?;
    Ok(out)
}
