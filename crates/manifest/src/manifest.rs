//! Extension manifests: the `symphony.toml` beside each extension's
//! component, read, merged over the manifest it `extends`, and checked,
//! every problem reported with its file, line and column.
//!
//! The format is described on [`Manifest`].

mod build;
mod capabilities;
mod config;
mod file_schema;
mod limits;
mod load;
mod patterns;
mod source_tree;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

pub use build::{BuildSpec, Language};
pub use capabilities::{
    ArtifactAccess, Capabilities, Capability, FsAccess, FsCapability, ParseCapabilityError,
};
pub use config::{ConfigKey, ConfigSchema};
pub use limits::{Limits, LogLimits, ManifestLimits};
pub use patterns::{http_allows, net_allows};

use load::{build, identity, load, parent};

/// The JSON Schema (draft 2020-12) of `symphony.toml`, as
/// `symphony schema manifest` prints it.
pub fn manifest_schema() -> serde_json::Value {
    file_schema::schema()
}
pub(crate) use source_tree::line_column;
use source_tree::{Source, fail};

use crate::ExtensionKind;

/// An extension's manifest, `symphony.toml`, read and checked:
///
/// ```toml
/// extends = "../base/symphony.toml"   # optional, relative to this file
///
/// [extension]
/// name = "json-transform"             # [a-z0-9][a-z0-9-]*, up to 64 characters
/// version = "0.2.0"                   # semver
/// kind = "operator"                   # instrument | operator | addon | native
/// component = "json_transform.wasm"   # relative to this file (native: an executable)
/// description = "Reshapes JSON"       # optional, as are authors, license, keywords
///
/// [capabilities]                      # each optional; nothing is asked for by default
/// # path: absolute or relative to this file; guest: default "/" + the path's last
/// # component; access: read (the default) | read-write
/// fs = [{ path = "data", access = "read" }, { path = "/tmp/out", guest = "/out", access = "read-write" }]
/// net = ["api.example.com:443", "127.0.0.1:*"]
/// http = ["api.example.com", "*.example.org"]
/// bus = { publish = ["metrics.>"], subscribe = ["exec.*.done"] }
/// artifacts = "read"                  # none | read | read-write
/// models = ["mock-llm"]               # "*" for any
/// env = ["LANG"]
/// clock = true
/// random = true
///
/// [dependencies]
/// mock-llm = "^0.1"
/// other = { version = ">=1.2, <2", optional = true }
///
/// [config.max-len]                    # one table per key
/// type = "integer"                    # string | number | integer | bool | list | object | any
/// default = 80
/// min = 1
/// max = 1000                          # also: enum, pattern, description
/// secret = false                      # secret values only ever show as ***
/// required = false                    # true: must be given (and has no default)
///
/// [limits]                            # each optional; the host's default otherwise
/// memory = "64 MiB"                   # bytes, or B/KiB/MiB/GiB/TiB, KB/MB/GB/TB
/// fuel = 1_000_000_000
/// deadline = "5s"                     # milliseconds, or ms/s/m/h
/// max-instances = 4
///
/// [build]                             # optional: how `symphony ext build` makes the component
/// language = "python"                 # rust (the default) | python | js | c
/// sources = ["app.py"]                # relative to this file; default app.py, app.js, extension.c
/// ```
///
/// Keys are kebab-case and unknown keys are errors. With `extends`, the
/// base is read first (and its own base, up to 8 files, no cycles); then
/// this file's tables are merged over it key by key, its other values
/// (arrays included) replacing the base's. Paths stay relative to the file
/// they are written in.
///
/// Reading one:
///
/// ```
/// use symphony_manifest::{Capability, Manifest, ManifestKind};
///
/// let manifest = Manifest::parse(
///     r#"
/// [extension]
/// name = "json-transform"
/// version = "0.2.0"
/// kind = "operator"
/// component = "json_transform.wasm"
///
/// [capabilities]
/// net = ["api.example.com:443"]
/// "#,
///     "/ext/json-transform/symphony.toml",
/// )?;
/// assert_eq!(manifest.kind, ManifestKind::Operator);
/// assert_eq!(manifest.component, std::path::Path::new("/ext/json-transform/json_transform.wasm"));
/// assert_eq!(manifest.capabilities.items(), [Capability::Net("api.example.com:443".into())]);
///
/// // Every problem, each where it is.
/// let text = "[extension]\nname = \"x\"\nversion = \"1.x\"\nkind = \"plugin\"\ncomponent = \"x.wasm\"";
/// let err = Manifest::parse(text, "s.toml").unwrap_err();
/// let problems: Vec<String> = err.problems().iter().map(|p| p.to_string()).collect();
/// assert_eq!(problems, [
///     "s.toml:3:11: expected a semver version like \"1.2.0\" for extension.version, found \"1.x\" \
///      (unexpected character 'x' while parsing minor version number)",
///     "s.toml:4:8: unknown kind \"plugin\" for extension.kind \
///      (expected one of instrument, operator, addon, native)",
/// ]);
/// # Ok::<(), symphony_manifest::ManifestError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Manifest {
    /// The extension's name, e.g. `name = "json-transform"`.
    pub name: String,
    /// Its version, e.g. `version = "0.2.0"`.
    pub version: semver::Version,
    /// What kind of extension it is, e.g. `kind = "operator"`.
    pub kind: ManifestKind,
    /// The component (a native extension's executable), resolved against
    /// the directory of the file that names it, e.g.
    /// `component = "json_transform.wasm"`.
    pub component: PathBuf,
    /// The manifest's directory.
    pub dir: PathBuf,
    /// What it does, e.g. `description = "Reshapes JSON"`.
    pub description: Option<String>,
    /// Who wrote it, e.g. `authors = ["A <a@example.com>"]`.
    pub authors: Vec<String>,
    /// An SPDX license expression, e.g. `license = "Apache-2.0"`.
    pub license: Option<String>,
    /// Words to find it by, e.g. `keywords = ["json"]`.
    pub keywords: Vec<String>,
    /// What it asks to be granted.
    pub capabilities: Capabilities,
    /// Other extensions it uses, by name, e.g. `mock-llm = "^0.1"`.
    pub dependencies: BTreeMap<String, Dependency>,
    /// The configuration keys it takes.
    pub config: ConfigSchema,
    /// The limits it asks for.
    pub limits: ManifestLimits,
    /// How `symphony ext build` makes its component; Rust with Cargo
    /// when the manifest has no `[build]`.
    pub build: BuildSpec,
}

/// The kind of extension a manifest declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ManifestKind {
    /// An AI model adapter component.
    Instrument,
    /// A workflow data transform component.
    Operator,
    /// A UI contribution component.
    Addon,
    /// An executable run as its own process rather than a component.
    Native,
}

impl ManifestKind {
    /// Every kind.
    pub const ALL: [ManifestKind; 4] = [
        ManifestKind::Instrument,
        ManifestKind::Operator,
        ManifestKind::Addon,
        ManifestKind::Native,
    ];

    /// The kind's name in manifests, e.g. `operator`.
    pub fn as_str(self) -> &'static str {
        match self {
            ManifestKind::Instrument => "instrument",
            ManifestKind::Operator => "operator",
            ManifestKind::Addon => "addon",
            ManifestKind::Native => "native",
        }
    }

    /// The component kind, or `None` for a native extension.
    pub fn extension_kind(self) -> Option<ExtensionKind> {
        match self {
            ManifestKind::Instrument => Some(ExtensionKind::Instrument),
            ManifestKind::Operator => Some(ExtensionKind::Operator),
            ManifestKind::Addon => Some(ExtensionKind::Addon),
            ManifestKind::Native => None,
        }
    }
}

impl fmt::Display for ManifestKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Another extension this one uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dependency {
    /// The versions that will do, e.g. `"^0.1"` or
    /// `{ version = ">=1.2, <2" }`.
    pub req: semver::VersionReq,
    /// Whether the extension works without it, e.g. `optional = true`.
    pub optional: bool,
    /// The interface it must provide, when the dependant calls it as one,
    /// e.g. `kind = "instrument"` for an Operator that calls a model: a
    /// dependency exporting another world is refused at load.
    pub kind: Option<crate::ExtensionKind>,
}

/// One thing wrong with a manifest, where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestProblem {
    /// The file: the manifest, or a base it extends.
    pub path: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ManifestProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.path.display(),
            self.line,
            self.column,
            self.message
        )
    }
}

/// Why a manifest cannot be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ManifestError {
    /// The manifest file could not be read. (A base that cannot be read
    /// is a problem at its `extends`.)
    #[error("cannot read manifest {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The manifest is not valid: a syntax error (the first only), a
    /// problem following `extends`, or every problem with its content; one
    /// per line when shown.
    #[error("{}", problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Invalid {
        /// The problems, in file order.
        problems: Vec<ManifestProblem>,
    },
}

impl ManifestError {
    /// The problems found (none for an IO error).
    pub fn problems(&self) -> &[ManifestProblem] {
        match self {
            ManifestError::Io { .. } => &[],
            ManifestError::Invalid { problems } => problems,
        }
    }
}

impl Manifest {
    /// Reads the manifest at `path`, following `extends`. Relative paths
    /// in it resolve against its directory made absolute (not
    /// canonicalized).
    pub fn from_file(path: impl AsRef<Path>) -> Result<Manifest, ManifestError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| ManifestError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let absolute = source_tree::normalize(&std::path::absolute(path).unwrap_or(path.into()));
        let source = Source::new(path.to_path_buf(), parent(&absolute), text, 0);
        let mut chain = vec![(identity(&absolute), path.to_path_buf())];
        let table = load(&source, &mut chain)?;
        build(&table, &source)
    }

    /// Reads a manifest from `text`; `path` names it in messages and its
    /// directory is what relative paths resolve against. A manifest with
    /// `extends` needs [`Manifest::from_file`].
    pub fn parse(text: &str, path: impl AsRef<Path>) -> Result<Manifest, ManifestError> {
        let path = path.as_ref();
        let source = Source::new(path.to_path_buf(), parent(path), text.to_string(), 0);
        let table = source_tree::parse(&source)?;
        if let Some(extends) = table.get("extends") {
            return Err(fail(
                &extends.key,
                "extends needs the base manifest from disk: read this one with Manifest::from_file",
            ));
        }
        build(&table, &source)
    }
}

impl Manifest {
    /// Checks an extension name against the rule manifests follow:
    /// `[a-z0-9][a-z0-9-]*`, up to 64 characters; the error says what is
    /// wrong, e.g. `contains 'S' (use lowercase letters, digits and '-')`.
    pub fn check_name(name: &str) -> Result<(), String> {
        check_name(name)
    }
}

/// Checks an extension name: `[a-z0-9][a-z0-9-]*`, up to 64 characters.
fn check_name(name: &str) -> Result<(), String> {
    const MAX: usize = 64;
    if name.is_empty() {
        return Err("the name is empty".into());
    }
    if name.len() > MAX {
        return Err(format!("longer than {MAX} characters"));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Err(format!(
            "contains '{bad}' (use lowercase letters, digits and '-')"
        ));
    }
    if name.starts_with('-') {
        return Err("starts with '-' (start with a letter or digit)".into());
    }
    Ok(())
}

/// Checks an environment variable name: `[A-Za-z_][A-Za-z0-9_]*`.
fn check_env(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let good = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if good {
        Ok(())
    } else {
        Err(format!(
            "'{name}' is not a variable name (a letter or '_', then letters, digits and '_')"
        ))
    }
}
