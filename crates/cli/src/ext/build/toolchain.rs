//! Finding the toolchain each guest language builds with, and saying how
//! to install one that is missing.
//!
//! Each tool is looked for first in the tools directory the project's
//! `cargo xtask` installs into (`$SYMPHONY_TOOLS`, default
//! `~/.cache/symphony/tools`), then on `PATH`. Its version goes into the
//! build cache's key, so a new toolchain rebuilds.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

use symphony_host::extension::Language;

/// The componentize-py release the Python SDK is tested with.
pub(crate) const COMPONENTIZE_PY: &str = "0.25.1";
/// The componentize-js release the JavaScript SDK is tested with.
pub(crate) const COMPONENTIZE_JS: &str = "0.23.0";
/// The oldest clang that builds C guests (wasm32-wasip1 and reactors).
pub(crate) const CLANG_MIN: u32 = 19;

/// A toolchain found, and what it says its version is.
#[derive(Debug, Clone)]
pub(crate) struct Tool {
    /// The program to run.
    pub program: PathBuf,
    /// Its `--version` output, trimmed.
    pub version: String,
}

impl Tool {
    /// The tool's name (its program's) and the version in its `--version`
    /// text: the first word that starts with a digit, e.g. `19.1.7` of
    /// `Debian clang version 19.1.7 (3~deb12u1)`.
    pub fn name_and_version(&self) -> (String, String) {
        let program = self
            .program
            .file_name()
            .unwrap_or_default()
            .to_string_lossy();
        // `clang-19` is clang.
        let name = match program.split_once('-') {
            Some((base, suffix)) if suffix.chars().all(|c| c.is_ascii_digit()) => base,
            _ => &program,
        };
        let version = (self.version.split_whitespace())
            .find(|w| w.starts_with(|c: char| c.is_ascii_digit()))
            .unwrap_or_default();
        (name.to_string(), version.to_string())
    }
}

/// Why a language's toolchain cannot be used, with how to get it.
#[derive(Debug, thiserror::Error)]
#[error("{what} was not found ({looked}); install it with `{install}`")]
pub(crate) struct Missing {
    /// The tool, e.g. `componentize-py 0.25.1`.
    what: String,
    /// Where it was looked for.
    looked: String,
    /// The command that installs it.
    pub install: String,
}

/// The directory `cargo xtask` installs guest toolchains into.
pub(crate) fn tools_dir() -> Option<PathBuf> {
    env::var_os("SYMPHONY_TOOLS")
        .map(PathBuf::from)
        .or_else(|| env::var_os("HOME").map(|h| Path::new(&h).join(".cache/symphony/tools")))
}

/// The version `program` prints, if it runs.
fn version_of(program: &Path, arg: &str) -> Option<String> {
    let output = Command::new(program).arg(arg).output().ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let first = text.lines().next().unwrap_or_default().trim();
    if first.is_empty() {
        return None;
    }
    // Some print a bare number; the key and messages want the tool named.
    let name = program.file_name().unwrap_or_default().to_string_lossy();
    if first.contains(name.as_ref()) || !first.starts_with(|c: char| c.is_ascii_digit()) {
        Some(first.to_string())
    } else {
        Some(format!("{name} {first}"))
    }
}

/// The first of `candidates` that runs.
fn first_that_runs(candidates: &[PathBuf], arg: &str) -> Option<Tool> {
    candidates.iter().find_map(|program| {
        version_of(program, arg).map(|version| Tool {
            program: program.clone(),
            version,
        })
    })
}

/// Where a tool was looked for, in words.
fn looked(candidates: &[PathBuf]) -> String {
    let places: Vec<String> = candidates
        .iter()
        .map(|c| match c.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => c.display().to_string(),
            _ => format!("{} on PATH", c.display()),
        })
        .collect();
    format!("looked for {}", places.join(", "))
}

/// The toolchain that builds `language`; Rust's is Cargo, always found.
pub(crate) fn find(language: Language) -> Result<Tool, Missing> {
    let tools = tools_dir();
    let in_tools = |path: &str| tools.as_ref().map(|t| t.join(path));
    match language {
        Language::Rust => Ok(Tool {
            program: env::var_os("CARGO")
                .unwrap_or_else(|| "cargo".into())
                .into(),
            version: String::new(),
        }),
        Language::Python => {
            let candidates: Vec<PathBuf> = in_tools("python/bin/componentize-py")
                .into_iter()
                .chain([PathBuf::from("componentize-py")])
                .collect();
            first_that_runs(&candidates, "--version").ok_or_else(|| Missing {
                what: format!("componentize-py (tested with {COMPONENTIZE_PY})"),
                looked: looked(&candidates),
                install: format!("python3 -m pip install componentize-py=={COMPONENTIZE_PY}"),
            })
        }
        Language::Js => {
            let candidates: Vec<PathBuf> = in_tools("js/node_modules/.bin/componentize-js")
                .into_iter()
                .chain([PathBuf::from("componentize-js")])
                .collect();
            first_that_runs(&candidates, "--version").ok_or_else(|| Missing {
                what: format!("componentize-js (tested with {COMPONENTIZE_JS}; it needs Node.js)"),
                looked: looked(&candidates),
                install: format!(
                    "npm install -g @bytecodealliance/componentize-js@{COMPONENTIZE_JS}"
                ),
            })
        }
        Language::C => {
            let install = format!(
                "apt-get install clang-{CLANG_MIN} lld-{CLANG_MIN} wasi-libc \
                 libclang-rt-{CLANG_MIN}-dev-wasm32"
            );
            let candidates: Vec<PathBuf> = env::var_os("SYMPHONY_CLANG")
                .map(PathBuf::from)
                .into_iter()
                .chain(
                    (CLANG_MIN..CLANG_MIN + 8)
                        .rev()
                        .map(|v| format!("clang-{v}").into()),
                )
                .chain([PathBuf::from("clang")])
                .collect();
            let new_enough = candidates.iter().find_map(|program| {
                let version = version_of(program, "--version")?;
                let major: u32 = version
                    .split("version ")
                    .nth(1)?
                    .split('.')
                    .next()?
                    .parse()
                    .ok()?;
                (major >= CLANG_MIN).then(|| Tool {
                    program: program.clone(),
                    version,
                })
            });
            let Some(clang) = new_enough else {
                return Err(Missing {
                    what: format!("clang {CLANG_MIN} or newer"),
                    looked: looked(&candidates),
                    install,
                });
            };
            if wasi_sysroot().is_none() {
                return Err(Missing {
                    what: "wasi-libc (the C library for WASI)".into(),
                    looked: format!("looked for $WASI_SYSROOT and {}", SYSROOTS.join(", ")),
                    install,
                });
            }
            Ok(clang)
        }
    }
}

/// Where wasi-libc is commonly installed: Debian's package (headers and
/// libraries under `/usr`, by target) and wasi-sdk's sysroot.
const SYSROOTS: [&str; 2] = ["/usr/lib/wasm32-wasi", "/opt/wasi-sdk/share/wasi-sysroot"];

/// The sysroot to give clang: `$WASI_SYSROOT`, else the first of
/// [`SYSROOTS`] found (Debian's as `/usr`, whose layout clang knows).
pub(crate) fn wasi_sysroot() -> Option<PathBuf> {
    if let Some(root) = env::var_os("WASI_SYSROOT") {
        return Some(root.into());
    }
    if Path::new(SYSROOTS[0]).join("libc.a").is_file() {
        return Some("/usr".into());
    }
    let sdk = Path::new(SYSROOTS[1]);
    sdk.is_dir().then(|| sdk.to_path_buf())
}
