//! What differs between the languages `ext new` scaffolds in: the source
//! files, where the component is built to, and the commands that build and
//! test it.

use symphony_host::extension::Language;

use super::NewKind;

/// The languages `ext new --lang` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum NewLang {
    /// A Cargo crate on the Rust SDK, built for wasm32-wasip2.
    Rust,
    /// A Python module on the `symphony_ext` SDK, built with componentize-py.
    Python,
    /// An ES module on the JS SDK, built with componentize-js.
    Js,
    /// A C file on `symphony.h`, built with clang for WASI.
    C,
}

impl NewLang {
    /// The manifest's `[build] language`.
    pub fn language(self) -> Language {
        match self {
            NewLang::Rust => Language::Rust,
            NewLang::Python => Language::Python,
            NewLang::Js => Language::Js,
            NewLang::C => Language::C,
        }
    }

    /// The source files of a `kind` extension (other than Rust's, which
    /// `Plan::files` writes), by path, as templates.
    pub fn sources(self, kind: NewKind) -> Vec<(&'static str, &'static str)> {
        use NewKind::{Addon, Instrument, Operator};
        match (self, kind) {
            (NewLang::Rust, _) => Vec::new(),
            (NewLang::Python, Operator) => vec![
                ("app.py", include_str!("python/operator.py.tmpl")),
                ("test_app.py", include_str!("python/test_operator.py.tmpl")),
            ],
            (NewLang::Python, Instrument) => vec![
                ("app.py", include_str!("python/instrument.py.tmpl")),
                (
                    "test_app.py",
                    include_str!("python/test_instrument.py.tmpl"),
                ),
            ],
            (NewLang::Python, Addon) => vec![
                ("app.py", include_str!("python/addon.py.tmpl")),
                ("test_app.py", include_str!("python/test_addon.py.tmpl")),
            ],
            (NewLang::Js, Operator) => vec![("app.js", include_str!("js/operator.js.tmpl"))],
            (NewLang::Js, Instrument) => vec![("app.js", include_str!("js/instrument.js.tmpl"))],
            (NewLang::Js, Addon) => vec![("app.js", include_str!("js/addon.js.tmpl"))],
            (NewLang::C, Operator) => vec![("extension.c", include_str!("c/operator.c.tmpl"))],
            (NewLang::C, Instrument) => {
                vec![("extension.c", include_str!("c/instrument.c.tmpl"))]
            }
            (NewLang::C, Addon) => vec![("extension.c", include_str!("c/addon.c.tmpl"))],
        }
    }

    /// The README's lines about the sources.
    pub fn source_lines(self) -> &'static str {
        match self {
            NewLang::Rust => "- `src/lib.rs`: the extension and its unit tests.",
            NewLang::Python => {
                "- `app.py`: the extension, on the Symphony Python SDK (`symphony_ext`).\n\
                 - `test_app.py`: unit tests of its logic, in plain Python."
            }
            NewLang::Js => {
                "- `app.js`: the extension, on the Symphony JS SDK (`./symphony.js`, which\n  \
                 `symphony ext build` supplies)."
            }
            NewLang::C => {
                "- `extension.c`: the extension, on the Symphony C SDK (`symphony.h`, which\n  \
                 `symphony ext build` supplies with the WIT bindings)."
            }
        }
    }

    /// The manifest's lines saying where the component is, for crate
    /// `krate`.
    pub fn component_block(self, krate: &str) -> String {
        match self {
            NewLang::Rust => format!(
                "# Relative to this file: where `cargo build --release --target wasm32-wasip2`\n\
                 # puts the component. Built elsewhere (CARGO_TARGET_DIR), or shipping it?\n\
                 # Copy the .wasm beside this file and write component = \"{krate}.wasm\".\n\
                 component = \"target/wasm32-wasip2/release/{krate}.wasm\"\n"
            ),
            _ => format!(
                "# Relative to this file: where `symphony ext build` writes the component.\n\
                 component = \"build/{krate}.wasm\"\n"
            ),
        }
    }

    /// The manifest's `[build]` table (none for Rust, the default).
    pub fn build_table(self) -> String {
        match self {
            NewLang::Rust => String::new(),
            lang => {
                let language = lang.language();
                let sources: Vec<String> = (language.default_sources().iter())
                    .map(|s| format!("\"{s}\""))
                    .collect();
                format!(
                    "\n# How `symphony ext build` makes the component.\n\
                     [build]\n\
                     language = \"{language}\"\n\
                     sources = [{}]\n",
                    sources.join(", ")
                )
            }
        }
    }

    /// The `.gitignore`.
    pub fn gitignore(self) -> &'static str {
        match self {
            NewLang::Rust => include_str!("gitignore.tmpl"),
            NewLang::Python => "/build\n__pycache__/\n",
            NewLang::Js | NewLang::C => "/build\n",
        }
    }
}
