//! `symphony ext build [DIR]`: builds an extension's component in whatever
//! language its manifest's `[build]` names — Rust with Cargo, Python with
//! componentize-py, JavaScript with componentize-js, C with clang and
//! wit-bindgen — handing each toolchain the SDK and WIT this binary
//! carries, so a project holds only its own sources.
//!
//! Builds other than Cargo's (which has its own) are cached by a hash of
//! everything that goes in: the project's files, the SDK, the WIT, the
//! world and the toolchain's version. A repeated build of the same sources
//! copies the cached component instead of taking the 10–60 s a componentize
//! step costs.

mod c;
pub(crate) mod cargo;
mod js;
mod python;
pub(crate) mod toolchain;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use anyhow::{Context, bail};
use serde_json::json;
use sha2::{Digest, Sha256};
use symphony_host::extension::{Language, MANIFEST_FILE, Manifest, ManifestKind};

use crate::sdk::{self, Sdks};
use toolchain::Tool;

/// `symphony ext build`'s arguments.
#[derive(Debug, clap::Args)]
pub struct BuildArgs {
    /// The extension's directory, holding its symphony.toml; default: the
    /// current directory.
    #[arg(default_value = ".")]
    dir: PathBuf,
    /// Write the component here instead of where the manifest's
    /// `component` says.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Build even when the cache holds a component of the same sources.
    #[arg(long)]
    no_cache: bool,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

/// A component built.
#[derive(Debug)]
pub(crate) struct Built {
    /// Where it was written.
    pub component: PathBuf,
    /// The language it was built from.
    pub language: Language,
    /// The toolchain's version (empty for Cargo).
    pub toolchain: String,
    /// Whether it came from the build cache.
    pub cached: bool,
    /// Something worth saying about the build, e.g. where Cargo wrote it.
    pub note: Option<String>,
}

/// `symphony ext build`.
pub fn run(home: &Path, args: BuildArgs) -> anyhow::Result<ExitCode> {
    let dir = &args.dir;
    let manifest_path = dir.join(MANIFEST_FILE);
    if !manifest_path.is_file() {
        bail!(
            "{} has no {MANIFEST_FILE}; `symphony ext new --kind KIND --lang LANG NAME` makes an \
             extension to build",
            dir.display()
        );
    }
    let manifest = Manifest::from_file(&manifest_path)?;
    let out = match &args.out {
        Some(out) => {
            std::path::absolute(out).with_context(|| format!("resolving {}", out.display()))?
        }
        None => manifest.component.clone(),
    };
    let started = Instant::now();
    let built = build(home, &manifest, &out, !args.no_cache)
        .with_context(|| format!("cannot build {}", manifest.name))?;
    let seconds = started.elapsed().as_secs_f64();
    if args.json {
        let value = json!({
            "name": manifest.name,
            "language": built.language.as_str(),
            "toolchain": built.toolchain,
            "component": built.component,
            "cached": built.cached,
            "seconds": seconds,
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        let how = if built.cached {
            " (unchanged sources: from the build cache)".to_string()
        } else if built.toolchain.is_empty() {
            String::new()
        } else {
            format!(" with {}", built.toolchain)
        };
        println!(
            "built {} ({}) in {seconds:.1} s{how}: {}",
            manifest.name,
            built.language,
            built.component.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Builds `manifest`'s extension into `out`, from the cache when `cache`
/// allows and it holds the same sources.
pub(crate) fn build(
    home: &Path,
    manifest: &Manifest,
    out: &Path,
    cache: bool,
) -> anyhow::Result<Built> {
    let language = manifest.build.language;
    if language == Language::Rust {
        if !manifest.dir.join("Cargo.toml").is_file() {
            bail!(
                "{} has no Cargo.toml: a Rust extension is a Cargo crate (or set `language` in \
                 [build] of {MANIFEST_FILE} to python, js or c)",
                manifest.dir.display()
            );
        }
        let note = cargo::build(&manifest.dir, out)?;
        return Ok(Built {
            component: out.to_path_buf(),
            language,
            toolchain: String::new(),
            cached: false,
            note,
        });
    }
    let world = match manifest.kind {
        ManifestKind::Instrument => "instrument-extension",
        ManifestKind::Operator => "operator-extension",
        ManifestKind::Addon => "addon-extension",
        ManifestKind::Native => bail!(
            "a native extension is an executable, not a component: `ext build` builds \
             instruments, operators and addons"
        ),
    };
    for source in &manifest.build.sources {
        if !source.is_file() {
            bail!(
                "the source {} named by [build] in {MANIFEST_FILE} does not exist",
                source.display()
            );
        }
    }
    let tool = toolchain::find(language)?;
    let sdks = sdk::install(home)?;
    let job = Job {
        manifest,
        world,
        tool: &tool,
        sdks: &sdks,
    };
    let key = job.key(out)?;
    let cached = cache_dir(home).join(format!("{key}.wasm"));
    if cache && cached.is_file() {
        place(&cached, out)?;
        return Ok(Built {
            component: out.to_path_buf(),
            language,
            toolchain: tool.version,
            cached: true,
            note: None,
        });
    }
    let stage = tempfile::Builder::new()
        .prefix("symphony-build-")
        .tempdir()
        .context("creating a staging directory")?;
    let wasm = match language {
        Language::Python => python::build(&job, stage.path())?,
        Language::Js => js::build(&job, stage.path())?,
        Language::C => c::build(&job, stage.path())?,
        Language::Rust => unreachable!("Cargo builds Rust above"),
    };
    stamp(&wasm, language, &tool)?;
    // The cache is best effort: a full disk must not fail the build.
    if let Err(error) = place(&wasm, &cached) {
        eprintln!("warning: not caching the build: {error:#}");
    }
    place(&wasm, out)?;
    Ok(Built {
        component: out.to_path_buf(),
        language,
        toolchain: tool.version,
        cached: false,
        note: None,
    })
}

/// Runs a build step with its output on stderr (stdout is ours, for
/// `--json`), failing with what it was for.
pub(crate) fn run_step(command: &mut Command, what: &str) -> anyhow::Result<()> {
    let status = command
        .stdout(std::io::stderr())
        .status()
        .with_context(|| format!("running {what}"))?;
    if !status.success() {
        bail!("{what} failed ({status}); its output is above");
    }
    Ok(())
}

/// Records in the component's producers section the language and the
/// toolchain it was built with (`sdk componentize-py 0.25.1`), which the
/// host shows for each loaded extension: componentize-py, for one, does
/// not name itself.
fn stamp(wasm: &Path, language: Language, tool: &Tool) -> anyhow::Result<()> {
    let bytes = std::fs::read(wasm).context("reading the built component")?;
    let mut producers = wasm_metadata::Producers::empty();
    let name = match language {
        Language::Python => "Python",
        Language::Js => "JavaScript",
        Language::C => "C",
        Language::Rust => "Rust",
    };
    producers.add("language", name, "");
    let (tool_name, version) = tool.name_and_version();
    producers.add("sdk", &tool_name, &version);
    producers.add("processed-by", "symphony", env!("CARGO_PKG_VERSION"));
    let stamped = producers
        .add_to_wasm(&bytes)
        .map_err(|e| anyhow::anyhow!("recording the toolchain in the component: {e:#}"))?;
    std::fs::write(wasm, stamped).context("writing the built component")
}

/// Where built components are cached: `$SYMPHONY_BUILD_CACHE`, else
/// `<home>/cache/builds`.
fn cache_dir(home: &Path) -> PathBuf {
    std::env::var_os("SYMPHONY_BUILD_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| home.join("cache/builds"))
}

/// One build: the extension, the world it implements, its toolchain and
/// the SDKs.
pub(crate) struct Job<'a> {
    pub manifest: &'a Manifest,
    /// The WIT world, e.g. `operator-extension`.
    pub world: &'static str,
    pub tool: &'a Tool,
    pub sdks: &'a Sdks,
}

impl Job<'_> {
    /// The manifest's kind as the SDKs name it, e.g. `operator`.
    pub fn kind(&self) -> &'static str {
        self.manifest.kind.as_str()
    }

    /// The build cache's key: a SHA-256 over the language, world and
    /// toolchain version, the SDK and WIT this binary carries, and every
    /// file of the project but build output.
    fn key(&self, out: &Path) -> anyhow::Result<String> {
        let mut hash = Sha256::new();
        let mut field = |bytes: &[u8]| {
            hash.update((bytes.len() as u64).to_le_bytes());
            hash.update(bytes);
        };
        field(self.manifest.build.language.as_str().as_bytes());
        field(self.world.as_bytes());
        field(self.tool.version.as_bytes());
        field(env!("CARGO_PKG_VERSION").as_bytes());
        field(&RECIPE.to_le_bytes());
        for (_, text) in sdk::PYTHON_SOURCES.iter().chain(sdk::SDK_WIT) {
            field(text.as_bytes());
        }
        field(sdk::JS_SDK.as_bytes());
        field(sdk::C_HEADER.as_bytes());
        // Relative to the project, so a copy elsewhere hits the cache.
        for source in &self.manifest.build.sources {
            let relative = source.strip_prefix(&self.manifest.dir).unwrap_or(source);
            field(relative.to_string_lossy().as_bytes());
        }
        let language = self.manifest.build.language;
        let inputs = project_files(&self.manifest.dir, out)?;
        for file in inputs.iter().filter(|f| is_build_input(language, f)) {
            let relative = file.strip_prefix(&self.manifest.dir).unwrap_or(file);
            field(relative.to_string_lossy().as_bytes());
            field(&std::fs::read(file).with_context(|| format!("reading {}", file.display()))?);
        }
        Ok(format!("{:x}", hash.finalize()))
    }
}

/// The version of what `ext build` does with the same inputs (the entry
/// modules, flags and stamps it writes): bumped when that changes, so no
/// cached component from before is reused.
const RECIPE: u32 = 2;

/// Directories under a project that hold build output or tools' state,
/// never sources.
pub(crate) const NOT_SOURCES: [&str; 4] = ["target", "build", "node_modules", "__pycache__"];

/// The project's files, sorted, without build output (`out`, and
/// [`NOT_SOURCES`]) or hidden files.
pub(crate) fn project_files(dir: &Path, out: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(at) = dirs.pop() {
        let entries =
            std::fs::read_dir(&at).with_context(|| format!("reading {}", at.display()))?;
        for entry in entries {
            let path = entry?.path();
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            if name.starts_with('.') || path == out || name.ends_with(".wasm") {
                continue;
            }
            if path.is_dir() {
                if !NOT_SOURCES.contains(&name.as_ref()) {
                    dirs.push(path);
                }
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

/// Whether `file` of a `language` project goes into its build: its
/// sources and the manifest, not its README or notes (so editing those
/// neither rebuilds nor misses the cache).
pub(crate) fn is_build_input(language: Language, file: &Path) -> bool {
    let extensions: &[&str] = match language {
        Language::Python => &["py"],
        Language::Js => &["js", "mjs", "cjs", "json"],
        Language::C => &["c", "h"],
        Language::Rust => return true,
    };
    file.file_name().is_some_and(|n| n == MANIFEST_FILE)
        || file
            .extension()
            .is_some_and(|e| extensions.iter().any(|x| e == *x))
}

/// Copies `from` to `to` through a file beside it and a rename, so a host
/// watching `to` never reads half a component.
pub(crate) fn place(from: &Path, to: &Path) -> anyhow::Result<()> {
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    let partial = to.with_extension(format!("partial-{}", std::process::id()));
    std::fs::copy(from, &partial)
        .with_context(|| format!("copying {} to {}", from.display(), partial.display()))?;
    std::fs::rename(&partial, to)
        .with_context(|| format!("moving the component to {}", to.display()))
}

#[cfg(test)]
mod tests;
