//! The SDKs this binary carries, one per guest language, and the WIT they
//! are generated from: written into the data directory for scaffolds
//! (Rust, which Cargo reads by path) and for `symphony ext build` (Python,
//! JavaScript and C, which it hands to their toolchains), so neither ever
//! depends on the source tree the binary was built from.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context;

/// The Rust SDK's sources, carried in the binary so a scaffold never
/// depends on the source tree it was built from (which moves, or is gone).
const SDK_SOURCES: &[(&str, &str)] = &[
    ("src/lib.rs", include_str!("../../../sdk/src/lib.rs")),
    ("src/addon.rs", include_str!("../../../sdk/src/addon.rs")),
    (
        "src/bindings.rs",
        include_str!("../../../sdk/src/bindings.rs"),
    ),
    (
        "src/instance.rs",
        include_str!("../../../sdk/src/instance.rs"),
    ),
    (
        "src/instrument.rs",
        include_str!("../../../sdk/src/instrument.rs"),
    ),
    (
        "src/lifecycle.rs",
        include_str!("../../../sdk/src/lifecycle.rs"),
    ),
    (
        "src/operator.rs",
        include_str!("../../../sdk/src/operator.rs"),
    ),
];

/// The WIT the SDK's bindings are generated from, at the path they name
/// (`../wit/...` from the SDK's directory).
pub(crate) const SDK_WIT: &[(&str, &str)] = &[(
    "since_v0.1.1/extension.wit",
    include_str!("../../../wit/since_v0.1.1/extension.wit"),
)];

/// The wit-bindgen requirement of the SDK's copy: the workspace's (a test
/// keeps the two equal).
pub(crate) const SDK_WIT_BINDGEN: &str =
    r#"{ version = "0.63.0", default-features = false, features = ["macros", "realloc", "std"] }"#;

/// The SDK's Cargo.toml, standing alone (the source tree's inherits from
/// its workspace).
fn sdk_manifest() -> String {
    format!(
        "[package]\n\
         name = \"symphony-sdk\"\n\
         description = \"Write Symphony extensions (Instruments, Operators, Addons) in Rust\"\n\
         version = \"{}\"\n\
         edition = \"2024\"\n\
         rust-version = \"1.95\"\n\
         license = \"Apache-2.0 WITH LLVM-exception\"\n\
         \n\
         [dependencies]\n\
         wit-bindgen = {SDK_WIT_BINDGEN}\n",
        env!("CARGO_PKG_VERSION")
    )
}

/// The Python SDK: the `symphony_ext` package.
pub(crate) const PYTHON_SOURCES: &[(&str, &str)] = &[
    (
        "symphony_ext/__init__.py",
        include_str!("../../../sdk/python/symphony_ext/__init__.py"),
    ),
    (
        "symphony_ext/_errors.py",
        include_str!("../../../sdk/python/symphony_ext/_errors.py"),
    ),
    (
        "symphony_ext/_exports.py",
        include_str!("../../../sdk/python/symphony_ext/_exports.py"),
    ),
    (
        "symphony_ext/_host.py",
        include_str!("../../../sdk/python/symphony_ext/_host.py"),
    ),
    (
        "symphony_ext/_kinds.py",
        include_str!("../../../sdk/python/symphony_ext/_kinds.py"),
    ),
];

/// The JavaScript SDK: one module.
pub(crate) const JS_SDK: &str = include_str!("../../../sdk/js/symphony.js");

/// The C SDK: one header over the bindings `ext build` generates.
pub(crate) const C_HEADER: &str = include_str!("../../../sdk/c/symphony.h");

/// Where [`install`] put each SDK.
#[derive(Debug, Clone)]
pub(crate) struct Sdks {
    /// The Rust SDK's crate directory.
    pub rust: PathBuf,
    /// The directory holding the `symphony_ext` package.
    pub python: PathBuf,
    /// The JavaScript SDK module.
    pub js: PathBuf,
    /// The directory holding `symphony.h`.
    pub c: PathBuf,
    /// The WIT package directory (`since_v0.1.1`), as the toolchains take it.
    pub wit: PathBuf,
}

/// The version of the WIT package the SDKs build against.
pub(crate) const WIT_DIR: &str = "since_v0.1.1";

/// Writes the SDKs this binary carries to `<home>/sdk/<version>` (Rust at
/// its top, the others in `python/`, `js/` and `c/`) and the WIT to
/// `<home>/sdk/wit`, leaving files that already hold the same text alone,
/// and says where they are.
pub(crate) fn install(home: &Path) -> anyhow::Result<Sdks> {
    let root = home.join("sdk");
    let dir = std::path::absolute(root.join(env!("CARGO_PKG_VERSION")))
        .with_context(|| format!("resolving {}", root.display()))?;
    let wit_root = dir.parent().unwrap_or(&dir).join("wit");
    let manifest = sdk_manifest();
    let files = (SDK_SOURCES.iter())
        .map(|(path, text)| (dir.join(path), *text))
        .chain(
            SDK_WIT
                .iter()
                .map(|(path, text)| (wit_root.join(path), *text)),
        )
        .chain(std::iter::once((dir.join("Cargo.toml"), manifest.as_str())))
        .chain(
            PYTHON_SOURCES
                .iter()
                .map(|(path, text)| (dir.join("python").join(path), *text)),
        )
        .chain([
            (dir.join("js/symphony.js"), JS_SDK),
            (dir.join("c/symphony.h"), C_HEADER),
        ]);
    for (path, text) in files {
        if fs::read_to_string(&path).is_ok_and(|old| old == text) {
            continue;
        }
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(Sdks {
        python: dir.join("python"),
        js: dir.join("js/symphony.js"),
        c: dir.join("c"),
        wit: wit_root.join(WIT_DIR),
        rust: dir,
    })
}

#[cfg(test)]
mod tests;
