use std::path::PathBuf;

use crate::{Language, Manifest};

const HEAD: &str =
    "[extension]\nname = \"x\"\nversion = \"0.1.0\"\nkind = \"operator\"\ncomponent = \"x.wasm\"\n";

fn parse(build: &str) -> Result<Manifest, Vec<String>> {
    Manifest::parse(&format!("{HEAD}{build}"), "/ext/x/symphony.toml")
        .map_err(|e| e.problems().iter().map(ToString::to_string).collect())
}

#[test]
fn a_manifest_without_build_is_rust() {
    let manifest = parse("").unwrap();
    assert_eq!(manifest.build.language, Language::Rust);
    assert!(manifest.build.sources.is_empty());
}

#[test]
fn each_language_has_default_sources_beside_the_manifest() {
    for (name, source) in [("python", "app.py"), ("js", "app.js"), ("c", "extension.c")] {
        let manifest = parse(&format!("[build]\nlanguage = \"{name}\"\n")).unwrap();
        assert_eq!(manifest.build.language.as_str(), name);
        assert_eq!(
            manifest.build.sources,
            [PathBuf::from("/ext/x").join(source)]
        );
    }
}

#[test]
fn sources_resolve_against_the_manifest() {
    let manifest =
        parse("[build]\nlanguage = \"c\"\nsources = [\"src/a.c\", \"src/b.c\"]\n").unwrap();
    assert_eq!(
        manifest.build.sources,
        [
            PathBuf::from("/ext/x/src/a.c"),
            PathBuf::from("/ext/x/src/b.c")
        ]
    );
}

#[test]
fn bad_build_tables_say_what_and_where() {
    assert_eq!(
        parse("[build]\nlanguage = \"go\"\n").unwrap_err(),
        [
            "/ext/x/symphony.toml:7:12: unknown language \"go\" for build.language \
          (expected one of rust, python, js, c)"
        ]
    );
    assert_eq!(
        parse("[build]\nlanguage = \"python\"\nsources = []\nflags = 1\n").unwrap_err(),
        [
            "/ext/x/symphony.toml:8:11: build.sources is empty: name at least one python source file",
            "/ext/x/symphony.toml:9:1: unknown key \"flags\" in build (allowed: language, sources)",
        ]
    );
    assert_eq!(
        parse("[build]\nsources = [\"a.rs\"]\n").unwrap_err(),
        [
            "/ext/x/symphony.toml:7:11: build.sources is not used for Rust: Cargo reads Cargo.toml (remove it)"
        ]
    );
}
