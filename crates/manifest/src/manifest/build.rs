//! The manifest's `[build]` table: the language an extension is written in
//! and its sources, which is all `symphony ext build` needs to know to make
//! its component.

use std::fmt;
use std::path::PathBuf;

use super::source_tree::{Item, Problems, join};

/// How the component is built from source: `[build]` in the manifest.
///
/// ```toml
/// [build]
/// language = "python"      # rust (the default) | python | js | c
/// sources = ["app.py"]     # relative to this file; the default depends on the language
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildSpec {
    /// The language, which picks the toolchain.
    pub language: Language,
    /// The source files, resolved against the manifest's directory:
    /// Python, the module the component starts from (its directory is on
    /// the module path); JavaScript, the entry module (what it imports is
    /// bundled); C, every file compiled; Rust, none (Cargo reads
    /// `Cargo.toml`). Defaults to [`Language::default_sources`].
    pub sources: Vec<PathBuf>,
}

impl BuildSpec {
    /// A project in `language` with its default sources in `dir`.
    pub fn new(language: Language, dir: &std::path::Path) -> BuildSpec {
        BuildSpec {
            language,
            sources: (language.default_sources().iter())
                .map(|s| dir.join(s))
                .collect(),
        }
    }
}

/// A language extensions are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Language {
    /// Rust, built with Cargo for `wasm32-wasip2` and the Rust SDK.
    #[default]
    Rust,
    /// Python, built with componentize-py and the Python SDK.
    Python,
    /// JavaScript, built with componentize-js and the JS SDK.
    Js,
    /// C, built with clang for WASI and the C header.
    C,
}

impl Language {
    /// Every language, in the order help text lists them.
    pub const ALL: [Language; 4] = [Language::Rust, Language::Python, Language::Js, Language::C];

    /// The name manifests use, e.g. `python`.
    pub fn as_str(self) -> &'static str {
        match self {
            Language::Rust => "rust",
            Language::Python => "python",
            Language::Js => "js",
            Language::C => "c",
        }
    }

    /// The language named `name` in a manifest.
    pub fn from_name(name: &str) -> Option<Language> {
        Language::ALL.into_iter().find(|l| l.as_str() == name)
    }

    /// The sources when `[build]` names none, relative to the manifest.
    pub fn default_sources(self) -> &'static [&'static str] {
        match self {
            Language::Rust => &[],
            Language::Python => &["app.py"],
            Language::Js => &["app.js"],
            Language::C => &["extension.c"],
        }
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The keys of the `[build]` table.
pub(super) const BUILD_KEYS: &[&str] = &["language", "sources"];

/// Reads `[build]`; problems are reported and the defaults stand in.
pub(super) fn read(item: &Item, problems: &mut Problems) -> BuildSpec {
    let dir = item.loc.source.dir.clone();
    let Some(table) = item.table("build", BUILD_KEYS, problems) else {
        return BuildSpec::new(Language::Rust, &dir);
    };
    let language = table
        .get("language")
        .and_then(|entry| {
            let path = join("build", "language");
            let name = entry.item.str(&path, problems)?;
            Language::from_name(name).or_else(|| {
                let names: Vec<&str> = Language::ALL.iter().map(|l| l.as_str()).collect();
                problems.push(
                    &entry.item.loc,
                    format!(
                        "unknown language \"{name}\" for {path} (expected one of {})",
                        names.join(", ")
                    ),
                );
                None
            })
        })
        .unwrap_or_default();
    let mut spec = BuildSpec::new(language, &dir);
    if let Some(entry) = table.get("sources") {
        let path = join("build", "sources");
        let sources = entry.item.strings(&path, problems);
        if language == Language::Rust && !sources.is_empty() {
            problems.push(
                &entry.item.loc,
                "build.sources is not used for Rust: Cargo reads Cargo.toml (remove it)",
            );
        } else if sources.is_empty() && language != Language::Rust {
            problems.push(
                &entry.item.loc,
                format!("{path} is empty: name at least one {language} source file"),
            );
        }
        let mut resolved = Vec::new();
        for (text, item) in sources {
            if text.is_empty() {
                problems.push(&item.loc, format!("an empty path in {path}"));
                continue;
            }
            resolved.push(item.loc.source.dir.join(text));
        }
        if !resolved.is_empty() {
            spec.sources = resolved;
        }
    }
    spec
}

#[cfg(test)]
mod tests;
